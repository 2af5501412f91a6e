/**
 * The ablation run "pretrainEval" (a built-in run: runs.ts): pretrain on the built-in world with one
 * objective / prefix strategy, then measure it with the protocol every arm shares (issue 14 item 1,
 * lib/eval/protocol.ts for the metric names):
 *
 * - **Data**: the world of the data seed (`dataSeed`, default WORLD_DATA_SEED). Val, test and the
 *   finetuning records are the first records of their split in that world, whatever the run seed;
 *   the run seed only orders the training stream and draws init and dropout. The SHA-256 of every
 *   split used is stored with the result (`extra.splits`).
 * - **Tokenizer**: the grid's one tokenizer (`info.shared.tokenizer`, made once per grid by
 *   protocol-grid.ts and part of every run's cache key); a run called outside a grid trains the same
 *   tokenizer (same spec, same text) into its own folder.
 * - **Losses** on the val alt-texts: at T_p = 0 and the exact expectation over random T_p, per token,
 *   per example and per character, and the loss-vs-T_p curve.
 * - **Downstream**, the paper's protocol, the same for every objective: zero-shot captioning (the
 *   image alone as prefix, no prompt), captioning after the fixed caption finetune, VQA after the
 *   fixed VQA finetune, cross-modal entailment (the fixed text-only entailment finetune, tested with
 *   the image as premise, and with the text premise for reference). Each finetune starts from the
 *   pretrained weights (read back from the checkpoint, which it never changes), with the same steps,
 *   learning rate, batch and train records for every arm.
 * - **From-scratch control**: `steps: 0` skips pretraining; the same finetunes start from the
 *   random init of the run seed.
 *
 * Metrics with no meaning for an objective are reported as n/a with the reason, not as numbers:
 * for span corruption every LM loss (T_p = 0, random T_p, the curve) — its decoder is trained to
 * emit "S0 span0 S1 span1 … eos" for an encoder holding the corrupted text, never to write a whole
 * text or a text's continuation, so the loss of writing one measures a task it never trained on
 * (issue 14 found 8.59 nats/token, worse than uniform). Its captioning, VQA and entailment are
 * measured like every arm's: the downstream tasks are the same for every objective. Plain LM's and
 * fixed T_p's losses at the other condition stay numbers: that is the comparison.
 *
 * The checkpoint lives in the run's own folder, so an interrupted grid resumes the run from its
 * last checkpoint (saved every quarter of the run and on interrupt).
 */
import path from "node:path";
import { makeWorld, recordsHash } from "../data/world/index.ts";
import { initBackend } from "../backend/index.ts";
import { SimVLM } from "../model/simvlm.ts";
import { SimTokenizer } from "../tokenizer/tokenizer.ts";
import { pretrain } from "../train/pretrain.ts";
import { hasCheckpoint } from "../train/checkpoint.ts";
import { loadModel } from "../train/model-io.ts";
import { finetuneModel } from "../train/finetune.ts";
import { PRETRAIN_DEFAULTS } from "../train/defaults.ts";
import { AbortedError, type Progress } from "../runtime.ts";
import { vqaAccuracy } from "../eval/metrics/vqa.ts";
import { evalCaptioning, evalVqa } from "../eval/tasks/generation.ts";
import { evalEntailment, entailmentFit } from "../eval/tasks/entailment.ts";
import { validationLoss, lossByPrefixLength, prefixLosses } from "../eval/tasks/loss.ts";
import { taskPairs } from "../eval/tasks/task-pairs.ts";
import type { SplitRecord } from "../eval/results.ts";
import {
  captionSystemScores,
  groundedOfCaptions,
  lossExamples,
  lossScores,
  mergeScores,
  type ScoredSystem,
} from "../eval/protocol.ts";
import type { RunOutput } from "./registry.ts";
import { ensureGridTokenizer, tokenizerSpecOf, type GridTokenizer } from "./protocol-grid.ts";
import { notApplicable, pretrainEvalSettings } from "./pretrain-eval-settings.ts";
export {
  pretrainEvalConfig,
  pretrainEvalSettings,
  notApplicable,
  protocolRecords,
  type PretrainEvalParams,
  type PretrainEvalSettings,
} from "./pretrain-eval-settings.ts";

export interface PretrainEvalInfo {
  seed: number;
  dir: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  shared?: Record<string, unknown>;
}

const ENTAILMENT_ALL = Number.MAX_SAFE_INTEGER;

