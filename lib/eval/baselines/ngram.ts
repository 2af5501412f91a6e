/**
 * The image-blind language model for loss tables: an interpolated Kneser-Ney n-gram model over the
 * experiment's tokenizer tokens (Chen & Goodman 1999, "An empirical study of smoothing techniques
 * for language modeling", Computer Speech & Language 13, §3 "interpolated Kneser-Ney"). It never
 * sees an image, so the gap between it and the model's T_p = 0 loss is what the image buys.
 *
 * Model (order N, vocabulary size V): each training text becomes [bos]×(N−1) + tokens + [eos]; for
 * order m with context h (m − 1 tokens),
 *   P_m(w | h) = max(c_m(h w) − D_m, 0) / c_m(h •) + D_m · N1+(h •) / c_m(h •) · P_{m−1}(w | h′)
 * where h′ drops h's first token, c_N is the raw count, c_m (m < N) the continuation count
 * N1+(• h w) (distinct tokens seen before h w), N1+(h •) the distinct tokens seen after h, and
 * D_m = n1 / (n1 + 2 n2) from the count-of-counts of order m (Ney, Essen & Kneser 1994), or 0.5 when
 * that is undefined. A context never seen backs off entirely: P_m = P_{m−1}. P_0(w) = 1 / V, so every
 * id in [0, V) has probability > 0 and each P_m sums to 1 over the V ids.
 *
 * Training text — decided here: the texts the pretraining stream shows the model (train alt-text and
 * the text-only documents, in the stream's mix), passed in by the caller; reference captions, VQA
 * and entailment texts are not pretraining text and are left out.
 *
 * Losses (`ngramPrefixLosses`) follow lib/eval/metrics/prefix-loss.ts: each example's text is cut to
 * `maxTextLen − 1` tokens as the model's batches cut it; at prefix length k the first k tokens are
 * context (not predicted) and tokens k..n − 1 plus eos are predicted, so the same T_p = 0 and
 * random-T_p summaries (nats per token, per example, per character) sit beside the model's.
 */
import type { Example } from "../../data/types.ts";
import type { PrefixOptions } from "../../train/objectives.ts";
import {
  prefixLengthSupport,
  suffixChars,
  summarizePrefixLosses,
  type PrefixLossReport,
} from "../metrics/prefix-loss.ts";
import { EvalInputError } from "../metrics/errors.ts";

/** The specials of the tokenizer contract (SPECIAL_IDS: BOS = 1, EOS = 2). */
const BOS = 1,
  EOS = 2;

interface Context {
  total: number;
  types: number;
  counts: Map<number, number>;
}

export interface NgramLm {
  order: number;
  vocabSize: number;
  /** D_m for m = 1..order (index m − 1). */
  discounts: number[];
  /** Natural-log probability of `token` after `context` (earlier tokens of the text, without bos). */
  logProb(context: readonly number[], token: number): number;
}

export interface NgramOptions {
  /** n of the n-gram (default 3). */
  order?: number;
  /** V: the number of token ids the uniform floor spreads over (the tokenizer's vocabSize). */
  vocabSize: number;
}

const key = (xs: readonly number[]) => xs.join(",");

