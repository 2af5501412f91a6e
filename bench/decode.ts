/**
 * `simvlm bench decode`: greedy captioning speed (generated tokens per second) of the `reference`
 * model at batch 1 and batch 16, through lib/decode's generate. The weights are untrained, so
 * generation almost never stops early; tokens are counted from what was actually generated.
 */
import { tf, initBackend } from "../lib/backend/index.ts";
import { SimVLM, resolveConfig } from "../lib/model/index.ts";
import { generate } from "../lib/decode/index.ts";
import type { SimTokenizer } from "../lib/tokenizer/index.ts";
import type { RgbImage } from "../lib/data/types.ts";
import { Rng } from "../lib/util/rng.ts";
import { median } from "./train-step.ts";

export interface DecodeBenchRow {
  batch: number;
  maxLen: number;
  ms_per_call: number;
  tokens: number;
  tokens_per_s: number;
}
export interface DecodeBenchResult {
  bench: "decode";
  backend: string;
  threads: number;
  model: string;
  runs: number;
  rows: DecodeBenchRow[];
  tensors_before: number;
  tensors_after: number;
}

/** A stand-in tokenizer over the model's ids: decoding speed does not depend on the vocabulary's content. */
function idTokenizer(vocabSize: number): SimTokenizer {
  return {
    vocabSize,
    encode: (text: string) => [...text].map((ch) => 4 + (ch.charCodeAt(0) % (vocabSize - 4))),
    decode: (ids: number[]) => ids.map((i) => `t${i}`).join(" "),
    tokenString: (id: number) => `t${id}`,
  } as unknown as SimTokenizer;
}

export async function benchDecode(
  opts: { runs?: number; batches?: number[]; maxLen?: number; log?: (s: string) => void } = {},
): Promise<DecodeBenchResult> {
  const runs = Math.max(1, opts.runs ?? 3),
    maxLen = opts.maxLen ?? 24;
  const info = await initBackend();
  const before = tf.memory().numTensors;
  const config = resolveConfig("reference");
  const model = new SimVLM(config, 0);
  const tok = idTokenizer(config.vocabSize);
  const rng = new Rng(5);
  const rows: DecodeBenchRow[] = [];
  try {
    for (const batch of opts.batches ?? [1, 16]) {
      const images: RgbImage[] = Array.from({ length: batch }, () => {
        const data = new Uint8Array(config.imageSize * config.imageSize * 3);
        for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 255);
        return { width: config.imageSize, height: config.imageSize, data };
      });
      await generate(model, tok, { images, maxLen: 2, progress: false }); // warm-up
      const times: number[] = [];
      let tokens = 0;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const out = await generate(model, tok, { images, maxLen, progress: false });
        times.push(performance.now() - t0);
        tokens = out.ids.reduce((s, ids) => s + ids.length, 0);
      }
      const ms = median(times);
      rows.push({
        batch,
        maxLen,
        ms_per_call: Math.round(ms),
        tokens,
        tokens_per_s: Math.round((tokens / (ms / 1000)) * 10) / 10,
      });
      opts.log?.(`batch ${batch}: ${ms.toFixed(0)} ms for ${tokens} tokens`);
    }
  } finally {
    model.dispose();
  }
  return {
    bench: "decode",
    backend: info.name,
    threads: info.threads,
    model: 'lib/model SimVLM "reference" (untrained), greedy',
    runs,
    rows,
    tensors_before: before,
    tensors_after: tf.memory().numTensors,
  };
}

export function formatDecode(r: DecodeBenchResult): string {
  return [
    `decode on ${r.backend} (${r.threads} thread${r.threads === 1 ? "" : "s"}) — ${r.model}, median of ${r.runs}`,
    ...r.rows.map(
      (x) =>
        `  batch ${String(x.batch).padStart(2)}: ${x.tokens_per_s} tokens/s (${x.tokens} tokens in ${x.ms_per_call} ms, maxLen ${x.maxLen})`,
    ),
    `  tensors before ${r.tensors_before}, after ${r.tensors_after}`,
  ].join("\n");
}
