/**
 * `simvlm bench all` on the cuda backend: our training step and the same model in PyTorch on the
 * same GPU, back to back, with the ratio of each pair (issue 18's table):
 *
 *   1. reference step (batch 16), fp32: ours vs PyTorch eager fp32 — milestone ≤ 2x, goal ≤ 1x
 *   2. reference step, bf16 products: ours (SIMVLM_CUDA_MATMUL=bf16) vs PyTorch autocast bf16
 *      (and torch.compile + bf16 with --compile)
 *   3. Base shape (d 768, 12 + 12 layers, 196 linear patches, vocab 32k, batch 64), bf16 — goal ≤ 1.5x
 *   4. the largest batch of the reference shape that fits (doubling from 16), examples/s, bf16
 *
 * Both sides time the median of `steps` after `warmup`; PyTorch runs in bench/torch-ref.py with
 * --device cuda. The Base rows use linear patches on both sides (torch-ref.py has no conv stage).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { tf } from "../lib/backend/index.ts";
import type { CudaBackend } from "../lib/backend/cuda/backend.ts";
import { CudaOutOfMemoryError } from "../lib/backend/cuda/device.ts";
import { benchTrainStep, median, type TrainStepResult } from "./train-step.ts";
import { productRunner, stepFlops } from "./product-step.ts";

const PYTHON = process.env.SIMVLM_PYTHON ?? "/usr/bin/python3";
const torchScript = fileURLToPath(new URL("./torch-ref.py", import.meta.url));

/** The Base shape with linear patches, as bench/torch-ref.py --config base builds it. */
export const BASE_LINEAR = { base: "base", patchEmbed: "linear" } as const;

export interface TorchRun {
  ms_per_step: number;
  examples_per_s: number;
  gflops: number;
  backend: string;
  largest_batch?: { batch: number; ms_per_step: number; examples_per_s: number } | null;
}
export interface Row {
  what: string;
  ours: {
    ms_per_step: number;
    examples_per_s: number;
    gflops: number;
    precision: string;
    batch: number;
  } | null;
  torch: (TorchRun & { variant: string }) | null;
  /** ours / torch in ms per step (or torch / ours in examples/s for the largest-batch row): below 1 is faster. */
  ratio: number | null;
  goal?: string;
  error?: string;
}

