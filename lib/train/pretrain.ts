/**
 * pretrain: the PrefixLM pretraining loop with resumable checkpoints.
 *
 * One seed fixes everything random: the model's init (SimVLM(config, seed)), the data order (the
 * stream's seed), the prefix lengths / spans (a batch Rng) and the dropout masks (one seed per step
 * from a dropout Rng). Checkpoints store the optimizer state, both Rng states and the data cursor, so
 * N steps + save + resume + M steps gives exactly the weights of N + M steps straight (same backend).
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
import { startProgress, runSignal, type LongRunOptions } from "../runtime.ts";
import { makeBatch, disposeBatch, SPAN_SENTINELS } from "./batch.ts";
import { AdamW, learningRate, type DecayKind, type LrSchedule } from "./optimizer.ts";
import { trainStepAsync } from "./step.ts";
import { TRAIN_OBJECTIVES, resolvePrefix, validateSpanOptions, type PrefixOptions, type SpanOptions, type TrainObjective } from "./objectives.ts";
import { saveCheckpoint, loadCheckpoint, hasCheckpoint, readCheckpointMeta } from "./checkpoint.ts";
import { weightsToArrays, assignWeights, checkpointConfig, checkpointTokenizer, trainCodeVersion } from "./model-io.ts";
import { memoryExampleStream, examplesFingerprint } from "./stream.ts";
import { TrainConfigError } from "./errors.ts";

export interface PretrainOptions extends LongRunOptions {
  /** Preset name, JSON file or object (default "tiny"). Ignored on resume (the checkpoint's is used). */
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
  /** Peak learning rate (default 1e-3; the paper's Base uses 5e-4). */
  lr?: number;
  /** Warmup updates (default 2% of steps, at least 1, as the paper). */
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
  /** Image-text examples per text-only document for stream sources (default 8: the paper's 4,096 : 512). */
  textOnlyEvery?: number;
  /** For file sources: where the text-only documents come from (a .txt/.jsonl path or source name). "shapes" has its own. */
  textOnly?: string;
  /** Use this tokenizer instead of training one on the data. */
  tokenizer?: SimTokenizer;
  /** Examples read to train the tokenizer (default 2000). */
  tokenizerExamples?: number;
  /** Also save every this many steps (default 0: only at the end, at `until` and on interrupt). */
  saveEvery?: number;
  /** Called after every step with the log row (live plots use it). */
  onStep?: (row: TrainLogRow) => void;
}

/** One line of DIR/train.jsonl. */
export interface TrainLogRow {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  examples_per_s: number;
  /** Target tokens per second. */
  tokens_per_s: number;
  /** Seconds since this call started. */
  elapsed_s: number;
  text_only: number;
  /** Mean prefix length T_p (text tokens in the encoder) of the batch. */
  mean_k: number;
}

export interface TrainResult {
  model: SimVLM;
  tokenizer: SimTokenizer;
  config: ModelConfig;
  /** Updates done in total (including those before a resume). */
  step: number;
  /** "done": reached `steps`; "until": stopped at `until`; "aborted": the signal stopped it at a step boundary. */
  stopped: "done" | "until" | "aborted";
  /** Rows logged by this call. */
  rows: TrainLogRow[];
  /** The checkpoint directory written last, when outDir was given. */
  checkpoint?: string;
}

/** The training settings stored in state.json (everything a resume must reuse). */
interface TrainState {
  schedule: LrSchedule;
  optimizer: { beta1: number; beta2: number; eps: number; weightDecay: number; clipNorm: number };
  batchSize: number;
  objective: TrainObjective;
  prefix: PrefixOptions;
  span: SpanOptions;
  data: DataSpec;
  dataCursor: Record<string, unknown>;
  rng: { batch: RngState; dropout: RngState };
  backend: string;
}

/** Throws a TrainConfigError about `option` (its message starts with the option's name). */
function check(cond: boolean, option: string, msg: string): void { if (!cond) throw new TrainConfigError(msg, { option }); }

