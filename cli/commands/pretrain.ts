/**
 * `simvlm pretrain`: PrefixLM pretraining with resumable checkpoints (see docs/train.md).
 * Ctrl-C stops at the next step boundary and saves a checkpoint (exit 130); a second Ctrl-C quits at once.
 */
import fs from "node:fs";
import path from "node:path";
import {
  parseArgs,
  str,
  bool,
  optNum,
  optStr,
  flagNames,
  UsageError,
  type ParsedArgs,
} from "../args.ts";
import { pretrain, type PretrainOptions } from "../../lib/train/pretrain.ts";
import type { TrainObjective, PrefixOptions } from "../../lib/train/objectives.ts";
import type { DecayKind } from "../../lib/train/optimizer.ts";
import { readCheckpointMeta } from "../../lib/train/checkpoint.ts";
import { resolveConfig } from "../../lib/model/configs.ts";
import { SimTokenizer } from "../../lib/tokenizer/tokenizer.ts";
import {
  PRETRAIN_DEFAULTS as D,
  OPTIMIZER_DEFAULTS as O,
  percent,
} from "../../lib/train/defaults.ts";

// The defaults come from lib/train/defaults.ts (where each one's reason is), so help and library agree.
const USAGE = `usage: simvlm pretrain --config tiny|small|base|FILE.json --data shapes|NAME|PATH --steps N --out DIR
                        [--seed S] [--until K] [--resume] [options]
  --config C          model preset (tiny, small, base, reference) or a JSON config file (default ${D.config.value})
  --data D            shapes (the built-in world), openmoji, tuxpaint, or a data file/folder (default ${D.data.value})
  --steps N           the schedule's total length in updates (required)
  --out DIR           writes DIR/train.jsonl and the checkpoint (config.json, tokenizer.json,
                      weights.safetensors, optimizer.safetensors, state.json)
  --seed S            fixes init, data order, prefix lengths and dropout (default ${D.seed.value})
  --until K           stop after step K and save (continue later with --resume)
  --resume            continue the checkpoint in --out up to --steps (same settings, bit-exact);
                      rerun the same command with --resume added: flags that agree with the
                      checkpoint are accepted, ones that conflict are errors naming both values.
                      --steps may differ (extends or shortens the schedule from here), and
                      --until, --save-every and --quiet are free
  --batch B           examples per step (default ${D.batchSize.value})
  --lr LR             peak learning rate (default ${D.lr.value})
  --warmup W          warmup updates (default ${percent(D.warmupFraction.value)} of --steps, at least 1)
  --decay KIND        linear, cosine or constant after warmup (default ${D.decay.value})
  --weight-decay WD   AdamW decoupled weight decay (default ${O.weightDecay.value})
  --clip C            global gradient-norm clip (default ${O.clipNorm.value}; 0 = off)
  --objective O       prefixlm, lm (plain left-to-right) or span (T5 span corruption) (default ${D.objective.value})
  --prefix MODE       prefixlm prefix length: random, fixed (with --k) or none (k = 0) (default ${D.prefix.value.mode})
  --k K               the fixed prefix length
  --kmax K            random mode: largest prefix for image-text pairs (default half the text)
  --text-only-every N image-text pairs per text-only document; 0 = none (default ${D.textOnlyEvery.value}: ${D.textOnlyEvery.why})
  --text-only SRC     for file data: the text-only documents (a .txt or .jsonl file); shapes has its own
  --tokenizer FILE    use this tokenizer.json instead of training one on the data
  --save-every N      also save a checkpoint every N steps (default ${D.saveEvery.value}: only at the end, --until and Ctrl-C)
  --quiet             no per-run summary
Defaults and the reason for each: docs/train.md ("Defaults").`;

/** pretrain's options → the flags that set them (pretrain validates the values and names the option). */
const FLAGS: Record<string, string> = {
  steps: "steps",
  until: "until",
  seed: "seed",
  batchSize: "batch",
  lr: "lr",
  warmupSteps: "warmup",
  decay: "decay",
  weightDecay: "weight-decay",
  clipNorm: "clip",
  objective: "objective",
  "prefix.mode": "prefix",
  "prefix.k": "k",
  "prefix.kMax": "kmax",
  textOnlyEvery: "text-only-every",
  textOnly: "text-only",
  saveEvery: "save-every",
  resume: "resume",
};

function loadTokenizer(file: string): SimTokenizer {
  try {
    return SimTokenizer.load(file);
  } catch (e) {
    throw new UsageError(`--tokenizer: ${(e as Error).message}`);
  }
}

