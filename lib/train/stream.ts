/**
 * An in-memory example list as a seeded, resumable ExampleStream: epochs of a seeded shuffle, the
 * cursor is { epoch, index }. Used when pretrain is given examples directly (tests, notebooks).
 */
import { createHash } from "node:crypto";
import type { DataCursor, Example, ExampleStream } from "../data/types.ts";
import { Rng } from "../util/rng.ts";
import { TrainConfigError } from "./errors.ts";

/** A short fingerprint of an example list (ids and texts), stored in checkpoints to catch a resume on other data. */
export function examplesFingerprint(examples: Example[]): string {
  const h = createHash("sha256");
  for (const e of examples) {
    h.update(e.id);
    h.update("\0");
    h.update(e.text);
    h.update(e.image ? "\u0001" : "\u0000");
  }
  return h.digest("hex").slice(0, 16);
}

export function memoryExampleStream(
  examples: Example[],
  seed: number,
  cursor?: DataCursor,
): ExampleStream {
  if (examples.length === 0) throw new TrainConfigError("pretrain: the example list is empty");
  let epoch = 0,
    index = 0;
  if (cursor) {
    const c = cursor as { source?: unknown; epoch?: unknown; index?: unknown };
    if (c.source !== "memory" || !Number.isInteger(c.epoch) || !Number.isInteger(c.index)) {
      throw new TrainConfigError(
        `cursor ${JSON.stringify(cursor)} is not an in-memory stream cursor`,
      );
    }
    epoch = c.epoch as number;
    index = c.index as number;
  }
  // The order of epoch e is a pure function of (seed, e): cheap and exact to resume.
  const orderOf = (e: number) =>
    new Rng((seed * 1000003 + e * 7919 + 17) >>> 0).shuffle(examples.map((_, i) => i));
  let order = orderOf(epoch);
  return {
    async next(n: number) {
      const out: Example[] = [];
      while (out.length < n) {
        if (index >= order.length) {
          epoch++;
          index = 0;
          order = orderOf(epoch);
        }
        out.push(examples[order[index++]!]!);
      }
      return out;
    },
    cursor: () => ({ source: "memory", epoch, index }),
    skipped: () => 0,
  };
}
