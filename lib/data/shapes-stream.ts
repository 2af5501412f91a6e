/**
 * The built-in world as an infinite, resumable ExampleStream: image/alt-text pairs from one split,
 * with a text-only scene document after every `textOnlyEvery` of them.
 *
 * What is seen and in which order are separate (issue 14): the world — every record and document —
 * is fixed by `spec.dataSeed` (default WORLD_DATA_SEED); the run seed (`opts.seed`) only fixes the
 * visiting order. Record indices are taken in blocks of ORDER_BLOCK, each block in its own seeded
 * permutation, so two run seeds see the same records of a block in different orders (documents
 * likewise). Position p of the stream is a pure function of (dataSeed, seed, p), and the cursor is
 * three integers, so resuming is exact and cheap.
 */
import type { DataCursor, DataSpec, Example, ExampleStream } from "./types.ts";
import { DataError } from "./errors.ts";
import {
  worldRecord,
  worldSplitOf,
  worldDocument,
  WORLD_DATA_SEED,
  type WorldSplit,
} from "./world/index.ts";
import { Rng } from "../util/rng.ts";
import { hashInts, TAG } from "./world/hash.ts";

interface ShapesCursor {
  source: "shapes";
  pos: number;
  j: number;
  t: number;
}

/** Record (and document) indices are shuffled within blocks of this many. */
export const ORDER_BLOCK = 4096;

/**
 * The index visited at position `i` of a seeded block-wise order: block ⌊i / ORDER_BLOCK⌋ in the
 * permutation drawn from (seed, block, tag). The last block's permutation is cached.
 */
function blockOrder(seed: number, tag: number): (i: number) => number {
  let block = -1,
    perm = new Uint32Array(0);
  return (i) => {
    const b = Math.floor(i / ORDER_BLOCK);
    if (b !== block) {
      block = b;
      perm = Uint32Array.from(
        new Rng(hashInts(seed, b, tag)).shuffle(Array.from({ length: ORDER_BLOCK }, (_, k) => k)),
      );
    }
    return b * ORDER_BLOCK + perm[i - b * ORDER_BLOCK]!;
  };
}

/** The data seed of a shapes spec: `spec.dataSeed` (an integer), else WORLD_DATA_SEED. */
export function shapesDataSeed(spec: DataSpec): number {
  const d = spec.dataSeed ?? WORLD_DATA_SEED;
  if (!Number.isInteger(d))
    throw new DataError(`dataSeed must be an integer, got ${JSON.stringify(spec.dataSeed)}`, {
      file: "shapes",
    });
  return d as number;
}

export function openShapesStream(
  spec: DataSpec,
  opts: { seed: number; cursor?: DataCursor; imageSize?: number },
): ExampleStream {
  const split = (spec.split ?? "train") as WorldSplit;
  if (!["train", "val", "test"].includes(split))
    throw new DataError(`unknown split "${String(spec.split)}" (train, val, test)`, {
      file: "shapes",
    });
  const every = spec.textOnlyEvery ?? 0;
  if (!Number.isInteger(every) || every < 0)
    throw new DataError(`textOnlyEvery must be a non-negative integer, got ${every}`, {
      file: "shapes",
    });
  const textMode = spec.text ?? "alt";
  if (textMode !== "alt" && textMode !== "caption")
    throw new DataError(`text must be "alt" or "caption", got "${textMode}"`, { file: "shapes" });
  const size = opts.imageSize ?? 64;
  const dataSeed = shapesDataSeed(spec);
  const seed = opts.seed;
  const c = opts.cursor as Partial<ShapesCursor> | undefined;
  if (
    c &&
    (c.source !== "shapes" ||
      ![c.pos, c.j, c.t].every((v) => Number.isInteger(v) && (v as number) >= 0))
  ) {
    throw new DataError(`cursor ${JSON.stringify(c)} is not a shapes-stream cursor`, {
      file: "shapes",
    });
  }
  // j and t count positions in the run's visiting orders of record and document indices.
  let pos = c?.pos ?? 0,
    j = c?.j ?? 0,
    t = c?.t ?? 0;
  const recordAt = blockOrder(seed, TAG.order),
    documentAt = blockOrder(seed, TAG.docOrder);

  function one(): Example {
    const textTurn = every > 0 && (pos + 1) % (every + 1) === 0;
    pos++;
    if (textTurn) {
      const d = documentAt(t++);
      return { id: `shapes-doc-${dataSeed}-${d}`, text: worldDocument(dataSeed, d) };
    }
    while (worldSplitOf(dataSeed, recordAt(j)) !== split) j++;
    const r = recordAt(j++);
    const rec = worldRecord(dataSeed, r, size);
    // Which clean caption a "caption" stream shows is a per-run choice, like the order.
    const text =
      textMode === "alt"
        ? rec.altText
        : rec.captions[new Rng(hashInts(seed, r, TAG.stream)).int(0, rec.captions.length - 1)]!;
    return {
      id: rec.id,
      image: rec.image,
      text,
      meta: { captions: rec.captions, objects: rec.objects, heldOut: rec.heldOut },
    };
  }

  return {
    async next(n: number) {
      return Array.from({ length: n }, one);
    },
    cursor: () => ({ source: "shapes", pos, j, t }),
    skipped: () => 0,
  };
}