export default async function pretrainCommand(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: {
      config: "string",
      data: "string",
      steps: "number",
      out: "string",
      seed: "number",
      until: "number",
      batch: "number",
      lr: "number",
      warmup: "number",
      decay: "string",
      "weight-decay": "number",
      clip: "number",
      objective: "string",
      prefix: "string",
      k: "number",
      kmax: "number",
      "text-only-every": "number",
      tokenizer: "string",
      "save-every": "number",
      "text-only": "string",
    },
    booleans: ["resume", "help", "quiet"],
  });
  if (bool(a, "help")) {
    console.log(USAGE);
    return 0;
  }
  const steps = optNum(a, "steps");
  if (steps === undefined) throw new UsageError("--steps is required");
  const outDir = str(a, "out");
  const resume = bool(a, "resume");
  const mode = optStr(a, "prefix") as PrefixOptions["mode"] | undefined;
  let prefix: PrefixOptions | undefined;
  if (mode || a.flags.k !== undefined || a.flags.kmax !== undefined) {
    // --k alone means a fixed prefix; --kmax alone bounds the random one.
    prefix = { mode: mode ?? (a.flags.k !== undefined ? "fixed" : "random") };
    if (a.flags.k !== undefined) prefix.k = optNum(a, "k");
    if (a.flags.kmax !== undefined) prefix.kMax = optNum(a, "kmax");
  }
  const tokFile = optStr(a, "tokenizer");
  // Only parsed here: pretrain validates each value and flagNames reports it under its flag.
  const opts: PretrainOptions = {
    config: resume ? undefined : optStr(a, "config"),
    data: resume ? undefined : optStr(a, "data"),
    steps,
    outDir,
    resume,
    until: optNum(a, "until"),
    seed: optNum(a, "seed"),
    batchSize: optNum(a, "batch"),
    lr: optNum(a, "lr"),
    warmupSteps: optNum(a, "warmup"),
    decay: optStr(a, "decay") as DecayKind | undefined,
    weightDecay: optNum(a, "weight-decay"),
    clipNorm: optNum(a, "clip"),
    objective: optStr(a, "objective") as TrainObjective | undefined,
    prefix,
    textOnlyEvery: optNum(a, "text-only-every"),
    textOnly: optStr(a, "text-only"),
    tokenizer: tokFile ? loadTokenizer(tokFile) : undefined,
    saveEvery: optNum(a, "save-every"),
  };
  if (resume) {
    checkResumeFlags(a, outDir, steps, prefix, opts.tokenizer);
    // Every setting comes from the checkpoint; the flags only had to agree with it.
    for (const k of [
      "config",
      "data",
      "textOnly",
      "tokenizer",
      "seed",
      "batchSize",
      "lr",
      "warmupSteps",
      "decay",
      "weightDecay",
      "clipNorm",
      "objective",
      "prefix",
      "textOnlyEvery",
    ] as const)
      delete opts[k];
  }

  // Ctrl-C: stop at the next step boundary and save; a second Ctrl-C quits now.
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(
      "\nsimvlm pretrain: stopping after this step and saving (Ctrl-C again to quit now)\n",
    );
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const r = await flagNames(FLAGS, () => pretrain({ ...opts, signal: ac.signal }));
    r.model.dispose();
    if (!bool(a, "quiet")) {
      const first = r.rows[0],
        last = r.rows[r.rows.length - 1];
      const losses =
        first && last ? `, loss ${first.loss.toFixed(4)} → ${last.loss.toFixed(4)}` : "";
      const what =
        r.stopped === "done" ? "done" : r.stopped === "until" ? "stopped (--until)" : "interrupted";
      console.log(
        `pretrain ${what} at step ${r.step}/${steps}${losses}; checkpoint in ${outDir}${r.stopped !== "done" ? " (continue with --resume)" : ""}`,
      );
    }
    return r.stopped === "aborted" ? 130 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** What state.json's `train` holds (lib/train/pretrain.ts TrainState), as far as flags map onto it. */
interface SavedTrain {
  schedule: { peakLr: number; totalSteps: number; warmupSteps: number; decay: string };
  optimizer: { weightDecay: number; clipNorm: number };
  batchSize: number;
  objective: string;
  prefix: PrefixOptions;
  data: { source: string; textOnlyEvery?: number; textOnly?: string };
}

const show = (v: unknown) =>
  v === undefined ? "not set" : typeof v === "string" ? v : JSON.stringify(v);

/**
 * `--resume` with the flags of the original command: every flag given must agree with the
 * checkpoint in `outDir`; all conflicts are reported together, each with both values. Compared:
 * --config (the resolved model config, all fields but its name), --data and --text-only (as
 * absolute paths, as the checkpoint stores them), --tokenizer (its content), --seed, --batch, --lr,
 * --warmup, --decay, --weight-decay, --clip, --objective, --prefix/--k/--kmax, --text-only-every.
 * --steps may change (not below the checkpoint's step); --until must lie after it.
 */
