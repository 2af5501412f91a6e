// The cuda backend on a real GPU (skipped elsewhere, with the reason): every kernel forward and
// backward against the cpu backend (the same suite the fake device passes on CPU machines), 50
// training steps of the product model against the cpu backend's losses, GPU memory flat over 500
// training steps, and bad calls — out of memory, a wrong kernel call, an illegal address — as one
// clear JavaScript error each, never a dead process. bench/gpu-check.sh runs this file.
//
// SIMVLM_CUDA_MEMORY_STEPS (default 500) sets the length of the memory check; SIMVLM_CUDA_TESTS
// (comma-separated: device, parity, train, memory, errors; default all) picks groups, so that
// bench/gpu-check.sh can give each its own time limit.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openCudaDevice } from "../../lib/backend/cuda/loader.ts";
import {
  CudaError,
  CudaOutOfMemoryError,
  type CudaBackend,
  type CudaDevice,
} from "../../lib/backend/cuda/index.ts";
import { setupCuda, tf } from "./cuda-helpers.ts";
import { cudaParityTests, graphReplayCheck } from "./cuda-parity-suite.ts";
import { productRunner } from "../../bench/product-step.ts";

const opened = await openCudaDevice();
const noDevice = typeof opened === "string" ? `no CUDA device: ${opened}` : false;
const groups = process.env.SIMVLM_CUDA_TESTS?.split(",")
  .map((g) => g.trim())
  .filter(Boolean);
/** Skip reason for a group of tests: no device, or not asked for. */
const skipFor = (group: string) =>
  noDevice ||
  (groups && !groups.includes(group) ? `group ${group} not in SIMVLM_CUDA_TESTS` : false);
const device = typeof opened === "string" ? undefined : (opened as CudaDevice);
let backend: CudaBackend;

before(async () => {
  if (device) backend = await setupCuda(device);
});

// bench/gpu-check.sh sets SIMVLM_REQUIRE_CUDA=1: there a missing GPU is a failure, not a skip.
if (noDevice && process.env.SIMVLM_REQUIRE_CUDA === "1")
  test("a CUDA device (SIMVLM_REQUIRE_CUDA=1)", () => assert.fail(noDevice));

test(
  "the device: name, compute capability, CUDA and cuBLAS versions",
  { skip: skipFor("device") },
  () => {
    const i = device!.info;
    console.log(
      `# ${i.name}, compute capability ${i.computeCapability}, CUDA ${i.runtimeVersion} (driver ${i.driverVersion}), cuBLAS ${i.cublasVersion} (${i.cublasPath})`,
    );
    assert.equal(i.kind, "cuda");
    assert.match(i.cublasVersion, /^\d+\.\d+\.\d+$/);
  },
);

test(
  "CUDA Graphs: capture two kernels, replay them on new input",
  { skip: skipFor("device") },
  () => graphReplayCheck(device!),
);

cudaParityTests(test, { skip: skipFor("parity") });

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

async function losses(
  name: string,
  steps: number,
  make: () => ReturnType<typeof productRunner>,
): Promise<number[]> {
  await tf.setBackend(name);
  const before = tf.memory().numTensors;
  const runner = make();
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(await runner.step(i));
  runner.dispose();
  assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
  return out;
}

for (const [label, make] of [
  ["product model and trainer (tiny, conv stage)", () => productRunner(4, 8, "tiny")],
  [
    "bench reference model (small, linear patches)",
    () => productRunner(4, 6, SMALL_REFERENCE, 3e-3),
  ],
] as const) {
  test(
    `50 training steps: ${label} on cuda gives the cpu backend's losses`,
    { skip: skipFor("train") },
    async () => {
      const cpu = await losses("cpu", 50, make);
      const cuda = await losses("cuda", 50, make);
      console.log(
        `# ${label}: cpu ${cpu[0]!.toFixed(4)} -> ${cpu[49]!.toFixed(4)}, cuda ${cuda[0]!.toFixed(4)} -> ${cuda[49]!.toFixed(4)}`,
      );
      assert.ok(cpu[49]! < cpu[0]! - 0.5, `the model should learn: ${cpu[0]} -> ${cpu[49]}`);
      cuda.forEach((l, i) =>
        assert.ok(
          Math.abs(l - cpu[i]!) <= 2e-3 * Math.max(1, Math.abs(cpu[i]!)),
          `step ${i}: cuda ${l} vs cpu ${cpu[i]}`,
        ),
      );
    },
  );
}

