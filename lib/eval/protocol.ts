/**
 * The evaluation protocol of issue 14 as the ablation runner, notebook 02 and `simvlm eval` apply it:
 * the metric names every system (a trained arm, the from-scratch control, a blind baseline) is
 * scored under, the exact text the experiment's one tokenizer is trained on, and the blind
 * baselines computed once per experiment on the same records the models are scored on.
 *
 * A system's scores are `metrics` (numbers), `na` (metric → why it has no meaning for that system)
 * and `items` (metric → item id → per-item score whose mean is the metric, for paired bootstraps).
 */
import type { AnnotatedImage, Example } from "../data/types.ts";
import { makeWorld, worldTextCorpus } from "../data/world/index.ts";
import { groundedScores, type GroundedScores } from "./metrics/grounded.ts";
import type { PrefixLossReport } from "./metrics/prefix-loss.ts";
import type { PrefixOptions } from "../train/objectives.ts";
import {
  bestConstantCaption,
  mostFrequentCaption,
  type ConstantCaptionScores,
} from "./baselines/caption.ts";
import { fitVqaPrior, evalVqaPrior } from "./baselines/vqa.ts";
import {
  majorityEntailment,
  fitHypothesisOnly,
  evalHypothesisOnly,
  type EntailmentBaselineEval,
} from "./baselines/entailment.ts";
import { fitNgramBaseline, ngramPrefixLosses, type NgramTokenizer } from "./baselines/ngram.ts";
import { EvalInputError } from "./metrics/errors.ts";

/** One system's scores under the protocol (see the file comment). */
export interface ScoredSystem {
  metrics: Record<string, number>;
  na: Record<string, string>;
  items: Record<string, Record<string, number>>;
}

/** A blind baseline: a row of every results table, computed once per experiment (it has no training seed). */
export interface BaselineRow extends ScoredSystem {
  label: string;
  /** What the baseline chose (the constant caption, the n-gram order, …), as plain data. */
  info: Record<string, unknown>;
}

export interface MetricInfo {
  label: string;
  higherIsBetter: boolean;
  unit: string;
  /** True when systems store per-item scores for it (so comparisons bootstrap over items). */
  perItem: boolean;
}

const loss = (cond: string, per: string, perItem = false): MetricInfo => ({
  label: `loss at ${cond} (nats/${per})`,
  higherIsBetter: false,
  unit: `nats/${per}`,
  perItem,
});
const cap = (when: string): Record<string, MetricInfo> => {
  const p = when === "zero-shot" ? "zs" : "ft";
  return {
    [`${p}_cider`]: {
      label: `${when} CIDEr-D`,
      higherIsBetter: true,
      unit: "CIDEr-D",
      perItem: true,
    },
    [`${p}_bleu4`]: {
      label: `${when} BLEU-4`,
      higherIsBetter: true,
      unit: "BLEU-4",
      perItem: false,
    },
    [`${p}_obj_p`]: {
      label: `${when} object precision`,
      higherIsBetter: true,
      unit: "micro precision",
      perItem: false,
    },
    [`${p}_obj_r`]: {
      label: `${when} object recall`,
      higherIsBetter: true,
      unit: "micro recall",
      perItem: false,
    },
    [`${p}_obj_f1`]: {
      label: `${when} object F1`,
      higherIsBetter: true,
      unit: "micro F1",
      perItem: false,
    },
    [`${p}_obj_f1_img`]: {
      label: `${when} object F1 (mean per image)`,
      higherIsBetter: true,
      unit: "mean per-image F1",
      perItem: true,
    },
    [`${p}_count_acc`]: {
      label: `${when} count accuracy`,
      higherIsBetter: true,
      unit: "accuracy",
      perItem: false,
    },
  };
};

/**
 * Every metric of the protocol. Losses (val split, image-text pairs): at T_p = 0 and the exact
 * expectation over PrefixLM's random T_p ("rtp"), per token, per example and per character.
 * Captioning on the test split: zero-shot ("zs", image-only prefix, no prompt) and after the fixed
 * caption finetune ("ft"): CIDEr-D, BLEU-4, the grounded metric (object P/R/F1, micro; F1 also as
 * the mean per image, the per-item quantity) and count accuracy. VQA accuracy after the fixed VQA
 * finetune. Entailment accuracy after the fixed text-only entailment finetune, tested with the image
 * as premise (cross-modal transfer) and with the text premise it was trained on.
 */
