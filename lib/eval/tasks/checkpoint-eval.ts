/**
 * evalCheckpoint: one task on one split of the built-in world for a checkpoint directory (or an
 * already loaded model) — what `simvlm eval` prints.
 */
import { initBackend } from "../../backend/index.ts";
import { makeWorld, WORLD_DATA_SEED, type WorldSplit } from "../../data/world/index.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { loadModel } from "../../train/model-io.ts";
import type { LongRunOptions } from "../../runtime.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { evalCaptioning, evalVqa, type CaptionEval, type VqaEval } from "./generation.ts";
import { evalEntailment, type EntailmentEval } from "./entailment.ts";
import { EVAL_TASKS, type EvalTask } from "./task-pairs.ts";

export interface EvalCheckpointOptions extends LongRunOptions {
  /** A checkpoint directory, or a loaded model + tokenizer (with the world seed to use). */
  ckpt?: string;
  model?: SimVLM;
  tokenizer?: SimTokenizer;
  task: EvalTask;
  split?: WorldSplit;
  /** Images evaluated (default 50). */
  n?: number;
  prompt?: string;
  beam?: number;
  maxLen?: number;
  /** Entailment: the premise as the image (default) or as text. */
  premise?: "image" | "text";
  /** Only scenes with (true) / without (false) a held-out colour+shape pair. */
  heldOut?: boolean;
  /** The world's data seed (default: the one the checkpoint's training data used, else WORLD_DATA_SEED). */
  worldSeed?: number;
  samples?: number;
}

export type CheckpointEval = (CaptionEval | VqaEval | EntailmentEval) & { split: WorldSplit; images: number; ckpt?: string; step?: number; worldSeed: number; heldOut?: boolean };

export async function evalCheckpoint(opts: EvalCheckpointOptions): Promise<CheckpointEval> {
  const check = (ok: boolean, option: string, message: string) => { if (!ok) throw new EvalInputError(message, { option }); };
  const isInt = (v: number | undefined, min: number) => v === undefined || (Number.isInteger(v) && v >= min);
  check(EVAL_TASKS.includes(opts.task), "task", `task must be one of ${EVAL_TASKS.join(", ")}, got ${JSON.stringify(opts.task)}`);
  const split = opts.split ?? "test";
  check(["train", "val", "test"].includes(split), "split", `split must be train, val or test, got ${JSON.stringify(split)}`);
  const n = opts.n ?? 50;
  check(isInt(n, 1), "n", `n must be an integer ≥ 1, got ${opts.n}`);
  check(!opts.premise || ["image", "text"].includes(opts.premise), "premise", `premise must be image or text, got ${JSON.stringify(opts.premise)}`);
  check(!opts.premise || opts.task === "entailment", "premise", `premise applies to the entailment task, not ${opts.task}`);
  check(opts.prompt === undefined || opts.task === "caption", "prompt", `prompt (a decoder prompt) applies to the caption task, not ${opts.task}`);
  check(isInt(opts.worldSeed, 0), "worldSeed", `worldSeed must be an integer ≥ 0, got ${opts.worldSeed}`);
  check(isInt(opts.samples, 0), "samples", `samples must be an integer ≥ 0, got ${opts.samples}`);
  await initBackend();
  let owned = false, model = opts.model, tokenizer = opts.tokenizer, step: number | undefined, seed = opts.worldSeed;
  if (!model || !tokenizer) {
    if (!opts.ckpt) throw new EvalInputError("evalCheckpoint needs a checkpoint directory (ckpt) or a model and tokenizer");
    const l = await loadModel(opts.ckpt);
    model = l.model; tokenizer = l.tokenizer; step = l.meta.step; owned = true;
    // The world the model was pretrained on: its data spec's dataSeed (the run seed only ordered it).
    const data = (l.meta.train as { data?: { source?: unknown; dataSeed?: unknown } } | undefined)?.data;
    if (data?.source === "shapes" && Number.isInteger(data.dataSeed)) seed ??= data.dataSeed as number;
  }
  try {
    const worldSeed = seed ?? WORLD_DATA_SEED;
    // Scan enough records to find n of the wanted kind when filtering by heldOut.
    let items = makeWorld({ dataSeed: worldSeed, split, n: opts.heldOut === undefined ? n : n * 8, size: model.config.imageSize });
    if (opts.heldOut !== undefined) {
      if (opts.heldOut && split === "train") throw new EvalInputError("the train split has no held-out colour+shape pairs; use val or test");
      items = items.filter((it) => !!it.heldOut === opts.heldOut).slice(0, n);
    }
    const common = { signal: opts.signal, onProgress: opts.onProgress, progress: opts.progress, samples: opts.samples, beam: opts.beam, maxLen: opts.maxLen };
    const r = opts.task === "caption" ? await evalCaptioning(model, tokenizer, items, { ...common, prompt: opts.prompt })
      : opts.task === "vqa" ? await evalVqa(model, tokenizer, items, { ...common, maxLen: opts.maxLen ?? 6 })
      : await evalEntailment(model, tokenizer, items, { ...common, premise: opts.premise ?? "image" });
    return { ...r, split, images: items.length, worldSeed, ...(opts.ckpt ? { ckpt: opts.ckpt } : {}), ...(step !== undefined ? { step } : {}), ...(opts.heldOut !== undefined ? { heldOut: opts.heldOut } : {}) };
  } finally { if (owned) model.dispose(); }
}
