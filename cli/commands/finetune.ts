/**
 * `simvlm finetune --ckpt DIR --task T --out DIR`: continue training a checkpoint on a task of the
 * built-in world and write a new checkpoint in the same format (see docs/eval-tasks.md).
 */
import { parseArgs, str, bool, optNum, flagNames, UsageError } from "../args.ts";
import { finetuneCheckpoint } from "../../lib/eval/tasks/checkpoint-finetune.ts";
import type { EvalTask } from "../../lib/eval/tasks/task-pairs.ts";
import { FINETUNE_DEFAULTS as D, percent } from "../../lib/train/defaults.ts";

// The defaults come from lib/train/defaults.ts (where each one's reason is), so help and library agree.
const USAGE = `usage: simvlm finetune --ckpt DIR --task caption|vqa|entailment --out DIR [--text-only] [--fraction F] [--steps N]
Finetunes on the built-in world's train split, saves a checkpoint in --out, prints a JSON summary.
Ctrl-C stops at the next step boundary and saves the steps done (exit 130).
  --ckpt DIR        the checkpoint to start from (not modified)
  --task T          caption: image → caption; vqa: image + question → answer;
                    entailment: premise + hypothesis → entailment/neutral/contradiction
  --text-only       entailment with the premise as TEXT and no image (cross-modality transfer:
                    then \`simvlm eval --task entailment\` tests with the image as the premise)
  --fraction F      use this share of the training images (0 < F ≤ 1, default 1): few-shot finetuning
  --steps N         updates (default ${D.steps.value})
  --images N        training images read from the world (default ${D.images.value})
  --batch B         pairs per step (default ${D.batchSize.value})
  --lr LR           peak learning rate (default ${D.lr.value}; warmup ${percent(D.warmupFraction.value)}, ${D.decay.value} decay)
  --seed S          pair order and dropout (default ${D.seed.value})
  --data-seed S     the world's data seed (default: the one the checkpoint trained on, else 0;
                    never its run seed, which only ordered the data)
  --world-seed S    old name of --data-seed
  --out DIR         where the new checkpoint goes (must not hold one already)
Defaults and the reason for each: docs/train.md ("Defaults").`;

/** finetuneCheckpoint's options → the flags that set them (finetuneCheckpoint validates the values and names the option). */
const FLAGS: Record<string, string> = {
  task: "task",
  textOnly: "text-only",
  fraction: "fraction",
  steps: "steps",
  images: "images",
  batchSize: "batch",
  lr: "lr",
  seed: "seed",
  dataSeed: "data-seed",
  worldSeed: "world-seed",
  out: "out",
};

export default async function finetuneCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: {
      ckpt: "string",
      task: "string",
      out: "string",
      fraction: "number",
      steps: "number",
      images: "number",
      batch: "number",
      lr: "number",
      seed: "number",
      "data-seed": "number",
      "world-seed": "number",
    },
    booleans: ["help", "text-only"],
  });
  if (bool(args, "help")) {
    console.log(USAGE);
    return 0;
  }
  if (args.positionals.length)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${USAGE}`);
  const ckpt = str(args, "ckpt"),
    out = str(args, "out"),
    task = str(args, "task") as EvalTask;
  // Ctrl-C: stop at the next step boundary and save; a second Ctrl-C quits now.
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(
      "\nsimvlm finetune: stopping after this step and saving (Ctrl-C again to quit now)\n",
    );
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const summary = await flagNames(FLAGS, () =>
      finetuneCheckpoint({
        ckpt,
        out,
        task,
        textOnly: bool(args, "text-only"),
        fraction: optNum(args, "fraction"),
        lr: optNum(args, "lr"),
        steps: optNum(args, "steps"),
        images: optNum(args, "images"),
        batchSize: optNum(args, "batch"),
        seed: optNum(args, "seed"),
        dataSeed: optNum(args, "data-seed"),
        worldSeed: optNum(args, "world-seed"),
        signal: ac.signal,
      }),
    );
    console.log(JSON.stringify(summary, null, 2));
    return summary.stopped === "aborted" ? 130 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
