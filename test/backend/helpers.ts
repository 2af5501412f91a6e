/**
 * Backend-parity helpers: run the same tfjs computation on the cpu backend (the reference) and the
 * wasm backend (with our extra kernels) in one process, and compare.
 *
 * Inputs are plain Float32Arrays/Int32Arrays built outside, so each backend creates its own tensors;
 * the computation runs under tf.tidy and every backend run must leave tf.memory().numTensors as it
 * found it. Closeness is the relative max-norm error per output, max|wasm − cpu| / max|cpu| ≤ tol
 * (1e-4 by default): element-wise relative error is meaningless for entries near zero.
 */
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import { registerWasmKernels } from "../../lib/backend/wasm/extra-kernels.ts";
import { Rng } from "../../lib/util/rng.ts";

export { tf };

let ready: Promise<void> | undefined;

/** Initialise wasm (with the extra kernels and gradients) and register cpu; idempotent. */
export function setupBackends(): Promise<void> {
  ready ??= (async () => {
    await initBackend({ backend: "wasm" });
    registerWasmKernels([]); // no-op after initBackend, kept so the test does not depend on wasm/index.ts wiring
    await import("@tensorflow/tfjs-backend-cpu");
    assert.ok(await tf.setBackend("cpu"), "cpu backend did not initialise");
    assert.ok(await tf.setBackend("wasm"), "wasm backend did not initialise");
  })();
  return ready;
}

export type Outputs = tf.Tensor | tf.Tensor[] | { [name: string]: tf.Tensor };

export interface Result {
  names: string[];
  values: (Float32Array | Int32Array | Uint8Array)[];
  shapes: number[][];
}

/** Run fn on one backend under tidy; return its outputs as copied arrays, checking for leaks. */
export async function runOn(backend: "cpu" | "wasm", fn: () => Outputs): Promise<Result> {
  assert.ok(await tf.setBackend(backend));
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  const entries: [string, tf.Tensor][] =
    out instanceof tf.Tensor
      ? [["out", out]]
      : Array.isArray(out)
        ? out.map((t, i) => [`out[${i}]`, t] as [string, tf.Tensor])
        : Object.entries(out);
  const res: Result = { names: [], values: [], shapes: [] };
  for (const [name, t] of entries) {
    res.names.push(name);
    res.shapes.push(t.shape.slice());
    res.values.push((t.dataSync() as Float32Array).slice());
    t.dispose();
  }
  assert.equal(
    tf.memory().numTensors,
    before,
    `${backend}: tensor leak (${tf.memory().numTensors - before} tensors left)`,
  );
  return res;
}

/** Relative max-norm error of `got` against `want`. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0,
    scale = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  if (Number.isNaN(err)) return Infinity;
  return scale === 0 ? err : err / scale;
}

/** Run on cpu then wasm and assert every output matches in shape and within tol; returns the cpu result. */
export async function assertParity(label: string, fn: () => Outputs, tol = 1e-4): Promise<Result> {
  const cpu = await runOn("cpu", fn);
  const wasm = await runOn("wasm", fn);
  assert.deepEqual(wasm.names, cpu.names, `${label}: output names differ`);
  cpu.names.forEach((name, i) => {
    assert.deepEqual(wasm.shapes[i], cpu.shapes[i], `${label} ${name}: shape differs`);
    for (const v of cpu.values[i]!)
      assert.ok(Number.isFinite(v), `${label} ${name}: cpu output not finite`);
    const e = relErr(wasm.values[i]!, cpu.values[i]!);
    assert.ok(
      e <= tol,
      `${label} ${name}: wasm vs cpu relative error ${e.toExponential(2)} > ${tol}`,
    );
  });
  return cpu;
}

/** Seeded data in [-scale, scale). */
export function randArray(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

export function randInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  const rng = new Rng(seed);
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(lo, hi);
  return a;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A float tensor of the given shape from seeded data (create inside the function under test). */
export function seeded(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(randArray(size(shape), seed, scale), shape);
}
