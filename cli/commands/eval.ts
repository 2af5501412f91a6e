/**
 * `simvlm eval --ckpt DIR --task caption|vqa|entailment --split S`: evaluate a checkpoint on the
 * built-in world and print the metrics plus sample outputs as JSON (see docs/eval-tasks.md).
 */
import { parseArgs, str, num, bool, UsageError, type ParsedArgs } from "../args.ts";
import { evalCheckpoint } from "../../lib/eval/tasks/checkpoint-eval.ts";
import { EVAL_TASKS, type EvalTask } from "../../lib/train/finetune.ts";
import type { WorldSplit } from "../../lib/data/world/index.ts";

const USAGE = `usage: simvlm eval --ckpt DIR --task caption|vqa|entailment [--split test|val|train] [--prompt TEXT] [--n N] [--beam K]
Evaluates a checkpoint on the built-in world and prints {task, split, n, metrics, samples, …} as JSON.
  --ckpt DIR        a checkpoint written by \`simvlm pretrain\` or \`simvlm finetune\`
  --task T          caption: BLEU-1..4 and CIDEr-D against the 5 reference captions
                    vqa: question as the encoder prefix, generated answer, VQA accuracy
                    entailment: label by likelihood of entailment/neutral/contradiction (and by generation)
  --split S         world split (default test)
  --n N             images evaluated (default 50; vqa asks all questions of each, entailment all items)
  --prompt TEXT     caption: decoder prompt such as "a picture of" (zero-shot captioning)
  --beam K          beam width (default 1 = greedy)
  --max-len N       most tokens generated
  --premise P       entailment: image (default: image + "hypothesis: …") or text ("premise: … hypothesis: …")
  --held-out        only scenes with a colour+shape pair held out of training (compositional zero-shot)
  --seen            only scenes without one
  --world-seed S    world to evaluate on (default: the checkpoint's seed, the world it trained on)
  --samples N       sample outputs printed (default 5)`;

function posInt(a: ParsedArgs, name: string): number | undefined {
  if (a.flags[name] === undefined) return undefined;
  const v = num(a, name);
  if (!Number.isInteger(v) || v < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${v}`);
  return v;
}

export default async function evalCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: { ckpt: "string", task: "string", split: "string", prompt: "string", n: "number", beam: "number", "max-len": "number", premise: "string", "world-seed": "number", samples: "number" },
    booleans: ["help", "held-out", "seen"],
  });
  if (bool(args, "help")) { console.log(USAGE); return 0; }
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${USAGE}`);
  const ckpt = str(args, "ckpt");
  const task = str(args, "task");
  if (!EVAL_TASKS.includes(task as EvalTask)) throw new UsageError(`--task must be one of ${EVAL_TASKS.join(", ")}, got "${task}"`);
  const split = str(args, "split", "test");
  if (!["train", "val", "test"].includes(split)) throw new UsageError(`--split must be train, val or test, got "${split}"`);
  const premise = str(args, "premise", "image");
  if (premise !== "image" && premise !== "text") throw new UsageError(`--premise must be image or text, got "${premise}"`);
  if (args.flags.premise !== undefined && task !== "entailment") throw new UsageError("--premise applies to --task entailment");
  if (args.flags.prompt !== undefined && task !== "caption") throw new UsageError("--prompt applies to --task caption");
  if (bool(args, "held-out") && bool(args, "seen")) throw new UsageError("--held-out and --seen exclude each other");
  const n = posInt(args, "n"), beam = posInt(args, "beam"), maxLen = posInt(args, "max-len");
  if (n === 0) throw new UsageError("--n must be at least 1");
  if (beam === 0) throw new UsageError("--beam must be at least 1");
  if (maxLen === 0) throw new UsageError("--max-len must be at least 1");
  const r = await evalCheckpoint({
    ckpt, task: task as EvalTask, split: split as WorldSplit, n, beam, maxLen, premise,
    prompt: args.flags.prompt === undefined ? undefined : String(args.flags.prompt),
    heldOut: bool(args, "held-out") ? true : bool(args, "seen") ? false : undefined,
    worldSeed: posInt(args, "world-seed"), samples: posInt(args, "samples"),
  });
  // The per-item maps are long; the CLI prints the summary and the samples.
  const { captions: _c, answers: _a, ciderPerImage: _p, ...summary } = r as typeof r & { captions?: unknown; answers?: unknown; ciderPerImage?: unknown };
  console.log(JSON.stringify(summary, null, 2));
  return 0;
}
