/**
 * Cross-modality transfer (the paper's SNLI → SNLI-VE zero-shot experiment, in miniature): finetune
 * on TEXT-ONLY entailment, then test with the IMAGE as the premise.
 *
 * One input format for every premise, so that the image replaces the text premise and nothing else
 * changes: the encoder text is the hypothesis followed by a period, always first, always at the
 * same text positions with the same tokens — "there is a red circle." — and then
 * - text premise: the premise text after it: "there is a red circle. a large red circle on the left";
 * - image premise: nothing more; the premise is the image, whose patches the encoder reads in front
 *   of the text (how PrefixLM pretraining presents an image and its text);
 * - no premise (`"none"`): nothing more and no image — the model's own hypothesis-only answer, the
 *   control that says how much of a score the premise earns.
 * The decoder target is the label word. Every record of the world carries one entailed and one
 * contradicted hypothesis drawn from one template pool (lib/data/world/text.ts makeEntailment), so
 * items of every scene size are kept, the labels are balanced (1/2 each) by construction, and the
 * wording of a hypothesis says nothing about its label (a hypothesis-only classifier is at chance).
 *
 * Two labels, not SNLI's three: the premise — the caption naming every object, or the image showing
 * them — decides every statement about what the picture shows, so "neutral" has no meaning that is
 * the same for a text and an image premise; a hypothesis gets the same label under either premise,
 * which is what makes text → image transfer meaningful (SNLI-VE keeps SNLI's neutral labels for
 * images, and its neutral class is the one Do et al. 2020, e-SNLI-VE-2.0, had to re-annotate).
 *
 * Fit: the hypothesis comes first, so cutting at the encoder's length (maxTextLen tokens) can only
 * shorten the premise. `fitEntailmentPrefix` drops premise words from its end until the whole text
 * fits and says how many it dropped; the evaluation counts the items whose premise was shortened
 * (`premise_truncated`): a shortened premise may have lost the object a hypothesis is about, so a
 * model config whose maxTextLen holds the longest item keeps that count at 0.
 *
 * Scoring: the label whose teacher-forced log-likelihood is highest (the model only has to rank
 * the known label words), the same per token, and free generation (the generated text must equal the
 * label word). Per-item correctness is returned for a paired bootstrap against the blind baselines
 * (lib/eval/baselines/entailment.ts), which use the same item ids "<image id>#<j>".
 */
import type { AnnotatedImage, EntailmentLabel, RgbImage } from "../../data/types.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { generate } from "../../decode/generate.ts";
import { runSignal, throwIfAborted, type LongRunOptions } from "../../runtime.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { scorePairs } from "./pairs.ts";
import type { TaskPair } from "../../train/pair-batch.ts";

/** The labels the world's items use and the scorer ranks (see the file comment for why not "neutral"). */
export const ENTAILMENT_LABELS: readonly EntailmentLabel[] = ["entailment", "contradiction"];

/** Where the premise comes from: its text, the image, or nowhere (the hypothesis-only control). */
export type EntailmentPremise = "text" | "image" | "none";
export const ENTAILMENT_PREMISES: readonly EntailmentPremise[] = ["text", "image", "none"];

/** The one encoder text of an entailment item: "H." alone (image or no premise) or "H. P" (text premise). */
export function entailmentPrefix(hypothesis: string, premise?: string): string {
  const h = `${hypothesis.trim().replace(/[.\s]+$/, "")}.`;
  const p = premise?.trim();
  return p ? `${h} ${p}` : h;
}
/** The encoder text for a text premise (argument order kept from the earlier API). */
export const textPremisePrefix = (premise: string, hypothesis: string) =>
  entailmentPrefix(hypothesis, premise);
/** The encoder text for an image premise (the image supplies the premise). */
export const imagePremisePrefix = (hypothesis: string) => entailmentPrefix(hypothesis);

/** An entailment item ready to score: the premise is the image, a text inside `prefix`, or absent. */
export interface EntailmentPair extends TaskPair {
  target: EntailmentLabel;
  /** Words cut from the end of a text premise so the prefix fits maxTextLen (0 when it fits). */
  premiseWordsDropped?: number;
}

/** What fitting a text premise needs: the tokenizer and the most tokens the prefix may have. */
export interface PrefixFit {
  tokenizer: Pick<SimTokenizer, "encode">;
  /** The prefix budget in tokens: use `entailmentFit` for a model's. */
  maxTextLen: number;
}

/**
 * The prefix budget of entailment items for a model: its maxTextLen, less — when its decoder
 * positions continue after the prefix — bos, the longest label and eos, which share the positions.
 * The budget never depends on an item's label (a label-dependent cut would leak the label).
 */
