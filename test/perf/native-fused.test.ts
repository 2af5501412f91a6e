// Parity of the native fused GELU and layer norm (native/fused.c via lib/backend/wasm/native-fused.ts, on
// wasm) with the composite code on the cpu backend, forward and backward; the tanh approximation's
// accuracy; bounds checks; no tensor leaks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { loadNativeAddon } from "../../lib/backend/native-addon.ts";
import {
  GELU_KERNEL,
  LAYER_NORM_KERNEL,
  fusedGelu,
  fusedLayerNorm,
} from "../../lib/backend/fused-ops.ts";
import { nativeTanhApprox } from "../../lib/backend/wasm/native-fused.ts";
import { gelu, layerNorm } from "../../lib/model/layers.ts";
import { Rng } from "../../lib/util/rng.ts";
import { installHint } from "../../scripts/prereqs.mjs";

const rng = new Rng(11);
const uniform = (n: number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());

/** |got - want| <= rel * max(|want|) + abs, elementwise. */
function close(got: Float32Array, want: Float32Array, what: string, rel = 1e-5, abs = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= rel * scale + abs,
      `${what}: [${i}] ${got[i]} vs ${want[i]}`,
    );
  }
}

/** Whether the wasm backend is up with the fused kernels registered; else the reason to skip. */
async function fusedReady(): Promise<string | undefined> {
  const info = await initBackend();
  if (info.name !== "wasm") return `backend is ${info.name}, not wasm`;
  if (!tf.getKernel(GELU_KERNEL, "wasm") || !tf.getKernel(LAYER_NORM_KERNEL, "wasm")) {
    const why =
      info.notes.find((n) => n.startsWith("native fused") || n.startsWith("native BLAS")) ??
      "no note says why";
    return `fused kernels not registered: ${why}`;
  }
  return undefined;
}

/**
 * Runs fn (values and gradients) on cpu (composite) and wasm (fused) with the same inputs, checks
 * tensor counts on both, returns the flattened results of each.
 */
async function onBoth(
  data: { values: Float32Array; shape: number[] }[],
  fn: (xs: tf.Tensor[]) => tf.Tensor[],
) {
  const out: Record<string, Float32Array[]> = {};
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const xs = data.map((d) => tf.tensor(d.values, d.shape, "float32"));
    const rs = tf.tidy(() => fn(xs));
    out[backend] = rs.map((t) => t.dataSync() as Float32Array);
    tf.dispose([...xs, ...rs]);
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  await tf.setBackend("wasm");
  return { cpu: out.cpu!, wasm: out.wasm! };
}

test("fused GELU matches the composite on cpu, forward and backward", async (t) => {
  const skip = await fusedReady();
  if (skip) {
    t.skip(skip + installHint("native"));
    return;
  }
  for (const shape of [
    [7, 13],
    [5, 33],
    [1, 1],
    [3, 4, 9],
    [64, 40],
  ]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = uniform(n, -6, 6),
      w = uniform(n, -1, 1);
    const { cpu, wasm } = await onBoth(
      [
        { values: x, shape },
        { values: w, shape },
      ],
      ([xt, wt]) => {
        // On wasm the fused op must be taken, not the composite fallback.
        if (tf.getBackend() === "wasm") {
          const probe = fusedGelu(xt!);
          assert.ok(probe, "fusedGelu is available on wasm");
          probe.dispose();
        }
        const y = gelu(xt!);
        // A weighted sum makes dy non-uniform, so the gradient checks each element's derivative.
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), wt!)))([
          xt!,
        ]);
        return [y, value, grads[0]!];
      },
    );
    close(wasm[0]!, cpu[0]!, `gelu ${shape} forward`);
    close(wasm[1]!, cpu[1]!, `gelu ${shape} weighted sum`, 1e-5, 1e-5);
    close(wasm[2]!, cpu[2]!, `gelu ${shape} gradient`);
  }
});

