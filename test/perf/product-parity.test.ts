// 50 training steps of the product's own model and trainer (lib/model SimVLM "tiny", lib/train's
// trainStep with dropout on) on wasm — with every native kernel: fused GELU, layer norm, softmax
// cross-entropy, AdamW, dropout masks, row copies, OpenBLAS products — give the stock cpu
// backend's losses. (test/perf/train-parity.test.ts does the same for the fixed bench model.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { productRunner } from "../../bench/product-step.ts";

async function losses(backend: string, steps: number): Promise<number[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const r = productRunner(4, 8, "tiny");
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(await r.step(i));
  r.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return out;
}

test("product model: loss over 50 steps on wasm (native kernels) matches the cpu backend", async () => {
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