function dataSpecOf(data: PretrainOptions["data"], textOnlyEvery: number, textOnly?: string): { spec: DataSpec; examples?: Example[] } {
  if (Array.isArray(data)) return { spec: { source: "memory", count: data.length, fingerprint: examplesFingerprint(data) }, examples: data };
  // Paths are stored absolute, so a resume from another working directory finds the same files.
  const abs = (p: string) => (fs.existsSync(p) ? path.resolve(p) : p);
  if (textOnly) textOnly = abs(textOnly);
  if (data === undefined || typeof data === "string") {
    const source = data === undefined || data === "shapes" ? "shapes" : abs(data);
    if (source === "shapes") return { spec: { source, split: "train", textOnlyEvery } };
    return { spec: textOnly ? { source, textOnlyEvery, textOnly } : { source } };
  }
  return { spec: { textOnlyEvery, ...(textOnly ? { textOnly } : {}), ...data } };
}

async function openData(spec: DataSpec, examples: Example[] | undefined, seed: number, config: ModelConfig, cursor?: Record<string, unknown>): Promise<ExampleStream> {
  if (spec.source === "memory") {
    if (!examples) throw new TrainConfigError("this checkpoint was trained on an in-memory example list: pass the same list as `data` to resume");
    if (examplesFingerprint(examples) !== spec.fingerprint) throw new TrainConfigError("the example list passed as `data` differs from the one this checkpoint was trained on");
    return memoryExampleStream(examples, seed, cursor);
  }
  return openStream(spec, { seed, cursor, imageSize: config.imageSize });
}

/** Train a tokenizer on the first examples of the data (plus their clean captions when the source has them). */
async function tokenizerFor(spec: DataSpec, examples: Example[] | undefined, seed: number, config: ModelConfig, n: number): Promise<SimTokenizer> {
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
  } finally { await stream.close?.(); }
}

