/**
 * Pure-TS rasteriser for the built-in world: a varied background (two-colour gradient, pixel noise,
 * tint) and shapes drawn from signed distances, so edges are anti-aliased by coverage at any size.
 */
import type { RgbImage, SceneObject } from "../types.ts";
import type { Rng } from "../../util/rng.ts";
import { COLOR_RGB, SIZE_RADIUS, type WorldColor, type WorldSize } from "./vocab.ts";

type Pt = [number, number];

/** Outline of each polygonal shape with circumradius 1, y pointing down. */
const OUTLINES: Record<string, Pt[]> = (() => {
  const regular = (n: number, phase: number, r = 1): Pt[] =>
    Array.from(
      { length: n },
      (_, i) =>
        [
          r * Math.cos(phase + (2 * Math.PI * i) / n),
          r * Math.sin(phase + (2 * Math.PI * i) / n),
        ] as Pt,
    );
  const star: Pt[] = [];
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? 1 : 0.45,
      a = -Math.PI / 2 + (Math.PI * i) / 5;
    star.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  const w = 0.32,
    cross: Pt[] = [
      [-w, -1],
      [w, -1],
      [w, -w],
      [1, -w],
      [1, w],
      [w, w],
      [w, 1],
      [-w, 1],
      [-w, w],
      [-1, w],
      [-1, -w],
      [-w, -w],
    ];
  const heart: Pt[] = [];
  for (let i = 0; i < 28; i++) {
    const t = (2 * Math.PI * i) / 28,
      s = Math.sin(t);
    heart.push([
      (16 * s * s * s) / 17,
      -(13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t) + 2) / 17,
    ]);
  }
  const tri = regular(3, -Math.PI / 2).map(([x, y]) => [x * 1.05, y * 1.05 + 0.2] as Pt);
  return {
    square: regular(4, Math.PI / 4, 1).map(([x, y]) => [x * 0.95, y * 0.95] as Pt),
    diamond: regular(4, 0, 1),
    triangle: tri,
    hexagon: regular(6, 0, 1),
    star,
    heart,
    cross: cross.map(([x, y]) => [x * 0.93, y * 0.93] as Pt),
  };
})();

/** Signed distance from (px,py) to a closed polygon (negative inside). */
function polygonDistance(px: number, py: number, v: Pt[]): number {
  let best = Infinity,
    inside = false;
  for (let i = 0, j = v.length - 1; i < v.length; j = i++) {
    const [ax, ay] = v[j]!,
      [bx, by] = v[i]!;
    const ex = bx - ax,
      ey = by - ay,
      wx = px - ax,
      wy = py - ay;
    const t = Math.max(0, Math.min(1, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
    const dx = wx - ex * t,
      dy = wy - ey * t;
    best = Math.min(best, dx * dx + dy * dy);
    if (ay > py !== by > py && px < ax + ((py - ay) * ex) / ey) inside = !inside;
  }
  return inside ? -Math.sqrt(best) : Math.sqrt(best);
}

export interface RenderOptions {
  antialias?: boolean;
}

export function renderScene(
  objects: SceneObject[],
  size: number,
  rng: Rng,
  opts: RenderOptions = {},
): RgbImage {
  const data = new Uint8Array(size * size * 3);
  paintBackground(data, size, rng);
  for (const o of objects) {
    const base = COLOR_RGB[o.color as WorldColor] ?? [0, 0, 0];
    const rgb = base.map((c) => clamp255(c + rng.int(-12, 12))) as [number, number, number];
    drawShape(data, size, o, rgb, opts.antialias !== false);
  }
  return { width: size, height: size, data };
}

function paintBackground(data: Uint8Array, size: number, rng: Rng): void {
  // Two pale colours, a gradient direction and a noise amplitude: each image's background differs.
  const pale = () => [rng.int(200, 250), rng.int(200, 250), rng.int(200, 250)];
  const c0 = pale(),
    c1 = pale();
  const angle = rng.next() * 2 * Math.PI,
    gx = (Math.cos(angle) * 1.41) / size,
    gy = (Math.sin(angle) * 1.41) / size;
  const noise = rng.int(0, 10),
    span = 2 * noise + 1;
  const r0 = c0[0]!,
    g0 = c0[1]!,
    b0 = c0[2]!,
    dr = c1[0]! - r0,
    dg = c1[1]! - g0,
    db = c1[2]! - b0;
  let i = 0;
  for (let y = 0; y < size; y++) {
    const ty = 0.5 + 0.5 * ((y - size / 2) * gy);
    for (let x = 0; x < size; x++, i += 3) {
      const t = ty + 0.5 * ((x - size / 2) * gx);
      // One 32-bit draw gives the noise for all three channels (same offset: a grey grain).
      const n = noise ? (rng.nextUint32() % span) - noise : 0;
      data[i] = clamp255(r0 + dr * t + n);
      data[i + 1] = clamp255(g0 + dg * t + n);
      data[i + 2] = clamp255(b0 + db * t + n);
    }
  }
}

function drawShape(
  data: Uint8Array,
  size: number,
  o: SceneObject,
  rgb: [number, number, number],
  aa: boolean,
): void {
  const r = SIZE_RADIUS[o.size as WorldSize] * size;
  const cx = o.x * size,
    cy = o.y * size;
  const outline = OUTLINES[o.shape];
  const x0 = Math.max(0, Math.floor(cx - r - 1)),
    x1 = Math.min(size - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1)),
    y1 = Math.min(size - 1, Math.ceil(cy + r + 1));
  const reach2 = (1 + 1 / r) * (1 + 1 / r);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const px = (x + 0.5 - cx) / r,
        py = (y + 0.5 - cy) / r;
      // Every outline lies inside the unit circle: pixels beyond it (plus the soft edge) stay background.
      if (px * px + py * py > reach2) continue;
      // Distance in unit-radius space, scaled back to pixels for a one-pixel-wide soft edge.
      const d = (outline ? polygonDistance(px, py, outline) : Math.sqrt(px * px + py * py) - 1) * r;
      const cov = aa ? Math.max(0, Math.min(1, 0.5 - d)) : d < 0 ? 1 : 0;
      if (cov <= 0) continue;
      const i = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) data[i + c] = clamp255(data[i + c]! * (1 - cov) + rgb[c]! * cov);
    }
  }
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