test(
  "GPU memory is flat over 500 training steps of the reference step (batch 16)",
  { skip: skipFor("memory") },
  async () => {
    await tf.setBackend("cuda");
    const steps = Number(process.env.SIMVLM_CUDA_MEMORY_STEPS ?? 500);
    const runner = productRunner();
    const snap = () => ({
      tensors: tf.memory().numTensors,
      ...backend.allocator.stats(),
      device: device!.memInfo().free,
    });
    let at10: ReturnType<typeof snap> | undefined;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      await runner.step(i);
      if (i === 9) at10 = snap();
    }
    const end = snap();
    runner.dispose();
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(
      `# ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; after 10: ${mib(at10!.inUse)} MiB in use, ${mib(at10!.allocated)} held, ` +
        `${at10!.deviceAllocs} device allocations; after ${steps}: ${mib(end.inUse)} MiB in use, ${mib(end.allocated)} held, ${end.deviceAllocs} device allocations; ` +
        `device free ${mib(at10!.device)} -> ${mib(end.device)} MiB`,
    );
    assert.equal(end.tensors, at10!.tensors, "tensor count");
    assert.equal(end.inUse, at10!.inUse, "bytes in use by tensors");
    assert.equal(end.allocated, at10!.allocated, "bytes held from the device");
    assert.equal(
      end.deviceAllocs,
      at10!.deviceAllocs,
      "no device allocation after the first steps",
    );
    assert.ok(
      Math.abs(end.device - at10!.device) <= 64 * 2 ** 20,
      `device free memory moved by ${mib(at10!.device - end.device)} MiB`,
    );
  },
);

test(
  "out of memory is one clear error naming the request and what is in use; the backend keeps working",
  { skip: skipFor("errors") },
  async () => {
    await tf.setBackend("cuda");
    assert.throws(
      () => tf.fill([2 ** 38], 0),
      (e: unknown) => {
        assert.ok(e instanceof CudaOutOfMemoryError, String(e));
        assert.match((e as Error).message, /CUDA out of memory: asked for 1048576\.0 MiB/);
        assert.match((e as Error).message, /in use by tensors/);
        return true;
      },
    );
    const x = tf.add(tf.ones([4]), 1);
    assert.deepEqual(Array.from(await x.data()), [2, 2, 2, 2]);
    x.dispose();
  },
);

test(
  "a wrong kernel call is a JavaScript error; the device stays usable",
  { skip: skipFor("errors") },
  async () => {
    assert.throws(
      () => device!.launch("gelu", [0, 0]),
      (e: unknown) => e instanceof CudaError && /takes 3 arguments/.test((e as Error).message),
    );
    assert.throws(
      () =>
        device!.gemm({
          batch: 1,
          M: 0,
          N: 1,
          K: 1,
          transA: false,
          transB: false,
          a: 0,
          strideA: 0,
          b: 0,
          strideB: 0,
          c: 0,
          strideC: 0,
          precision: "fp32",
        }),
      /sizes out of range/,
    );
    const y = tf.tidy(() => tf.sum(tf.mul(tf.ones([8]), 3)));
    assert.equal((await y.data())[0], 24);
    y.dispose();
  },
);

test(
  "an illegal address inside a kernel is a JavaScript error naming the CUDA error; the process lives on",
  { skip: skipFor("errors") },
  () => {
    // In a child process: the error leaves the CUDA context unusable, which would fail the tests after it.
    const script = `
    const { openCudaDevice } = await import(${JSON.stringify(new URL("../../lib/backend/cuda/loader.ts", import.meta.url).href)});
    const dev = await openCudaDevice();
    const p = dev.alloc(1024);
    dev.launch("fill", [p + 2 ** 40, 256, 1, 0]);   // far outside any allocation
    let first = "", second = "";
    try { dev.sync(); } catch (e) { first = e.name + ": " + e.message; }
    try { dev.alloc(16); } catch (e) { second = e.name + ": " + e.message; }
    console.log(JSON.stringify({ first, second }));
  `;
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: fileURLToPath(new URL("../../", import.meta.url)), encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(r.status, 0, `the process died: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.match(out.first, /CudaError: CUDA error cudaError\w+ .* in sync/);
    assert.match(out.second, /unusable after an earlier error .*restart the process/);
  },
);
