// The fused native AdamW update (wasm + native addon) gives the cpu backend's op-by-op numbers,
// keeps the optimizer's semantics (decay filter, clipping, parameters without a gradient, state
// export/import), leaks no tensors, and its addon functions reject operands outside the heap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { loadNativeAddon } from "../../lib/backend/native-addon.ts";
import { fusedAdamWAvailable } from "../../lib/backend/fused-ops.ts";
import { AdamW, globalGradNorm } from "../../lib/train/optimizer.ts";
import { Rng } from "../../lib/util/rng.ts";
import { installHint } from "../../scripts/prereqs.mjs";

// w1, w2, unused are decayed (rank 2), "b" and "tok_emb" are not; "unused" never gets a gradient
// (so it must not decay either).
const SHAPES: Record<string, number[]> = {
  w1: [7, 13],
  b: [13],
  w2: [13, 5],
  tok_emb: [11, 4],
  unused: [3, 3],
};
const STEPS = 6;

function values(seed: number, shape: number[], amp: number): Float32Array {
  const rng = new Rng(seed),
    out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * amp;
  return out;
}

interface Run {
  params: Record<string, Float32Array>;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
  norms: number[];
}

/** STEPS updates on the current backend; odd steps have small gradients (no clipping), even ones large (clipped). */
function run(): Run {
  const before = tf.memory().numTensors;
  const params = new Map(
    Object.entries(SHAPES).map(([n, s], i) => [
      n,
      tf.tidy(() =>
        tf.variable(
          tf.tensor(values(100 + i, s, 1), s),
          true,
          `adamw-test/${n}/${tf.getBackend()}`,
        ),
      ),
    ]),
  );
  const names = [...params.keys()];
  const opt = new AdamW(params, { clipNorm: 1.0, weightDecay: 0.1 });
  assert.deepEqual(opt.decayed().sort(), ["unused", "w1", "w2"]);
  const norms: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    tf.tidy(() => {
      const amp = step % 2 ? 0.01 : 3;
      const grads: Record<string, tf.Tensor> = {};
      for (const [i, n] of names.entries())
        if (n !== "unused")
          grads[n] = tf.tensor(values(1000 * step + i, SHAPES[n]!, amp), SHAPES[n]);
      const norm = globalGradNorm(grads, names).dataSync()[0]!;
      norms.push(norm);
      opt.apply(grads, 1e-2 * step, norm);
    });
  }
  const state = opt.exportState();
  const out: Run = { params: {}, m: {}, v: {}, norms };
  for (const [n, p] of params) {
    out.params[n] = p.dataSync() as Float32Array;
    out.m[n] = state.get(`exp_avg.${n}`)!.data as Float32Array;
    out.v[n] = state.get(`exp_avg_sq.${n}`)!.data as Float32Array;
  }
  // The state round-trips: a fresh optimizer importing it exports the same arrays.
  const again = new AdamW(params, { clipNorm: 1.0, weightDecay: 0.1 });
  again.importState(state, opt.step, "in-memory");
  for (const [k, a] of again.exportState())
    assert.deepEqual(a.data, state.get(k)!.data, `${k} round-trips`);
  assert.equal(again.step, STEPS);
  again.dispose();
  opt.dispose();
  for (const p of params.values()) p.dispose();
  assert.equal(tf.memory().numTensors, before, `${tf.getBackend()}: tensors leaked`);
  return out;
}

function assertClose(got: Float32Array, want: Float32Array, what: string) {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.max(1e-3, Math.abs(want[i]!)),
      `${what}[${i}]: fused ${got[i]} vs cpu ${want[i]}`,
    );
  }
}

