/**
 * pretrain: PrefixLM pretraining with resumable checkpoints — the setup (options, model, optimizer,
 * data, resume) around the shared step loop (loop.ts).
 *
 * One seed fixes everything random: the model's init (SimVLM(config, seed)), the data order (the
 * stream's seed), the prefix lengths / spans (a batch Rng) and the dropout masks (one seed per step
 * from a dropout Rng). Checkpoints store the optimizer state, both Rng states and the data cursor, so
 * N steps + save + resume + M steps gives exactly the weights of N + M steps straight (same backend).
 * Defaults: lib/train/defaults.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { initBackend } from "../backend/index.ts";
import type { DataSpec, Example, ExampleStream } from "../data/types.ts";
import { openStream } from "../data/open.ts";
import { SimVLM } from "../model/simvlm.ts";
import { resolveConfig, type ModelConfig } from "../model/configs.ts";
import { SimTokenizer, trainTokenizer } from "../tokenizer/tokenizer.ts";
import { Rng, type RngState } from "../util/rng.ts";
import type { LongRunOptions } from "../runtime.ts";
import { makeBatch, SPAN_SENTINELS } from "./batch.ts";
import {
  AdamW,
  DECAY_KINDS,
  type AdamWOptions,
  type DecayKind,
  type LrSchedule,
} from "./optimizer.ts";
import {
  TRAIN_OBJECTIVES,
  resolvePrefix,
  validateSpanOptions,
  type PrefixOptions,
  type SpanOptions,
  type TrainObjective,
} from "./objectives.ts";
import { saveCheckpoint, loadCheckpoint, hasCheckpoint, readCheckpointMeta } from "./checkpoint.ts";
import {
  weightsToArrays,
  assignWeights,
  checkpointConfig,
  checkpointTokenizer,
  trainCodeVersion,
} from "./model-io.ts";
import { memoryExampleStream, examplesFingerprint } from "./stream.ts";
import { OPTIMIZER_DEFAULTS, PRETRAIN_DEFAULTS as D, defaultWarmup } from "./defaults.ts";
import { trainSteps, type StopReason, type TrainLogRow } from "./loop.ts";
import { TrainConfigError } from "./errors.ts";
import { readTrainLog, trainLogPath } from "./train-log.ts";

export type { TrainLogRow } from "./loop.ts";

/** The settings of a run; each one left out takes its value from PRETRAIN_DEFAULTS / OPTIMIZER_DEFAULTS (defaults.ts). */
export interface PretrainOptions extends LongRunOptions {
  /** Preset name, JSON file or object. Ignored on resume (the checkpoint's is used). */
  config?: string | (Partial<ModelConfig> & { base?: string });
  /** "shapes" (default), a source name or path for openStream, a DataSpec, or an in-memory example list. */
  data?: string | DataSpec | Example[];
  /** The schedule's total length in updates. */
  steps: number;
  /** Stop after this step (and save), e.g. to continue later with resume. */
  until?: number;
  /** Where train.jsonl and the checkpoint go. Without it nothing is written. */
  outDir?: string;
  /** Continue the checkpoint in outDir (up to `steps`). */
  resume?: boolean;
  seed?: number;
  batchSize?: number;
  /** Peak learning rate. */
  lr?: number;
  /** Warmup updates (default: a fraction of steps, at least 1). */
  warmupSteps?: number;
  decay?: DecayKind;
  minLrRatio?: number;
  weightDecay?: number;
  clipNorm?: number;
  beta1?: number;
  beta2?: number;
  objective?: TrainObjective;
  prefix?: PrefixOptions;
  span?: SpanOptions;
  /** Image-text examples per text-only document for stream sources. */
  textOnlyEvery?: number;
  /** For file sources: where the text-only documents come from (a .txt/.jsonl path or source name). "shapes" has its own. */
  textOnly?: string;
  /** Use this tokenizer instead of training one on the data. */
  tokenizer?: SimTokenizer;
  /** Examples read to train the tokenizer. */
  tokenizerExamples?: number;
  /** Also save every this many steps (0: only at the end, at `until` and on interrupt). */
  saveEvery?: number;
  /** Called after every step with the log row (live plots use it). */
  onStep?: (row: TrainLogRow) => void;
}

export interface TrainResult {
  model: SimVLM;
  tokenizer: SimTokenizer;
  config: ModelConfig;
  /** Updates done in total (including those before a resume). */
  step: number;
  /** "done": reached `steps`; "until": stopped at `until`; "aborted": the signal stopped it at a step boundary (and it saved). */
  stopped: StopReason;
  /** Rows logged by this call. */
  rows: TrainLogRow[];
  /** The checkpoint directory written last, when outDir was given. */
  checkpoint?: string;
}

