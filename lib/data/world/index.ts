/**
 * The built-in seeded world ("shapes"). Record j of a world is a pure function of (dataSeed, j): its
 * split comes from hashing j, its scene, pixels and words from independent seeded generators. So
 * any slice can be made without the rest, and the same data seed gives byte-identical data.
 *
 * Two seeds, two jobs (issue 14): the **data seed** fixes the world — which record is in which split
 * and what every record contains — and defaults to WORLD_DATA_SEED, so every run of an experiment is
 * trained and tested on the same world; the **run seed** (the `seed` of openStream and pretrain) only
 * fixes the order in which the training stream visits the world, plus init and dropout.
 */
import { createHash } from "node:crypto";
import type { AnnotatedImage } from "../types.ts";
import { Rng } from "../../util/rng.ts";
import { hashInts, TAG } from "./hash.ts";
import { sampleScene } from "./scene.ts";
import { renderScene } from "./raster.ts";
import { makeAltText, makeCaptions, makeVqa, makeEntailment, makeDocument } from "./text.ts";
import { isHeldOutPair, HELD_OUT_PAIRS } from "./vocab.ts";

export type WorldSplit = "train" | "val" | "test";

/** Share of val/test scenes forced to hold one held-out pair (so compositional zero-shot has data). */
const HELD_OUT_RATE = 0.3;

/** The data seed every caller gets unless it asks for another world: one fixed world per project. */
export const WORLD_DATA_SEED = 0;

export interface WorldOptions {
  /** The world's data seed (default WORLD_DATA_SEED): splits and content. Never pass a run seed here. */
  dataSeed?: number;
  /**
   * @deprecated The old name of `dataSeed` (same meaning). Callers that passed their run seed here got
   * a different world — a different test set — per training seed; pass `dataSeed` or nothing.
   */
  seed?: number;
  split: WorldSplit;
  n: number;
  /** Image side in pixels (default 64). Models resize to their own resolution. */
  size?: number;
  /** Record index to start scanning from (default 0): lets callers page through a split. */
  start?: number;
  antialias?: boolean;
}

/** The data seed of world options: `dataSeed`, else the deprecated `seed`, else WORLD_DATA_SEED. */
export function worldDataSeed(opts: { dataSeed?: number; seed?: number }): number {
  const { dataSeed, seed } = opts;
  if (dataSeed !== undefined && seed !== undefined && dataSeed !== seed) {
    throw new RangeError(
      `world options: dataSeed (${dataSeed}) and its deprecated alias seed (${seed}) differ; pass dataSeed only`,
    );
  }
  const s = dataSeed ?? seed ?? WORLD_DATA_SEED;
  if (!Number.isInteger(s))
    throw new RangeError(`world options: dataSeed must be an integer, got ${s}`);
  return s;
}

/** Split of record j: 80% train, 10% val, 10% test, by a hash of (dataSeed, j). */
export function worldSplitOf(dataSeed: number, j: number): WorldSplit {
  const h = hashInts(dataSeed, j, TAG.split) % 100;
  return h < 80 ? "train" : h < 90 ? "val" : "test";
}

/** Record j of the world with this data seed (its split is worldSplitOf(dataSeed, j)). */
export function worldRecord(
  dataSeed: number,
  j: number,
  size = 64,
  antialias = true,
): AnnotatedImage {
  const split = worldSplitOf(dataSeed, j);
  const allowHeldOut = split !== "train";
  const objects = sampleScene(new Rng(hashInts(dataSeed, j, TAG.scene)), {
    allowHeldOut,
    heldOutRate: HELD_OUT_RATE,
  });
  const image = renderScene(objects, size, new Rng(hashInts(dataSeed, j, TAG.render)), {
    antialias,
  });
  const rng = new Rng(hashInts(dataSeed, j, TAG.text));
  const altText = makeAltText(objects, rng, { allowHeldOut });
  const captions = makeCaptions(objects, rng);
  const vqa = makeVqa(objects, rng);
  const entailment = makeEntailment(objects, captions[0]!, rng, {
    allowHeldOut,
    heldOutRate: HELD_OUT_RATE,
  });
  const heldOut = objects.some((o) => isHeldOutPair(o.color, o.shape));
  return {
    id: `shapes-${dataSeed}-${j}`,
    image,
    altText,
    captions,
    vqa,
    entailment,
    objects,
    split,
    heldOut,
  };
}

