/**
 * `simvlm eval --ckpt DIR --task caption|vqa|entailment --split S`: evaluate a checkpoint on the
 * built-in world under the evaluation protocol and print the metrics, the split hash, the grounded
 * metric (captioning), the task's blind baselines on the same records and sample outputs as JSON
 * (see docs/eval-tasks.md).
 */
import { parseArgs, str, bool, optNum, optStr, flagNames, UsageError } from "../args.ts";
import { evalCheckpoint } from "../../lib/eval/tasks/checkpoint-eval.ts";
import type { EvalTask } from "../../lib/eval/tasks/task-pairs.ts";
import type { WorldSplit } from "../../lib/data/world/index.ts";

const USAGE = `usage: simvlm eval --ckpt DIR --task caption|vqa|entailment [--split test|val|train] [--prompt TEXT] [--n N] [--beam K]
Evaluates a checkpoint on the built-in world and prints {task, split, n, dataSeed, splitHash, metrics,
grounded, baselines, samples, …} as JSON. Blind baselines are scored on the same records.
  --ckpt DIR        a checkpoint written by \`simvlm pretrain\` or \`simvlm finetune\`
  --task T          caption: BLEU-1..4 and CIDEr-D against the 5 reference captions, plus the grounded
                      metric (objects named vs the scene: precision/recall/F1, count accuracy);
                      baselines: best constant caption (chosen on val), most frequent train caption
                    vqa: question as the encoder prefix, generated answer, VQA accuracy;
                      baseline: the question-type prior
                    entailment: label by likelihood of entailment/neutral/contradiction (and by generation);
                      baselines: majority label, hypothesis-only
  --split S         world split (default test)
  --n N             images evaluated (default 50; vqa asks all questions of each, entailment all items)
  --prompt TEXT     caption: decoder prompt such as "a picture of" (zero-shot captioning)
  --beam K          beam width (default 1 = greedy)
  --max-len N       most tokens generated
  --premise P       entailment: image (default: image + "hypothesis: …") or text ("premise: … hypothesis: …")
  --held-out        only scenes with a colour+shape pair held out of training (compositional zero-shot)
  --seen            only scenes without one
  --data-seed S     the world's data seed: its splits and content (default: the data seed the
                    checkpoint pretrained on, else 0; never the run seed, which only ordered the data)
  --world-seed S    old name of --data-seed
  --baseline-train N  train records the blind baselines are fitted on (default 500)
  --no-baselines    skip the blind baselines
  --samples N       sample outputs printed (default 5)`;

/** evalCheckpoint's options → the flags that set them (evalCheckpoint validates the values and names the option). */
const FLAGS: Record<string, string> = {
  task: "task",
  split: "split",
  n: "n",
  prompt: "prompt",
  beam: "beam",
  maxLen: "max-len",
  premise: "premise",
  dataSeed: "data-seed",
  worldSeed: "world-seed",
  samples: "samples",
  baselineTrain: "baseline-train",
};

export default async function evalCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: {
      ckpt: "string",
      task: "string",
      split: "string",
      prompt: "string",
      n: "number",
      beam: "number",
      "max-len": "number",
      premise: "string",
      "data-seed": "number",
      "world-seed": "number",
      samples: "number",
      "baseline-train": "number",
    },
    booleans: ["help", "held-out", "seen", "no-baselines"],
  });
  if (bool(args, "help")) {
    console.log(USAGE);
    return 0;
  }
  if (args.positionals.length)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${USAGE}`);
  const ckpt = str(args, "ckpt");
  const task = str(args, "task") as EvalTask;
  if (bool(args, "held-out") && bool(args, "seen"))
    throw new UsageError("--held-out and --seen exclude each other");
  const dataSeed = optNum(args, "data-seed"),
    worldSeed = optNum(args, "world-seed");
  if (dataSeed !== undefined && worldSeed !== undefined && dataSeed !== worldSeed)
    throw new UsageError(
      `--data-seed ${dataSeed} and --world-seed ${worldSeed} (its old name) differ; give one`,
    );
  const r = await flagNames(FLAGS, () =>
    evalCheckpoint({
      ckpt,
      task,
      split: optStr(args, "split") as WorldSplit | undefined,
      n: optNum(args, "n"),
      beam: optNum(args, "beam"),
      maxLen: optNum(args, "max-len"),
      premise: optStr(args, "premise") as "image" | "text" | undefined,
      prompt: optStr(args, "prompt"),
      heldOut: bool(args, "held-out") ? true : bool(args, "seen") ? false : undefined,
      ...(dataSeed !== undefined ? { dataSeed } : worldSeed !== undefined ? { worldSeed } : {}),
      samples: optNum(args, "samples"),
      baselines: !bool(args, "no-baselines"),
      baselineTrain: optNum(args, "baseline-train"),
    }),
  );
  // The per-item maps are long; the CLI prints the summary and the samples.
  const {
    captions: _c,
    answers: _a,
    ciderPerImage: _p,
    groundedPerItem: _g,
    ...summary
  } = r as typeof r & { captions?: unknown; answers?: unknown; ciderPerImage?: unknown };
  console.log(JSON.stringify(summary, null, 2));
  return 0;
}
