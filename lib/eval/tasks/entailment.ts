/**
 * Cross-modality transfer (the paper's SNLI-VE zero-shot experiment, in miniature): finetune on
 * TEXT-ONLY entailment — encoder prefix "premise: P hypothesis: H", target the label word — then
 * test with the IMAGE as the premise: image + "hypothesis: H" → label word.
 *
 * Scoring: the label whose teacher-forced log-likelihood is highest (robust: the model only has to
 * rank three known words), and free generation (the generated text must equal a label word).
 * Chance is 1/3; the majority-label rate of the evaluated items is reported too.
 */
import type { AnnotatedImage, EntailmentLabel, RgbImage } from "../../data/types.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { generate } from "../../decode/generate.ts";
import { runSignal, throwIfAborted, type LongRunOptions } from "../../runtime.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { scorePairs } from "./pairs.ts";
import type { TaskPair } from "../../train/pair-batch.ts";

export const ENTAILMENT_LABELS: readonly EntailmentLabel[] = ["entailment", "neutral", "contradiction"];

export const textPremisePrefix = (premise: string, hypothesis: string) => `premise: ${premise} hypothesis: ${hypothesis}`;
export const imagePremisePrefix = (hypothesis: string) => `hypothesis: ${hypothesis}`;

/** An entailment item ready to score: the premise is the image or a text already in `prefix`. */
export interface EntailmentPair extends TaskPair { target: EntailmentLabel }

/** What fitting a text premise needs: the tokenizer and the encoder's text length. */
export interface PrefixFit { tokenizer: Pick<SimTokenizer, "encode">; maxTextLen: number }

/**
 * "premise: P hypothesis: H", with P shortened word by word from its end when the whole prefix is
 * longer than the encoder reads (maxTextLen tokens): the encoder would otherwise cut off the
 * hypothesis, and without it the label cannot be told (every premise has all three labels).
 */
export function fitTextPremise(premise: string, hypothesis: string, fit?: PrefixFit): string {
  let words = premise.split(/\s+/).filter(Boolean);
  let text = textPremisePrefix(words.join(" "), hypothesis);
  if (!fit) return text;
  while (words.length > 0 && fit.tokenizer.encode(text).length > fit.maxTextLen) {
    words = words.slice(0, -1);
    text = textPremisePrefix(words.join(" "), hypothesis);
  }
  return text;
}

/**
 * Entailment pairs of the images: premise as text ("text") or the image itself ("image"). Give
 * `fit` (tokenizer + maxTextLen) so long text premises are shortened rather than the hypothesis lost.
 */
export function entailmentPairs(items: Pick<AnnotatedImage, "id" | "image" | "entailment">[], premise: "text" | "image", fit?: PrefixFit): EntailmentPair[] {
  const out: EntailmentPair[] = [];
  for (const it of items) {
    it.entailment.forEach((e, j) => {
      if (!ENTAILMENT_LABELS.includes(e.label)) throw new EvalInputError(`image ${JSON.stringify(it.id)} entailment[${j}]: unknown label ${JSON.stringify(e.label)}`);
      out.push(premise === "text"
        ? { id: `${it.id}#${j}`, prefix: fitTextPremise(e.premise, e.hypothesis, fit), target: e.label }
        : { id: `${it.id}#${j}`, image: it.image, prefix: imagePremisePrefix(e.hypothesis), target: e.label });
    });
  }
  return out;
}

/**
 * Log-likelihood of every label for every pair: [pair][label] in `labels` order (sum over the
 * label's tokens and eos). With `perToken`, divided by that token count instead.
 */
export function labelLogLikelihoods(model: Pick<SimVLM, "apply" | "config">, tokenizer: Pick<SimTokenizer, "encode">, pairs: { id: string; image?: RgbImage; prefix: string }[],
  labels: readonly string[] = ENTAILMENT_LABELS, opts: LongRunOptions & { batchSize?: number; perToken?: boolean } = {}): number[][] {
  const expanded: TaskPair[] = pairs.flatMap((p) => labels.map((l) => ({ id: p.id, image: p.image, prefix: p.prefix, target: l })));
  const s = scorePairs(model, tokenizer, expanded, opts);
  return pairs.map((_, i) => labels.map((__, j) => {
    const k = i * labels.length + j;
    return opts.perToken ? s.logLik[k]! / s.tokens[k]! : s.logLik[k]!;
  }));
}

