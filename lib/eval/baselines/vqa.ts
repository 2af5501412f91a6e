/**
 * The question-type prior for VQA: answer every question with the most frequent train answer of its
 * question template, never looking at the image (the "language-only" prior of Goyal et al. 2017,
 * "Making the V in VQA Matter", which VQA v2 was balanced against).
 *
 * - **Template**: the question lower-cased, whitespace collapsed, every colour word replaced by
 *   `<color>`, every shape word (singular or plural) by `<shape>`, every size word by `<size>`:
 *   "what color is the triangle?" → "what color is the <shape>?", "how many red shapes are there?" →
 *   "how many <color> shapes are there?" ("shapes" is no shape word).
 * - **Train answer of a question**: the most frequent of its annotator answers (ties: the
 *   lexicographically smallest) — the target VQA finetuning trains on.
 * - **Prior of a template**: the most frequent train answer over the template's train questions
 *   (ties: lexicographically smallest). A test question whose template never occurred in train
 *   gets the prior of its kind (color/shape/count/position), else the overall most frequent answer.
 * - Scored with the official VQA accuracy (`vqaAccuracy`) per question, overall and per kind.
 *   Question ids are "<image id>#<question index>", as evalVqa numbers them.
 */
import type { AnnotatedImage, VqaItem } from "../../data/types.ts";
import { vqaAccuracy } from "../metrics/vqa.ts";
import { WORLD_GROUNDED_VOCABULARY, type GroundedVocabulary } from "../metrics/grounded.ts";
import { EvalInputError } from "../metrics/errors.ts";

export type VqaRecord = Pick<AnnotatedImage, "id" | "vqa">;

/** The question with its colour/shape/size words abstracted (rules in the file comment). */
export function questionTemplate(
  question: string,
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): string {
  const slot = new Map<string, string>();
  for (const c of vocab.colors) slot.set(c, "<color>");
  for (const s of vocab.sizes) slot.set(s, "<size>");
  for (const s of vocab.shapes) {
    slot.set(s, "<shape>");
    slot.set(/(s|x|z|ch|sh)$/.test(s) ? `${s}es` : `${s}s`, "<shape>");
  }
  slot.set("grey", "<color>");
  return question
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[a-z]+/g, (w) => slot.get(w) ?? w);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const xs = m.get(k);
  if (xs) xs.push(v);
  else m.set(k, [v]);
}

/** The most frequent string (ties: lexicographically smallest); undefined for none. */
function mode(xs: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best: string | undefined,
    bestCount = 0;
  for (const [x, c] of counts)
    if (c > bestCount || (c === bestCount && x < best!)) {
      best = x;
      bestCount = c;
    }
  return best;
}

export interface VqaPrior {
  /** Template → its prior answer and the number of train questions behind it. */
  byTemplate: Record<string, { answer: string; questions: number }>;
  byKind: Partial<Record<VqaItem["kind"], string>>;
  overall: string;
}

/** Fit the question-type prior on train records. */
export function fitVqaPrior(
  train: readonly VqaRecord[],
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): VqaPrior {
  const byTemplate = new Map<string, string[]>(),
    byKind = new Map<VqaItem["kind"], string[]>(),
    all: string[] = [];
  for (const r of train) {
    for (const [j, q] of (r.vqa ?? []).entries()) {
      if (!Array.isArray(q.answers) || !q.answers.length)
        throw new EvalInputError(`fitVqaPrior: ${r.id}#${j} has no answers`);
      const a = mode(q.answers)!;
      const t = questionTemplate(q.question, vocab);
      push(byTemplate, t, a);
      push(byKind, q.kind, a);
      all.push(a);
    }
  }
  if (!all.length) throw new EvalInputError("fitVqaPrior: the train records have no VQA questions");
  return {
    byTemplate: Object.fromEntries(
      [...byTemplate].map(([t, as]) => [t, { answer: mode(as)!, questions: as.length }]),
    ),
    byKind: Object.fromEntries([...byKind].map(([k, as]) => [k, mode(as)!])),
    overall: mode(all)!,
  };
}

/** The prior's answer to one question. */
export function vqaPriorAnswer(
  prior: VqaPrior,
  q: Pick<VqaItem, "question" | "kind">,
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): string {
  return (
    prior.byTemplate[questionTemplate(q.question, vocab)]?.answer ??
    prior.byKind[q.kind] ??
    prior.overall
  );
}

export interface VqaPriorEval {
  /** Official VQA accuracy over all questions, and per kind (absent kinds are left out). */
  accuracy: number;
  perKind: Partial<Record<VqaItem["kind"], number>>;
  /** Per question id ("<image id>#<j>"): accuracy and the answer given. */
  perQuestion: Record<string, number>;
  answers: Record<string, string>;
  n: number;
  /** Test questions whose template never occurred in train. */
  unseenTemplates: number;
}

/** Score the prior on test records with the official VQA accuracy. */
export function evalVqaPrior(
  prior: VqaPrior,
  test: readonly VqaRecord[],
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): VqaPriorEval {
  const gt: Record<string, string[]> = {},
    preds: Record<string, string> = {},
    kind: Record<string, VqaItem["kind"]> = {};
  let unseen = 0;
  for (const r of test) {
    (r.vqa ?? []).forEach((q, j) => {
      const id = `${r.id}#${j}`;
      gt[id] = q.answers;
      preds[id] = vqaPriorAnswer(prior, q, vocab);
      kind[id] = q.kind;
      if (!prior.byTemplate[questionTemplate(q.question, vocab)]) unseen++;
    });
  }
  if (!Object.keys(gt).length)
    throw new EvalInputError("evalVqaPrior: the test records have no VQA questions");
  const acc = vqaAccuracy(gt, preds);
  const sums = new Map<VqaItem["kind"], number[]>();
  for (const [id, a] of Object.entries(acc.perQuestion)) push(sums, kind[id]!, a);
  const perKind = Object.fromEntries(
    [...sums].map(([k, xs]) => [k, xs.reduce((s, x) => s + x, 0) / xs.length]),
  );
  return {
    accuracy: acc.overall,
    perKind,
    perQuestion: acc.perQuestion,
    answers: preds,
    n: Object.keys(gt).length,
    unseenTemplates: unseen,
  };
}
