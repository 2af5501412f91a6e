// Shared fixtures for the model tests: a tiny config and deterministic inputs.
import { tf } from "../../lib/backend/index.ts";
import { MODEL_CONFIGS, type ModelConfig } from "../../lib/model/index.ts";
import { Rng } from "../../lib/util/rng.ts";

export function tinyConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    ...MODEL_CONFIGS.tiny,
    convChannels: [...MODEL_CONFIGS.tiny.convChannels],
    vocabSize: 40,
    ...over,
  };
}

export function randomImages(cfg: ModelConfig, B: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed),
    n = B * cfg.imageSize * cfg.imageSize * 3;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next();
  return tf.tensor4d(v, [B, cfg.imageSize, cfg.imageSize, 3]);
}

export function ids(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], "int32");
}

/** Max |a − b| over two same-shaped arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