export const PROTOCOL_METRICS: Record<string, MetricInfo> = {
  loss_tp0_token: loss("T_p = 0", "token"),
  loss_tp0_example: loss("T_p = 0", "example", true),
  loss_tp0_char: loss("T_p = 0", "char"),
  loss_rtp_token: loss("random T_p", "token"),
  loss_rtp_example: loss("random T_p", "example", true),
  loss_rtp_char: loss("random T_p", "char"),
  ...cap("zero-shot"),
  ...cap("finetuned"),
  vqa: {
    label: "VQA accuracy (finetuned)",
    higherIsBetter: true,
    unit: "VQA accuracy",
    perItem: true,
  },
  entail_image: {
    label: "entailment, image premise (text-only finetune)",
    higherIsBetter: true,
    unit: "accuracy",
    perItem: true,
  },
  entail_text: {
    label: "entailment, text premise (text-only finetune)",
    higherIsBetter: true,
    unit: "accuracy",
    perItem: true,
  },
};

/** The columns a results table shows by default (the rest stay in the results file). */
export const HEADLINE_METRICS = [
  "loss_tp0_token",
  "loss_rtp_token",
  "loss_rtp_char",
  "zs_cider",
  "zs_obj_f1",
  "ft_cider",
  "ft_obj_f1",
  "vqa",
  "entail_image",
];

/** Metric metadata, with a fallback for names outside the protocol (a "loss" is lower-is-better). */
export function metricInfo(name: string): MetricInfo {
  return (
    PROTOCOL_METRICS[name] ?? {
      label: name,
      higherIsBetter: !/loss/i.test(name),
      unit: "",
      perItem: false,
    }
  );
}

/**
 * The text the experiment's one tokenizer is trained on, fixed by the data seed (never by a run
 * seed): for each of the first `images` train records of the world in index order, its alt-text, its
 * 5 reference captions, its VQA questions with their 10 answers, and its entailment premises,
 * hypotheses and labels; then the first ⌈images / 8⌉ text-only documents (the stream's 8 : 1 mix).
 * Only train-split text: val and test records are never read. The finetuning tasks' words are in
 * it, so every arm's finetunes see the same token inventory.
 */
export function tokenizerTexts(opts: { dataSeed: number; images: number }): string[] {
  if (!Number.isInteger(opts.images) || opts.images < 1)
    throw new EvalInputError(`tokenizerTexts: images must be an integer ≥ 1, got ${opts.images}`);
  // Only the text is read, so the pixels are rendered at the smallest size.
  const records = makeWorld({ dataSeed: opts.dataSeed, split: "train", n: opts.images, size: 8 });
  const texts: string[] = [];
  for (const r of records) {
    texts.push(r.altText, ...r.captions);
    for (const q of r.vqa) texts.push(q.question, ...q.answers);
    for (const e of r.entailment) texts.push(e.premise, e.hypothesis, e.label);
  }
  texts.push(...worldTextCorpus({ dataSeed: opts.dataSeed, n: Math.ceil(opts.images / 8) }));
  return texts;
}

/** The val examples the losses are measured on: each val record's alt-text with its image. */
export function lossExamples(val: readonly AnnotatedImage[]): Example[] {
  return val.map((r) => ({ id: r.id, image: r.image, text: r.altText }));
}

/** Loss metrics (and per-example items) of a prefix-loss report, the model's or the n-gram's. */
export function lossScores(r: PrefixLossReport): ScoredSystem {
  return {
    metrics: {
      loss_tp0_token: r.tp0.perToken,
      loss_tp0_example: r.tp0.perExample,
      loss_tp0_char: r.tp0.perChar,
      loss_rtp_token: r.randomTp.perToken,
      loss_rtp_example: r.randomTp.perExample,
      loss_rtp_char: r.randomTp.perChar,
    },
    na: {},
    items: {
      loss_tp0_example: Object.fromEntries(r.perExample.map((e) => [e.id, e.tp0])),
      loss_rtp_example: Object.fromEntries(r.perExample.map((e) => [e.id, e.randomTp])),
    },
  };
}

