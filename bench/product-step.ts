/**
 * The reference training step run through the product's own code: lib/model's SimVLM with the
 * `reference` config and lib/train's trainStep (AdamW, global-norm clipping, dropout as configured).
 * The batch is synthetic and fixed: 64 image patches for the encoder (no text prefix) and 32
 * decoder tokens, so the work matches bench/ref-model.ts and bench/torch-ref.py.
 */
import { tf } from "../lib/backend/index.ts";
import { SimVLM, resolveConfig, type ModelConfig } from "../lib/model/index.ts";
import { AdamW, trainStepAsync, type TrainBatch } from "../lib/train/index.ts";
import { Rng } from "../lib/util/rng.ts";
import type { RefConfig } from "./ref-model.ts";

export interface StepRunner { step(i: number): Promise<number>; dispose(): void; refConfig: RefConfig; label: string }

export function productRunner(batchSize = 16, textLen = 32, configName = "reference"): StepRunner {
  const config: ModelConfig = resolveConfig(configName);
  const model = new SimVLM(config, 0);
  const opt = new AdamW(model.weights(), { weightDecay: 0.01, clipNorm: 1.0 });
  const rng = new Rng(1);
  const img = new Float32Array(batchSize * config.imageSize * config.imageSize * 3);
  for (let i = 0; i < img.length; i++) img[i] = rng.next();
  const ids = Int32Array.from({ length: batchSize * textLen }, () => rng.int(4, config.vocabSize - 1));
  const tgt = Int32Array.from({ length: batchSize * textLen }, () => rng.int(4, config.vocabSize - 1));
  const batch: TrainBatch = {
    inputs: {
      images: tf.tensor4d(img, [batchSize, config.imageSize, config.imageSize, 3]),
      hasImage: tf.ones([batchSize]) as tf.Tensor1D,
      encIds: tf.tensor2d(new Int32Array(0), [batchSize, 0], "int32"),
      decIn: tf.tensor2d(ids, [batchSize, textLen], "int32"),
    },
    targets: tf.tensor2d(tgt, [batchSize, textLen], "int32"),
    lossMask: tf.ones([batchSize, textLen]) as tf.Tensor2D,
    info: { objective: "prefixlm", size: batchSize, withImage: batchSize, textOnly: 0, encWidth: 0, decWidth: textLen, lossTokens: batchSize * textLen, examples: [] },
  };
  return {
    label: `lib/model SimVLM "${config.name}" + lib/train trainStep (dropout ${config.dropout})`,
    refConfig: {
      dModel: config.dModel, heads: config.heads, encLayers: config.encLayers, decLayers: config.decLayers, ffn: config.ffn,
      imageSize: config.imageSize, patch: config.patchSize, textLen, vocab: config.vocabSize, batch: batchSize,
    },
    async step(i: number) { return (await trainStepAsync(model, opt, batch, { lr: 1e-3, dropoutSeed: i })).loss; },
    dispose() {
      model.dispose();
      opt.dispose();
      tf.dispose([batch.inputs.images!, batch.inputs.hasImage!, batch.inputs.encIds, batch.inputs.decIn, batch.targets, batch.lossMask]);
    },
  };
}
