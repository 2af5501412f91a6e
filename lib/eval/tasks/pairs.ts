/**
 * Scoring task pairs (lib/train/pair-batch.ts: (image?, prefix, target) triples as a training batch)
 * under teacher forcing: per-pair log-likelihoods with the training loss, for entailment labels,
 * candidate answers and validation losses.
 */
import { tf } from "../../backend/index.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { disposeBatch, type TrainBatch } from "../../train/batch.ts";
import { pairBatch, type TaskPair } from "../../train/pair-batch.ts";
import { tokenLosses } from "../../train/step.ts";
import { runSignal, throwIfAborted, type LongRunOptions } from "../../runtime.ts";

/** Per-pair scores under teacher forcing. */
export interface PairScores {
  /** Sum of log p(target token) over the target tokens incl. eos (a log-likelihood, ≤ 0). */
  logLik: number[];
  /** Target tokens scored (incl. eos). */
  tokens: number[];
  /** Target tokens the model ranks first (argmax = target). */
  correct: number[];
}

/**
 * Per-row sums over the batch's target positions: negative log-likelihood, token count and tokens
 * ranked first. Evaluation mode (no dropout). Shared by pair scoring and validation losses.
 */
export function batchRowStats(
  model: Pick<SimVLM, "apply">,
  batch: TrainBatch,
): { nll: Float32Array; tokens: Float32Array; correct: Float32Array } {
  const [nll, tokens, correct] = tf.tidy(() => {
    const { logits } = model.apply(batch.inputs, { training: false });
    const m = batch.lossMask;
    const hit = tf.cast(
      tf.equal(tf.argMax(logits, -1), tf.cast(batch.targets, "int32")),
      "float32",
    );
    return [
      tf.sum(tf.mul(tokenLosses(logits, batch.targets), m), 1),
      tf.sum(m, 1),
      tf.sum(tf.mul(hit, m), 1),
    ];
  });
  try {
    return {
      nll: nll.dataSync() as Float32Array,
      tokens: tokens.dataSync() as Float32Array,
      correct: correct.dataSync() as Float32Array,
    };
  } finally {
    tf.dispose([nll, tokens, correct]);
  }
}

/** Teacher-forced log-likelihood of each pair's target given its image and prefix, in batches. */
export function scorePairs(
  model: Pick<SimVLM, "apply" | "config">,
  tokenizer: Pick<SimTokenizer, "encode">,
  pairs: TaskPair[],
  opts: LongRunOptions & { batchSize?: number } = {},
): PairScores {
  const bs = opts.batchSize ?? 32;
  const signal = runSignal(opts);
  const out: PairScores = { logLik: [], tokens: [], correct: [] };
  for (let i = 0; i < pairs.length; i += bs) {
    throwIfAborted(signal, "scoring");
    const batch = pairBatch(pairs.slice(i, i + bs), tokenizer, model.config);
    try {
      const s = batchRowStats(model, batch);
      s.nll.forEach((v, r) => {
        out.logLik.push(-v);
        out.tokens.push(s.tokens[r]!);
        out.correct.push(s.correct[r]!);
      });
    } finally {
      disposeBatch(batch);
    }
  }
  return out;
}
