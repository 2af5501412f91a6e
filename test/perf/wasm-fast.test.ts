// Parity of the wasm fast-path matmul kernels (lib/backend/wasm/fast-matmul.ts) with the cpu backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { Rng } from "../../lib/util/rng.ts";

const rng = new Rng(7);
const rand = (shape: number[]) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

function close(got: Float32Array, want: Float32Array, what: string, rel = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-6;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= rel * scale,
      `${what}: [${i}] ${got[i]} vs ${want[i]}`,
    );
  }
}

/** Run fn on cpu and on wasm with the same inputs; return both results flattened. */
async function both(
  inputs: { shape: number[] }[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
) {
  const data = inputs.map((i) => rand(i.shape));
  const out: Float32Array[][] = [];
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const xs = data.map((d, i) => tf.tensor(d, inputs[i]!.shape));
    const r = tf.tidy(() => fn(...xs));
    const rs = Array.isArray(r) ? r : [r];
    out.push(rs.map((t) => t.dataSync() as Float32Array));
    tf.dispose([...xs, ...rs]);
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  await tf.setBackend("wasm");
  return { cpu: out[0]!, wasm: out[1]! };
}

test("wasm matmul routing is active (native BLAS when built, else the wasm fast path)", async () => {
  const info = await initBackend();
  if (info.name !== "wasm") return; // another backend was forced
  assert.ok(
    info.notes.some((n) => n.startsWith("fast matmul routing")),
    info.notes.join("; "),
  );
  const native = info.notes.find((n) => n.startsWith("native BLAS matmul"));
  assert.ok(native, "a note says whether the native path is used and, if not, why");
  if (process.env.SIMVLM_NATIVE === "0") assert.match(native, /off \(SIMVLM_NATIVE=0\)/);
});

const cases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
  { name: "plain 2-D", a: [5, 7], b: [7, 3], ta: false, tb: false },
  { name: "transposeB 2-D", a: [5, 7], b: [3, 7], ta: false, tb: true },
  { name: "transposeA 2-D", a: [7, 5], b: [7, 3], ta: true, tb: false },
  { name: "both transposed 2-D", a: [7, 5], b: [3, 7], ta: true, tb: true },
  {
    name: "batched left, batch-1 right (folded)",
    a: [4, 5, 7],
    b: [1, 7, 3],
    ta: false,
    tb: false,
  },
  {
    name: "rank-4 batched (attention q·kᵀ)",
    a: [2, 3, 6, 4],
    b: [2, 3, 6, 4],
    ta: false,
    tb: true,
  },
  {
    name: "rank-4 batched (attention a·v)",
    a: [2, 3, 6, 6],
    b: [2, 3, 6, 4],
    ta: false,
    tb: false,
  },
  { name: "batched, transposeA", a: [3, 4, 5], b: [3, 4, 2], ta: true, tb: false },
  { name: "batch-1 left, batched right", a: [1, 5, 7], b: [3, 7, 2], ta: false, tb: false },
  // More than 8 rows against one matrix: the native path takes these (fewer stay on XNNPACK).
  { name: "plain 2-D, 12 rows", a: [12, 7], b: [7, 3], ta: false, tb: false },
  { name: "transposeA 2-D, 12 rows", a: [7, 12], b: [7, 3], ta: true, tb: false },
  { name: "both transposed 2-D, 12 rows", a: [7, 12], b: [3, 7], ta: true, tb: true },
];

for (const c of cases) {
  test(`matMul forward and gradients match cpu: ${c.name}`, async () => {
    await initBackend();
    const { cpu, wasm } = await both([{ shape: c.a }, { shape: c.b }], (a, b) => {
      const y = tf.matMul(a!, b!, c.ta, c.tb);
      // A non-uniform upstream gradient, so a transposed or misplaced gradient cannot pass.
      const w = tf.reshape(tf.div(tf.range(1, 1 + y.size), y.size), y.shape);
      const [ga, gb] = tf.grads((x: tf.Tensor, z: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(x, z, c.ta, c.tb), w)),
      )([a!, b!]);
      return [y, ga!, gb!];
    });
    for (let i = 0; i < 3; i++) close(wasm[i]!, cpu[i]!, `${c.name} output ${i}`);
  });
}

test("fused matMul (bias, relu, transposes, folded batch) matches cpu", async () => {
  await initBackend();
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const a = ta ? [3, 7, 5] : [3, 5, 7],
      b = tb ? [1, 4, 7] : [1, 7, 4]; // 15 rows: the native path when built
    const { cpu, wasm } = await both([{ shape: a }, { shape: b }, { shape: [4] }], (x, w, bias) =>
      tf.fused.matMul({
        a: x as tf.Tensor3D,
        b: w as tf.Tensor3D,
        transposeA: ta,
        transposeB: tb,
        bias,
        activation: "relu",
      }),
    );
    close(wasm[0]!, cpu[0]!, `fused ta=${ta} tb=${tb}`);
  }
});

test("a large batched product (heap growth during the per-batch loop) matches cpu", async () => {
  await initBackend();
  const { cpu, wasm } = await both([{ shape: [16, 64, 64] }, { shape: [16, 64, 64] }], (a, b) =>
    tf.matMul(a!, b!, false, true),
  );
  close(wasm[0]!, cpu[0]!, "large batched");
});

test("sums over outer axes (the native in-place reduction) match cpu, with and without keepDims", async () => {
  await initBackend();
  const axesCases: (number | number[])[] = [0, 1, [0, 1], [1, 2], -1, 2, [0, 2]];
  for (const axis of axesCases)
    for (const keepDims of [false, true]) {
      const { cpu, wasm } = await both([{ shape: [3, 4, 5] }], (x) => tf.sum(x!, axis, keepDims));
      close(wasm[0]!, cpu[0]!, `sum axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
      await tf.setBackend("wasm");
      const shape = tf.tidy(() => tf.sum(tf.zeros([3, 4, 5]), axis, keepDims).shape);
      await tf.setBackend("cpu");
      const want = tf.tidy(() => tf.sum(tf.zeros([3, 4, 5]), axis, keepDims).shape);
      await tf.setBackend("wasm");
      assert.deepEqual(shape, want, `sum shape axis ${JSON.stringify(axis)} keepDims ${keepDims}`);
    }
});

test("a clone (zero-copy Identity) keeps its values after the original is disposed", async () => {
  await initBackend();
  const before = tf.memory().numTensors;
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  x.dispose();
  assert.deepEqual([...y.dataSync()], [1, 2, 3]);
  y.dispose();
  assert.equal(tf.memory().numTensors, before);
});
