/**
 * `simvlm finetune --ckpt DIR --task T --out DIR`: continue training a checkpoint on a task of the
 * built-in world and write a new checkpoint in the same format (see docs/eval-tasks.md).
 */
import { parseArgs, str, num, bool, UsageError, type ParsedArgs } from "../args.ts";
import { finetuneCheckpoint, EVAL_TASKS, type EvalTask } from "../../lib/train/finetune.ts";

const USAGE = `usage: simvlm finetune --ckpt DIR --task caption|vqa|entailment --out DIR [--text-only] [--fraction F] [--steps N]
Finetunes on the built-in world's train split, saves a checkpoint in --out, prints a JSON summary.
  --ckpt DIR        the checkpoint to start from (not modified)
  --task T          caption: image → caption; vqa: image + question → answer;
                    entailment: premise + hypothesis → entailment/neutral/contradiction
  --text-only       entailment with the premise as TEXT and no image (cross-modality transfer:
                    then \`simvlm eval --task entailment\` tests with the image as the premise)
  --fraction F      use this share of the training images (0 < F ≤ 1, default 1): few-shot finetuning
  --steps N         updates (default 100)
  --images N        training images read from the world (default 200)
  --batch B         pairs per step (default 16)
  --lr LR           peak learning rate (default 5e-4; warmup 5%, linear decay)
  --seed S          pair order and dropout (default 0)
  --world-seed S    world to train on (default: the checkpoint's seed)
  --out DIR         where the new checkpoint goes (must not hold one already)`;

function optInt(a: ParsedArgs, name: string, min: number): number | undefined {
  if (a.flags[name] === undefined) return undefined;
  const v = num(a, name);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export default async function finetuneCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: { ckpt: "string", task: "string", out: "string", fraction: "number", steps: "number", images: "number", batch: "number", lr: "number", seed: "number", "world-seed": "number" },
    booleans: ["help", "text-only"],
  });
  if (bool(args, "help")) { console.log(USAGE); return 0; }
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${USAGE}`);
  const ckpt = str(args, "ckpt"), out = str(args, "out"), task = str(args, "task");
  if (!EVAL_TASKS.includes(task as EvalTask)) throw new UsageError(`--task must be one of ${EVAL_TASKS.join(", ")}, got "${task}"`);
  if (bool(args, "text-only") && task !== "entailment") throw new UsageError(`--text-only applies to --task entailment (premise as text), not ${task}`);
  const fraction = args.flags.fraction === undefined ? undefined : num(args, "fraction");
  if (fraction !== undefined && !(fraction > 0 && fraction <= 1)) throw new UsageError(`--fraction must be in (0, 1], got ${fraction}`);
  const lr = args.flags.lr === undefined ? undefined : num(args, "lr");
  if (lr !== undefined && !(lr > 0)) throw new UsageError(`--lr must be > 0, got ${lr}`);
  const summary = await finetuneCheckpoint({
    ckpt, out, task: task as EvalTask, textOnly: bool(args, "text-only"), fraction, lr,
    steps: optInt(args, "steps", 1), images: optInt(args, "images", 1), batchSize: optInt(args, "batch", 1),
    seed: optInt(args, "seed", 0), worldSeed: optInt(args, "world-seed", 0),
  });
  console.log(JSON.stringify(summary, null, 2));
  return 0;
}
