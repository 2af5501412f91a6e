/**
 * The benchmark's training step, run through the product's own code: lib/model's SimVLM (the
 * `reference` config for `simvlm bench`) and lib/train's trainStep (AdamW, global-norm clipping,
 * dropout as configured). The batch is synthetic and fixed: the image patches alone in the encoder
 * (no text prefix) and `textLen` decoder tokens. bench/torch-ref.py is the same model in PyTorch.
 */
import { tf } from "../lib/backend/index.ts";
import { SimVLM, resolveConfig, type ModelConfig } from "../lib/model/index.ts";
// The trainer's modules themselves (not lib/train/index.ts, which also loads pretraining and the
// tokenizer's native package): the GPU check carries only what the step needs.
import { AdamW } from "../lib/train/optimizer.ts";
import { trainStepAsync } from "../lib/train/step.ts";
import type { TrainBatch } from "../lib/train/batch.ts";
import { Rng } from "../lib/util/rng.ts";

/** The shapes of one step, for its FLOP count. */
export interface StepShape {
  dModel: number;
  heads: number;
  encLayers: number;
  decLayers: number;
  ffn: number;
  imageSize: number;
  patch: number;
  textLen: number;
  vocab: number;
  batch: number;
}

export interface StepRunner {
  step(i: number): Promise<number>;
  dispose(): void;
  shape: StepShape;
  label: string;
}

/**
 * Analytic FLOPs of one training step with linear patches: the forward's matrix products × 3
 * (forward + backward); elementwise work is not counted. bench/torch-ref.py counts the same way.
 */
export function stepFlops(c: StepShape): number {
  const P = (c.imageSize / c.patch) ** 2,
    T = c.textLen,
    B = c.batch,
    d = c.dModel;
  const patchDim = c.patch * c.patch * 3;
  const mm = (m: number, k: number, n: number) => 2 * m * k * n;
  let f = mm(B * P, patchDim, d);
  const enc = 4 * mm(B * P, d, d) + mm(B * P, d, c.ffn) + mm(B * P, c.ffn, d) + 2 * B * mm(P, d, P);
  const dec =
    4 * mm(B * T, d, d) +
    2 * B * mm(T, d, T) + // causal self-attention
    2 * mm(B * T, d, d) +
    2 * mm(B * P, d, d) +
    2 * B * mm(T, d, P) + // cross-attention (q,o on text; k,v on image)
    mm(B * T, d, c.ffn) +
    mm(B * T, c.ffn, d);
  f += c.encLayers * enc + c.decLayers * dec + mm(B * T, d, c.vocab);
  return 3 * f;
}

export function productRunner(
  batchSize = 16,
  textLen = 32,
  configSpec: string | (Partial<ModelConfig> & { base?: string }) = "reference",
  lr = 1e-3,
): StepRunner {
  const config: ModelConfig = resolveConfig(configSpec);
  const model = new SimVLM(config, 0);
  const opt = new AdamW(model.weights(), { weightDecay: 0.01, clipNorm: 1.0 });
  const rng = new Rng(1);
  const img = new Float32Array(batchSize * config.imageSize * config.imageSize * 3);
  for (let i = 0; i < img.length; i++) img[i] = rng.next();
  const ids = Int32Array.from({ length: batchSize * textLen }, () =>
    rng.int(4, config.vocabSize - 1),
  );
  const tgt = Int32Array.from({ length: batchSize * textLen }, () =>
    rng.int(4, config.vocabSize - 1),
  );
  const batch: TrainBatch = {
    inputs: {
      images: tf.tensor4d(img, [batchSize, config.imageSize, config.imageSize, 3]),
      hasImage: tf.ones([batchSize]) as tf.Tensor1D,
      encIds: tf.tensor2d(new Int32Array(0), [batchSize, 0], "int32"),
      decIn: tf.tensor2d(ids, [batchSize, textLen], "int32"),
    },
    targets: tf.tensor2d(tgt, [batchSize, textLen], "int32"),
    lossMask: tf.ones([batchSize, textLen]) as tf.Tensor2D,
    info: {
      objective: "prefixlm",
      size: batchSize,
      withImage: batchSize,
      textOnly: 0,
      encWidth: 0,
      decWidth: textLen,
      lossTokens: batchSize * textLen,
      examples: [],
    },
  };
  return {
    label: `lib/model SimVLM "${config.name}" + lib/train trainStep (dropout ${config.dropout})`,
    shape: {
      dModel: config.dModel,
      heads: config.heads,
      encLayers: config.encLayers,
      decLayers: config.decLayers,
      ffn: config.ffn,
      imageSize: config.imageSize,
      patch: config.patchSize,
      textLen,
      vocab: config.vocabSize,
      batch: batchSize,
    },
    async step(i: number) {
      return (await trainStepAsync(model, opt, batch, { lr, dropoutSeed: i })).loss;
    },
    dispose() {
      model.dispose();
      opt.dispose();
      tf.dispose([
        batch.inputs.images!,
        batch.inputs.hasImage!,
        batch.inputs.encIds,
        batch.inputs.decIn,
        batch.targets,
        batch.lossMask,
      ]);
    },
  };
}