export function entailmentFit(
  config: { maxTextLen: number; decoderPositions?: "continue" | "restart" },
  tokenizer: Pick<SimTokenizer, "encode">,
): PrefixFit {
  const longest = Math.max(...ENTAILMENT_LABELS.map((l) => tokenizer.encode(l).length));
  const reserve = config.decoderPositions === "continue" ? longest + 2 : 0;
  return { tokenizer, maxTextLen: config.maxTextLen - reserve };
}

/**
 * The text-premise prefix, with premise words dropped from the end (fewest possible, by bisection)
 * until it is at most `fit.maxTextLen` tokens. The hypothesis is never cut; when it alone is too
 * long, the prefix is the hypothesis alone and every premise word counts as dropped.
 */
export function fitEntailmentPrefix(
  hypothesis: string,
  premise: string,
  fit?: PrefixFit,
): { prefix: string; premiseWordsDropped: number } {
  const words = premise.split(/\s+/).filter(Boolean);
  const make = (k: number) => entailmentPrefix(hypothesis, words.slice(0, k).join(" "));
  if (!fit || fit.tokenizer.encode(make(words.length)).length <= fit.maxTextLen)
    return { prefix: make(words.length), premiseWordsDropped: 0 };
  let lo = 0,
    hi = words.length - 1; // the largest k whose prefix fits (0 if none does)
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fit.tokenizer.encode(make(mid)).length <= fit.maxTextLen) lo = mid;
    else hi = mid - 1;
  }
  return { prefix: make(lo), premiseWordsDropped: words.length - lo };
}

/** `fitEntailmentPrefix(...).prefix` with the earlier argument order (premise, hypothesis). */
export function fitTextPremise(premise: string, hypothesis: string, fit?: PrefixFit): string {
  return fitEntailmentPrefix(hypothesis, premise, fit).prefix;
}

/**
 * Entailment pairs of the images — every item of every record, whatever its scene size — with the
 * premise as text, as the image, or absent ("none"). Give `fit` (tokenizer + maxTextLen) so a long
 * text premise is shortened from its end, never the hypothesis.
 */
export function entailmentPairs(
  items: Pick<AnnotatedImage, "id" | "image" | "entailment">[],
  premise: EntailmentPremise,
  fit?: PrefixFit,
): EntailmentPair[] {
  if (!ENTAILMENT_PREMISES.includes(premise))
    throw new EvalInputError(
      `premise must be one of ${ENTAILMENT_PREMISES.join(", ")}, got ${JSON.stringify(premise)}`,
      { option: "premise" },
    );
  const out: EntailmentPair[] = [];
  for (const it of items) {
    (it.entailment ?? []).forEach((e, j) => {
      if (!ENTAILMENT_LABELS.includes(e.label))
        throw new EvalInputError(
          `image ${JSON.stringify(it.id)} entailment[${j}]: label ${JSON.stringify(e.label)} is not one of ${ENTAILMENT_LABELS.join(", ")}`,
        );
      const id = `${it.id}#${j}`;
      if (premise === "text") {
        const f = fitEntailmentPrefix(e.hypothesis, e.premise, fit);
        out.push({
          id,
          prefix: f.prefix,
          target: e.label,
          premiseWordsDropped: f.premiseWordsDropped,
        });
      } else if (premise === "image")
        out.push({
          id,
          image: it.image,
          prefix: imagePremisePrefix(e.hypothesis),
          target: e.label,
        });
      else out.push({ id, prefix: imagePremisePrefix(e.hypothesis), target: e.label });
    });
  }
  return out;
}

/**
 * Log-likelihood of every label for every pair: [pair][label] in `labels` order (sum over the
 * label's tokens and eos). With `perToken`, divided by that token count instead.
 */
export function labelLogLikelihoods(
  model: Pick<SimVLM, "apply" | "config">,
  tokenizer: Pick<SimTokenizer, "encode">,
  pairs: { id: string; image?: RgbImage; prefix: string }[],
  labels: readonly string[] = ENTAILMENT_LABELS,
  opts: LongRunOptions & { batchSize?: number; perToken?: boolean } = {},
): number[][] {
  const expanded: TaskPair[] = pairs.flatMap((p) =>
    labels.map((l) => ({ id: p.id, image: p.image, prefix: p.prefix, target: l })),
  );
  const s = scorePairs(model, tokenizer, expanded, opts);
  return pairs.map((_, i) =>
    labels.map((__, j) => {
      const k = i * labels.length + j;
      return opts.perToken ? s.logLik[k]! / s.tokens[k]! : s.logLik[k]!;
    }),
  );
}