test("fused layer norm matches the composite on cpu, forward and backward (x, gamma, beta)", async (t) => {
  const skip = await fusedReady();
  if (skip) {
    t.skip(skip + installHint("native"));
    return;
  }
  for (const [rows, d] of [
    [7, 13],
    [5, 33],
    [1, 8],
    [9, 1],
    [12, 64],
  ] as const) {
    const x = uniform(rows * d, -3, 5),
      g = uniform(d, 0.5, 1.5),
      b = uniform(d, -0.5, 0.5),
      w = uniform(rows * d, -1, 1);
    const eps = 1e-5;
    const { cpu, wasm } = await onBoth(
      [
        { values: x, shape: [rows, d] },
        { values: g, shape: [d] },
        { values: b, shape: [d] },
        { values: w, shape: [rows, d] },
      ],
      ([xt, gt, bt, wt]) => {
        const gv = tf.variable(gt!, true),
          bv = tf.variable(bt!, true);
        try {
          const l = { gamma: gv, beta: bv };
          if (tf.getBackend() === "wasm") {
            const probe = fusedLayerNorm(xt as tf.Tensor2D, gv, bv, eps);
            assert.ok(probe, "fusedLayerNorm is available on wasm");
            probe.dispose();
          }
          const y = layerNorm(xt as tf.Tensor2D, l, eps);
          const { grads } = tf.valueAndGrads((a: tf.Tensor) =>
            tf.sum(tf.mul(layerNorm(a as tf.Tensor2D, l, eps), wt!)),
          )([xt!]);
          // Parameter gradients the way training takes them.
          const vg = tf.variableGrads(
            () => tf.sum(tf.mul(layerNorm(xt as tf.Tensor2D, l, eps), wt!)) as tf.Scalar,
            [gv, bv],
          );
          const dg = vg.grads[gv.name]!,
            db = vg.grads[bv.name]!;
          vg.value.dispose();
          return [y, grads[0]!, dg, db];
        } finally {
          gv.dispose();
          bv.dispose();
        }
      },
    );
    close(wasm[0]!, cpu[0]!, `layerNorm [${rows},${d}] forward`);
    close(wasm[1]!, cpu[1]!, `layerNorm [${rows},${d}] dx`, 1e-4, 1e-5);
    close(wasm[2]!, cpu[2]!, `layerNorm [${rows},${d}] dgamma`, 1e-5, 1e-5);
    close(wasm[3]!, cpu[3]!, `layerNorm [${rows},${d}] dbeta`, 1e-5, 1e-5);
  }
});

test("the native tanh approximation: dense grid, saturation, infinities, NaN", async (t) => {
  const addon = await loadNativeAddon();
  if (typeof addon === "string") {
    t.skip(`native addon unavailable: ${addon}${installHint("native")}`);
    return;
  }
  const tanh = nativeTanhApprox(addon);
  assert.ok(tanh, "the addon exports tanhApprox");
  const n = 200_001;
  const heap = new Uint8Array(8 * n);
  const f = new Float32Array(heap.buffer);
  for (let i = 0; i < n; i++) f[i] = -12 + (24 * i) / (n - 1);
  tanh(heap, 0, 4 * n, n);
  for (let i = 0; i < n; i++) {
    const want = Math.tanh(f[i]!),
      got = f[n + i]!;
    assert.ok(
      Math.abs(got - want) <= 1e-6 * Math.max(Math.abs(want), 1e-3) + 1e-9,
      `tanh(${f[i]}) = ${got}, want ${want}`,
    );
  }
  // Tiny arguments keep their relative accuracy (the polynomial branch).
  for (let i = 0; i < 1000; i++) f[i] = (i - 500) * 1e-6;
  tanh(heap, 0, 4 * n, 1000);
  for (let i = 0; i < 1000; i++) {
    const want = Math.tanh(f[i]!);
    assert.ok(Math.abs(f[n + i]! - want) <= 1e-6 * Math.abs(want), `tanh(${f[i]}) = ${f[n + i]}`);
  }
  f.set([50, -50, 1e30, -1e30, Infinity, -Infinity, NaN, -0]);
  tanh(heap, 0, 4 * n, 8);
  const got = [...f.subarray(n, n + 8)];
  assert.deepEqual(got.slice(0, 6), [1, -1, 1, -1, 1, -1]);
  assert.ok(Number.isNaN(got[6]), "NaN stays NaN");
  assert.ok(Object.is(got[7], -0), "tanh(-0) is -0");
});