export async function pretrainEvalRun(
  params: Record<string, unknown>,
  info: PretrainEvalInfo,
): Promise<RunOutput> {
  const s = pretrainEvalSettings(params);
  // The from-scratch control (steps 0) builds its model without pretrain, which is what would
  // otherwise initialize the backend: in a fresh grid worker that failed with "No backend found".
  await initBackend();
  const common = { signal: info.signal, progress: false as const };
  const t0 = performance.now();
  const tok: GridTokenizer =
    (info.shared?.tokenizer as GridTokenizer | undefined) ??
    (await ensureGridTokenizer(path.join(info.dir, "tokenizer"), tokenizerSpecOf(s), {
      flat: true,
    }));
  const tokenizer = SimTokenizer.load(tok.path);
  const config = s.modelConfig;
  const ckptDir = path.join(info.dir, "ckpt");
  const resumed = s.steps > 0 && hasCheckpoint(ckptDir);
  let model: SimVLM;
  let trainRows: { loss: number }[] = [],
    stepsDone = 0;
  if (s.steps > 0) {
    const trained = await pretrain({
      config: s.config,
      data: {
        source: "shapes",
        split: "train",
        dataSeed: s.dataSeed,
        textOnlyEvery: s.textOnly ? PRETRAIN_DEFAULTS.textOnlyEvery.value : 0,
      },
      tokenizer,
      steps: s.steps,
      batchSize: s.batch,
      ...(s.lr !== undefined ? { lr: s.lr } : {}),
      ...(s.decay !== undefined ? { decay: s.decay } : {}),
      objective: s.objective,
      ...(s.prefix ? { prefix: s.prefix } : {}),
      textOnlyEvery: s.textOnly ? PRETRAIN_DEFAULTS.textOnlyEvery.value : 0,
      seed: info.seed,
      outDir: ckptDir,
      resume: resumed,
      saveEvery: Math.max(10, Math.ceil(s.steps / 4)),
      ...common,
      onStep: (row) =>
        info.onProgress?.({
          step: row.step,
          total: s.steps,
          message: `pretrain loss ${row.loss.toFixed(4)}`,
        }),
    });
    if (trained.stopped === "aborted") {
      trained.model.dispose();
      throw new AbortedError(
        `pretrainEval interrupted at step ${trained.step} (checkpoint in ${ckptDir})`,
      );
    }
    model = trained.model;
    trainRows = trained.rows;
    stepsDone = trained.step;
  } else {
    model = new SimVLM(config, info.seed);
  }
  // Each finetune starts from these weights: read back from the checkpoint (never written again), or the control's init.
  const pretrained = async (): Promise<SimVLM> =>
    s.steps > 0 ? (await loadModel(ckptDir)).model : new SimVLM(config, info.seed);
  const tTrain = performance.now();

  const world = (split: "train" | "val" | "test", n: number) =>
    makeWorld({ dataSeed: s.dataSeed, split, n, size: config.imageSize });
  const test = world("test", s.evalN),
    val = world("val", s.valN),
    ftTrain = world("train", s.finetune.images);
  const splits: SplitRecord[] = [
    { split: "test", n: test.length, hash: recordsHash(test), dataSeed: s.dataSeed },
    { split: "val", n: val.length, hash: recordsHash(val), dataSeed: s.dataSeed },
    {
      split: "train (finetunes)",
      n: ftTrain.length,
      hash: recordsHash(ftTrain),
      dataSeed: s.dataSeed,
    },
  ];
  const parts: ScoredSystem[] = [];
  const na = notApplicable(s.objective);
  const extra: Record<string, unknown> = {};
  try {
    info.onProgress?.({
      step: s.steps,
      total: s.steps,
      message: "evaluating the pretrained model",
    });
    const valEx = lossExamples(val);
    if (na.loss_tp0_token) extra.lossByTp = { na: na.loss_tp0_token };
    else {
      parts.push(
        lossScores(prefixLosses(model, tokenizer, valEx, { ...common, prefix: s.evalPrefix })),
      );
      extra.lossByTp = lossByPrefixLength(model, tokenizer, valEx, { ...common, maxK: s.maxK });
    }
    if (s.steps > 0)
      extra.val_loss_objective = validationLoss(
        model,
        tokenizer,
        valEx,
        { objective: s.objective, ...(s.prefix ? { prefix: s.prefix } : {}) },
        common,
      ).loss;
    const zs = await evalCaptioning(model, tokenizer, test, {
      ...common,
      maxLen: s.captionMaxLen,
      samples: 3,
    });
    parts.push(
      captionSystemScores("zs", {
        ...zs.metrics,
        ciderPerImage: zs.ciderPerImage,
        grounded: groundedOfCaptions(zs.captions, test),
      }),
    );
    extra.zeroShotSamples = zs.samples;
  } finally {
    model.dispose();
  }
  const tEval = performance.now();

  // The three fixed finetunes, each from the pretrained weights.
  const ft = s.finetune;
  const finetuned = async <T>(
    task: string,
    pairs: Parameters<typeof finetuneModel>[2],
    measure: (m: SimVLM) => Promise<T>,
  ): Promise<{ result: T; lastLoss: number }> => {
    info.onProgress?.({ step: s.steps, total: s.steps, message: `${task} finetune` });
    const m = await pretrained();
    try {
      const r = await finetuneModel(m, tokenizer, pairs, {
        steps: ft.steps,
        lr: ft.lr,
        batchSize: ft.batch,
        seed: info.seed,
        ...common,
      });
      r.optimizer.dispose();
      if (r.stopped === "aborted")
        throw new AbortedError(
          `pretrainEval interrupted in the ${task} finetune at step ${r.steps}`,
        );
      return { result: await measure(m), lastLoss: r.rows.at(-1)?.loss ?? NaN };
    } finally {
      m.dispose();
    }
  };
  const capFt = await finetuned("caption", taskPairs("caption", ftTrain), (m) =>
    evalCaptioning(m, tokenizer, test, { ...common, maxLen: s.captionMaxLen, samples: 3 }),
  );
  parts.push(
    captionSystemScores("ft", {
      ...capFt.result.metrics,
      ciderPerImage: capFt.result.ciderPerImage,
      grounded: groundedOfCaptions(capFt.result.captions, test),
    }),
  );
  const vqaFt = await finetuned("vqa", taskPairs("vqa", ftTrain), (m) =>
    evalVqa(m, tokenizer, test, { ...common, maxLen: 6, samples: 3 }),
  );
  const gt = Object.fromEntries(
    test.flatMap((r) => r.vqa.map((q, j) => [`${r.id}#${j}`, q.answers] as const)),
  );
  const vqaAcc = vqaAccuracy(gt, vqaFt.result.answers);
  parts.push({ metrics: { vqa: vqaAcc.overall }, na: {}, items: { vqa: vqaAcc.perQuestion } });
  const entFt = await finetuned(
    "entailment",
    taskPairs("entailment", ftTrain, {
      textOnly: true,
      fit: entailmentFit(config, tokenizer),
    }),
    async (m) => ({
      image: await evalEntailment(m, tokenizer, test, {
        ...common,
        premise: "image",
        samples: ENTAILMENT_ALL,
        generate: false,
      }),
      text: await evalEntailment(m, tokenizer, test, {
        ...common,
        premise: "text",
        samples: ENTAILMENT_ALL,
        generate: false,
      }),
    }),
  );
  for (const premise of ["image", "text"] as const) {
    const e = entFt.result[premise];
    parts.push({
      metrics: { [`entail_${premise}`]: e.metrics.accuracy },
      na: {},
      items: {
        [`entail_${premise}`]: Object.fromEntries(
          e.samples.map((x) => [x.id, x.predicted === x.gold ? 1 : 0]),
        ),
      },
    });
  }
  const tEnd = performance.now();

  const scores = mergeScores(...parts);
  for (const m of Object.keys(na)) {
    delete scores.metrics[m];
    delete scores.items[m];
  }
  return {
    metrics: scores.metrics,
    na: { ...scores.na, ...na },
    items: scores.items,
    extra: {
      ...extra,
      steps: stepsDone,
      resumed,
      objective: s.objective,
      config,
      patchEmbed: config.patchEmbed,
      dataSeed: s.dataSeed,
      splits,
      tokenizer: { hash: tok.hash, vocabSize: tokenizer.vocabSize, spec: tok.spec },
      train_loss: trainRows.length
        ? trainRows.slice(-5).reduce((a, r) => a + r.loss, 0) / Math.min(5, trainRows.length)
        : null,
      finetune: {
        ...ft,
        lastLoss: { caption: capFt.lastLoss, vqa: vqaFt.lastLoss, entailment: entFt.lastLoss },
      },
      vqaByKind: vqaFt.result.metrics,
      finetunedSamples: capFt.result.samples,
      vqaSamples: vqaFt.result.samples,
      entailmentConfusion: {
        image: entFt.result.image.confusion,
        text: entFt.result.text.confusion,
      },
      seconds: {
        pretrain: (tTrain - t0) / 1000,
        eval: (tEval - tTrain) / 1000,
        finetunes: (tEnd - tEval) / 1000,
      },
    },
  };
}
