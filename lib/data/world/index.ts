/**
 * The built-in seeded world ("shapes"). Record j of a world is a pure function of (seed, j): its
 * split comes from hashing j, its scene, pixels and words from independent seeded generators. So
 * any slice can be made without the rest, and the same seed gives byte-identical data.
 */
import type { AnnotatedImage } from "../types.ts";
import { Rng } from "../../util/rng.ts";
import { hashInts, TAG } from "./hash.ts";
import { sampleScene } from "./scene.ts";
import { renderScene } from "./raster.ts";
import { makeAltText, makeCaptions, makeVqa, makeEntailment, makeDocument } from "./text.ts";
import { isHeldOutPair, HELD_OUT_PAIRS } from "./vocab.ts";

export type WorldSplit = "train" | "val" | "test";

export interface WorldOptions {
  seed: number;
  split: WorldSplit;
  n: number;
  /** Image side in pixels (default 64). Models resize to their own resolution. */
  size?: number;
  /** Record index to start scanning from (default 0): lets callers page through a split. */
  start?: number;
  antialias?: boolean;
}

/** Split of record j: 80% train, 10% val, 10% test, by seeded hash. */
export function worldSplitOf(seed: number, j: number): WorldSplit {
  const h = hashInts(seed, j, TAG.split) % 100;
  return h < 80 ? "train" : h < 90 ? "val" : "test";
}

/** Record j of the world (its split is worldSplitOf(seed, j)). */
export function worldRecord(seed: number, j: number, size = 64, antialias = true): AnnotatedImage {
  const split = worldSplitOf(seed, j);
  const objects = sampleScene(new Rng(hashInts(seed, j, TAG.scene)), { allowHeldOut: split !== "train", heldOutRate: 0.3 });
  const image = renderScene(objects, size, new Rng(hashInts(seed, j, TAG.render)), { antialias });
  const rng = new Rng(hashInts(seed, j, TAG.text));
  const altText = makeAltText(objects, rng);
  const captions = makeCaptions(objects, rng);
  const vqa = makeVqa(objects, rng);
  const entailment = makeEntailment(objects, captions[0]!, rng);
  const heldOut = objects.some((o) => isHeldOutPair(o.color, o.shape));
  return { id: `shapes-${seed}-${j}`, image, altText, captions, vqa, entailment, objects, split, heldOut };
}

/** The first n records of a split (scanning record indices from `start`). */
export function makeWorld(opts: WorldOptions): AnnotatedImage[] {
  if (!Number.isInteger(opts.n) || opts.n < 0) throw new RangeError(`makeWorld: n must be a non-negative integer, got ${opts.n}`);
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 8) throw new RangeError(`makeWorld: size must be an integer >= 8, got ${size}`);
  const out: AnnotatedImage[] = [];
  for (let j = opts.start ?? 0; out.length < opts.n; j++) {
    if (worldSplitOf(opts.seed, j) === opts.split) out.push(worldRecord(opts.seed, j, size, opts.antialias ?? true));
  }
  return out;
}

/** Document t of the text-only corpus (scenes drawn independently of the image records). */
export function worldDocument(seed: number, t: number): string {
  const rng = new Rng(hashInts(seed, t, TAG.corpus));
  const objects = sampleScene(rng, { allowHeldOut: false, heldOutRate: 0 });
  return makeDocument(objects, rng);
}

/** n fluent scene descriptions for text-only pretraining (the paper's C4 role). */
export function worldTextCorpus(opts: { seed: number; n: number; start?: number }): string[] {
  const s = opts.start ?? 0;
  return Array.from({ length: opts.n }, (_, i) => worldDocument(opts.seed, s + i));
}

/** The colour+shape pairs kept out of train (for compositional zero-shot evaluation). */
export function worldHeldOutPairs(): Array<{ color: string; shape: string }> {
  return HELD_OUT_PAIRS.map((p) => ({ ...p }));
}
