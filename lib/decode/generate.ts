/**
 * Text generation from a SimVLM: greedy or beam search, batched.
 *
 * The encoder runs once per batch (its output and every decoder layer's cross-attention keys/values
 * are cached) and the decoder runs incrementally: each step feeds one token per row and extends a
 * cache of self-attention keys/values (SimVLM.decodeStep), so a step costs O(length), not O(length²). The decoder input starts as [bos, prompt…]; the prompt is not part of the returned ids
 * or texts. pad, bos and unk are never generated, nor ids the tokenizer does not have, nor eos
 * before `minLen` tokens.
 *
 * Beam search keeps `beam` hypotheses per example; a hypothesis that emits eos is finished with the
 * length-normalised score logP / length^lengthPenalty (length counts generated tokens incl. eos); an
 * example stops when it has `beam` finished hypotheses (or at maxLen, where unfinished ones are
 * scored as they stand). beam = 1 is exactly greedy decoding.
 */
import { tf } from "../backend/index.ts";
import type { RgbImage } from "../data/types.ts";
import {
  SimVLM,
  disposeEncoderState,
  disposeDecoderCache,
  reorderDecoderCache,
  selectEncoderRows,
  imagesToTensor,
} from "../model/index.ts";
import type { AttentionCapture, EncoderState, DecoderCache } from "../model/index.ts";
import { SimTokenizer, SPECIAL_IDS } from "../tokenizer/index.ts";
import { runSignal, throwIfAborted } from "../runtime.ts";
import type { LongRunOptions } from "../runtime.ts";
import { UserError } from "../errors.ts";

export interface GenerateOptions extends LongRunOptions {
  /** One image per example (omit for text-only generation). */
  images?: RgbImage[];
  /** Encoder text prefix per example (e.g. a VQA question), read after the image patches. */
  prefixTexts?: string[];
  /** Text forced at the start of the decoder side (e.g. "a picture of"); stripped from the results. */
  prompt?: string;
  /** Most tokens to generate after the prompt (default 24; capped by config.maxTextLen). */
  maxLen?: number;
  /** Beam width; 1 (default) = greedy. */
  beam?: number;
  /** Fewest tokens before eos may end the text (default 1: never an empty caption). */
  minLen?: number;
  /** Exponent of the length normalisation in beam search (default 1: mean log-probability). */
  lengthPenalty?: number;
  /** Also return attention, from one teacher-forced pass over [bos, prompt, generated tokens]. */
  captureAttention?: boolean;
}

export interface GenerateResult {
  /** Generated token ids per example (no bos, prompt or eos). */
  ids: number[][];
  texts: string[];
  /** Sum of log-probabilities of the generated tokens (incl. eos when emitted). */
  logProbs: number[];
  attention?: AttentionCapture[];
}

/** Bad generation options (the message names the option). */
export class DecodeError extends UserError {}

/** Log-softmax of one row with banned ids at −Infinity. */
function logSoftmaxRow(row: Float32Array, allowed: Uint8Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (allowed[i] && row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) if (allowed[i]) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = allowed[i] ? row[i]! - lse : -Infinity;
  return out;
}

interface Hyp {
  tokens: number[];
  logp: number;
  row?: number;
}