export interface EntailmentEval {
  task: "entailment";
  premise: EntailmentPremise;
  n: number;
  metrics: {
    /** Accuracy of the highest-likelihood label. */
    accuracy: number;
    /** Accuracy of the highest mean per-token log-likelihood (no bias towards labels of fewer tokens). */
    accuracy_per_token: number;
    /** Accuracy of free generation (generated text = the label word); NaN when generation was skipped. */
    generation_accuracy: number;
    chance: number;
    /** Share of the most frequent gold label among the evaluated items. */
    majority: number;
    /** Items whose text premise lost words to fit maxTextLen (0 for image and no premise). */
    premise_truncated: number;
  };
  /** confusion[gold][predicted] counts (likelihood scoring), in ENTAILMENT_LABELS order. */
  confusion: number[][];
  /** Gold items per label, in ENTAILMENT_LABELS order. */
  labelCounts: number[];
  /** Per item id ("<image id>#<j>"): 1 when the likelihood-ranked label is right, else 0. */
  perItem: Record<string, number>;
  /** Per item id: the likelihood-ranked label. */
  predictions: Record<string, EntailmentLabel>;
  samples: {
    id: string;
    prefix: string;
    gold: string;
    predicted: string;
    generated: string;
    logLik: Record<string, number>;
  }[];
}

/** Score entailment items both ways (label likelihood and free generation); the premise as text, the image, or absent. */
export async function evalEntailment(
  model: SimVLM,
  tokenizer: SimTokenizer,
  items: Pick<AnnotatedImage, "id" | "image" | "entailment">[],
  opts: LongRunOptions & {
    premise?: EntailmentPremise;
    batchSize?: number;
    samples?: number;
    generate?: boolean;
  } = {},
): Promise<EntailmentEval> {
  const premise = opts.premise ?? "image";
  const pairs = entailmentPairs(items, premise, entailmentFit(model.config, tokenizer));
  if (!pairs.length)
    throw new EvalInputError("evalEntailment: the images have no entailment items");
  const signal = runSignal(opts);
  const ll = labelLogLikelihoods(model, tokenizer, pairs, ENTAILMENT_LABELS, opts);
  const pred = ll.map((row) => row.indexOf(Math.max(...row)));
  const tokenCounts = ENTAILMENT_LABELS.map(
    (l) => Math.min(tokenizer.encode(l).length, model.config.maxTextLen - 1) + 1,
  );
  const predPerToken = ll.map((row) => {
    const m = row.map((v, j) => v / tokenCounts[j]!);
    return m.indexOf(Math.max(...m));
  });
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
      if (hasImage && !chunk.every((p) => p.image))
        throw new EvalInputError("evalEntailment: a batch mixes image and text premises");
      const r = await generate(model, tokenizer, {
        images: hasImage ? chunk.map((p) => p.image!) : undefined,
        prefixTexts: chunk.map((p) => p.prefix),
        maxLen: maxLabelTokens,
        signal,
        progress: false,
      });
      generated.push(...r.texts.map((t) => t.trim()));
    }
  }
  const labelCounts = ENTAILMENT_LABELS.map((_, j) => gold.filter((g) => g === j).length);
  const n = pairs.length;
  const perItem: Record<string, number> = {},
    predictions: Record<string, EntailmentLabel> = {};
  pairs.forEach((p, i) => {
    perItem[p.id] = pred[i] === gold[i] ? 1 : 0;
    predictions[p.id] = ENTAILMENT_LABELS[pred[i]!]!;
  });
  return {
    task: "entailment",
    premise,
    n,
    metrics: {
      accuracy: pred.filter((p, i) => p === gold[i]).length / n,
      accuracy_per_token: predPerToken.filter((p, i) => p === gold[i]).length / n,
      generation_accuracy: generated.length
        ? generated.filter((t, i) => t === pairs[i]!.target).length / n
        : NaN,
      chance: 1 / ENTAILMENT_LABELS.length,
      majority: Math.max(...labelCounts) / n,
      premise_truncated: pairs.filter((p) => (p.premiseWordsDropped ?? 0) > 0).length,
    },
    confusion,
    labelCounts,
    perItem,
    predictions,
    samples: pairs.slice(0, opts.samples ?? 6).map((p, i) => ({
      id: p.id,
      prefix: p.prefix,
      gold: p.target,
      predicted: ENTAILMENT_LABELS[pred[i]!]!,
      generated: generated[i] ?? "",
      logLik: Object.fromEntries(ENTAILMENT_LABELS.map((l, j) => [l, ll[i]![j]!])),
    })),
  };
}
