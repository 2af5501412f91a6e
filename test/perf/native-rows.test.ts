// The native row kernels (lib/backend/wasm/native-rows.ts, native/rows.c) give the cpu backend's numbers:
// Slice/SplitV/Concat copies, and the fused softmax cross-entropy forward and backward.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import "@tensorflow/tfjs-backend-cpu";
import { dropoutKey, dropoutMask } from "../../lib/backend/dropout.ts";
import { fusedSoftmaxCrossEntropy } from "../../lib/backend/fused-ops.ts";
import { loadNativeAddon } from "../../lib/backend/native-addon.ts";
import { tokenLosses } from "../../lib/train/step.ts";
import { Rng } from "../../lib/util/rng.ts";
import { installHint } from "../../scripts/prereqs.mjs";

const rng = new Rng(11);
const rand = (shape: number[], scale = 1) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal());

async function nativeReady(): Promise<string | undefined> {
  const info = await initBackend();
  if (info.name !== "wasm") return `backend is ${info.name}`;
  if (!info.notes.some((n) => n.startsWith("native row kernels")))
    return `native row kernels not registered: ${info.notes.join("; ")}`;
  return undefined;
}

/** fn's outputs on cpu and on wasm from the same inputs, checking for leaks on both. */
async function both(
  make: () => tf.Tensor[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<{ cpu: number[][]; wasm: number[][] }> {
  const out: number[][][] = [];
  const data = tf.tidy(() =>
    make().map((t) => ({ v: t.dataSync().slice(), shape: t.shape, dtype: t.dtype })),
  );
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const xs = data.map((d) => tf.tensor(d.v, d.shape, d.dtype));
    const rs = tf.tidy(() => fn(...xs));
    out.push(rs.map((t) => Array.from(t.dataSync())));
    tf.dispose([...xs, ...rs]);
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  await tf.setBackend("wasm");
  return { cpu: out[0]!, wasm: out[1]! };
}

function close(got: number[], want: number[], what: string, tol: number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++)
    assert.ok(
      Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
}

test("Slice, SplitV and Concat on the native copies equal the cpu backend's", async (t) => {
  const why = await nativeReady();
  if (why) {
    t.skip(why + installHint("native"));
    return;
  }
  const cases: [string, () => tf.Tensor[], (...xs: tf.Tensor[]) => tf.Tensor[]][] = [
    [
      "split last axis into 3",
      () => [tf.tensor(rand([5, 12]), [5, 12])],
      (x) => tf.split(x!, 3, 1),
    ],
    [
      "split uneven sizes",
      () => [tf.tensor(rand([4, 3, 10]), [4, 3, 10])],
      (x) => tf.split(x!, [2, 7, 1], 2),
    ],
    ["split middle axis", () => [tf.tensor(rand([2, 6, 5]), [2, 6, 5])], (x) => tf.split(x!, 2, 1)],
    [
      "slice one axis",
      () => [tf.tensor(rand([3, 9, 4]), [3, 9, 4])],
      (x) => [tf.slice(x!, [0, 2, 0], [-1, 5, -1])],
    ],
    [
      "slice two axes (stock path)",
      () => [tf.tensor(rand([3, 9, 4]), [3, 9, 4])],
      (x) => [tf.slice(x!, [1, 2, 1], [2, 5, 2])],
    ],
    [
      "slice int32",
      () => [tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], "int32")],
      (x) => [tf.slice(x!, [0, 1], [2, 2])],
    ],
    [
      "concat last axis",
      () => [
        tf.tensor(rand([4, 3]), [4, 3]),
        tf.tensor(rand([4, 5]), [4, 5]),
        tf.tensor(rand([4, 1]), [4, 1]),
      ],
      (a, b, c) => [tf.concat([a!, b!, c!], 1)],
    ],
    [
      "concat axis 0",
      () => [tf.tensor(rand([2, 3]), [2, 3]), tf.tensor(rand([4, 3]), [4, 3])],
      (a, b) => [tf.concat([a!, b!], 0)],
    ],
    [
      "split gradient (concat)",
      () => [tf.tensor(rand([6, 9]), [6, 9])],
      (x) => {
        const g = tf.grad((v: tf.Tensor) => {
          const [a, b, c] = tf.split(v, 3, 1);
          return tf.sum(tf.add(tf.mul(a!, 2), tf.mul(b!, c!)));
        });
        return [g(x!)];
      },
    ],
  ];
  for (const [name, make, fn] of cases) {
    const r = await both(make, fn);
    assert.equal(r.wasm.length, r.cpu.length, name);
    r.cpu.forEach((want, i) => assert.deepEqual(r.wasm[i], want, `${name}: output ${i}`));
  }
});