export async function generate(
  model: SimVLM,
  tokenizer: SimTokenizer,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const s = settings(model.config, tokenizer, opts);
  const signal = runSignal(opts);
  // Encoder inputs: image patches and/or the tokenised prefix, right-padded.
  const encIds = tf.tensor2d(s.encRows.flat(), [s.B, s.encRows[0]!.length], "int32");
  const imgT = opts.images ? imagesToTensor(opts.images, model.config) : null;
  let state: EncoderState | undefined;
  try {
    state = model.encode({ images: imgT, encIds });
    const decoder = incrementalDecoder(model, state);
    let best: Hyp[];
    try {
      // Feed bos and all but the last prompt token; the search feeds the last one.
      const all = Array.from({ length: s.B }, (_, b) => b);
      for (const t of s.start.slice(0, -1))
        decoder.step(
          all.map(() => t),
          all,
          null,
        );
      best =
        s.K === 1
          ? greedy(decoder.step, s.B, s.start, s.maxLen, s.allowed, signal)
          : beamSearch(decoder.step, s.B, s.K, s.start, s.maxLen, s.alpha, s.allowed, signal);
    } finally {
      decoder.dispose();
    }
    const ids = best.map((h) => h.tokens.filter((t) => t !== SPECIAL_IDS.EOS));
    const result: GenerateResult = {
      ids,
      texts: ids.map((x) => tokenizer.decode(x)),
      logProbs: best.map((h) => h.logp),
    };
    if (opts.captureAttention)
      result.attention = teacherForcedAttention(model, tokenizer, imgT, encIds, s.start, ids);
    return result;
  } finally {
    if (state) disposeEncoderState(state);
    tf.dispose([encIds, ...(imgT ? [imgT] : [])]);
  }
}

/** The options checked and resolved against the model and tokenizer (each error names its option). */
function settings(cfg: SimVLM["config"], tokenizer: SimTokenizer, opts: GenerateOptions) {
  const { images, prefixTexts } = opts;
  if (!images?.length && !prefixTexts?.length)
    throw new DecodeError("generate needs images or prefixTexts (at least one example)");
  if (images && prefixTexts && images.length !== prefixTexts.length) {
    throw new DecodeError(
      `generate: ${images.length} images but ${prefixTexts.length} prefixTexts; give one of each per example`,
    );
  }
  if (tokenizer.vocabSize > cfg.vocabSize) {
    throw new DecodeError(
      `tokenizer has ${tokenizer.vocabSize} ids but the model's vocabSize is ${cfg.vocabSize}: they do not belong together`,
    );
  }
  const B = images?.length ?? prefixTexts!.length;
  const K = opts.beam ?? 1;
  if (!Number.isInteger(K) || K < 1)
    throw new DecodeError(`beam must be a positive integer, got ${opts.beam}`, { option: "beam" });
  if (opts.maxLen !== undefined && !(Number.isInteger(opts.maxLen) && opts.maxLen >= 1))
    throw new DecodeError(`maxLen must be a positive integer, got ${opts.maxLen}`, {
      option: "maxLen",
    });
  const promptIds = opts.prompt ? tokenizer.encode(opts.prompt) : [];
  const start = [SPECIAL_IDS.BOS, ...promptIds];
  if (start.length >= cfg.maxTextLen)
    throw new DecodeError(
      `prompt is ${promptIds.length} tokens; the model reads at most ${cfg.maxTextLen - 1} after bos`,
    );
  // With decoderPositions "continue" the decoder starts at position T_p: prefix, bos, prompt and the
  // generated tokens share the maxTextLen positions. A prefix too long for them is cut at its end (as
  // an over-long prefix always was) so that the output keeps min(maxLen, half the positions after
  // bos and prompt); shorter prefixes are kept whole and maxLen shrinks to what is left.
  const continuing = cfg.decoderPositions === "continue";
  const after = cfg.maxTextLen - start.length;
  const keep = continuing
    ? after - Math.min(opts.maxLen ?? 24, Math.floor(after / 2))
    : cfg.maxTextLen;
  const prefixIds = (prefixTexts ?? []).map((t) => tokenizer.encode(t).slice(0, keep));
  const Te = prefixIds.reduce((m, p) => Math.max(m, p.length), 0);
  const maxLen = Math.min(opts.maxLen ?? 24, after - (continuing ? Te : 0));
  const minLen = Math.min(opts.minLen ?? 1, maxLen);
  const allowedLate = new Uint8Array(cfg.vocabSize);
  for (let i = 0; i < tokenizer.vocabSize; i++) allowedLate[i] = 1;
  allowedLate[SPECIAL_IDS.PAD] = 0;
  allowedLate[SPECIAL_IDS.BOS] = 0;
  allowedLate[SPECIAL_IDS.UNK] = 0;
  const allowedEarly = allowedLate.slice();
  allowedEarly[SPECIAL_IDS.EOS] = 0;
  /** Which ids may come at generated position t. */
  const allowed = (t: number) => (t < minLen ? allowedEarly : allowedLate);
  const encRows = Array.from({ length: B }, (_, b) => {
    const p = prefixIds[b] ?? [];
    return [...p, ...new Array(Te - p.length).fill(0)];
  });
  return { B, K, alpha: opts.lengthPenalty ?? 1, start, maxLen, allowed, encRows };
}

