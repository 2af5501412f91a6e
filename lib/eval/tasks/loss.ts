/**
 * Held-out losses: `validationLoss` (token-weighted mean cross-entropy and token accuracy of a
 * pretraining objective on held-out examples), `lossByPrefixLength` (the same with the prefix
 * fixed at each T_p in turn — how much the text prefix helps predict the rest; rows are lib/viz's
 * PrefixLossRow, so `lossByPrefixFigure(rows)` plots them directly), and `prefixLosses` (the
 * protocol's loss for every arm, whatever objective trained it: at T_p = 0 and the exact
 * expectation over PrefixLM's random T_p, per token, per example and per character — the same
 * summary `ngramPrefixLosses` gives the image-blind baseline; see lib/eval/metrics/prefix-loss.ts).
 */
import type { Example } from "../../data/types.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { makeBatch, disposeBatch } from "../../train/batch.ts";
import type { PrefixOptions, SpanOptions, TrainObjective } from "../../train/objectives.ts";
import { Rng } from "../../util/rng.ts";
import { runSignal, throwIfAborted, type LongRunOptions } from "../../runtime.ts";
import type { PrefixLossRow } from "../../viz/prefix.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { batchRowStats } from "./pairs.ts";
import {
  prefixLengthSupport,
  suffixChars,
  summarizePrefixLosses,
  type ExamplePrefixLosses,
  type PrefixLossReport,
} from "../metrics/prefix-loss.ts";

export interface LossObjective {
  objective: TrainObjective;
  prefix?: PrefixOptions;
  span?: SpanOptions;
}

export interface ValidationLoss {
  /** Mean cross-entropy per target token (nats). */
  loss: number;
  /** Fraction of target tokens the model ranks first. */
  accuracy: number;
  tokens: number;
  examples: number;
}

export interface LossOptions extends LongRunOptions {
  batchSize?: number;
  /** Seeds the random prefix lengths / spans (default 0), so a validation loss is repeatable. */
  seed?: number;
}

type Model = Pick<SimVLM, "apply" | "config">;

function objectiveOf(o: LossObjective | TrainObjective): LossObjective {
  return typeof o === "string" ? { objective: o } : o;
}

/** Loss and token accuracy of `objective` over `examples` (evaluation mode, no dropout). */
export function validationLoss(
  model: Model,
  tokenizer: Pick<SimTokenizer, "encode" | "vocabSize">,
  examples: Example[],
  objective: LossObjective | TrainObjective = "prefixlm",
  opts: LossOptions = {},
): ValidationLoss {
  if (!examples.length) throw new EvalInputError("validationLoss: no examples");
  const obj = objectiveOf(objective);
  const rng = new Rng(opts.seed ?? 0);
  const bs = opts.batchSize ?? 32;
  const signal = runSignal(opts);
  let nll = 0,
    tokens = 0,
    correct = 0;
  for (let i = 0; i < examples.length; i += bs) {
    throwIfAborted(signal, "validation loss");
    const batch = makeBatch(examples.slice(i, i + bs), tokenizer, model.config, { ...obj, rng });
    try {
      const s = batchRowStats(model, batch);
      for (let r = 0; r < s.nll.length; r++) {
        nll += s.nll[r]!;
        tokens += s.tokens[r]!;
        correct += s.correct[r]!;
      }
    } finally {
      disposeBatch(batch);
    }
  }
  return {
    loss: nll / Math.max(tokens, 1),
    accuracy: correct / Math.max(tokens, 1),
    tokens,
    examples: examples.length,
  };
}

/** One point of loss against T_p, with how many examples / tokens it averages. */
export interface PrefixLossPoint extends PrefixLossRow {
  examples: number;
  tokens: number;
}

export interface LossByPrefixOptions extends LossOptions {
  /** Prefix lengths to evaluate (default 0..maxK). */
  tps?: number[];
  /** Largest T_p when `tps` is not given (default 8). */
  maxK?: number;
  /** Series name stored in each row (for plotting several models together). */
  series?: string;
}

/**
 * PrefixLM loss of the suffix when the encoder reads the image and the first T_p text tokens,
 * for each T_p. Only examples with more than T_p tokens count at T_p (a shorter text would silently
 * be clamped to a smaller prefix), so each point says how many examples it covers.
 */
