/** Small fixtures for the training tests. */
import { makeWorld } from "../../lib/data/index.ts";
import type { Example } from "../../lib/data/types.ts";
import { resolveConfig, type ModelConfig } from "../../lib/model/configs.ts";

/** A deterministic word-level tokenizer: ids from 4 upwards in order of first appearance. */
export function wordTokenizer(vocabSize = 200) {
  const ids = new Map<string, number>();
  return {
    vocabSize,
    encode(text: string): number[] {
      return text
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => {
          if (!ids.has(w)) ids.set(w, 4 + ids.size);
          const id = ids.get(w)!;
          if (id >= vocabSize) throw new Error(`wordTokenizer: vocabulary full at "${w}"`);
          return id;
        });
    },
  };
}

/** The tiny config, optionally changed. */
export function tiny(over: Partial<ModelConfig> = {}): ModelConfig {
  return resolveConfig({ base: "tiny", ...over });
}

/** n image-text pairs from the built-in world (32 px), with captions[which] as the text. */
export function worldExamples(n: number, seed = 3, which = 4): Example[] {
  return makeWorld({ seed, split: "train", n, size: 32 }).map((w) => ({
    id: w.id,
    image: w.image,
    text: w.captions[which]!,
  }));
}

/** A mix: image-text pairs plus text-only documents. */
export function mixedExamples(nPairs: number, nDocs: number, seed = 5): Example[] {
  const pairs = worldExamples(nPairs, seed, 0);
  const docs: Example[] = Array.from({ length: nDocs }, (_, i) => ({
    id: `doc-${i}`,
    text: `the ${["red", "blue", "green"][i % 3]} circle is left of the square number ${i}`,
  }));
  return [...pairs, ...docs];
}