/**
 * The decoder run one token per row (SimVLM.decodeStep) over a growing cache: `step(tokens, rows,
 * parents)` — rows[n] is the example of row n, parents[n] the row of the previous step whose history
 * row n continues (null: the same rows as before). The encoder rows matching the decoder rows are
 * rebuilt only when that mapping changes (beams start at one row per example, then K; finished
 * examples drop out). `dispose` frees the cache and those rows.
 */
function incrementalDecoder(model: SimVLM, state: EncoderState): { step: StepFn; dispose(): void } {
  let cache: DecoderCache | null = null;
  let rowState: EncoderState | undefined,
    rowKey = "";
  const identity = (xs: number[]) => xs.every((x, i) => x === i);
  const step: StepFn = (tokens, rows, parents) => {
    const key = rows.join(",");
    if (key !== rowKey) {
      if (rowState && rowState !== state) disposeEncoderState(rowState);
      rowState =
        rows.length === state.batch && identity(rows) ? state : selectEncoderRows(state, rows);
      rowKey = key;
    }
    if (parents && cache && !(parents.length === cache.keys[0]!.shape[0] && identity(parents))) {
      const parT = tf.tensor1d(parents, "int32");
      const next = reorderDecoderCache(cache, parT);
      parT.dispose();
      disposeDecoderCache(cache);
      cache = next;
    }
    const tokT = tf.tensor1d(tokens, "int32");
    try {
      const out = model.decodeStep(rowState!, tokT, cache);
      disposeDecoderCache(cache);
      cache = out.cache;
      const v = out.logits.dataSync() as Float32Array;
      out.logits.dispose();
      return v;
    } finally {
      tokT.dispose();
    }
  };
  const dispose = () => {
    disposeDecoderCache(cache);
    if (rowState && rowState !== state) disposeEncoderState(rowState);
  };
  return { step, dispose };
}

/** Attention from one teacher-forced pass over [bos, prompt, generated tokens] (padded). */
function teacherForcedAttention(
  model: SimVLM,
  tokenizer: SimTokenizer,
  images: tf.Tensor4D | null,
  encIds: tf.Tensor2D,
  start: number[],
  ids: number[][],
): AttentionCapture[] | undefined {
  const L = Math.max(...ids.map((x) => x.length)) + start.length;
  const dec = ids.map((x) => {
    const r = [...start, ...x];
    return [...r, ...new Array(L - r.length).fill(0)];
  });
  const decIn = tf.tensor2d(dec.flat(), [ids.length, L], "int32");
  try {
    const out = model.apply(
      { images, encIds, decIn },
      { training: false, capture: true, tokenString: (id) => tokenizer.tokenString(id) },
    );
    out.logits.dispose();
    return out.attention;
  } finally {
    decIn.dispose();
  }
}

/** Feed one token per row; returns next-token logits, row-major [rows, vocab]. */
type StepFn = (tokens: number[], rows: number[], parents: number[] | null) => Float32Array;

