/**
 * Results as data (issue 14 item 6): every notebook writes `notebooks/results/<notebook>.json` with
 * every metric's per-seed values and interval, every baseline, the comparisons it states, seeds,
 * config, split hashes and the code version. The notebook's tables, figures and sentences are drawn
 * from this object, so the prose can never say more than the numbers.
 *
 * A metric that has no meaning for a system (the LM loss of span corruption, say) is recorded as
 * `{ na: "reason" }` instead of a number, and tables print the reason's short form.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { seedInterval, type BootstrapDiff, type SeedInterval } from "./stats.ts";

/** A metric measured over training seeds: the values, their mean and the 95% t-interval. */
export interface SeedMetric extends SeedInterval {
  /** Higher is better (accuracy, CIDEr-D, F1) or lower is (losses). */
  higherIsBetter: boolean;
  /** Unit or scale, e.g. "nats/token", "accuracy", "CIDEr-D". */
  unit?: string;
}

/** Why a metric is not reported for a system (shown in tables instead of a number). */
export interface NotApplicable {
  na: string;
}

export type MetricEntry = SeedMetric | NotApplicable;

export function isNotApplicable(m: MetricEntry | undefined): m is NotApplicable {
  return !!m && typeof (m as NotApplicable).na === "string";
}

/** Summarise per-seed values of one metric (seed order is kept in `values`). */
export function seedMetric(
  values: readonly number[],
  opts: { higherIsBetter?: boolean; unit?: string } = {},
): SeedMetric {
  return {
    ...seedInterval(values),
    higherIsBetter: opts.higherIsBetter ?? true,
    ...(opts.unit ? { unit: opts.unit } : {}),
  };
}

/** One stated comparison: the bootstrap (or seed-level) result and the sentence generated from it. */
export interface ComparisonRecord {
  x: string;
  y: string;
  metric: string;
  /** How the interval was obtained, e.g. "hierarchical bootstrap over 5 seeds × 500 test items". */
  method: string;
  result: BootstrapDiff;
  /** The exact sentence the notebook prints (from stats.describeComparison). */
  sentence: string;
}

/** A claim of the paper checked here, in the notebook's closing "what this shows and what it does not". */
export interface ClaimRecord {
  /** The paper's claim, with its section (arXiv 2108.10904). */
  paper: string;
  /** What this notebook measured about it (generated from the numbers). */
  here: string;
  verdict: "reproduced" | "not reproduced" | "inconclusive at this scale" | "not tested";
}

export interface SplitRecord {
  split: string;
  n: number;
  hash: string;
  dataSeed: number;
}

/** The whole results file of one notebook. Extra fields are allowed; these are required. */
export interface ResultsFile {
  notebook: string;
  mode: "full" | "quick";
  /** ISO time the run finished. */
  finished: string;
  /** lib/experiments codeVersion(): the result-deciding library sources. */
  codeVersion: string;
  backend: { name: string; threads: number };
  /** Measured wall time of the notebook run, seconds. */
  wallSeconds: number;
  seeds: number[];
  dataSeed: number;
  splits: SplitRecord[];
  /** Model config(s) and training settings, as plain data. */
  settings: Record<string, unknown>;
  /** system → metric → entry. Systems include the blind baselines (e.g. "baseline: best constant caption"). */
  metrics: Record<string, Record<string, MetricEntry>>;
  comparisons: ComparisonRecord[];
  claims: ClaimRecord[];
}

/** Write the file atomically (a temporary file renamed into place), creating the folder. */
export function writeResultsFile(path: string, results: ResultsFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, JSON.stringify(results, null, 1) + "\n");
  renameSync(tmp, path);
}
