/**
 * The pretraining objectives, as token arrangements (plain arrays, no tensors): for one example,
 * which text tokens the encoder reads (after the image patches) and which the decoder predicts.
 *
 * - prefixlm (SimVLM): image-text pair → encoder: image + first k text tokens, decoder: the rest.
 *   k per example: "random" uniform over [0, kMax] (default kMax = ⌊n/2⌋, at most n − 1, so there
 *   is always a suffix to predict), "fixed" k, or "none" (k = 0: plain captioning). Text-only
 *   document → the split point T_p is drawn uniformly over [1, n − 1] (at least one token on each
 *   side when n ≥ 2) in "random" mode; "fixed"/"none" apply k as for pairs.
 * - lm: plain left-to-right language modelling: no text in the encoder (the image, if any, still is),
 *   the decoder predicts the whole text.
 * - span: T5-style span corruption: the encoder reads the text with ~15% of the tokens (spans of mean
 *   length 3) each replaced by one sentinel; the decoder predicts "S0 span0 S1 span1 … eos".
 *
 * Decoder target = predicted tokens + eos; decoder input = bos + target without its last token.
 * The loss covers exactly the target positions (so padding and the prefix never count).
 */
import type { Rng } from "../util/rng.ts";
import { TrainConfigError } from "./errors.ts";
import { PRETRAIN_DEFAULTS as D } from "./defaults.ts";

export type TrainObjective = "prefixlm" | "lm" | "span";
export const TRAIN_OBJECTIVES: readonly TrainObjective[] = ["prefixlm", "lm", "span"];

export interface PrefixOptions {
  mode: "random" | "fixed" | "none";
  /** mode "fixed": the prefix length (clamped to n − 1 per example). */
  k?: number;
  /** mode "random": upper bound of k for image-text pairs (default ⌊n/2⌋; always ≤ n − 1). */
  kMax?: number;
}

export interface SpanOptions {
  /** Fraction of text tokens corrupted (at most 0.5; default PRETRAIN_DEFAULTS.spanDensity). */
  density?: number;
  /** Mean corrupted span length in tokens (default PRETRAIN_DEFAULTS.spanMeanLength). */
  meanSpan?: number;
}

/** Special ids, as the tokenizer defines them (SPECIAL_IDS). */
export interface SpecialIds {
  pad: number;
  bos: number;
  eos: number;
}

export interface ArrangeOptions {
  objective: TrainObjective;
  prefix?: PrefixOptions;
  span?: SpanOptions;
  /** The model's maxTextLen: texts are cut to maxTextLen − 1 tokens so target (+ eos) fits the decoder. */
  maxTextLen: number;
  specials: SpecialIds;
  /** Sentinel ids for span corruption, sentinel i = sentinels[i]. */
  sentinels?: readonly number[];
}

/** One example's arrangement. */
export interface Arranged {
  /** Text ids the encoder reads after the image patches (may be empty). */
  enc: number[];
  /** Decoder input: bos + target[:-1]. */
  decIn: number[];
  /** Decoder targets (end with eos); every position is a loss position. */
  target: number[];
  /** Text tokens after truncation. */
  textLen: number;
  /** Prefix length T_p in text tokens (prefixlm); 0 for lm; for span, the corrupted token count. */
  k: number;
  /** Tokens cut off the end because the text was longer than the model allows. */
  truncated: number;
  /** span: the corrupted spans as [start, length] in the (truncated) text. */
  spans?: [number, number][];
}

export function resolvePrefix(p: PrefixOptions | undefined): PrefixOptions {
  const out = p ?? { ...D.prefix.value };
  if (!["random", "fixed", "none"].includes(out.mode))
    throw new TrainConfigError(
      `prefix.mode must be random, fixed or none, got ${JSON.stringify(out.mode)}`,
      { option: "prefix.mode" },
    );
  if (out.mode === "fixed" && !(Number.isInteger(out.k) && out.k! >= 0)) {
    throw new TrainConfigError(
      `prefix.k must be an integer ≥ 0 for mode "fixed", ${out.k === undefined ? "and is missing" : `got ${JSON.stringify(out.k)}`}`,
      { option: "prefix.k" },
    );
  }
  if (out.kMax !== undefined && !(Number.isInteger(out.kMax) && out.kMax >= 0))
    throw new TrainConfigError(
      `prefix.kMax must be an integer ≥ 0, got ${JSON.stringify(out.kMax)}`,
      { option: "prefix.kMax" },
    );
  return out;
}

/** Draw the prefix length for one example with n text tokens. */
export function drawPrefixLength(
  n: number,
  hasImage: boolean,
  prefix: PrefixOptions,
  rng: Rng,
): number {
  if (n <= 1) return 0;
  if (prefix.mode === "none") return 0;
  if (prefix.mode === "fixed") return Math.min(prefix.k!, n - 1);
  if (!hasImage) return rng.int(1, n - 1);
  const kMax = Math.min(n - 1, prefix.kMax ?? Math.floor(n / 2));
  return rng.int(0, kMax);
}

