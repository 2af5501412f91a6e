/**
 * The built-in world as an infinite, resumable ExampleStream: image/alt-text pairs from one split,
 * with a text-only scene document after every `textOnlyEvery` of them. Position p of the stream is
 * a pure function of (seed, p), and the cursor is three integers, so resuming is exact and cheap.
 */
import type { DataCursor, DataSpec, Example, ExampleStream } from "./types.ts";
import { DataError } from "./errors.ts";
import { worldRecord, worldSplitOf, worldDocument, type WorldSplit } from "./world/index.ts";
import { Rng } from "../util/rng.ts";
import { hashInts, TAG } from "./world/hash.ts";

interface ShapesCursor { source: "shapes"; pos: number; j: number; t: number }

export function openShapesStream(spec: DataSpec, opts: { seed: number; cursor?: DataCursor; imageSize?: number }): ExampleStream {
  const split = (spec.split ?? "train") as WorldSplit;
  if (!["train", "val", "test"].includes(split)) throw new DataError(`unknown split "${String(spec.split)}" (train, val, test)`, { file: "shapes" });
  const every = spec.textOnlyEvery ?? 0;
  if (!Number.isInteger(every) || every < 0) throw new DataError(`textOnlyEvery must be a non-negative integer, got ${every}`, { file: "shapes" });
  const textMode = spec.text ?? "alt";
  if (textMode !== "alt" && textMode !== "caption") throw new DataError(`text must be "alt" or "caption", got "${textMode}"`, { file: "shapes" });
  const size = opts.imageSize ?? 64;
  const seed = opts.seed;
  const c = opts.cursor as Partial<ShapesCursor> | undefined;
  if (c && (c.source !== "shapes" || ![c.pos, c.j, c.t].every((v) => Number.isInteger(v) && (v as number) >= 0))) {
    throw new DataError(`cursor ${JSON.stringify(c)} is not a shapes-stream cursor`, { file: "shapes" });
  }
  let pos = c?.pos ?? 0, j = c?.j ?? 0, t = c?.t ?? 0;

  function one(): Example {
    const textTurn = every > 0 && (pos + 1) % (every + 1) === 0;
    pos++;
    if (textTurn) {
      const id = `shapes-doc-${seed}-${t}`;
      return { id, text: worldDocument(seed, t++) };
    }
    while (worldSplitOf(seed, j) !== split) j++;
    const r = worldRecord(seed, j, size);
    const text = textMode === "alt" ? r.altText : r.captions[new Rng(hashInts(seed, j, TAG.stream)).int(0, r.captions.length - 1)]!;
    j++;
    return { id: r.id, image: r.image, text, meta: { captions: r.captions, objects: r.objects, heldOut: r.heldOut } };
  }

  return {
    async next(n: number) { return Array.from({ length: n }, one); },
    cursor: () => ({ source: "shapes", pos, j, t }),
    skipped: () => 0,
  };
}
