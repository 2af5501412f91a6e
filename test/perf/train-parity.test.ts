// 50 training steps on the wasm backend (with every speed path on) give the same losses as the
// stock cpu backend, on a small version of the bench's reference model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { RefModel, refBatch, type RefConfig } from "../../bench/ref-model.ts";

const SMALL: RefConfig = { dModel: 32, heads: 2, encLayers: 1, decLayers: 1, ffn: 64, imageSize: 16, patch: 8, textLen: 6, vocab: 50, batch: 4 };

async function losses(backend: string, steps: number): Promise<number[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const model = new RefModel(SMALL, 3);
  const batch = refBatch(SMALL, 4);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(await model.step(batch.images, batch.inIds, batch.targets, 3e-3));
  model.dispose();
  tf.dispose(Object.values(batch));
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return out;
}

test("loss over 50 steps on wasm matches the cpu backend", async () => {
  const info = await initBackend();
  const main = info.tfBackend;
  const ref = await losses("cpu", 50);
  const got = await losses(main, 50);
  await tf.setBackend(main);
  assert.ok(ref[49]! < ref[0]! - 0.5, `the model should learn: ${ref[0]} -> ${ref[49]}`);
  for (let i = 0; i < 50; i++) {
    assert.ok(Math.abs(got[i]! - ref[i]!) <= 2e-3 * Math.max(1, Math.abs(ref[i]!)), `step ${i}: ${main} ${got[i]} vs cpu ${ref[i]}`);
  }
});