/** Captioning metrics under a prefix ("zs" or "ft"): the caption scores plus the grounded metric against each scene. */
export function captionSystemScores(
  prefix: "zs" | "ft",
  s: {
    cider: number;
    bleu4: number;
    ciderPerImage: Record<string, number>;
    grounded: GroundedScores;
  },
): ScoredSystem {
  const g = s.grounded;
  const out: ScoredSystem = {
    metrics: {
      [`${prefix}_cider`]: s.cider,
      [`${prefix}_bleu4`]: s.bleu4,
      [`${prefix}_obj_r`]: g.recall,
      [`${prefix}_obj_f1`]: g.f1,
      [`${prefix}_obj_f1_img`]: g.meanItemF1,
    },
    na: {},
    items: {
      [`${prefix}_cider`]: { ...s.ciderPerImage },
      [`${prefix}_obj_f1_img`]: Object.fromEntries(
        Object.entries(g.perItem).map(([id, x]) => [id, x.f1]),
      ),
    },
  };
  if (g.precision === null)
    out.na[`${prefix}_obj_p`] =
      "no caption names an object (precision = matched / named is undefined)";
  else out.metrics[`${prefix}_obj_p`] = g.precision;
  if (g.countAccuracy === null)
    out.na[`${prefix}_count_acc`] = "no caption states how many shapes there are";
  else out.metrics[`${prefix}_count_acc`] = g.countAccuracy;
  return out;
}

/** The grounded metric of generated captions against the scenes of the captioned records. */
export function groundedOfCaptions(
  captions: Record<string, string>,
  items: readonly Pick<AnnotatedImage, "id" | "objects">[],
): GroundedScores {
  return groundedScores(captions, Object.fromEntries(items.map((it) => [it.id, it.objects])));
}

/** Merge scored parts into one system. */
export function mergeScores(...parts: ScoredSystem[]): ScoredSystem {
  const out: ScoredSystem = { metrics: {}, na: {}, items: {} };
  for (const p of parts) {
    Object.assign(out.metrics, p.metrics);
    Object.assign(out.na, p.na);
    Object.assign(out.items, p.items);
  }
  return out;
}

const entailmentScores = (e: EntailmentBaselineEval): ScoredSystem => ({
  metrics: { entail_image: e.accuracy, entail_text: e.accuracy },
  na: {},
  items: { entail_image: { ...e.perItem }, entail_text: { ...e.perItem } },
});

const constantCaption = (s: ConstantCaptionScores): ScoredSystem =>
  mergeScores(
    ...(["zs", "ft"] as const).map((p) =>
      captionSystemScores(p, {
        cider: s.cider,
        bleu4: s.bleu4,
        ciderPerImage: s.ciderPerImage,
        grounded: s.grounded,
      }),
    ),
  );

export interface BlindBaselineOptions {
  /** Train records the baselines are fitted on (captions, VQA answers, entailment labels). */
  train: readonly AnnotatedImage[];
  /** Val records: the constant caption is chosen on them; the losses are measured on their alt-text. */
  val: readonly AnnotatedImage[];
  /** Test records the models are scored on. */
  test: readonly AnnotatedImage[];
  /** The experiment's tokenizer and the model's text length (for the image-blind n-gram LM). */
  tokenizer?: NgramTokenizer;
  maxTextLen?: number;
  /** The n-gram LM's training text (the pretraining stream's kind of text); its order (default 3). */
  ngramTexts?: readonly string[];
  ngramOrder?: number;
  /** Largest T_p of the n-gram's loss-vs-T_p curve (default 8). */
  maxK?: number;
  /** The random-T_p distribution of the n-gram's loss_rtp_* (default { mode: "random" }): the models' one. */
  prefix?: PrefixOptions;
}

