// The cuda backend's TypeScript side on a machine without a GPU: the backend runs over a fake
// device written in JavaScript (cuda-fake-device.ts) behind the addon's interface, so the dataId /
// refcount / memory bookkeeping, the caching allocator, the scalar immediates, every kernel's
// argument plumbing and a few training steps are checked here against the cpu backend. The CUDA
// code itself is checked by cuda-device.test.ts on a GPU.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { FakeCudaDevice } from "./cuda-fake-device.ts";
import { setupCuda, tf, seeded } from "./cuda-helpers.ts";
import { cudaParityTests, graphReplayCheck } from "./cuda-parity-suite.ts";
import { CudaOutOfMemoryError, type CudaBackend } from "../../lib/backend/cuda/index.ts";
import { sizeClass } from "../../lib/backend/cuda/allocator.ts";
import { productRunner } from "../../bench/product-step.ts";

const device = new FakeCudaDevice();
let backend: CudaBackend;

before(async () => {
  backend = await setupCuda(device);
});

test("tensors live on the device: write, read, reshape shares data, dispose frees; tf.memory counts GPU bytes", async () => {
  await tf.setBackend("cuda");
  const m0 = tf.memory() as tf.MemoryInfo & {
    numBytesInGPU: number;
    numBytesInGPUAllocated: number;
  };
  const ids0 = backend.numDataIds();
  const a = tf.tensor2d([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(backend.numDataIds(), ids0 + 1);
  const b = tf.mul(a, a); // an output: a device block
  const m1 = tf.memory() as typeof m0;
  assert.ok(
    m1.numBytesInGPU >= m0.numBytesInGPU + 24,
    `numBytesInGPU grows: ${m0.numBytesInGPU} -> ${m1.numBytesInGPU}`,
  );
  const r = tf.reshape(b, [3, 2]);
  assert.equal(backend.numDataIds(), ids0 + 2, "reshape shares the dataId");
  assert.equal(backend.refCount(b.dataId), 2);
  assert.deepEqual(Array.from(await r.data()), [1, 4, 9, 16, 25, 36]);
  assert.deepEqual(Array.from(b.dataSync()), [1, 4, 9, 16, 25, 36]);
  b.dispose();
  assert.equal(backend.refCount(r.dataId), 1, "the reshape keeps the data alive");
  assert.deepEqual(Array.from(r.dataSync()), [1, 4, 9, 16, 25, 36]);
  tf.dispose([a, r]);
  assert.equal(backend.numDataIds(), ids0);
  const m2 = tf.memory() as typeof m0;
  assert.equal(m2.numBytesInGPU, m0.numBytesInGPU, "every block released");
  assert.ok(m2.numBytesInGPUAllocated >= m2.numBytesInGPU, "released blocks stay cached");
});

test("bool and int32 tensors round-trip; a one-element JS scalar is an immediate, never uploaded", async () => {
  await tf.setBackend("cuda");
  const x = tf.tensor1d([1.5, -2, 3]);
  const uploads = device.counts.uploads;
  const y = tf.mul(x, 0.5);
  assert.equal(device.counts.uploads, uploads + 1, "only x is uploaded, not the 0.5");
  assert.deepEqual(Array.from(y.dataSync()), [0.75, -1, 1.5]);
  const g = tf.greater(x, 0);
  assert.equal(g.dtype, "bool");
  assert.ok(g.dataSync() instanceof Uint8Array);
  assert.deepEqual(Array.from(g.dataSync()), [1, 0, 1]);
  const i = tf.cast(x, "int32");
  assert.ok(i.dataSync() instanceof Int32Array);
  assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3]);
  tf.dispose([x, y, g, i]);
});

test("caching allocator: size classes, reuse across identical steps, released twice is an error", async () => {
  assert.equal(sizeClass(1), 512);
  assert.equal(sizeClass(4096), 4096);
  assert.equal(sizeClass(4097), 4608);
  for (const n of [1000, 5000, 123_457, 9_999_999])
    assert.ok(
      sizeClass(n) >= n && sizeClass(n) <= n * 1.125 + 512,
      `class of ${n}: ${sizeClass(n)}`,
    );
  await tf.setBackend("cuda");
  const work = () =>
    tf.tidy(() => tf.sum(tf.matMul(seeded([20, 30], 1), seeded([30, 10], 2))).dataSync());
  work();
  const allocs = backend.allocator.stats().deviceAllocs;
  for (let i = 0; i < 3; i++) work();
  assert.equal(
    backend.allocator.stats().deviceAllocs,
    allocs,
    "the same work again takes every block from the cache",
  );
  const blk = backend.allocator.alloc(100);
  backend.allocator.release(blk);
  assert.throws(() => backend.allocator.release(blk), /released twice/);
});

