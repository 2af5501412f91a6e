/**
 * The loss and one training step.
 *
 * Loss: token-level cross-entropy averaged over the batch's target positions (the loss mask), so
 * the prefix (which lives in the encoder) and padding never count.
 *
 * trainStep: forward + backward with tf.variableGrads, read back the loss and the global gradient
 * norm (one small sync), refuse a non-finite step before touching any weight, then the AdamW update
 * with clipping. Everything runs under tf.tidy: no tensor outlives the step except the weights and
 * the optimizer state.
 */
import { tf } from "../backend/index.ts";
import { registerTfGradients } from "../backend/gradients.ts";
import { fusedSoftmaxCrossEntropy } from "../backend/fused-ops.ts";
import type { ModelInputs } from "../model/types.ts";
import type { TrainBatch } from "./batch.ts";
import { AdamW, globalGradNorm } from "./optimizer.ts";
import { TrainDivergedError } from "./errors.ts";

/** What training needs of a model (SimVLM fits; tests may pass a stand-in). */
export interface TrainableModel {
  weights(): Map<string, tf.Variable>;
  apply(
    inputs: ModelInputs,
    opts: { training: boolean; dropoutSeed?: number },
  ): { logits: tf.Tensor3D };
}

/** −log p(target) at every position, [B, Td] (padding positions included; mask them). */
export function tokenLosses(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    // One native pass each way where the backend has it (wasm with the addon); same numbers.
    const fused = fusedSoftmaxCrossEntropy(
      tf.reshape(logits, [B * T, V]),
      tf.reshape(targets, [B * T]),
    );
    if (fused) return tf.reshape(fused, [B, T]) as tf.Tensor2D;
    // One-hot × log-softmax rather than gather: its gradient needs no scatter kernel on any backend.
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(tf.cast(targets, "int32"), V)), -1)) as tf.Tensor2D;
  });
}

/** Mean cross-entropy over the positions where mask = 1. */
export function maskedCrossEntropy(
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(
    () =>
      tf.div(
        tf.sum(tf.mul(tokenLosses(logits, targets), mask)),
        tf.maximum(tf.sum(mask), 1),
      ) as tf.Scalar,
  );
}

/** The batch's training loss as a scalar tensor (dropout on when `training`). */
export function batchLoss(
  model: TrainableModel,
  batch: TrainBatch,
  opts: { training: boolean; dropoutSeed?: number },
): tf.Scalar {
  return tf.tidy(() => {
    const { logits } = model.apply(batch.inputs, {
      training: opts.training,
      dropoutSeed: opts.dropoutSeed,
    });
    return maskedCrossEntropy(logits, batch.targets, batch.lossMask);
  });
}

/**
 * Per-example mean loss in evaluation mode (no dropout), e.g. for plotting loss against the prefix
 * length T_p from `batch.info.examples[i].k`.
 */
export function exampleLosses(model: TrainableModel, batch: TrainBatch): number[] {
  const t = tf.tidy(() => {
    const { logits } = model.apply(batch.inputs, { training: false });
    const per = tf.mul(tokenLosses(logits, batch.targets), batch.lossMask);
    return tf.div(tf.sum(per, 1), tf.maximum(tf.sum(batch.lossMask, 1), 1));
  });
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

export interface TrainStepOptions {
  /** Learning rate of this update. */
  lr: number;
  /** Seeds this step's dropout masks (pretrain draws one per step from its seeded Rng). */
  dropoutSeed?: number;
}

export interface TrainStepResult {
  /** The batch loss before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/**
 * One optimisation step on `batch`: forward, backward, clip, AdamW update. Deterministic for a
 * given backend, weights, optimizer state, batch and dropoutSeed. Throws TrainDivergedError (weights
 * untouched) when the loss or the gradient norm is not finite.
 */
export function trainStep(
  model: TrainableModel,
  optimizer: AdamW,
  batch: TrainBatch,
  opts: TrainStepOptions,
): TrainStepResult {
  const t = computeGradients(model, batch, opts);
  return applyStep(optimizer, t, t.value.dataSync()[0]!, t.norm.dataSync()[0]!, opts.lr);
}

/**
 * trainStep with the two scalars read asynchronously. Same numbers; needed where a backend cannot
 * read synchronously (WebGPU in Node has no OffscreenCanvas for tfjs's readSync). The training
 * loops use this one.
 */
export async function trainStepAsync(
  model: TrainableModel,
  optimizer: AdamW,
  batch: TrainBatch,
  opts: TrainStepOptions,
): Promise<TrainStepResult> {
  const t = computeGradients(model, batch, opts);
  let loss: number, gradNorm: number;
  try {
    [loss, gradNorm] = [(await t.value.data())[0]!, (await t.norm.data())[0]!];
  } catch (e) {
    tf.dispose([t.value, t.norm, ...Object.values(t.grads)]);
    throw e;
  }
  return applyStep(optimizer, t, loss, gradNorm, opts.lr);
}

interface StepTensors {
  value: tf.Scalar;
  grads: Record<string, tf.Tensor>;
  norm: tf.Scalar;
}

function computeGradients(
  model: TrainableModel,
  batch: TrainBatch,
  opts: TrainStepOptions,
): StepTensors {
  registerTfGradients(); // idempotent; the cpu backend path does not register them itself
  const params = model.weights();
  const names = [...params.keys()];
  const varList = names.map((n) => params.get(n)!);
  return tf.tidy(() => {
    const r = tf.variableGrads(
      () => batchLoss(model, batch, { training: true, dropoutSeed: opts.dropoutSeed }),
      varList,
    );
    const byName: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => {
      const g = r.grads[varList[i]!.name];
      if (g) byName[n] = g;
    });
    return { value: r.value, grads: byName, norm: globalGradNorm(byName, names) as tf.Scalar };
  });
}

/** Check the scalars, apply the clipped AdamW update, and free the step's tensors. */
function applyStep(
  optimizer: AdamW,
  t: StepTensors,
  loss: number,
  gradNorm: number,
  lr: number,
): TrainStepResult {
  try {
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new TrainDivergedError(
        `training diverged: loss ${loss}, gradient norm ${gradNorm} (weights left as they were; try a lower learning rate)`,
      );
    }
    tf.tidy(() => optimizer.apply(t.grads, lr, gradNorm));
    return { loss, gradNorm };
  } finally {
    tf.dispose([t.value, t.norm, ...Object.values(t.grads)]);
  }
}
