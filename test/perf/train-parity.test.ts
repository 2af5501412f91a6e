// 50 training steps on the wasm backend (with every speed path on: OpenBLAS products, fused GELU,
// layer norm, softmax cross-entropy and AdamW kernels, native dropout masks and row copies) give the
// stock cpu backend's losses — for a small version of the bench's reference model (linear patches,
// as the "reference" config) and for the product's "tiny" (conv stage), both through
// bench/product-step.ts: lib/model SimVLM + lib/train trainStep, dropout on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { productRunner } from "../../bench/product-step.ts";

/** The shapes the bench's former self-contained yardstick was checked at: d 32, 2 heads, 1 + 1 layers, 16 px / 8, vocab 50. */
const SMALL_REFERENCE = {
  base: "reference",
  dModel: 32,
  heads: 2,
  encLayers: 1,
  decLayers: 1,
  ffn: 64,
  imageSize: 16,
  patchSize: 8,
  vocabSize: 50,
};

interface Trainer {
  step(i: number): Promise<number>;
  dispose(): void;
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
    assert.ok(
      Math.abs(got[i]! - ref[i]!) <= 2e-3 * Math.max(1, Math.abs(ref[i]!)),
      `step ${i}: ${main} ${got[i]} vs cpu ${ref[i]}`,
    );
  }
}

test("bench reference model (small): loss over 50 steps on wasm matches the cpu backend", () =>
  sameLossCurve(() => productRunner(4, 6, SMALL_REFERENCE, 3e-3)));

test("product model and trainer: loss over 50 steps on wasm matches the cpu backend", () =>
  sameLossCurve(() => productRunner(4, 8, "tiny")));
