/**
 * Loss summaries shared by every system in a loss table (the model, whatever objective trained it,
 * and the image-blind n-gram baseline), so they are measured at the same prefix lengths (issue 14):
 *
 * - **T_p = 0**: the whole text (plus eos) predicted from the image alone (or from nothing for a
 *   text-only example) — the condition plain LM trains on.
 * - **random T_p**: the exact expectation over the prefix-length distribution PrefixLM trains with
 *   (`drawPrefixLength` in lib/train/objectives.ts; `prefixLengthSupport` lists its equally likely
 *   values): for an image-text pair with n text tokens, T_p uniform on 0..min(n − 1, kMax ?? ⌊n/2⌋);
 *   for a text-only document, uniform on 1..n − 1; n ≤ 1 gives 0. No sampling, so no seed.
 *
 * Per example at prefix length k: `nll` = summed cross-entropy (nats) of the predicted tokens
 * k..n − 1 and eos, `tokens` = n − k + 1, `chars` = characters of the text those tokens cover
 * (decode(all n) minus decode(first k): the space before a word belongs to the word's token). The
 * summary of a set of examples, for each condition, uses expectations per example then sums:
 * per token = Σ E[nll] / Σ E[tokens] (the token-weighted mean a training batch reports), per example =
 * Σ E[nll] / examples, per character = Σ E[nll] / Σ E[chars] (comparable across tokenizers).
 */
import type { PrefixOptions } from "../../train/objectives.ts";
import { EvalInputError } from "./errors.ts";

/** The equally likely prefix lengths of `drawPrefixLength(n, hasImage, prefix, rng)`, ascending. */
export function prefixLengthSupport(
  n: number,
  hasImage: boolean,
  prefix: PrefixOptions = { mode: "random" },
): number[] {
  if (n <= 1 || prefix.mode === "none") return [0];
  if (prefix.mode === "fixed") return [Math.min(prefix.k ?? 0, n - 1)];
  if (prefix.mode !== "random")
    throw new EvalInputError(
      `prefix.mode must be random, fixed or none, got ${JSON.stringify(prefix.mode)}`,
    );
  const lo = hasImage ? 0 : 1,
    hi = hasImage ? Math.min(n - 1, prefix.kMax ?? Math.floor(n / 2)) : n - 1;
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** One example's loss at one prefix length (units in the file comment). */
export interface LossAtTp {
  tp: number;
  nll: number;
  tokens: number;
  chars: number;
}

/** One example's losses at T_p = 0 and at every value of its random-T_p support. */
export interface ExamplePrefixLosses {
  id: string;
  hasImage: boolean;
  /** Text tokens after truncation. */ textTokens: number;
  atTp: LossAtTp[];
}

export interface LossSummary {
  /** Nats per predicted token (eos included), per example, per character of predicted text. */
  perToken: number;
  perExample: number;
  perChar: number;
  /** Expected predicted tokens and characters summed over examples, and the example count. */
  tokens: number;
  chars: number;
  examples: number;
}

export interface PrefixLossReport {
  tp0: LossSummary;
  randomTp: LossSummary;
  /** Per example: nll (nats) at T_p = 0 and expected over random T_p, with chars — for bootstraps. */
  perExample: {
    id: string;
    tp0: number;
    randomTp: number;
    tp0PerChar: number;
    randomTpPerChar: number;
  }[];
  /** The prefix options of the random condition (kMax as given). */
  prefix: PrefixOptions;
}

/** The characters covered by tokens k..n − 1 for each k = 0..n, from a decoder (see the file comment). */
export function suffixChars(
  decode: (ids: number[]) => string,
  tokens: readonly number[],
): number[] {
  const total = decode([...tokens]).length;
  return Array.from(
    { length: tokens.length + 1 },
    (_, k) => total - decode(tokens.slice(0, k)).length,
  );
}

function summarize(rows: { nll: number; tokens: number; chars: number }[]): LossSummary {
  const nll = rows.reduce((a, r) => a + r.nll, 0),
    tokens = rows.reduce((a, r) => a + r.tokens, 0),
    chars = rows.reduce((a, r) => a + r.chars, 0);
  return {
    perToken: nll / tokens,
    perExample: nll / rows.length,
    perChar: chars ? nll / chars : NaN,
    tokens,
    chars,
    examples: rows.length,
  };
}

/** T_p = 0 and random-T_p summaries of per-example losses (which must cover 0 and each support value). */
export function summarizePrefixLosses(
  examples: readonly ExamplePrefixLosses[],
  prefix: PrefixOptions = { mode: "random" },
): PrefixLossReport {
  if (!examples.length) throw new EvalInputError("summarizePrefixLosses: no examples");
  const tp0: LossAtTp[] = [],
    random: { nll: number; tokens: number; chars: number }[] = [];
  for (const e of examples) {
    const at = new Map(e.atTp.map((x) => [x.tp, x]));
    const get = (k: number) => {
      const x = at.get(k);
      if (!x)
        throw new EvalInputError(
          `summarizePrefixLosses: example ${JSON.stringify(e.id)} has no loss at T_p = ${k}`,
        );
      return x;
    };
    tp0.push(get(0));
    const support = prefixLengthSupport(e.textTokens, e.hasImage, prefix).map(get);
    const mean = (f: (x: LossAtTp) => number) =>
      support.reduce((a, x) => a + f(x), 0) / support.length;
    random.push({
      nll: mean((x) => x.nll),
      tokens: mean((x) => x.tokens),
      chars: mean((x) => x.chars),
    });
  }
  return {
    tp0: summarize(tp0),
    randomTp: summarize(random),
    prefix,
    perExample: examples.map((e, i) => ({
      id: e.id,
      tp0: tp0[i]!.nll,
      randomTp: random[i]!.nll,
      tp0PerChar: tp0[i]!.chars ? tp0[i]!.nll / tp0[i]!.chars : NaN,
      randomTpPerChar: random[i]!.chars ? random[i]!.nll / random[i]!.chars : NaN,
    })),
  };
}
