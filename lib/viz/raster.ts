/**
 * Static pictures with sharp: images upscaled, attention heatmaps blended on top, panels laid out
 * with labels. The PNGs go into the same mime bundle as the Plotly figure so the figure still shows
 * where scripts do not run (GitHub, nbviewer).
 */
import sharp, { type OverlayOptions } from "sharp";
import type { RgbImage } from "../data/types.ts";
import { escapeHtml } from "../display/html.ts";
import { upsampleBilinear, VizError } from "./attention-math.ts";

export function checkRgbImage(img: RgbImage, what = "image"): void {
  if (
    !img ||
    !(img.width > 0) ||
    !(img.height > 0) ||
    !img.data ||
    img.data.length !== img.width * img.height * 3
  )
    throw new VizError(
      `${what}: expected an RgbImage with data of width×height×3 bytes` +
        (img?.data ? ` (got ${img.width}×${img.height} with ${img.data.length} bytes)` : ""),
    );
}

/** Resize (stretch to a square display size; the model's input is already square). */
export async function resizeRgb(img: RgbImage, size: number): Promise<RgbImage> {
  checkRgbImage(img);
  const kernel = size >= 4 * Math.max(img.width, img.height) ? "nearest" : "lanczos3";
  const { data, info } = await sharp(
    Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length),
    { raw: { width: img.width, height: img.height, channels: 3 } },
  )
    .resize(size, size, { fit: "fill", kernel })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

/** An image as a data URI (JPEG keeps photos small inside the Plotly JSON). */
export async function rgbDataUri(img: RgbImage, format: "png" | "jpeg" = "png"): Promise<string> {
  const s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  const buf =
    format === "png"
      ? await s.png({ compressionLevel: 9 }).toBuffer()
      : await s.jpeg({ quality: 85 }).toBuffer();
  return `data:image/${format};base64,${buf.toString("base64")}`;
}

/** A small perceptual colour map (inferno-like) sampled at 5 stops, linear in between. */
const STOPS: [number, number, number][] = [
  [0, 0, 4],
  [87, 16, 110],
  [188, 55, 84],
  [249, 142, 9],
  [252, 255, 164],
];
export function colormap(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x)),
    f = x - i;
  const a = STOPS[i]!,
    b = STOPS[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The same map as a plotly colorscale; `alpha` adds the overlay's growing opacity. */
export function plotlyColorscale(alpha = false): [number, string][] {
  return [0, 0.25, 0.5, 0.75, 1].map((v) => {
    const [r, g, b] = colormap(v).map(Math.round) as [number, number, number];
    return [
      v,
      alpha
        ? `rgba(${r},${g},${b},${(0.75 * (0.25 + 0.75 * v)).toFixed(2)})`
        : `rgb(${r},${g},${b})`,
    ];
  });
}

/**
 * Blend an attention grid over an image of the same square extent: the grid is upsampled
 * bilinearly, scaled to its maximum (at least `floorMax`, so near-uniform attention stays dim instead of
 * being stretched to full colour), coloured, and mixed in with opacity growing with the value
 * (low attention leaves the image visible). Returns raw RGB of size×size.
 */
export async function overlayRaw(
  image: RgbImage,
  grid: ArrayLike<number>,
  h: number,
  w: number,
  size: number,
  maxAlpha = 0.75,
  floorMax = 0,
): Promise<RgbImage> {
  const base = await resizeRgb(image, size);
  const heat = upsampleBilinear(grid, h, w, size, size);
  let max = floorMax;
  for (const v of heat) max = Math.max(max, v);
  const out = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    const v = max > 0 ? heat[p]! / max : 0;
    const [r, g, b] = colormap(v);
    const a = maxAlpha * (0.25 + 0.75 * v);
    out[3 * p] = Math.round(base.data[3 * p]! * (1 - a) + r * a);
    out[3 * p + 1] = Math.round(base.data[3 * p + 1]! * (1 - a) + g * a);
    out[3 * p + 2] = Math.round(base.data[3 * p + 2]! * (1 - a) + b * a);
  }
  return { width: size, height: size, data: out };
}

export interface Panel {
  image: RgbImage;
  label?: string;
}

/**
 * Lay panels out in a grid on white, each with a label line underneath, plus an optional title
 * line on top. Labels are drawn as SVG text (rendered by sharp's librsvg).
 */
export async function panelsPng(
  panels: Panel[],
  opts: { columns: number; title?: string; gap?: number; labelHeight?: number },
): Promise<Buffer> {
  if (panels.length === 0) throw new VizError("nothing to draw: no panels");
  const gap = opts.gap ?? 6,
    lh = opts.labelHeight ?? 16,
    th = opts.title ? 22 : 0;
  const pw = Math.max(...panels.map((p) => p.image.width)),
    ph = Math.max(...panels.map((p) => p.image.height));
  const cols = Math.min(opts.columns, panels.length),
    rows = Math.ceil(panels.length / cols);
  const width = gap + cols * (pw + gap),
    height = th + gap + rows * (ph + lh + gap);
  const layers: OverlayOptions[] = [];
  const texts: string[] = [];
  if (opts.title)
    texts.push(
      `<text x="${gap}" y="16" font-family="DejaVu Sans, sans-serif" font-size="14" fill="#222">${escapeHtml(opts.title)}</text>`,
    );
  panels.forEach((p, i) => {
    const left = gap + (i % cols) * (pw + gap),
      top = th + gap + Math.floor(i / cols) * (ph + lh + gap);
    layers.push({
      input: Buffer.from(p.image.data.buffer, p.image.data.byteOffset, p.image.data.length),
      raw: { width: p.image.width, height: p.image.height, channels: 3 },
      left,
      top,
    });
    if (p.label)
      texts.push(
        `<text x="${left + pw / 2}" y="${top + ph + lh - 4}" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-size="11" fill="#222">${escapeHtml(truncate(p.label, Math.floor(pw / 6.5)))}</text>`,
      );
  });
  if (texts.length)
    layers.push({
      input: Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join("")}</svg>`,
      ),
      left: 0,
      top: 0,
    });
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(layers)
    .png({ compressionLevel: 9, palette: true, colors: 128, effort: 7 })
    .toBuffer();
}

export function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, Math.max(1, n - 1)) + "…";
}