test("fused AdamW on wasm matches the cpu backend's op-by-op update", async (t) => {
  const info = await initBackend();
  const main = info.tfBackend;
  if (!fusedAdamWAvailable()) {
    t.skip(
      `fused AdamW unavailable on ${main}: ${info.notes.find((n) => /native/i.test(n)) ?? "no native addon on this backend"}${installHint("native")}`,
    );
    return;
  }
  await tf.setBackend("cpu");
  assert.equal(fusedAdamWAvailable(), false, "the cpu backend runs the op-by-op reference");
  const ref = run();
  await tf.setBackend(main);
  try {
    const got = run();
    assert.ok(
      ref.norms.some((x) => x > 1) && ref.norms.some((x) => x < 1),
      `clipping both on and off: ${ref.norms}`,
    );
    for (let i = 0; i < STEPS; i++)
      assert.ok(
        Math.abs(got.norms[i]! - ref.norms[i]!) <= 1e-6 * ref.norms[i]!,
        `norm ${i}: ${got.norms[i]} vs ${ref.norms[i]}`,
      );
    for (const n of Object.keys(SHAPES)) {
      assertClose(got.params[n]!, ref.params[n]!, `${n}`);
      assertClose(got.m[n]!, ref.m[n]!, `m.${n}`);
      assertClose(got.v[n]!, ref.v[n]!, `v.${n}`);
    }
    // The parameter without a gradient is untouched, its moments still zero.
    assert.deepEqual(got.params.unused, values(104, SHAPES.unused!, 1));
    assert.ok(got.m.unused!.every((x) => x === 0) && got.v.unused!.every((x) => x === 0));
  } finally {
    await tf.setBackend(main);
  }
});

test("native adamw and sumSquares compute on the heap and reject operands outside it", async (t) => {
  const got = await loadNativeAddon();
  if (typeof got === "string") {
    t.skip(`native addon unavailable: ${got}${installHint("native")}`);
    return;
  }
  const addon = got as unknown as {
    adamw(...a: number[] | [Uint8Array, ...number[]]): void;
    sumSquares(heap: Uint8Array, off: number, n: number): number;
  };
  const heap = new Uint8Array(4 * 64);
  const f = new Float32Array(heap.buffer);
  f.set([1, 2, 3, 4], 0); // p
  f.set([0, 0, 0, 0], 4); // m
  f.set([0, 0, 0, 0], 8); // v
  f.set([1, -1, 2, 0], 12); // g
  const hyper = [0.9, 1 - 0.9, 0.999, 1 - 0.999, 0.1, 1 - 0.999, 1e-8, 0.5, 0.1, 1];
  addon.adamw(heap, 0, 16, 32, 48, 64, 80, 96, 4, ...hyper);
  // First step: m̂ = g, v̂ = g², so the update is sign(g)·lr (0 where g = 0); p is halved first.
  const p = [...f.subarray(16, 20)];
  const want = [0.5 - 0.1, 1 + 0.1, 1.5 - 0.1, 2];
  p.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-5, `p[${i}] ${x} vs ${want[i]}`));
  assert.ok(Math.abs([...f.subarray(20, 24)][2]! - 0.2) < 1e-6, "m = 0.1·g");
  assert.equal(addon.sumSquares(heap, 48, 4), 1 + 1 + 4);
  assert.throws(
    () => addon.adamw(heap, 0, 16, 32, 48, 244, 80, 96, 4, ...hyper),
    /outside the heap/,
  );
  assert.throws(
    () => addon.adamw(heap, 2, 16, 32, 48, 64, 80, 96, 4, ...hyper),
    /outside the heap/,
  ); // misaligned
  assert.throws(
    () => addon.adamw(heap, 0, 16, 32, 48, 64, 80, 96, 100, ...hyper),
    /outside the heap/,
  );
  assert.throws(() => addon.adamw(heap, 0, 16, 32, 48, 64, 64, 96, 4, ...hyper), /overlaps/);
  assert.throws(() => addon.sumSquares(heap, 200, 100), /outside the heap/);
  assert.throws(() => addon.sumSquares(heap, -4, 1), /outside the heap/);
  assert.throws(() => addon.adamw(heap, 0, 16), /expected 19/);
  assert.throws(
    () =>
      (addon.adamw as unknown as (...a: unknown[]) => void)(
        heap,
        0,
        16,
        32,
        48,
        64,
        80,
        96,
        4,
        ...hyper.slice(0, 9),
        "x",
      ),
    /must be a number/,
  );
});