function checkWorldOptions(opts: WorldOptions, what: string): { dataSeed: number; size: number } {
  if (!Number.isInteger(opts.n) || opts.n < 0)
    throw new RangeError(`${what}: n must be a non-negative integer, got ${opts.n}`);
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 8)
    throw new RangeError(`${what}: size must be an integer >= 8, got ${size}`);
  if (!["train", "val", "test"].includes(opts.split))
    throw new RangeError(
      `${what}: split must be train, val or test, got ${JSON.stringify(opts.split)}`,
    );
  return { dataSeed: worldDataSeed(opts), size };
}

/** Record indices of the first n records of a split (scanning from `start`). */
function* splitIndices(
  dataSeed: number,
  split: WorldSplit,
  n: number,
  start = 0,
): Generator<number> {
  for (let j = start, found = 0; found < n; j++)
    if (worldSplitOf(dataSeed, j) === split) {
      found++;
      yield j;
    }
}

/** The first n records of a split of the world `dataSeed` (scanning record indices from `start`). */
export function makeWorld(opts: WorldOptions): AnnotatedImage[] {
  const { dataSeed, size } = checkWorldOptions(opts, "makeWorld");
  return [...splitIndices(dataSeed, opts.split, opts.n, opts.start)].map((j) =>
    worldRecord(dataSeed, j, size, opts.antialias ?? true),
  );
}

/** Feed one record's whole content (ids, annotations, pixels) to a hash, in a fixed field order. */
function hashRecord(h: ReturnType<typeof createHash>, r: AnnotatedImage): void {
  const text = {
    id: r.id,
    split: r.split,
    heldOut: r.heldOut ?? false,
    objects: r.objects,
    altText: r.altText,
    captions: r.captions,
    vqa: r.vqa,
    entailment: r.entailment,
  };
  h.update(JSON.stringify(text));
  h.update(`\n${r.image.width}x${r.image.height}\n`);
  h.update(r.image.data);
}

/**
 * SHA-256 (hex) of a list of records' content — ids, splits, objects, alt-text, captions, VQA,
 * entailment and the pixels, in list order — to store with every result, so two results can be
 * checked to come from the same data. It hashes the pixels too (not only ids and texts) because the
 * pixels depend on the rasteriser's code and the image size, not on the ids alone.
 */
export function recordsHash(records: readonly AnnotatedImage[]): string {
  const h = createHash("sha256");
  for (const r of records) hashRecord(h, r);
  return h.digest("hex");
}

/**
 * recordsHash of makeWorld(opts) — the hash of a split's first n records at this image size —
 * computed record by record without holding the split in memory. Changes exactly when the content
 * changes: another data seed, split, n, start, size or antialias, or a code change to the generator.
 */
export function splitHash(opts: WorldOptions): string {
  const { dataSeed, size } = checkWorldOptions(opts, "splitHash");
  const h = createHash("sha256");
  for (const j of splitIndices(dataSeed, opts.split, opts.n, opts.start))
    hashRecord(h, worldRecord(dataSeed, j, size, opts.antialias ?? true));
  return h.digest("hex");
}

/** Document t of the text-only corpus of the world `dataSeed` (scenes drawn independently of the image records). */
export function worldDocument(dataSeed: number, t: number): string {
  const rng = new Rng(hashInts(dataSeed, t, TAG.corpus));
  const objects = sampleScene(rng, { allowHeldOut: false, heldOutRate: 0 });
  return makeDocument(objects, rng);
}

/** n fluent scene descriptions for text-only pretraining (the paper's C4 role). `seed` is a deprecated alias of dataSeed. */
export function worldTextCorpus(opts: {
  dataSeed?: number;
  seed?: number;
  n: number;
  start?: number;
}): string[] {
  const dataSeed = worldDataSeed(opts);
  const s = opts.start ?? 0;
  return Array.from({ length: opts.n }, (_, i) => worldDocument(dataSeed, s + i));
}

/** The colour+shape pairs kept out of train (for compositional zero-shot evaluation). */
export function worldHeldOutPairs(): Array<{ color: string; shape: string }> {
  return HELD_OUT_PAIRS.map((p) => ({ ...p }));
}