function greedy(
  step: StepFn,
  B: number,
  start: number[],
  maxLen: number,
  allowed: (t: number) => Uint8Array,
  signal?: AbortSignal,
): Hyp[] {
  const hyps: Hyp[] = Array.from({ length: B }, () => ({ tokens: [], logp: 0 }));
  const done = new Array<boolean>(B).fill(false);
  const rows = Array.from({ length: B }, (_, b) => b);
  for (let t = 0; t < maxLen && done.includes(false); t++) {
    throwIfAborted(signal, "decoding");
    // Finished rows keep stepping on padding (their outputs are ignored): cheaper than re-batching.
    const tokens = hyps.map((h, b) =>
      t === 0 ? start[start.length - 1]! : done[b] ? SPECIAL_IDS.PAD : h.tokens[t - 1]!,
    );
    const logits = step(tokens, rows, null);
    const V = logits.length / B;
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const lp = logSoftmaxRow(logits.subarray(b * V, (b + 1) * V), allowed(t));
      let arg = 0;
      for (let i = 1; i < V; i++) if (lp[i]! > lp[arg]!) arg = i;
      hyps[b]!.tokens.push(arg);
      hyps[b]!.logp += lp[arg]!;
      if (arg === SPECIAL_IDS.EOS) done[b] = true;
    }
  }
  return hyps;
}

function beamSearch(
  step: StepFn,
  B: number,
  K: number,
  start: number[],
  maxLen: number,
  alpha: number,
  allowed: (t: number) => Uint8Array,
  signal?: AbortSignal,
): Hyp[] {
  const norm = (h: Hyp) => h.logp / Math.pow(Math.max(h.tokens.length, 1), alpha);
  // `row`: the decoder-cache row holding the hypothesis's history (after priming: row b for example b).
  let alive: Hyp[][] = Array.from({ length: B }, (_, b) => [{ tokens: [], logp: 0, row: b }]);
  const finished: Hyp[][] = Array.from({ length: B }, () => []);
  for (let t = 0; t < maxLen; t++) {
    throwIfAborted(signal, "decoding");
    const tokens: number[] = [],
      rows: number[] = [],
      parents: number[] = [];
    alive.forEach((hs, b) => {
      if (finished[b]!.length < K)
        for (const h of hs) {
          tokens.push(t === 0 ? start[start.length - 1]! : h.tokens[h.tokens.length - 1]!);
          rows.push(b);
          parents.push(h.row!);
        }
    });
    if (!tokens.length) break;
    const logits = step(tokens, rows, t === 0 ? null : parents);
    const seqs = tokens;
    const V = logits.length / seqs.length;
    const next: Hyp[][] = Array.from({ length: B }, () => []);
    const cands: { b: number; h: Hyp; tok: number; logp: number; row: number }[][] = Array.from(
      { length: B },
      () => [],
    );
    let r = 0;
    alive.forEach((hs, b) => {
      if (finished[b]!.length >= K) return;
      for (const h of hs) {
        const lp = logSoftmaxRow(logits.subarray(r * V, (r + 1) * V), allowed(t));
        r++;
        // Only this beam's top K tokens can survive the example-wide top K.
        const top: number[] = [];
        for (let i = 0; i < V; i++) {
          if (lp[i] === -Infinity) continue;
          if (top.length < K) {
            top.push(i);
            top.sort((a, c) => lp[c]! - lp[a]! || a - c);
          } else if (lp[i]! > lp[top[K - 1]!]!) {
            top[K - 1] = i;
            top.sort((a, c) => lp[c]! - lp[a]! || a - c);
          }
        }
        for (const tok of top) cands[b]!.push({ b, h, tok, logp: h.logp + lp[tok]!, row: r - 1 });
      }
    });
    for (let b = 0; b < B; b++) {
      const cs = cands[b]!.sort((x, y) => y.logp - x.logp);
      for (const c of cs) {
        const h: Hyp = { tokens: [...c.h.tokens, c.tok], logp: c.logp, row: c.row };
        if (c.tok === SPECIAL_IDS.EOS) {
          if (finished[b]!.length < K) finished[b]!.push(h);
        } else if (next[b]!.length < K) next[b]!.push(h);
        if (next[b]!.length >= K || finished[b]!.length >= K) break;
      }
    }
    alive = next;
  }
  return alive.map((hs, b) => {
    const pool = finished[b]!.length ? [...finished[b]!] : [];
    if (finished[b]!.length < K) pool.push(...hs);
    return pool.reduce((best, h) => (norm(h) > norm(best) ? h : best));
  });
}