function checkResumeFlags(
  a: ParsedArgs,
  outDir: string,
  steps: number,
  prefix: PrefixOptions | undefined,
  tokenizer: SimTokenizer | undefined,
): void {
  const meta = readCheckpointMeta(outDir);
  const saved = meta.train as unknown as SavedTrain | undefined;
  if (!saved?.schedule)
    throw new UsageError(
      `--resume: ${path.join(outDir, "state.json")} holds no training state (a model export?); it cannot be resumed`,
    );
  const conflicts: string[] = [];
  const same = (flag: string, given: unknown, have: unknown) => {
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(have))
      conflicts.push(`--${flag} ${show(given)} (checkpoint: ${show(have)})`);
  };
  const abs = (p: string) => (fs.existsSync(p) ? path.resolve(p) : p);
  const flag = (name: string) => a.flags[name];

  if (flag("config") !== undefined) {
    const given = resolveConfig(str(a, "config")) as unknown as Record<string, unknown>;
    let have: Record<string, unknown> = {};
    try {
      have = JSON.parse(fs.readFileSync(path.join(outDir, "config.json"), "utf8")) as Record<
        string,
        unknown
      >;
    } catch {
      /* every field differs */
    }
    const diff = [...new Set([...Object.keys(given), ...Object.keys(have)])].filter(
      (k) => k !== "name" && JSON.stringify(given[k]) !== JSON.stringify(have[k]),
    );
    if (diff.length)
      conflicts.push(
        `--config ${str(a, "config")} (checkpoint: config "${have.name ?? "?"}", differing in ${diff.map((k) => `${k} ${show(given[k])} vs ${show(have[k])}`).join(", ")})`,
      );
  }
  if (flag("data") !== undefined) {
    const d = str(a, "data");
    same("data", d === "shapes" ? "shapes" : abs(d), saved.data.source);
  }
  if (flag("text-only") !== undefined)
    same("text-only", abs(str(a, "text-only")), saved.data.textOnly);
  // Without a stored value the flag had no effect on this data (file data without --text-only).
  if (saved.data.textOnlyEvery !== undefined)
    same("text-only-every", flag("text-only-every"), saved.data.textOnlyEvery);
  if (tokenizer) {
    let have: SimTokenizer | undefined;
    try {
      have = SimTokenizer.fromJSON(
        fs.readFileSync(path.join(outDir, "tokenizer.json"), "utf8"),
        path.join(outDir, "tokenizer.json"),
      );
    } catch {
      /* differs */
    }
    if (!have || have.toJSON() !== tokenizer.toJSON()) {
      conflicts.push(
        `--tokenizer ${str(a, "tokenizer")} (${tokenizer.vocabSize} tokens, checkpoint: its own tokenizer.json${have ? ` with ${have.vocabSize} tokens` : ""}, a different vocabulary)`,
      );
    }
  }
  same("seed", flag("seed"), meta.seed);
  same("batch", flag("batch"), saved.batchSize);
  same("lr", flag("lr"), saved.schedule.peakLr);
  same("warmup", flag("warmup"), saved.schedule.warmupSteps);
  same("decay", flag("decay"), saved.schedule.decay);
  same("weight-decay", flag("weight-decay"), saved.optimizer.weightDecay);
  same("clip", flag("clip"), saved.optimizer.clipNorm);
  same("objective", flag("objective"), saved.objective);
  if (prefix) {
    if (flag("prefix") !== undefined || flag("k") !== undefined)
      same("prefix", prefix.mode, saved.prefix.mode);
    if (flag("k") !== undefined) same("k", prefix.k, saved.prefix.k);
    if (flag("kmax") !== undefined) same("kmax", prefix.kMax, saved.prefix.kMax);
  }
  if (steps < meta.step)
    conflicts.push(`--steps ${steps} (checkpoint: already at step ${meta.step})`);
  const until = flag("until");
  if (until !== undefined && Number(until) <= meta.step)
    conflicts.push(
      `--until ${until} (checkpoint: already at step ${meta.step}; --until must lie after it)`,
    );
  if (conflicts.length) {
    throw new UsageError(
      `--resume: ${conflicts.length === 1 ? "this flag conflicts" : "these flags conflict"} with the checkpoint in ${outDir} (given value first): ${conflicts.join("; ")}. ` +
        "Leave them out (the checkpoint's values are used) or give the checkpoint's values; only --steps, --until, --save-every and --quiet may change on resume.",
    );
  }
  if (steps !== saved.schedule.totalSteps) {
    process.stderr.write(
      `simvlm pretrain: --steps ${steps} ${steps > saved.schedule.totalSteps ? "extends" : "shortens"} the schedule from ${saved.schedule.totalSteps} updates: the learning rate follows the new length from step ${meta.step + 1}\n`,
    );
  }
}
