/**
 * `simvlm bench train-step`: time the reference training step (lib/model's SimVLM "reference" +
 * lib/train's trainStep, ./product-step.ts) on the active tensor backend. Warm-up steps first
 * (kernel setup, weight packing), then the median of the timed steps.
 */
import { tf, initBackend } from "../lib/backend/index.ts";
import { productRunner, stepFlops } from "./product-step.ts";

export interface TrainStepResult {
  bench: "train-step";
  backend: string;
  /** The model config ("reference" unless asked otherwise) and the batch. */
  config: string;
  batch: number;
  text_len: number;
  threads: number;
  notes: string[];
  model: string;
  steps: number;
  warmup: number;
  ms_per_step: number;
  ms_min: number;
  ms_all: number[];
  examples_per_s: number;
  gflop_per_step: number;
  gflops: number;
  peak_rss_mb: number;
  tensors_before: number;
  tensors_after: number;
  losses: number[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface TrainStepOptions {
  steps?: number;
  warmup?: number;
  log?: (s: string) => void;
  /** Model config (preset name or overrides; default "reference"), batch (16) and decoder tokens (32). */
  config?: Parameters<typeof productRunner>[2];
  batch?: number;
  textLen?: number;
}

export async function benchTrainStep(opts: TrainStepOptions = {}): Promise<TrainStepResult> {
  const steps = Math.max(1, opts.steps ?? 10),
    warmup = Math.max(0, opts.warmup ?? 3);
  const info = await initBackend();
  const tensorsBefore = tf.memory().numTensors;
  const runner = productRunner(opts.batch ?? 16, opts.textLen ?? 32, opts.config ?? "reference");
  const c = runner.shape;
  let peakRss = process.memoryUsage().rss;
  const times: number[] = [],
    losses: number[] = [];
  try {
    for (let i = 0; i < warmup + steps; i++) {
      const t0 = performance.now();
      const loss = await runner.step(i);
      const ms = performance.now() - t0;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      losses.push(loss);
      if (i >= warmup) times.push(ms);
      opts.log?.(
        `${i < warmup ? "warm-up" : "step"} ${i < warmup ? i + 1 : i - warmup + 1}: ${ms.toFixed(0)} ms, loss ${loss.toFixed(4)}`,
      );
    }
  } finally {
    runner.dispose();
  }
  const ms = median(times);
  const flops = stepFlops(c);
  return {
    bench: "train-step",
    backend: info.name,
    threads: info.threads,
    notes: info.notes,
    config:
      typeof opts.config === "string" || !opts.config
        ? (opts.config ?? "reference")
        : JSON.stringify(opts.config),
    batch: c.batch,
    text_len: c.textLen,
    model: runner.label,
    steps,
    warmup,
    ms_per_step: round(ms),
    ms_min: round(Math.min(...times)),
    ms_all: times.map(round),
    examples_per_s: round(c.batch / (ms / 1000)),
    gflop_per_step: round(flops / 1e9),
    gflops: round(flops / 1e9 / (ms / 1000)),
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
    tensors_before: tensorsBefore,
    tensors_after: tf.memory().numTensors,
    losses: losses.map((l) => Number(l.toFixed(6))),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

export function formatTrainStep(r: TrainStepResult): string {
  return [
    `train-step on ${r.backend} (${r.threads} thread${r.threads === 1 ? "" : "s"}) — ${r.model}`,
    ...r.notes.map((n) => `  note: ${n}`),
    `  ${r.ms_per_step} ms/step (median of ${r.steps}, min ${r.ms_min}, ${r.warmup} warm-up)`,
    `  ${r.examples_per_s} examples/s, ${r.gflops} GFLOP/s (${r.gflop_per_step} GFLOP/step, analytic)`,
    `  peak RSS ${r.peak_rss_mb} MB; tensors before ${r.tensors_before}, after ${r.tensors_after}`,
  ].join("\n");
}