export async function pretrain(opts: PretrainOptions): Promise<TrainResult> {
  const backend = await initBackend();
  check(Number.isInteger(opts.steps) && opts.steps >= 1, "steps", `steps must be an integer ≥ 1, got ${opts.steps}`);
  if (opts.until !== undefined) check(Number.isInteger(opts.until) && opts.until >= 1, "until", `until must be an integer ≥ 1, got ${opts.until}`);
  check(!opts.resume || !!opts.outDir, "resume", "resume needs outDir (the checkpoint to continue)");
  if (opts.saveEvery !== undefined) check(Number.isInteger(opts.saveEvery) && opts.saveEvery >= 0, "saveEvery", `saveEvery must be an integer ≥ 0 (0: save only at the end), got ${opts.saveEvery}`);
  const outDir = opts.outDir;
  const signal = runSignal(opts);

  let config: ModelConfig, tokenizer: SimTokenizer, model: SimVLM, optimizer: AdamW, state: TrainState;
  let seed: number, startStep: number;
  const examples: Example[] | undefined = Array.isArray(opts.data) ? opts.data : undefined;

  if (opts.resume) {
    const ck = loadCheckpoint(outDir!);
    const saved = ck.meta.train as unknown as TrainState | undefined;
    if (!saved?.schedule) throw new TrainConfigError(`${path.join(outDir!, "state.json")}: holds no training state (a model export?); it cannot be resumed`);
    const conflicts: string[] = [];
    const same = (name: string, given: unknown, have: unknown) => {
      if (given !== undefined && JSON.stringify(given) !== JSON.stringify(have)) conflicts.push(`${name} (given ${JSON.stringify(given)}, checkpoint has ${JSON.stringify(have)})`);
    };
    same("seed", opts.seed, ck.meta.seed); same("batchSize", opts.batchSize, saved.batchSize); same("objective", opts.objective, saved.objective);
    same("lr", opts.lr, saved.schedule.peakLr); same("weightDecay", opts.weightDecay, saved.optimizer.weightDecay);
    same("clipNorm", opts.clipNorm, saved.optimizer.clipNorm); same("prefix", opts.prefix, saved.prefix);
    if (conflicts.length) throw new TrainConfigError(`resume continues the checkpoint's settings; these differ: ${conflicts.join("; ")}`);
    seed = ck.meta.seed; startStep = ck.meta.step;
    config = checkpointConfig(ck.config, outDir!);
    tokenizer = checkpointTokenizer(ck.tokenizerJson, outDir!);
    model = new SimVLM(config, seed);
    optimizer = new AdamW(model.weights(), saved.optimizer);
    try {
      assignWeights(model.weights(), ck.weights, path.join(outDir!, "weights.safetensors"));
      optimizer.importState(ck.optimizer, startStep, path.join(outDir!, "optimizer.safetensors"));
    } catch (e) { optimizer.dispose(); model.dispose(); throw e; }
    // The schedule's total may be extended (or shortened) on resume; everything else continues as saved.
    state = { ...saved, schedule: { ...saved.schedule, totalSteps: opts.steps } };
  } else {
    if (outDir && hasCheckpoint(outDir)) {
      const at = readCheckpointMeta(outDir).step;
      throw new TrainConfigError(`${outDir} already holds a checkpoint (step ${at}): pass resume to continue it, or choose another output directory`);
    }
    seed = opts.seed ?? 0;
    check(Number.isInteger(seed) && seed >= 0, "seed", `seed must be an integer ≥ 0, got ${seed}`);
    config = resolveConfig(opts.config ?? "tiny");
    const objective = opts.objective ?? "prefixlm";
    check(TRAIN_OBJECTIVES.includes(objective), "objective", `objective must be one of ${TRAIN_OBJECTIVES.join(", ")}, got ${JSON.stringify(objective)}`);
    const prefix = resolvePrefix(opts.prefix);
    validateSpanOptions(opts.span);
    const batchSize = opts.batchSize ?? 16;
    check(Number.isInteger(batchSize) && batchSize >= 1, "batchSize", `batchSize must be an integer ≥ 1, got ${batchSize}`);
    const peakLr = opts.lr ?? 1e-3;
    check(peakLr > 0 && Number.isFinite(peakLr), "lr", `lr must be > 0, got ${peakLr}`);
    const warmupSteps = opts.warmupSteps ?? Math.max(1, Math.round(0.02 * opts.steps));
    check(Number.isInteger(warmupSteps) && warmupSteps >= 0, "warmupSteps", `warmupSteps must be an integer ≥ 0, got ${warmupSteps}`);
    const decay = opts.decay ?? "linear";
    check(["linear", "cosine", "constant"].includes(decay), "decay", `decay must be linear, cosine or constant, got ${JSON.stringify(decay)}`);
    const textOnlyEvery = opts.textOnlyEvery ?? 8;
    check(Number.isInteger(textOnlyEvery) && textOnlyEvery >= 0, "textOnlyEvery", `textOnlyEvery must be an integer ≥ 0, got ${textOnlyEvery}`);
    const { spec } = dataSpecOf(opts.data, textOnlyEvery, opts.textOnly);
    tokenizer = opts.tokenizer ?? await tokenizerFor(spec, examples, seed, config, opts.tokenizerExamples ?? 2000);
    check(tokenizer.vocabSize <= config.vocabSize, "tokenizer", `tokenizer has ${tokenizer.vocabSize} tokens but config.vocabSize is ${config.vocabSize}`);
    const master = new Rng(seed);
    const batchRng = master.fork(), dropoutRng = master.fork();
    const optimizerHp = {
      beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: 1e-8,
      weightDecay: opts.weightDecay ?? 0.01, clipNorm: opts.clipNorm ?? 1.0,
    };
    check(optimizerHp.weightDecay >= 0, "weightDecay", `weightDecay must be ≥ 0, got ${optimizerHp.weightDecay}`);
    check(optimizerHp.clipNorm >= 0, "clipNorm", `clipNorm must be ≥ 0 (0: no clipping), got ${optimizerHp.clipNorm}`);
    state = {
      schedule: { peakLr, totalSteps: opts.steps, warmupSteps, decay, minLrRatio: opts.minLrRatio ?? 0 },
      optimizer: optimizerHp, batchSize, objective, prefix, span: opts.span ?? {}, data: spec, dataCursor: {},
      rng: { batch: batchRng.state(), dropout: dropoutRng.state() }, backend: backend.name,
    };
    startStep = 0;
    model = new SimVLM(config, seed);
    optimizer = new AdamW(model.weights(), optimizerHp);
  }

  const batchRng = new Rng(state.rng.batch), dropoutRng = new Rng(state.rng.dropout);
  let stream: ExampleStream;
  try {
    stream = await openData(state.data, examples, seed, config, startStep > 0 ? state.dataCursor : undefined);
  } catch (e) { optimizer.dispose(); model.dispose(); throw e; }

  const logFile = outDir ? path.join(outDir, "train.jsonl") : undefined;
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    // Keep only rows up to the checkpoint: steps logged after it (before a crash) are redone.
    const kept = opts.resume && fs.existsSync(logFile!)
      ? fs.readFileSync(logFile!, "utf8").split("\n").filter((l) => { try { return (JSON.parse(l) as TrainLogRow).step <= startStep; } catch { return false; } })
      : [];
    fs.writeFileSync(logFile!, kept.map((l) => l + "\n").join(""));
  }

  let step = startStep;
  let checkpoint: string | undefined;
  const save = () => {
    if (!outDir) return;
    checkpoint = saveCheckpoint(outDir, {
      config: config as unknown as Record<string, unknown>, tokenizerJson: tokenizer.toJSON(),
      weights: weightsToArrays(model.weights()), optimizer: optimizer.exportState(),
      meta: {
        step, seed, codeVersion: trainCodeVersion(),
        train: { ...state, dataCursor: stream.cursor(), rng: { batch: batchRng.state(), dropout: dropoutRng.state() }, backend: backend.name } as unknown as Record<string, unknown>,
      },
    });
  };

  const lastStep = Math.min(opts.steps, opts.until ?? Infinity);
  const progress = startProgress("pretrain", opts.steps, opts);
  const rows: TrainLogRow[] = [];
  const t0 = performance.now();
  let stopped: TrainResult["stopped"] = step >= opts.steps ? "done" : "until";
  try {
    while (step < lastStep) {
      if (signal?.aborted) { stopped = "aborted"; break; }
      const ts = performance.now();
      const exs = await stream.next(state.batchSize);
      if (exs.length === 0) throw new TrainConfigError(`the data source ${JSON.stringify(state.data.source)} has no more examples (step ${step + 1})`);
      const batch = makeBatch(exs, tokenizer, config, { objective: state.objective, prefix: state.prefix, span: state.span, rng: batchRng });
      const lr = learningRate(state.schedule, step + 1);
      let r;
      try { r = await trainStepAsync(model, optimizer, batch, { lr, dropoutSeed: dropoutRng.nextUint32() }); } finally { disposeBatch(batch); }
      step++;
      const sec = (performance.now() - ts) / 1000;
      const row: TrainLogRow = {
        step, loss: r.loss, lr, grad_norm: r.gradNorm,
        examples_per_s: round(exs.length / sec), tokens_per_s: round(batch.info.lossTokens / sec),
        elapsed_s: round((performance.now() - t0) / 1000), text_only: batch.info.textOnly,
        mean_k: round(batch.info.examples.reduce((a, e) => a + e.k, 0) / exs.length),
      };
      rows.push(row);
      if (logFile) fs.appendFileSync(logFile, JSON.stringify(row) + "\n");
      opts.onStep?.(row);
      progress.update({ step, total: opts.steps, message: `loss ${r.loss.toFixed(4)}`, metrics: { loss: r.loss, lr } });
      if (opts.saveEvery && step % opts.saveEvery === 0 && step < lastStep) save();
    }
    if (stopped !== "aborted") stopped = step >= opts.steps ? "done" : "until";
    if (step > startStep) save();
    progress.done(stopped === "aborted" ? `interrupted at step ${step}${outDir ? ` (checkpoint saved in ${outDir})` : ""}` : `step ${step}`);
  } catch (e) {
    progress.done(`failed at step ${step + 1}`);
    optimizer.dispose(); model.dispose(); await stream.close?.();
    throw e;
  }
  optimizer.dispose();
  await stream.close?.();
  return { model, tokenizer, config, step, stopped, rows, ...(checkpoint ? { checkpoint } : {}) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