/** The training settings stored in state.json (everything a resume must reuse). */
interface TrainState {
  schedule: LrSchedule;
  optimizer: Required<Omit<AdamWOptions, "decay">>;
  batchSize: number;
  objective: TrainObjective;
  prefix: PrefixOptions;
  span: SpanOptions;
  data: DataSpec;
  dataCursor: Record<string, unknown>;
  rng: { batch: RngState; dropout: RngState };
  backend: string;
}

/** A run ready to step: what a new run creates, or a resume reads back. */
interface Run {
  config: ModelConfig;
  tokenizer: SimTokenizer;
  model: SimVLM;
  optimizer: AdamW;
  state: TrainState;
  seed: number;
  startStep: number;
}

export async function pretrain(opts: PretrainOptions): Promise<TrainResult> {
  const backend = await initBackend();
  checkRunOptions(opts);
  const examples = Array.isArray(opts.data) ? opts.data : undefined;
  const run = opts.resume ? resumeRun(opts) : await newRun(opts, examples, backend.name);
  const { config, tokenizer, model, optimizer, state, seed, startStep } = run;
  const batchRng = new Rng(state.rng.batch),
    dropoutRng = new Rng(state.rng.dropout);
  let stream: ExampleStream;
  try {
    stream = await openData(
      state.data,
      examples,
      seed,
      config,
      startStep > 0 ? state.dataCursor : undefined,
    );
  } catch (e) {
    optimizer.dispose();
    model.dispose();
    throw e;
  }
  const logFile = opts.outDir ? startLog(opts.outDir, opts.resume ? startStep : 0) : undefined;

  const nextBatch = async (step: number) => {
    const exs = await stream.next(state.batchSize);
    if (exs.length === 0)
      throw new TrainConfigError(
        `the data source ${JSON.stringify(state.data.source)} has no more examples (step ${step})`,
      );
    return makeBatch(exs, tokenizer, config, {
      objective: state.objective,
      prefix: state.prefix,
      span: state.span,
      rng: batchRng,
    });
  };
  const save = (outDir: string) => (step: number) =>
    saveCheckpoint(outDir, {
      config: config as unknown as Record<string, unknown>,
      tokenizerJson: tokenizer.toJSON(),
      weights: weightsToArrays(model.weights()),
      optimizer: optimizer.exportState(),
      meta: {
        step,
        seed,
        codeVersion: trainCodeVersion(),
        train: {
          ...state,
          dataCursor: stream.cursor(),
          rng: { batch: batchRng.state(), dropout: dropoutRng.state() },
          backend: backend.name,
        } as unknown as Record<string, unknown>,
      },
    });
  const onStep = (row: TrainLogRow) => {
    if (logFile) fs.appendFileSync(logFile, JSON.stringify(row) + "\n");
    opts.onStep?.(row);
  };
  try {
    const r = await trainSteps({
      label: "pretrain",
      model,
      optimizer,
      schedule: state.schedule,
      nextBatch,
      dropoutRng,
      signal: opts.signal,
      onProgress: opts.onProgress,
      progress: opts.progress,
      from: startStep,
      to: Math.min(opts.steps, opts.until ?? Infinity),
      save: opts.outDir ? save(opts.outDir) : undefined,
      saveEvery: opts.saveEvery ?? D.saveEvery.value,
      onStep,
    });
    return { model, tokenizer, config, ...r };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
    await stream.close?.();
  }
}

/** Throws a TrainConfigError about `option` (its message starts with the option's name). */
function check(cond: boolean, option: string, msg: string): void {
  if (!cond) throw new TrainConfigError(msg, { option });
}

/** What applies to new and resumed runs alike. */
function checkRunOptions(opts: PretrainOptions): void {
  check(
    Number.isInteger(opts.steps) && opts.steps >= 1,
    "steps",
    `steps must be an integer ≥ 1, got ${opts.steps}`,
  );
  if (opts.until !== undefined)
    check(
      Number.isInteger(opts.until) && opts.until >= 1,
      "until",
      `until must be an integer ≥ 1, got ${opts.until}`,
    );
  check(
    !opts.resume || !!opts.outDir,
    "resume",
    "resume needs outDir (the checkpoint to continue)",
  );
  if (opts.saveEvery !== undefined)
    check(
      Number.isInteger(opts.saveEvery) && opts.saveEvery >= 0,
      "saveEvery",
      `saveEvery must be an integer ≥ 0 (0: save only at the end), got ${opts.saveEvery}`,
    );
  if (!opts.resume && opts.outDir && hasCheckpoint(opts.outDir)) {
    const at = readCheckpointMeta(opts.outDir).step;
    throw new TrainConfigError(
      `${opts.outDir} already holds a checkpoint (step ${at}): pass resume to continue it, or choose another output directory`,
    );
  }
}