test("out of device memory: one clear error with the request and what is in use; the backend keeps working", async () => {
  const small = new FakeCudaDevice({ totalBytes: 4 * 2 ** 20 });
  const { CudaBackend } = await import("../../lib/backend/cuda/backend.ts");
  const b = new CudaBackend(small);
  const keep = b.makeTensorInfo([512 * 1024], "float32"); // 2 MiB in use
  assert.throws(
    () => b.makeTensorInfo([1024 * 1024], "float32"),
    (e: unknown) => {
      assert.ok(e instanceof CudaOutOfMemoryError, String(e));
      assert.match((e as Error).message, /asked for 4\.0 MiB/);
      assert.match((e as Error).message, /in use by tensors 2\.0 MiB/);
      return true;
    },
  );
  const ok = b.makeTensorInfo([1024], "float32");
  b.disposeData(ok.dataId);
  b.disposeData(keep.dataId);
  assert.equal(b.allocator.stats().inUse, 0);
});

test("a kernel that runs out of memory halfway frees what it had made, and says which kernel", async () => {
  await tf.setBackend("cuda");
  const x = tf.fill([1, 64, 64, 32], 1) as tf.Tensor4D,
    w = tf.fill([3, 3, 32, 16], 1) as tf.Tensor4D;
  const ids = backend.numDataIds(),
    inUse = backend.allocator.stats().inUse;
  // A device with 2 MiB left: the output (0.25 MiB) fits; im2col's columns (4.5 MiB) do not.
  backend.allocator.emptyCache();
  const total = device.info.totalBytes;
  device.setTotalBytes(device.usedBytes() + 2 * 2 ** 20);
  const allocs = device.counts.allocs;
  try {
    assert.throws(
      () => tf.conv2d(x, w, 1, "same"),
      (e: unknown) =>
        e instanceof CudaOutOfMemoryError &&
        /^cuda kernel Conv2D: CUDA out of memory/.test((e as Error).message),
    );
  } finally {
    device.setTotalBytes(total);
  }
  assert.ok(
    device.counts.allocs > allocs,
    "the output was on the device before the columns ran out (halfway)",
  );
  assert.equal(backend.numDataIds(), ids, "no dataId left behind");
  assert.equal(backend.allocator.stats().inUse, inUse, "no block left in use");
  tf.dispose([x, w]);
  backend.allocator.emptyCache();
});

test("bad calls are clear JavaScript errors, not crashes", async () => {
  await tf.setBackend("cuda");
  assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5])), /inner dimensions|inner shapes/);
  assert.throws(() => device.launch("gelu", [0, 0]), /takes 3 arguments/);
  assert.throws(
    () => device.launch("gelu", [123 * 2 ** 32, 1 * 2 ** 32, 4]),
    /not in a live allocation/,
  );
  assert.throws(
    () => tf.gather(tf.ones([2, 3, 4]), tf.ones([2, 2], "int32"), 1, 1),
    /batchDims 1 is not supported/,
  );
});

test("CUDA Graphs at the device interface: capture records, replay reruns on the memory as it is; no upload while capturing", () => {
  graphReplayCheck(device);
  device.graphBegin();
  assert.throws(() => device.upload(device.alloc(4), new Float32Array(1)), /during graph capture/);
  device.graphEnd();
});

cudaParityTests(test);

// 5 steps on this CPU machine (the fake device runs kernels in JavaScript); the GPU test runs 50.
const STEPS = 5;
test(`training: ${STEPS} steps of the product model (conv stage, dropout on) give the cpu backend's losses; no tensors or blocks leak`, async () => {
  const losses = async (name: string) => {
    await tf.setBackend(name);
    const before = tf.memory().numTensors;
    const runner = productRunner(2, 6, "tiny");
    const out: number[] = [];
    for (let i = 0; i < STEPS; i++) out.push(await runner.step(i));
    runner.dispose();
    assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
    return out;
  };
  const cpu = await losses("cpu");
  const inUse = backend.allocator.stats().inUse;
  const cuda = await losses("cuda");
  cuda.forEach((l, i) =>
    assert.ok(
      Math.abs(l - cpu[i]!) <= 1e-3 * Math.max(1, Math.abs(cpu[i]!)),
      `step ${i}: cuda ${l} vs cpu ${cpu[i]}`,
    ),
  );
  assert.equal(
    backend.allocator.stats().inUse,
    inUse,
    "device blocks in use return to where they were",
  );
  assert.ok(cpu[STEPS - 1]! < cpu[0]!, `it learns: ${cpu[0]} -> ${cpu[STEPS - 1]}`);
});
