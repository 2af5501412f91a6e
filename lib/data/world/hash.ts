/**
 * Seeded integer hashing: every record of the built-in world is generated from hash(seed, index, tag)
 * alone, so any record can be made on its own (random access, resumable streams, parallel export).
 */
export function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function hashInts(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) h = mix32((h ^ (x >>> 0)) + 0x9e3779b9);
  return h;
}

/** Stream tags keep the sub-generators of one record independent. */
export const TAG = {
  split: 1,
  scene: 2,
  render: 3,
  text: 4,
  corpus: 5,
  stream: 6,
  order: 7,
  docOrder: 8,
} as const;