/** Fit an interpolated Kneser-Ney model on token sequences (text tokens without specials). */
export function fitNgramLm(sequences: readonly (readonly number[])[], opts: NgramOptions): NgramLm {
  const N = opts.order ?? 3,
    V = opts.vocabSize;
  if (!Number.isInteger(N) || N < 1)
    throw new EvalInputError(`fitNgramLm: order must be an integer ≥ 1, got ${N}`);
  if (!Number.isInteger(V) || V < 3)
    throw new EvalInputError(`fitNgramLm: vocabSize must be an integer ≥ 3, got ${V}`);
  // Highest order: raw counts of every N-gram ending at a predicted position.
  const grams = new Map<string, number>(); // "h…,w" → count, h of N − 1 tokens
  for (const seq of sequences) {
    const padded = [...Array<number>(N - 1).fill(BOS), ...seq, EOS];
    for (const t of seq)
      if (!Number.isInteger(t) || t < 0 || t >= V)
        throw new EvalInputError(`fitNgramLm: token id ${t} is outside [0, ${V})`);
    for (let i = N - 1; i < padded.length; i++) {
      const g = key(padded.slice(i - N + 1, i + 1));
      grams.set(g, (grams.get(g) ?? 0) + 1);
    }
  }
  // counts[m − 1]: order-m gram → count (raw for N, continuation for lower orders).
  const counts: Map<string, number>[] = Array.from({ length: N }, () => new Map());
  counts[N - 1] = grams;
  for (let m = N - 1; m >= 1; m--) {
    for (const g of counts[m]!.keys()) {
      const lower = key(g.split(",").slice(1).map(Number));
      counts[m - 1]!.set(lower, (counts[m - 1]!.get(lower) ?? 0) + 1);
    }
  }
  const discounts = counts.map((c) => {
    let n1 = 0,
      n2 = 0;
    for (const v of c.values()) {
      if (v === 1) n1++;
      else if (v === 2) n2++;
    }
    return n1 + 2 * n2 > 0 && n1 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
  });
  // contexts[m − 1]: order-m context key → totals over its continuations.
  const contexts: Map<string, Context>[] = counts.map((c) => {
    const out = new Map<string, Context>();
    for (const [g, v] of c) {
      const parts = g.split(",").map(Number),
        w = parts.pop()!,
        h = key(parts);
      const ctx = out.get(h) ?? out.set(h, { total: 0, types: 0, counts: new Map() }).get(h)!;
      ctx.total += v;
      ctx.types++;
      ctx.counts.set(w, v);
    }
    return out;
  });
  const prob = (h: readonly number[], w: number): number => {
    const m = h.length + 1;
    const lower = m === 1 ? 1 / V : prob(h.slice(1), w);
    const ctx = contexts[m - 1]!.get(key(h));
    if (!ctx) return lower;
    const D = discounts[m - 1]!;
    return (Math.max((ctx.counts.get(w) ?? 0) - D, 0) + D * ctx.types * lower) / ctx.total;
  };
  return {
    order: N,
    vocabSize: V,
    discounts,
    logProb(context, token) {
      if (!Number.isInteger(token) || token < 0 || token >= V)
        throw new EvalInputError(`NgramLm.logProb: token id ${token} is outside [0, ${V})`);
      const padded = [...Array<number>(N - 1).fill(BOS), ...context];
      return Math.log(prob(padded.slice(padded.length - (N - 1)), token));
    },
  };
}

/** What the n-gram baseline needs of a tokenizer (SimTokenizer fits). */
export interface NgramTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  readonly vocabSize: number;
}

/** Fit the n-gram baseline on training texts through the experiment's tokenizer (V = tokenizer.vocabSize unless given). */
export function fitNgramBaseline(
  texts: readonly string[],
  tokenizer: NgramTokenizer,
  opts: Partial<NgramOptions> = {},
): NgramLm {
  if (!texts.length) throw new EvalInputError("fitNgramBaseline: no training texts");
  return fitNgramLm(
    texts.map((t) => tokenizer.encode(t)),
    { order: opts.order, vocabSize: opts.vocabSize ?? tokenizer.vocabSize },
  );
}

/**
 * The n-gram model's losses on evaluation examples at T_p = 0 and over random T_p, in the model's
 * units (see the file comment). `maxTextLen` is the model config's: texts are cut to maxTextLen − 1 tokens.
 */
export function ngramPrefixLosses(
  lm: NgramLm,
  tokenizer: Pick<NgramTokenizer, "encode" | "decode">,
  examples: readonly Pick<Example, "id" | "text" | "image">[],
  opts: { maxTextLen: number; prefix?: PrefixOptions },
): PrefixLossReport {
  if (!examples.length) throw new EvalInputError("ngramPrefixLosses: no examples");
  const limit = Math.max(1, opts.maxTextLen - 1),
    prefix = opts.prefix ?? { mode: "random" };
  return summarizePrefixLosses(
    examples.map((ex) => {
      const toks = tokenizer.encode(ex.text).slice(0, limit),
        n = toks.length,
        hasImage = ex.image !== undefined;
      // nll of each predicted position i = 0..n (n is eos), given all earlier text tokens.
      const pos = Array.from(
        { length: n + 1 },
        (_, i) => -lm.logProb(toks.slice(0, i), i < n ? toks[i]! : EOS),
      );
      const chars = suffixChars((ids) => tokenizer.decode(ids), toks);
      const tps = [...new Set([0, ...prefixLengthSupport(n, hasImage, prefix)])];
      return {
        id: ex.id,
        hasImage,
        textTokens: n,
        atTp: tps.map((k) => ({
          tp: k,
          nll: pos.slice(k).reduce((a, b) => a + b, 0),
          tokens: n - k + 1,
          chars: chars[k]!,
        })),
      };
    }),
    prefix,
  );
}