/** Split `total` items into `parts` non-empty runs at random (parts ≤ total). */
function randomPartition(total: number, parts: number, rng: Rng): number[] {
  const cuts = rng
    .shuffle(Array.from({ length: total - 1 }, (_, i) => i + 1))
    .slice(0, parts - 1)
    .sort((a, b) => a - b);
  const out: number[] = [];
  let prev = 0;
  for (const c of [...cuts, total]) {
    out.push(c - prev);
    prev = c;
  }
  return out;
}

/** T5 span corruption of `tokens`: returns the corrupted encoder text, the target body and the spans. */
export function corruptSpans(
  tokens: number[],
  span: SpanOptions,
  sentinels: readonly number[],
  rng: Rng,
  maxBody = Infinity,
) {
  const density = span.density ?? D.spanDensity.value,
    meanSpan = span.meanSpan ?? D.spanMeanLength.value;
  const n = tokens.length;
  if (n === 0)
    return { enc: [] as number[], body: [] as number[], spans: [] as [number, number][] };
  if (sentinels.length === 0)
    throw new TrainConfigError("span corruption needs sentinel ids (none given)");
  const noise = n === 1 ? 1 : Math.min(n - 1, Math.max(1, Math.round(n * density)));
  // Each span costs one sentinel in the target too: keep sentinels + corrupted tokens within maxBody.
  const numSpans =
    n === 1
      ? 1
      : Math.max(
          1,
          Math.min(
            Math.round(noise / meanSpan),
            noise,
            n - noise,
            sentinels.length,
            maxBody - noise,
          ),
        );
  // Runs alternate kept, corrupted, kept, corrupted, … as in T5 (the text starts with kept tokens).
  const noiseRuns = randomPartition(noise, numSpans, rng);
  const keepRuns = n - noise > 0 ? randomPartition(n - noise, numSpans, rng) : [0];
  const enc: number[] = [],
    body: number[] = [],
    spans: [number, number][] = [];
  let pos = 0;
  for (let s = 0; s < numSpans; s++) {
    enc.push(...tokens.slice(pos, pos + keepRuns[s]!));
    pos += keepRuns[s]!;
    enc.push(sentinels[s]!);
    body.push(sentinels[s]!, ...tokens.slice(pos, pos + noiseRuns[s]!));
    spans.push([pos, noiseRuns[s]!]);
    pos += noiseRuns[s]!;
  }
  return { enc, body, spans };
}

/** Arrange one example (its text already tokenised, without specials). */
export function arrangeExample(
  tokens: number[],
  hasImage: boolean,
  opts: ArrangeOptions,
  rng: Rng,
): Arranged {
  const limit = Math.max(1, opts.maxTextLen - 1);
  const truncated = Math.max(0, tokens.length - limit);
  const text = truncated ? tokens.slice(0, limit) : tokens;
  const n = text.length;
  const { bos, eos } = opts.specials;
  let enc: number[], body: number[], k: number, spans: [number, number][] | undefined;
  switch (opts.objective) {
    case "prefixlm":
      k = drawPrefixLength(n, hasImage, resolvePrefix(opts.prefix), rng);
      enc = text.slice(0, k);
      body = text.slice(k);
      break;
    case "lm":
      k = 0;
      enc = [];
      body = text;
      break;
    case "span": {
      const r = corruptSpans(text, opts.span ?? {}, opts.sentinels ?? [], rng, limit);
      enc = r.enc;
      body = r.body;
      spans = r.spans;
      k = r.spans.reduce((a, [, len]) => a + len, 0);
      break;
    }
    default:
      throw new TrainConfigError(
        `objective must be one of ${TRAIN_OBJECTIVES.join(", ")}, got ${JSON.stringify(opts.objective)}`,
        { option: "objective" },
      );
  }
  const target = [...body, eos];
  const decIn = [bos, ...target.slice(0, -1)];
  return { enc, decIn, target, textLen: n, k, truncated, ...(spans ? { spans } : {}) };
}

/** Check span options once, up front (so a bad value fails before training starts). */
export function validateSpanOptions(span: SpanOptions | undefined): void {
  const d = span?.density ?? D.spanDensity.value,
    m = span?.meanSpan ?? D.spanMeanLength.value;
  if (!(d > 0 && d <= 0.5))
    throw new TrainConfigError(`span.density must be in (0, 0.5], got ${d}`, {
      option: "span.density",
    });
  if (!(m >= 1))
    throw new TrainConfigError(`span.meanSpan must be ≥ 1, got ${m}`, { option: "span.meanSpan" });
}
