/**
 * The effect of the cuda backend's matrix-product precision (SIMVLM_CUDA_MATMUL) on a loss curve,
 * measured without a GPU: the product's training step (bench/product-step.ts, the tiny model, dropout
 * on) on the cuda backend over the JavaScript fake device, whose products round their inputs as
 * TF32 (10 mantissa bits) or bf16 (7) and accumulate in float64 — the arithmetic of
 * CUBLAS_COMPUTE_32F_FAST_TF32 / _FAST_16BF, though not cuBLAS's summation order — against the cpu
 * backend's fp32 losses.
 *
 *   node --import tsx bench/precision-effect.ts [--steps 50] [--json]
 */
import { tf } from "../lib/backend/index.ts";
import { productRunner } from "./product-step.ts";
import { FakeCudaDevice } from "../test/backend/cuda-fake-device.ts";
import { setupCuda } from "../test/backend/cuda-helpers.ts";

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const steps = arg("steps", 50),
  json = process.argv.includes("--json");

async function curve(backend: string): Promise<number[]> {
  await tf.setBackend(backend);
  const r = productRunner(4, 8, "tiny");
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(await r.step(i));
  r.dispose();
  return out;
}

const backend = await setupCuda(new FakeCudaDevice());
const cpu = await curve("cpu");
const rows: {
  precision: string;
  first: number;
  last: number;
  maxAbsDiff: number;
  maxRelDiff: number;
}[] = [];
for (const precision of ["fp32", "tf32", "bf16"] as const) {
  backend.precision = precision;
  const c = await curve("cuda");
  const d = c.map((l, i) => Math.abs(l - cpu[i]!));
  rows.push({
    precision,
    first: c[0]!,
    last: c[steps - 1]!,
    maxAbsDiff: Math.max(...d),
    maxRelDiff: Math.max(...d.map((x, i) => x / Math.abs(cpu[i]!))),
  });
}
if (json)
  console.log(
    JSON.stringify({
      steps,
      model: "tiny (conv stage), batch 4, 8 tokens, dropout 0.1",
      cpu: { first: cpu[0], last: cpu[steps - 1] },
      rows,
    }),
  );
else {
  console.log(
    `loss over ${steps} steps, tiny model (batch 4, dropout on): cpu fp32 ${cpu[0]!.toFixed(4)} -> ${cpu[steps - 1]!.toFixed(4)}`,
  );
  for (const r of rows) {
    console.log(
      `  cuda (fake device) ${r.precision.padEnd(4)}: ${r.first.toFixed(4)} -> ${r.last.toFixed(4)}; largest difference from cpu over the curve ${r.maxAbsDiff.toExponential(2)} (${(r.maxRelDiff * 100).toFixed(3)}%)`,
    );
  }
}