test("fused softmax cross-entropy: loss and gradient equal log-softmax × one-hot on cpu", async (t) => {
  const why = await nativeReady();
  if (why) {
    t.skip(why + installHint("native"));
    return;
  }
  for (const [B, T, V, scale] of [
    [2, 3, 11, 1],
    [3, 5, 37, 8],
    [1, 3, 4000, 3],
  ] as const) {
    const make = () => [
      tf.tensor(rand([B, T, V], scale), [B, T, V]),
      tf.tensor(
        Float32Array.from({ length: B * T }, (_, i) =>
          i === 1 ? -1 : i === 2 ? V : Math.floor(rng.next() * V),
        ),
        [B, T],
      ),
      tf.tensor(rand([B, T]), [B, T]),
    ];
    const r = await both(make, (logits, targets, w) => {
      const loss = (x: tf.Tensor) =>
        tf.sum(tf.mul(tokenLosses(x as tf.Tensor3D, targets as tf.Tensor2D), w!));
      const { value, grad } = tf.valueAndGrad(loss)(logits!);
      return [tokenLosses(logits as tf.Tensor3D, targets as tf.Tensor2D), value, grad];
    });
    close(r.wasm[0]!, r.cpu[0]!, `losses ${B}x${T}x${V}`, 2e-6);
    assert.equal(r.wasm[0]![1], 0, "a target of -1 gives loss 0");
    assert.equal(r.wasm[0]![2], 0, "a target of V gives loss 0");
    close(r.wasm[1]!, r.cpu[1]!, `sum ${B}x${T}x${V}`, 2e-6);
    close(r.wasm[2]!, r.cpu[2]!, `gradient ${B}x${T}x${V}`, 2e-6);
  }
  // Large logits stay finite (the row maximum is subtracted first).
  const big = tf.tidy(() =>
    Array.from(
      fusedSoftmaxCrossEntropy(
        tf.tensor2d([[1000, 0, -1000]]),
        tf.tensor1d([1], "int32"),
      )!.dataSync(),
    ),
  );
  close(big, [1000], "loss with logits ±1000", 1e-6);
  assert.throws(
    () => tf.tidy(() => fusedSoftmaxCrossEntropy(tf.zeros([2, 3]), tf.zeros([3]))),
    /targets have shape \[3\]/,
  );
});

test("native row kernels reject operands outside the heap", async (t) => {
  const addon = await loadNativeAddon();
  if (typeof addon === "string") {
    t.skip(`native addon unavailable: ${addon}${installHint("native")}`);
    return;
  }
  const a = addon as unknown as Record<string, (...xs: unknown[]) => void>;
  const heap = new Uint8Array(4 * 32);
  assert.throws(() => a.copyRows!(heap, 0, 8, 64, 8, 4, 8), /outside the heap/);
  assert.throws(() => a.copyRows!(heap, 0, 4, 0, 8, 2, 8), /bad sizes/);
  assert.throws(() => a.softmaxXentFwd!(heap, 0, 64, 68, 72, 2, 17), /outside the heap/);
  assert.throws(() => a.softmaxXentBwd!(heap, 0, 64, 68, 72, 0, 1, 33), /outside the heap/);
});

test("dropout masks: the same on cpu and wasm, the requested rate, different per key", async () => {
  const info = await initBackend();
  const main = info.name;
  const masks: number[][] = [];
  for (const backend of ["cpu", main]) {
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    masks.push(tf.tidy(() => Array.from(dropoutMask([300, 70], 0.1, dropoutKey(5, 2)).dataSync())));
    assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  }
  await tf.setBackend(main);
  assert.deepEqual(masks[1], masks[0], "same key, same mask on every backend");
  const m = masks[0]!,
    scale = Math.fround(1 / 0.9);
  assert.ok(
    m.every((v) => v === 0 || v === scale),
    "values are 0 or 1/keep",
  );
  const dropped = m.filter((v) => v === 0).length / m.length;
  assert.ok(Math.abs(dropped - 0.1) < 0.01, `dropped fraction ${dropped}`);
  const other = tf.tidy(() => Array.from(dropoutMask([300, 70], 0.1, dropoutKey(5, 3)).dataSync()));
  assert.ok(
    other.some((v, i) => v !== m[i]),
    "another call site gets another mask",
  );
  assert.notEqual(dropoutKey(1, 0), dropoutKey(2 ** 32 + 1, 0), "high bits of the seed count");
  assert.throws(() => dropoutMask([2], 1, 0), /rate must be in \[0, 1\)/);
});