/** A new run: settings from the options and the defaults, a tokenizer (trained on the data unless given), a fresh model. */
async function newRun(
  opts: PretrainOptions,
  examples: Example[] | undefined,
  backend: string,
): Promise<Run> {
  const seed = opts.seed ?? D.seed.value;
  check(Number.isInteger(seed) && seed >= 0, "seed", `seed must be an integer ≥ 0, got ${seed}`);
  const config = resolveConfig(opts.config ?? D.config.value);
  const objective = opts.objective ?? D.objective.value;
  check(
    TRAIN_OBJECTIVES.includes(objective),
    "objective",
    `objective must be one of ${TRAIN_OBJECTIVES.join(", ")}, got ${JSON.stringify(objective)}`,
  );
  const prefix = resolvePrefix(opts.prefix);
  validateSpanOptions(opts.span);
  const batchSize = opts.batchSize ?? D.batchSize.value;
  check(
    Number.isInteger(batchSize) && batchSize >= 1,
    "batchSize",
    `batchSize must be an integer ≥ 1, got ${batchSize}`,
  );
  const peakLr = opts.lr ?? D.lr.value;
  check(peakLr > 0 && Number.isFinite(peakLr), "lr", `lr must be > 0, got ${peakLr}`);
  const warmup = opts.warmupSteps ?? defaultWarmup(opts.steps, D.warmupFraction.value);
  check(
    Number.isInteger(warmup) && warmup >= 0,
    "warmupSteps",
    `warmupSteps must be an integer ≥ 0, got ${warmup}`,
  );
  const decay = opts.decay ?? D.decay.value;
  check(
    DECAY_KINDS.includes(decay),
    "decay",
    `decay must be one of ${DECAY_KINDS.join(", ")}, got ${JSON.stringify(decay)}`,
  );
  const textOnlyEvery = opts.textOnlyEvery ?? D.textOnlyEvery.value;
  check(
    Number.isInteger(textOnlyEvery) && textOnlyEvery >= 0,
    "textOnlyEvery",
    `textOnlyEvery must be an integer ≥ 0, got ${textOnlyEvery}`,
  );
  const O = OPTIMIZER_DEFAULTS;
  const optimizerHp = {
    beta1: opts.beta1 ?? O.beta1.value,
    beta2: opts.beta2 ?? O.beta2.value,
    eps: O.eps.value,
    weightDecay: opts.weightDecay ?? O.weightDecay.value,
    clipNorm: opts.clipNorm ?? O.clipNorm.value,
  };
  check(
    optimizerHp.weightDecay >= 0,
    "weightDecay",
    `weightDecay must be ≥ 0, got ${optimizerHp.weightDecay}`,
  );
  check(
    optimizerHp.clipNorm >= 0,
    "clipNorm",
    `clipNorm must be ≥ 0 (0: no clipping), got ${optimizerHp.clipNorm}`,
  );
  const { spec } = dataSpecOf(opts.data, textOnlyEvery, opts.textOnly);
  const tokenizer =
    opts.tokenizer ??
    (await tokenizerFor(
      spec,
      examples,
      seed,
      config,
      opts.tokenizerExamples ?? D.tokenizerExamples.value,
    ));
  check(
    tokenizer.vocabSize <= config.vocabSize,
    "tokenizer",
    `tokenizer has ${tokenizer.vocabSize} tokens but config.vocabSize is ${config.vocabSize}`,
  );
  const master = new Rng(seed);
  const batchRng = master.fork(),
    dropoutRng = master.fork();
  const state: TrainState = {
    schedule: {
      peakLr,
      totalSteps: opts.steps,
      warmupSteps: warmup,
      decay,
      minLrRatio: opts.minLrRatio ?? D.minLrRatio.value,
    },
    optimizer: optimizerHp,
    batchSize,
    objective,
    prefix,
    span: opts.span ?? {},
    data: spec,
    dataCursor: {},
    rng: { batch: batchRng.state(), dropout: dropoutRng.state() },
    backend,
  };
  const model = new SimVLM(config, seed);
  return {
    config,
    tokenizer,
    model,
    optimizer: new AdamW(model.weights(), optimizerHp),
    state,
    seed,
    startStep: 0,
  };
}