function torch(args: string[], timeoutS: number): TorchRun | string {
  const r = spawnSync(PYTHON, [torchScript, "--device", "cuda", "--json", ...args], {
    encoding: "utf8",
    timeout: timeoutS * 1000,
  });
  if (r.error || r.status !== 0)
    return (r.error?.message ?? r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`).slice(
      0,
      300,
    );
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as TorchRun;
}

/** Our step with the backend's matrix products in `precision` (restored afterwards). */
async function ours(
  precision: "fp32" | "tf32" | "bf16",
  o: Parameters<typeof benchTrainStep>[0],
): Promise<TrainStepResult> {
  const b = tf.backend() as CudaBackend;
  const was = b.precision;
  b.precision = precision;
  try {
    return await benchTrainStep(o);
  } finally {
    b.precision = was;
    (tf.backend() as CudaBackend).allocator.emptyCache();
  }
}

/** Our largest batch of `config` that fits (doubling from `start`; stops past 2 s a step), with its examples/s. */
async function oursLargestBatch(
  precision: "fp32" | "bf16",
  start: number,
  log?: (s: string) => void,
): Promise<{ batch: number; ms_per_step: number; examples_per_s: number; gflops: number } | null> {
  const b = tf.backend() as CudaBackend;
  const was = b.precision;
  b.precision = precision;
  let best: { batch: number; ms_per_step: number; examples_per_s: number; gflops: number } | null =
    null;
  try {
    for (let batch = start; batch <= 8192; batch *= 2) {
      let runner: ReturnType<typeof productRunner> | undefined;
      let flops = 0;
      const times: number[] = [];
      try {
        runner = productRunner(batch);
        flops = stepFlops(runner.shape);
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          await runner.step(i);
          if (i > 0) times.push(performance.now() - t0);
        }
      } catch (e) {
        if (e instanceof CudaOutOfMemoryError) {
          log?.(`batch ${batch}: out of GPU memory`);
          break;
        }
        throw e;
      } finally {
        runner?.dispose();
        b.allocator.emptyCache();
      }
      const ms = median(times);
      best = {
        batch,
        ms_per_step: round(ms),
        examples_per_s: round(batch / (ms / 1000)),
        gflops: round(flops / 1e9 / (ms / 1000)),
      };
      log?.(`batch ${batch}: ${ms.toFixed(1)} ms/step, ${best.examples_per_s} examples/s`);
      if (ms > 2000) break;
    }
  } finally {
    b.precision = was;
  }
  return best;
}

const round = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

export async function benchGpuAll(opts: {
  steps: number;
  warmup: number;
  compile: boolean;
  log?: (s: string) => void;
  only?: string[];
}): Promise<Row[]> {
  const { steps, warmup, log } = opts;
  const rows: Row[] = [];
  const want = (k: string) => !opts.only || opts.only.includes(k);
  const pair = async (
    what: string,
    goal: string | undefined,
    precision: "fp32" | "bf16",
    o: Parameters<typeof benchTrainStep>[0],
    torchArgs: string[],
    variant: string,
  ) => {
    const row: Row = { what, ours: null, torch: null, ratio: null, goal };
    try {
      const r = await ours(precision, { ...o, steps, warmup, log });
      row.ours = {
        ms_per_step: r.ms_per_step,
        examples_per_s: r.examples_per_s,
        gflops: r.gflops,
        precision,
        batch: r.batch,
      };
    } catch (e) {
      row.error = `ours: ${(e as Error).message.split("\n")[0]}`;
    }
    const t = torch([...torchArgs, "--steps", String(steps), "--warmup", String(warmup)], 600);
    if (typeof t === "string") row.error = `${row.error ? row.error + "; " : ""}torch: ${t}`;
    else row.torch = { ...t, variant };
    if (row.ours && row.torch) row.ratio = ratio(row.ours.ms_per_step, row.torch.ms_per_step);
    rows.push(row);
    log?.(formatRow(row));
  };
  if (want("reference")) {
    await pair(
      "reference step, batch 16, fp32",
      "milestone <= 2x, goal <= 1x",
      "fp32",
      {},
      ["--dtype", "fp32"],
      "eager fp32",
    );
    await pair(
      "reference step, batch 16, bf16 products",
      undefined,
      "bf16",
      {},
      ["--dtype", "bf16"],
      "eager autocast bf16",
    );
    if (opts.compile)
      await pair(
        "reference step, batch 16, bf16 (torch.compile)",
        undefined,
        "bf16",
        {},
        ["--dtype", "bf16", "--compile"],
        "torch.compile + bf16",
      );
  }
  if (want("base")) {
    await pair(
      "Base shape (linear patches), batch 64, bf16",
      "goal <= 1.5x",
      "bf16",
      { config: BASE_LINEAR, batch: 64 },
      ["--dtype", "bf16", "--config", "base", "--batch", "64"],
      "eager autocast bf16",
    );
  }
  if (want("max-batch")) {
    const row: Row = {
      what: "reference shape, largest batch that fits, bf16 (examples/s)",
      ours: null,
      torch: null,
      ratio: null,
    };
    try {
      const b = await oursLargestBatch("bf16", 16, log);
      if (b) row.ours = { ...b, precision: "bf16" };
    } catch (e) {
      row.error = `ours: ${(e as Error).message.split("\n")[0]}`;
    }
    const t = torch(["--dtype", "bf16", "--max-batch", "--steps", "2", "--warmup", "1"], 600);
    if (typeof t === "string") row.error = `${row.error ? row.error + "; " : ""}torch: ${t}`;
    else
      row.torch = {
        ...t,
        variant: "eager autocast bf16",
        ...(t.largest_batch
          ? {
              ms_per_step: t.largest_batch.ms_per_step,
              examples_per_s: t.largest_batch.examples_per_s,
            }
          : {}),
      };
    // For throughput the ratio is torch's examples/s over ours, so that below 1 still means we are faster.
    if (row.ours && row.torch) row.ratio = ratio(row.torch.examples_per_s, row.ours.examples_per_s);
    rows.push(row);
    log?.(formatRow(row));
  }
  return rows;
}

export function formatRow(r: Row): string {
  const o = r.ours
    ? `ours ${r.ours.ms_per_step} ms/step, ${r.ours.examples_per_s} ex/s (batch ${r.ours.batch}, ${r.ours.precision})`
    : "ours: —";
  const t = r.torch
    ? `pytorch ${r.torch.ms_per_step} ms/step, ${r.torch.examples_per_s} ex/s (${r.torch.variant}${r.torch.largest_batch ? `, batch ${r.torch.largest_batch.batch}` : ""})`
    : "pytorch: —";
  return `${r.what}: ${o} | ${t} | ratio ${r.ratio ?? "—"}${r.goal ? ` (${r.goal})` : ""}${r.error ? ` [${r.error}]` : ""}`;
}
