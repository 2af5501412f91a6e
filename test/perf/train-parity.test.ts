// 50 training steps on the wasm backend (with every speed path on: OpenBLAS products, fused GELU,
// layer norm, softmax cross-entropy and AdamW kernels, native dropout masks and row copies) give the
// stock cpu backend's losses — for a small version of the bench's fixed reference model, and for
// the product's own model and trainer (lib/model SimVLM "tiny", lib/train trainStep, dropout on).
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { RefModel, refBatch, type RefConfig } from "../../bench/ref-model.ts";
import { productRunner } from "../../bench/product-step.ts";

const SMALL: RefConfig = { dModel: 32, heads: 2, encLayers: 1, decLayers: 1, ffn: 64, imageSize: 16, patch: 8, textLen: 6, vocab: 50, batch: 4 };

interface Trainer { step(i: number): Promise<number>; dispose(): void }

function refTrainer(): Trainer {
  const model = new RefModel(SMALL, 3);
  const batch = refBatch(SMALL, 4);
  return {
    step: () => model.step(batch.images, batch.inIds, batch.targets, 3e-3),
    dispose() { model.dispose(); tf.dispose(Object.values(batch)); },
  };
}

async function losses(backend: string, steps: number, make: () => Trainer): Promise<number[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const trainer = make();
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(await trainer.step(i));
  trainer.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return out;
}

async function sameLossCurve(make: () => Trainer): Promise<void> {
  const main = (await initBackend()).tfBackend;
  const ref = await losses("cpu", 50, make);
  const got = await losses(main, 50, make);
  await tf.setBackend(main);
  assert.ok(ref[49]! < ref[0]! - 0.5, `the model should learn: ${ref[0]} -> ${ref[49]}`);
  for (let i = 0; i < 50; i++) {
    assert.ok(Math.abs(got[i]! - ref[i]!) <= 2e-3 * Math.max(1, Math.abs(ref[i]!)), `step ${i}: ${main} ${got[i]} vs cpu ${ref[i]}`);
  }
}

test("bench reference model: loss over 50 steps on wasm matches the cpu backend", () => sameLossCurve(refTrainer));

test("product model and trainer: loss over 50 steps on wasm matches the cpu backend", () => sameLossCurve(() => productRunner(4, 8, "tiny")));
