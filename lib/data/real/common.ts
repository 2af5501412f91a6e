/** Shared by the offline real sets: stable splits by hashing a record's key (not the seed). */
import { hashInts } from "../world/hash.ts";
import { DataError } from "../errors.ts";

export function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** 80/10/10 by key, so a stamp or emoji is in the same split whatever the seed. */
export function splitOfKey(key: string): "train" | "val" | "test" {
  const h = hashInts(stringHash(key), 0x5b1) % 100;
  return h < 80 ? "train" : h < 90 ? "val" : "test";
}

export function checkSplit(split: unknown, source: string): "train" | "val" | "test" | undefined {
  if (split === undefined) return undefined;
  if (split === "train" || split === "val" || split === "test") return split;
  throw new DataError(`unknown split "${String(split)}" (train, val, test)`, { file: source });
}