export interface EntailmentEval {
  task: "entailment";
  premise: "text" | "image";
  n: number;
  metrics: {
    /** Accuracy of the highest-likelihood label. */
    accuracy: number;
    /** Accuracy of the highest mean per-token log-likelihood (no bias towards labels of fewer tokens). */
    accuracy_per_token: number;
    /** Accuracy of free generation (generated text = the label word). */
    generation_accuracy: number;
    chance: number;
    /** Share of the most frequent gold label among the evaluated items. */
    majority: number;
  };
  /** confusion[gold][predicted] counts (likelihood scoring), in ENTAILMENT_LABELS order. */
  confusion: number[][];
  samples: { id: string; prefix: string; gold: string; predicted: string; generated: string; logLik: Record<string, number> }[];
}

/** Score entailment pairs both ways (label likelihood and free generation). */
export async function evalEntailment(model: SimVLM, tokenizer: SimTokenizer, items: Pick<AnnotatedImage, "id" | "image" | "entailment">[],
  opts: LongRunOptions & { premise?: "text" | "image"; batchSize?: number; samples?: number; generate?: boolean } = {}): Promise<EntailmentEval> {
  const premise = opts.premise ?? "image";
  const pairs = entailmentPairs(items, premise, { tokenizer, maxTextLen: model.config.maxTextLen });
  if (!pairs.length) throw new EvalInputError("evalEntailment: the images have no entailment items");
  const signal = runSignal(opts);
  const ll = labelLogLikelihoods(model, tokenizer, pairs, ENTAILMENT_LABELS, opts);
  const pred = ll.map((row) => row.indexOf(Math.max(...row)));
  const tokenCounts = ENTAILMENT_LABELS.map((l) => Math.min(tokenizer.encode(l).length, model.config.maxTextLen - 1) + 1);
  const predPerToken = ll.map((row) => { const m = row.map((v, j) => v / tokenCounts[j]!); return m.indexOf(Math.max(...m)); });
  const gold = pairs.map((p) => ENTAILMENT_LABELS.indexOf(p.target));
  const confusion = ENTAILMENT_LABELS.map(() => ENTAILMENT_LABELS.map(() => 0));
  gold.forEach((g, i) => confusion[g]![pred[i]!]!++);
  const generated: string[] = [];
  // Room for the longest label (labels may be several tokens: the tokenizer learnt them from little text) and eos.
  const maxLabelTokens = Math.max(...tokenCounts);
  if (opts.generate !== false) {
    const bs = opts.batchSize ?? 32;
    for (let i = 0; i < pairs.length; i += bs) {
      throwIfAborted(signal, "entailment");
      const chunk = pairs.slice(i, i + bs);
      const hasImage = chunk.some((p) => p.image);
      if (hasImage && !chunk.every((p) => p.image)) throw new EvalInputError("evalEntailment: a batch mixes image and text premises");
      const r = await generate(model, tokenizer, {
        images: hasImage ? chunk.map((p) => p.image!) : undefined, prefixTexts: chunk.map((p) => p.prefix), maxLen: maxLabelTokens, signal, progress: false,
      });
      generated.push(...r.texts.map((t) => t.trim()));
    }
  }
  const counts = ENTAILMENT_LABELS.map((_, j) => gold.filter((g) => g === j).length);
  const n = pairs.length;
  return {
    task: "entailment", premise, n,
    metrics: {
      accuracy: pred.filter((p, i) => p === gold[i]).length / n,
      accuracy_per_token: predPerToken.filter((p, i) => p === gold[i]).length / n,
      generation_accuracy: generated.length ? generated.filter((t, i) => t === pairs[i]!.target).length / n : NaN,
      chance: 1 / ENTAILMENT_LABELS.length,
      majority: Math.max(...counts) / n,
    },
    confusion,
    samples: pairs.slice(0, opts.samples ?? 6).map((p, i) => ({
      id: p.id, prefix: p.prefix, gold: p.target, predicted: ENTAILMENT_LABELS[pred[i]!]!, generated: generated[i] ?? "",
      logLik: Object.fromEntries(ENTAILMENT_LABELS.map((l, j) => [l, ll[i]![j]!])),
    })),
  };
}
