/** Sampling the objects of one scene: 1–4 non-overlapping shapes, held-out pairs kept out of train. */
import type { SceneObject } from "../types.ts";
import type { Rng } from "../../util/rng.ts";
import {
  WORLD_COLORS,
  WORLD_SHAPES,
  WORLD_SIZES,
  SIZE_RADIUS,
  HELD_OUT_PAIRS,
  isHeldOutPair,
} from "./vocab.ts";

export interface SceneOptions {
  /** Train scenes never contain a held-out pair. */
  allowHeldOut: boolean;
  /** Probability of forcing one held-out pair into a val/test scene (so zero-shot tests have data). */
  heldOutRate: number;
}

export function sampleScene(rng: Rng, opts: SceneOptions): SceneObject[] {
  const count = rng.int(1, 4);
  const objects: SceneObject[] = [];
  const forceHeldOut = opts.allowHeldOut && rng.next() < opts.heldOutRate;
  for (let k = 0; k < count; k++) {
    let color = rng.pick(WORLD_COLORS) as string;
    let shape = rng.pick(WORLD_SHAPES) as string;
    if (k === 0 && forceHeldOut) ({ color, shape } = rng.pick(HELD_OUT_PAIRS));
    while (!opts.allowHeldOut && isHeldOutPair(color, shape)) shape = rng.pick(WORLD_SHAPES);
    // Two objects with the same colour AND shape make questions ambiguous; resample the colour.
    while (
      objects.some((o) => o.color === color && o.shape === shape) ||
      (!opts.allowHeldOut && isHeldOutPair(color, shape))
    ) {
      color = rng.pick(WORLD_COLORS);
    }
    const size = rng.pick(WORLD_SIZES);
    const r = SIZE_RADIUS[size];
    // Rejection-sample a centre whose bounding circle does not touch the others'.
    let placed: SceneObject | undefined;
    for (let tries = 0; tries < 40 && !placed; tries++) {
      const x = r + rng.next() * (1 - 2 * r),
        y = r + rng.next() * (1 - 2 * r);
      const clear = objects.every(
        (o) => Math.hypot(o.x - x, o.y - y) > SIZE_RADIUS[o.size] + r + 0.02,
      );
      if (clear) placed = { shape, color, size, x: round3(x), y: round3(y) };
    }
    if (placed) objects.push(placed);
  }
  if (objects.length === 0)
    objects.push({ shape: "circle", color: "red", size: "medium", x: 0.5, y: 0.5 });
  return objects;
}

/** Positions are stored rounded so JSON round-trips are exact. */
function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
