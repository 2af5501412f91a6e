/**
 * Blind entailment baselines: they never read the premise (text or image).
 *
 * - `majorityEntailment`: the most frequent train label (ties in the order entailment, neutral,
 *   contradiction), predicted for every test item.
 * - `fitHypothesisOnly` / `evalHypothesisOnly`: a multinomial naive Bayes classifier over the
 *   hypothesis's bag of words (Manning, Raghavan & Schütze 2008, *Introduction to Information
 *   Retrieval*, §13.2) — the hypothesis-only baseline of Poliak et al. 2018 ("Hypothesis Only
 *   Baselines in Natural Language Inference") and Gururangan et al. 2018. Words: lower-cased runs of
 *   letters or digits. P(c) = train items of c / train items; P(w | c) = (count(w, c) + 1) /
 *   (words of c + |V|), V the train vocabulary (Laplace smoothing, α = 1). Prediction:
 *   argmax_c log P(c) + Σ log P(w | c) over the hypothesis's words in V, each occurrence counted;
 *   words outside V are ignored; ties go to the earlier label in ENTAILMENT_BASELINE_LABELS.
 *
 * Items are a record's `entailment` items, with ids "<image id>#<j>" as entailmentPairs numbers them;
 * per-item correctness (0/1) is returned for a paired bootstrap.
 */
import type { AnnotatedImage, EntailmentLabel } from "../../data/types.ts";
import { EvalInputError } from "../metrics/errors.ts";

export const ENTAILMENT_BASELINE_LABELS: readonly EntailmentLabel[] = [
  "entailment",
  "neutral",
  "contradiction",
];
export type EntailmentRecord = Pick<AnnotatedImage, "id" | "entailment">;

interface Item {
  id: string;
  hypothesis: string;
  label: EntailmentLabel;
}

function items(records: readonly EntailmentRecord[], what: string): Item[] {
  const out: Item[] = [];
  for (const r of records)
    (r.entailment ?? []).forEach((e, j) => {
      if (!ENTAILMENT_BASELINE_LABELS.includes(e.label))
        throw new EvalInputError(
          `${what}: ${r.id}#${j} has unknown label ${JSON.stringify(e.label)}`,
        );
      if (typeof e.hypothesis !== "string")
        throw new EvalInputError(`${what}: ${r.id}#${j} has no hypothesis text`);
      out.push({ id: `${r.id}#${j}`, hypothesis: e.hypothesis, label: e.label });
    });
  if (!out.length) throw new EvalInputError(`${what}: no entailment items`);
  return out;
}

export interface EntailmentBaselineEval {
  accuracy: number;
  n: number;
  /** Per item id: 1 when right, 0 when wrong. */
  perItem: Record<string, number>;
  predictions: Record<string, EntailmentLabel>;
  /** Gold label → predicted label → items. */
  confusion: Record<EntailmentLabel, Record<EntailmentLabel, number>>;
}

function evaluate(test: Item[], predict: (h: string) => EntailmentLabel): EntailmentBaselineEval {
  const perItem: Record<string, number> = {},
    predictions: Record<string, EntailmentLabel> = {};
  const confusion = Object.fromEntries(
    ENTAILMENT_BASELINE_LABELS.map((g) => [
      g,
      Object.fromEntries(ENTAILMENT_BASELINE_LABELS.map((p) => [p, 0])),
    ]),
  ) as EntailmentBaselineEval["confusion"];
  let right = 0;
  for (const it of test) {
    const p = predict(it.hypothesis);
    predictions[it.id] = p;
    perItem[it.id] = p === it.label ? 1 : 0;
    right += perItem[it.id]!;
    confusion[it.label][p]++;
  }
  return { accuracy: right / test.length, n: test.length, perItem, predictions, confusion };
}

/** The majority train label, and its accuracy on the test items. */
export function majorityEntailment(
  train: readonly EntailmentRecord[],
  test: readonly EntailmentRecord[],
): EntailmentBaselineEval & { label: EntailmentLabel } {
  const counts = new Map<EntailmentLabel, number>();
  for (const it of items(train, "majorityEntailment (train)"))
    counts.set(it.label, (counts.get(it.label) ?? 0) + 1);
  let label = ENTAILMENT_BASELINE_LABELS[0]!;
  for (const l of ENTAILMENT_BASELINE_LABELS)
    if ((counts.get(l) ?? 0) > (counts.get(label) ?? 0)) label = l;
  return { label, ...evaluate(items(test, "majorityEntailment (test)"), () => label) };
}

/** Words of a hypothesis: lower-cased runs of letters or digits. */
export function hypothesisWords(h: string): string[] {
  return h.toLowerCase().match(/[a-z]+|\d+/g) ?? [];
}

export interface HypothesisOnlyModel {
  labels: readonly EntailmentLabel[];
  /** log P(c) per label. */
  logPrior: number[];
  /** log P(w | c) per word of V, per label. */
  logLikelihood: Map<string, number[]>;
  /** Log-score of each label for a hypothesis (unnormalised log posterior). */
  scores(hypothesis: string): number[];
  predict(hypothesis: string): EntailmentLabel;
}

/** Fit the multinomial naive Bayes hypothesis-only classifier on train items (rules in the file comment). */
export function fitHypothesisOnly(train: readonly EntailmentRecord[]): HypothesisOnlyModel {
  const data = items(train, "fitHypothesisOnly");
  const L = ENTAILMENT_BASELINE_LABELS,
    docs = L.map(() => 0),
    totals = L.map(() => 0);
  const counts = new Map<string, number[]>();
  for (const it of data) {
    const c = L.indexOf(it.label);
    docs[c]!++;
    for (const w of hypothesisWords(it.hypothesis)) {
      const row =
        counts.get(w) ??
        counts
          .set(
            w,
            L.map(() => 0),
          )
          .get(w)!;
      row[c]!++;
      totals[c]!++;
    }
  }
  const V = counts.size;
  // A label never seen in train gets prior 0 (log −∞): never predicted.
  const logPrior = docs.map((d) => Math.log(d / data.length));
  const logLikelihood = new Map(
    [...counts].map(([w, row]) => [w, row.map((k, c) => Math.log((k + 1) / (totals[c]! + V)))]),
  );
  const scores = (h: string) => {
    const s = [...logPrior];
    for (const w of hypothesisWords(h)) {
      const ll = logLikelihood.get(w);
      if (ll)
        ll.forEach((v, c) => {
          s[c]! += v;
        });
    }
    return s;
  };
  const predict = (h: string) => {
    const s = scores(h);
    let best = 0;
    for (let c = 1; c < s.length; c++) if (s[c]! > s[best]!) best = c;
    return L[best]!;
  };
  return { labels: L, logPrior, logLikelihood, scores, predict };
}

/** Accuracy of a fitted hypothesis-only model on the test items. */
export function evalHypothesisOnly(
  model: HypothesisOnlyModel,
  test: readonly EntailmentRecord[],
): EntailmentBaselineEval {
  return evaluate(items(test, "evalHypothesisOnly (test)"), model.predict);
}