test("fused GELU at large |x| and infinities has no NaN; gradient saturates to 0 or 1", async (t) => {
  const skip = await fusedReady();
  if (skip) {
    t.skip(skip + installHint("native"));
    return;
  }
  const before = tf.memory().numTensors;
  const xs = [50, -50, 1e20, -1e20, Infinity, -Infinity, 0, 12, -12];
  const [y, dx] = tf.tidy(() => {
    const x = tf.tensor1d(xs);
    return [gelu(x), tf.grad((a: tf.Tensor) => gelu(a))(x)];
  });
  const yv = [...(y!.dataSync() as Float32Array)],
    dv = [...(dx!.dataSync() as Float32Array)];
  tf.dispose([y!, dx!]);
  assert.equal(tf.memory().numTensors, before, "tensors leaked");
  assert.deepEqual(
    yv.map((v) => v + 0),
    [50, 0, 1e20, 0, Infinity, 0, 0, 12, 0].map((v) => Math.fround(v)),
  );
  assert.deepEqual(dv, [1, 0, 1, 0, 1, 0, 0.5, 1, 0]);
});

test("fused kernels reject operands outside the heap and bad arguments", async (t) => {
  const addon = await loadNativeAddon();
  if (typeof addon === "string") {
    t.skip(`native addon unavailable: ${addon}${installHint("native")}`);
    return;
  }
  const a = addon as unknown as Record<string, (...args: unknown[]) => void>;
  const heap = new Uint8Array(4 * 64);
  assert.throws(() => a.geluFwd!(heap, 0, 128, 40), /geluFwd: operand outside the heap/);
  assert.throws(() => a.geluFwd!(heap, 2, 128, 4), /outside the heap/); // misaligned
  assert.throws(() => a.geluBwd!(heap, 0, 0, 250, 4), /geluBwd: operand outside the heap/);
  assert.throws(() => a.geluFwd!(heap, -4, 0, 4), /outside the heap/);
  assert.throws(
    () => a.layerNormFwd!(heap, 0, 0, 0, 0, 0, 248, 4, 8, 1e-5),
    /layerNormFwd: operand outside the heap/,
  );
  assert.throws(() => a.layerNormFwd!(heap, 0, 0, 0, 0, 0, 0, 4, 8), /expected 10 arguments/);
  assert.throws(() => a.layerNormFwd!(heap, 0, 0, 0, 0, 0, 0, 4, 0, 1e-5), /bad sizes/);
  assert.throws(() => a.layerNormFwd!(heap, 0, 0, 0, 0, 0, 0, 4, 8, -1), /eps/);
  assert.throws(
    () => a.layerNormBwd!(heap, 0, 0, 0, 0, 0, 0, 0, 254, 2, 2),
    /layerNormBwd: operand outside the heap/,
  );
  assert.throws(() => a.geluFwd!(new Float32Array(4), 0, 0, 1), /heap must be a Uint8Array/);
  // A valid call on this heap still works after the rejected ones.
  const f = new Float32Array(heap.buffer);
  f.set([1, -1, 0, 2]);
  a.geluFwd!(heap, 0, 16, 4);
  assert.ok(
    Math.abs(f[4]! - 0.8411920070648193) < 1e-6 && Math.abs(f[7]! - 1.954597) < 1e-5,
    `${[...f.subarray(4, 8)]}`,
  );
});

test("fused ops fall back (undefined) for non-float32 input and on the cpu backend", async (t) => {
  const skip = await fusedReady();
  if (skip) {
    t.skip(skip + installHint("native"));
    return;
  }
  const before = tf.memory().numTensors;
  const xi = tf.tensor2d(
    [
      [1, 2],
      [3, 4],
    ],
    undefined,
    "int32",
  );
  assert.equal(fusedGelu(xi), undefined);
  const xf = tf.cast(xi, "float32") as tf.Tensor2D,
    b = tf.zeros([2]),
    bad = tf.ones([3]);
  assert.equal(fusedLayerNorm(xf, bad, b, 1e-5), undefined, "gamma not [d]");
  tf.dispose([xi, xf, b, bad]);
  await tf.setBackend("cpu");
  const x = tf.ones([2, 2]) as tf.Tensor2D,
    g2 = tf.ones([2]),
    b2 = tf.zeros([2]);
  assert.equal(fusedGelu(x), undefined);
  assert.equal(fusedLayerNorm(x, g2, b2, 1e-5), undefined);
  tf.dispose([x, g2, b2]);
  await tf.setBackend("wasm");
  assert.equal(tf.memory().numTensors, before);
});