/**
 * The blind baselines of the protocol as rows of a results table, scored under the run metrics'
 * names on the same records: best constant caption (chosen on val) and most frequent train caption
 * (both captioning columns, zero-shot and finetuned: a constant caption needs no training), the VQA
 * question-type prior, entailment majority and hypothesis-only (both entailment columns: they never
 * read the premise), and the image-blind n-gram LM on the losses (when a tokenizer is given).
 */
export function blindBaselines(o: BlindBaselineOptions): BaselineRow[] {
  const best = bestConstantCaption(o.train, o.val, o.test);
  const freq = mostFrequentCaption(o.train, o.test);
  const prior = evalVqaPrior(fitVqaPrior(o.train), o.test);
  const rows: BaselineRow[] = [
    {
      label: "baseline: best constant caption",
      ...constantCaption(best.test),
      info: {
        caption: best.caption,
        source: best.source,
        valCider: best.valCider,
        candidates: best.candidates,
      },
    },
    {
      label: "baseline: most frequent train caption",
      ...constantCaption(freq),
      info: { caption: freq.caption, count: freq.count },
    },
    {
      label: "baseline: VQA question-type prior",
      metrics: { vqa: prior.accuracy },
      na: {},
      items: { vqa: { ...prior.perQuestion } },
      info: { perKind: prior.perKind, unseenTemplates: prior.unseenTemplates },
    },
  ];
  const maj = majorityEntailment(o.train, o.test);
  rows.push({
    label: "baseline: entailment majority",
    ...entailmentScores(maj),
    info: { label: maj.label },
  });
  rows.push({
    label: "baseline: hypothesis-only",
    ...entailmentScores(evalHypothesisOnly(fitHypothesisOnly(o.train), o.test)),
    info: { model: "multinomial naive Bayes over hypothesis words, α = 1" },
  });
  if (o.tokenizer) {
    if (!o.ngramTexts?.length)
      throw new EvalInputError(
        "blindBaselines: the n-gram LM needs its training texts (ngramTexts)",
      );
    if (!o.maxTextLen)
      throw new EvalInputError("blindBaselines: the n-gram LM needs the model's maxTextLen");
    const order = o.ngramOrder ?? 3;
    const lm = fitNgramBaseline(o.ngramTexts, o.tokenizer, { order });
    const val = lossExamples(o.val);
    const report = ngramPrefixLosses(lm, o.tokenizer, val, {
      maxTextLen: o.maxTextLen,
      ...(o.prefix ? { prefix: o.prefix } : {}),
    });
    const lossByTp = Array.from({ length: (o.maxK ?? 8) + 1 }, (_, k) => {
      const usable = val.filter(
        (e) => Math.min(o.tokenizer!.encode(e.text).length, o.maxTextLen! - 1) > k,
      );
      if (!usable.length) return null;
      const r = ngramPrefixLosses(lm, o.tokenizer!, usable, {
        maxTextLen: o.maxTextLen!,
        prefix: { mode: "fixed", k },
      });
      return { tp: k, loss: r.randomTp.perToken, examples: usable.length };
    }).filter((x) => x !== null);
    rows.push({
      label: `baseline: image-blind ${order}-gram LM`,
      ...lossScores(report),
      info: { order, texts: o.ngramTexts.length, lossByTp },
    });
  }
  return rows;
}

/** The n-gram LM's training text: the first `n` texts of the pretraining mix in world index order (8 train alt-texts, then 1 document). */
export function ngramTrainingTexts(opts: { dataSeed: number; n: number }): string[] {
  const docs = Math.floor(opts.n / 9),
    pairs = opts.n - docs;
  const alt = makeWorld({ dataSeed: opts.dataSeed, split: "train", n: pairs, size: 8 }).map(
    (r) => r.altText,
  );
  const corpus = worldTextCorpus({ dataSeed: opts.dataSeed, n: docs });
  const out: string[] = [];
  for (let i = 0, d = 0; i < alt.length; i++) {
    out.push(alt[i]!);
    if ((i + 1) % 8 === 0 && d < corpus.length) out.push(corpus[d++]!);
  }
  return out;
}