export function lossByPrefixLength(
  model: Model,
  tokenizer: Pick<SimTokenizer, "encode" | "vocabSize">,
  examples: Example[],
  opts: LossByPrefixOptions = {},
): PrefixLossPoint[] {
  if (!examples.length) throw new EvalInputError("lossByPrefixLength: no examples");
  const tps = opts.tps ?? Array.from({ length: (opts.maxK ?? 8) + 1 }, (_, i) => i);
  for (const k of tps)
    if (!Number.isInteger(k) || k < 0)
      throw new EvalInputError(`lossByPrefixLength: T_p values must be integers ≥ 0, got ${k}`);
  const limit = Math.max(1, model.config.maxTextLen - 1);
  const lengths = examples.map((e) => Math.min(tokenizer.encode(e.text).length, limit));
  const rows: PrefixLossPoint[] = [];
  for (const k of tps) {
    const usable = examples.filter((_, i) => lengths[i]! > k);
    if (!usable.length) continue;
    const v = validationLoss(
      model,
      tokenizer,
      usable,
      { objective: "prefixlm", prefix: { mode: "fixed", k } },
      opts,
    );
    rows.push({
      tp: k,
      loss: v.loss,
      accuracy: v.accuracy,
      examples: v.examples,
      tokens: v.tokens,
      ...(opts.series ? { series: opts.series } : {}),
    });
  }
  return rows;
}

export interface PrefixLossOptions extends LongRunOptions {
  /** The random-T_p distribution (default { mode: "random" }: PrefixLM's, kMax = ⌊n/2⌋). */
  prefix?: PrefixOptions;
  batchSize?: number;
}

/**
 * The model's losses at T_p = 0 and averaged exactly over random T_p (each example evaluated at every
 * prefix length of its support; no sampling), in nats per token, per example and per character.
 * Evaluation mode, no dropout. Cost: Σ over examples of (support size + 1) rows, i.e. about
 * ⌊n/2⌋ + 2 rows per image-text example of n tokens.
 */
export function prefixLosses(
  model: Model,
  tokenizer: Pick<SimTokenizer, "encode" | "decode" | "vocabSize">,
  examples: Example[],
  opts: PrefixLossOptions = {},
): PrefixLossReport {
  if (!examples.length) throw new EvalInputError("prefixLosses: no examples");
  const prefix = opts.prefix ?? { mode: "random" as const };
  const limit = Math.max(1, model.config.maxTextLen - 1),
    bs = opts.batchSize ?? 32;
  const signal = runSignal(opts);
  const rows: ExamplePrefixLosses[] = examples.map((ex) => {
    if (typeof ex.text !== "string")
      throw new EvalInputError(`prefixLosses: example ${JSON.stringify(ex.id)} has no text`);
    const toks = tokenizer.encode(ex.text).slice(0, limit);
    const hasImage = ex.image !== undefined;
    const chars = suffixChars((ids) => tokenizer.decode(ids), toks);
    const tps = [...new Set([0, ...prefixLengthSupport(toks.length, hasImage, prefix)])];
    return {
      id: ex.id,
      hasImage,
      textTokens: toks.length,
      atTp: tps.map((tp) => ({ tp, nll: NaN, tokens: toks.length - tp + 1, chars: chars[tp]! })),
    };
  });
  // One pass per prefix length over the examples that need it: "fixed" k is exactly T_p = k here.
  const maxTp = Math.max(...rows.flatMap((r) => r.atTp.map((x) => x.tp)));
  for (let k = 0; k <= maxTp; k++) {
    const need = rows.flatMap((r, i) => r.atTp.filter((x) => x.tp === k).map((x) => ({ i, x })));
    for (let s = 0; s < need.length; s += bs) {
      throwIfAborted(signal, "prefix losses");
      const chunk = need.slice(s, s + bs);
      const batch = makeBatch(
        chunk.map((c) => examples[c.i]!),
        tokenizer,
        model.config,
        { objective: "prefixlm", prefix: { mode: "fixed", k }, rng: new Rng(0) },
      );
      try {
        const st = batchRowStats(model, batch);
        chunk.forEach((c, r) => {
          if (st.tokens[r] !== c.x.tokens)
            throw new Error(
              `prefixLosses: example ${JSON.stringify(rows[c.i]!.id)} predicted ${st.tokens[r]} tokens at T_p = ${k}, expected ${c.x.tokens}`,
            );
          c.x.nll = st.nll[r]!;
        });
      } finally {
        disposeBatch(batch);
      }
    }
  }
  return summarizePrefixLosses(rows, prefix);
}
