/**
 * The downstream tasks of the built-in world as task pairs (lib/train/pair-batch.ts) for finetuning:
 * captioning (image → caption, prefix k = 0), VQA (image + question → the majority answer) and
 * entailment (premise + hypothesis → label word, the premise as the image or as text).
 */
import type { AnnotatedImage, VqaItem } from "../../data/types.ts";
import type { TaskPair } from "../../train/pair-batch.ts";
import { Rng } from "../../util/rng.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { entailmentPairs, type PrefixFit } from "./entailment.ts";

export type EvalTask = "caption" | "vqa" | "entailment";
export const EVAL_TASKS: readonly EvalTask[] = ["caption", "vqa", "entailment"];

/** The most frequent answer (ties: the first seen) — the VQA training target. */
export function majorityAnswer(q: VqaItem): string {
  const c = new Map<string, number>();
  for (const a of q.answers) c.set(a, (c.get(a) ?? 0) + 1);
  let best = q.answers[0]!,
    n = 0;
  for (const [a, k] of c)
    if (k > n) {
      best = a;
      n = k;
    }
  return best;
}

/** Check a task and its pair options (what taskPairs takes), before any work is done; errors name the option. */
export function checkTaskChoice(
  task: EvalTask,
  opts: { fraction?: number; textOnly?: boolean },
): void {
  const fraction = opts.fraction ?? 1;
  if (!(fraction > 0 && fraction <= 1))
    throw new EvalInputError(`fraction must be in (0, 1], got ${fraction}`, { option: "fraction" });
  if (!EVAL_TASKS.includes(task))
    throw new EvalInputError(
      `task must be one of ${EVAL_TASKS.join(", ")}, got ${JSON.stringify(task)}`,
      { option: "task" },
    );
  if (opts.textOnly && task !== "entailment") {
    throw new EvalInputError(
      `textOnly: text-only finetuning is for the entailment task (premise as text); task "${task}" needs the images`,
      { option: "textOnly" },
    );
  }
}

/**
 * Finetuning pairs for a task from annotated images. `fraction` keeps that share of the images
 * (seeded choice, at least one) — the few-shot setting. `textOnly` (entailment only) puts the
 * premise in as text and leaves the image out.
 */
export function taskPairs(
  task: EvalTask,
  items: AnnotatedImage[],
  opts: { fraction?: number; textOnly?: boolean; seed?: number; fit?: PrefixFit } = {},
): TaskPair[] {
  checkTaskChoice(task, opts);
  const fraction = opts.fraction ?? 1;
  if (!items.length) throw new EvalInputError("taskPairs: no images");
  const keep = Math.max(1, Math.round(items.length * fraction));
  const chosen = fraction < 1 ? new Rng(opts.seed ?? 0).shuffle([...items]).slice(0, keep) : items;
  switch (task) {
    case "caption":
      return chosen.flatMap((it) =>
        it.captions.map((c, j) => ({
          id: `${it.id}#${j}`,
          image: it.image,
          prefix: "",
          target: c,
        })),
      );
    case "vqa":
      return chosen.flatMap((it) =>
        it.vqa.map((q, j) => ({
          id: `${it.id}#${j}`,
          image: it.image,
          prefix: q.question,
          target: majorityAnswer(q),
        })),
      );
    case "entailment":
      return entailmentPairs(chosen, opts.textOnly ? "text" : "image", opts.fit);
  }
}