/** Continue the checkpoint in outDir: its settings, weights, optimizer state, Rng states and data cursor. */
function resumeRun(opts: PretrainOptions): Run {
  const outDir = opts.outDir!;
  const ck = loadCheckpoint(outDir);
  const saved = ck.meta.train as unknown as TrainState | undefined;
  if (!saved?.schedule)
    throw new TrainConfigError(
      `${path.join(outDir, "state.json")}: holds no training state (a model export?); it cannot be resumed`,
    );
  const conflicts: string[] = [];
  const same = (name: string, given: unknown, have: unknown) => {
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(have))
      conflicts.push(
        `${name} (given ${JSON.stringify(given)}, checkpoint has ${JSON.stringify(have)})`,
      );
  };
  same("seed", opts.seed, ck.meta.seed);
  same("batchSize", opts.batchSize, saved.batchSize);
  same("objective", opts.objective, saved.objective);
  same("lr", opts.lr, saved.schedule.peakLr);
  same("weightDecay", opts.weightDecay, saved.optimizer.weightDecay);
  same("clipNorm", opts.clipNorm, saved.optimizer.clipNorm);
  same("prefix", opts.prefix, saved.prefix);
  if (conflicts.length)
    throw new TrainConfigError(
      `resume continues the checkpoint's settings; these differ: ${conflicts.join("; ")}`,
    );
  const seed = ck.meta.seed,
    startStep = ck.meta.step;
  const config = checkpointConfig(ck.config, outDir);
  const tokenizer = checkpointTokenizer(ck.tokenizerJson, outDir);
  const model = new SimVLM(config, seed);
  const optimizer = new AdamW(model.weights(), saved.optimizer);
  try {
    assignWeights(model.weights(), ck.weights, path.join(outDir, "weights.safetensors"));
    optimizer.importState(ck.optimizer, startStep, path.join(outDir, "optimizer.safetensors"));
  } catch (e) {
    optimizer.dispose();
    model.dispose();
    throw e;
  }
  // The schedule's total may be extended (or shortened) on resume; everything else continues as saved.
  const state = { ...saved, schedule: { ...saved.schedule, totalSteps: opts.steps } };
  return { config, tokenizer, model, optimizer, state, seed, startStep };
}

/** Create outDir and DIR/train.jsonl, keeping only the rows up to `keepUpTo` (steps logged after a resumed checkpoint, before a crash, are redone). */
function startLog(outDir: string, keepUpTo: number): string {
  fs.mkdirSync(outDir, { recursive: true });
  const kept = keepUpTo > 0 ? readTrainLog(outDir, { upTo: keepUpTo }) : [];
  const logFile = trainLogPath(outDir);
  fs.writeFileSync(logFile, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  return logFile;
}

function dataSpecOf(
  data: PretrainOptions["data"],
  textOnlyEvery: number,
  textOnly?: string,
): { spec: DataSpec; examples?: Example[] } {
  if (Array.isArray(data))
    return {
      spec: { source: "memory", count: data.length, fingerprint: examplesFingerprint(data) },
      examples: data,
    };
  // Paths are stored absolute, so a resume from another working directory finds the same files.
  const abs = (p: string) => (fs.existsSync(p) ? path.resolve(p) : p);
  if (textOnly) textOnly = abs(textOnly);
  if (data === undefined || typeof data === "string") {
    const name = data ?? D.data.value;
    const source = name === "shapes" ? "shapes" : abs(name);
    if (source === "shapes") return { spec: { source, split: "train", textOnlyEvery } };
    return { spec: textOnly ? { source, textOnlyEvery, textOnly } : { source } };
  }
  return { spec: { textOnlyEvery, ...(textOnly ? { textOnly } : {}), ...data } };
}

async function openData(
  spec: DataSpec,
  examples: Example[] | undefined,
  seed: number,
  config: ModelConfig,
  cursor?: Record<string, unknown>,
): Promise<ExampleStream> {
  if (spec.source === "memory") {
    if (!examples)
      throw new TrainConfigError(
        "this checkpoint was trained on an in-memory example list: pass the same list as `data` to resume",
      );
    if (examplesFingerprint(examples) !== spec.fingerprint)
      throw new TrainConfigError(
        "the example list passed as `data` differs from the one this checkpoint was trained on",
      );
    return memoryExampleStream(examples, seed, cursor);
  }
  return openStream(spec, { seed, cursor, imageSize: config.imageSize });
}

/** Train a tokenizer on the first examples of the data (plus their clean captions when the source has them). */
async function tokenizerFor(
  spec: DataSpec,
  examples: Example[] | undefined,
  seed: number,
  config: ModelConfig,
  n: number,
): Promise<SimTokenizer> {
  const stream = await openData(spec, examples, seed, config);
  try {
    const texts: string[] = [];
    for (const ex of await stream.next(examples ? Math.min(n, examples.length) : n)) {
      texts.push(ex.text);
      const caps = (ex as { meta?: { captions?: unknown } }).meta?.captions;
      if (Array.isArray(caps)) for (const c of caps) if (typeof c === "string") texts.push(c);
    }
    // The top SPAN_SENTINELS rows stay free for span corruption's sentinels (see batch.ts).
    return await trainTokenizer(texts, { vocabSize: config.vocabSize - SPAN_SENTINELS });
  } finally {
    await stream.close?.();
  }
}
