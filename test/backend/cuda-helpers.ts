/**
 * Parity helpers for the cuda backend: run one tfjs computation on the cpu backend (the reference)
 * and on `cuda` — over the JavaScript fake device on a machine without a GPU
 * (test/backend/cuda-fake.test.ts), over the real GPU where there is one (cuda-device.test.ts) —
 * and compare: max|cuda − cpu| / max|cpu| ≤ tol per output (1e-4 by default), the same shapes, and
 * no tensors left behind on either backend.
 */
import assert from "node:assert/strict";
import { tf } from "../../lib/backend/index.ts";
import { registerTfGradients } from "../../lib/backend/gradients.ts";
import {
  registerCudaBackend,
  type CudaBackend,
  type CudaDevice,
} from "../../lib/backend/cuda/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { relErr } from "./helpers.ts";

export { tf };
export { randArray, randInts, seeded, relErr } from "./helpers.ts";

/** Register cpu and cuda (over `device`), the gradients, and make cuda current. */
export async function setupCuda(
  device: CudaDevice,
  precision: "fp32" | "tf32" | "bf16" = "fp32",
): Promise<CudaBackend> {
  tf.enableProdMode();
  registerTfGradients();
  const backend = registerCudaBackend(device, precision);
  assert.ok(await tf.setBackend("cpu"), "cpu backend did not initialise");
  assert.ok(await tf.setBackend("cuda"), "cuda backend did not initialise");
  return backend;
}

export type Outputs = tf.Tensor | tf.Tensor[] | { [name: string]: tf.Tensor };
export interface Result {
  names: string[];
  values: (Float32Array | Int32Array | Uint8Array)[];
  shapes: number[][];
  dtypes: string[];
}

/** Run fn on one backend under tidy; its outputs as copied arrays; no tensor may be left over. */
export async function runOn(backend: string, fn: () => Outputs): Promise<Result> {
  assert.ok(await tf.setBackend(backend));
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  const entries: [string, tf.Tensor][] =
    out instanceof tf.Tensor
      ? [["out", out]]
      : Array.isArray(out)
        ? out.map((t, i) => [`out[${i}]`, t] as [string, tf.Tensor])
        : Object.entries(out);
  const res: Result = { names: [], values: [], shapes: [], dtypes: [] };
  for (const [name, t] of entries) {
    res.names.push(name);
    res.shapes.push(t.shape.slice());
    res.dtypes.push(t.dtype);
    res.values.push(((await t.data()) as Float32Array).slice());
    t.dispose();
  }
  assert.equal(
    tf.memory().numTensors,
    before,
    `${backend}: tensor leak (${tf.memory().numTensors - before} tensors left)`,
  );
  return res;
}

/** Run on cpu then cuda: same names, shapes and dtypes, values within tol. Returns the cpu result. */
export async function assertCudaParity(
  label: string,
  fn: () => Outputs,
  tol = 1e-4,
): Promise<Result> {
  const cpu = await runOn("cpu", fn);
  const got = await runOn("cuda", fn);
  assert.deepEqual(got.names, cpu.names, `${label}: output names differ`);
  cpu.names.forEach((name, i) => {
    assert.deepEqual(got.shapes[i], cpu.shapes[i], `${label} ${name}: shape differs`);
    assert.equal(got.dtypes[i], cpu.dtypes[i], `${label} ${name}: dtype differs`);
    const e = relErr(got.values[i]!, cpu.values[i]!);
    assert.ok(
      e <= tol,
      `${label} ${name}: cuda vs cpu relative error ${e.toExponential(2)} > ${tol}\n  cuda ${Array.from(got.values[i]!.slice(0, 8))}\n  cpu  ${Array.from(cpu.values[i]!.slice(0, 8))}`,
    );
  });
  return cpu;
}

/** Outputs of f and the gradients of Σ f·w (w a fixed random cotangent) with respect to every input. */
export function withGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: () => tf.Tensor[],
  seed = 999,
): () => { [k: string]: tf.Tensor } {
  return () => {
    const xs = inputs();
    const y = f(...xs);
    const w = tf.tensor(
      Float32Array.from({ length: y.size }, (_, i) => Math.sin(seed + i * 1.7)),
      y.shape,
    );
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
    const out: { [k: string]: tf.Tensor } = { y };
    grads.forEach((g, i) => {
      out[`d${i}`] = g;
    });
    return out;
  };
}
