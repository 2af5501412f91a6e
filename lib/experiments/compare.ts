/**
 * Comparisons between two rows of a runs table (two arms, or an arm and a blind baseline) on one
 * metric, as the results file records them (lib/eval/results.ts ComparisonRecord) with the only
 * sentence a notebook may print about them (stats.describeComparison: a difference is called one
 * only when its 95% interval excludes zero).
 *
 * Which interval:
 * - **Per-item metrics** (every run of both rows stores per-item scores: CIDEr-D per image, object
 *   F1 per image, VQA accuracy per question, entailment correctness per item, loss per example):
 *   the hierarchical bootstrap over seeds × items (stats.hierarchicalBootstrap; a baseline is one
 *   "seed"). The difference is that of the metric itself, since each of these metrics is the mean of
 *   its per-item scores.
 * - **Corpus-level metrics without per-item scores** (losses per token and per character, BLEU-4,
 *   micro object P/R/F1, count accuracy): the seed-level interval — Welch's t-interval for the
 *   difference of the two rows' means over their seeds (a baseline counts as a constant). With no
 *   spread to estimate (one seed on each side) there is no interval and no difference is called.
 */
import {
  describeComparison,
  hierarchicalBootstrap,
  tQuantile,
  type BootstrapDiff,
} from "../eval/stats.ts";
import type { ComparisonRecord } from "../eval/results.ts";
import { metricInfo } from "../eval/protocol.ts";
import { EvalInputError } from "../eval/metrics/errors.ts";
import type { RunsTable } from "./table.ts";

export interface CompareOptions {
  /** Names printed for the two rows and the metric (default: the labels and the metric's label). */
  names?: { x?: string; y?: string; metric?: string };
  /** Default: the metric's (lib/eval/protocol.ts), losses lower-is-better. */
  higherIsBetter?: boolean;
  resamples?: number;
  seed?: number;
  level?: number;
  digits?: number;
}

interface Side {
  label: string;
  values: number[];
  items?: Record<string, number>[];
  baseline: boolean;
}

function side(table: RunsTable, label: string, metric: string): Side {
  const runs = table.runsOf(label);
  if (runs.length) {
    const na = runs.map((r) => r.na?.[metric]).find((x) => x);
    const values = runs
      .map((r) => r.metrics[metric])
      .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    if (values.length !== runs.length)
      throw new EvalInputError(
        `compare: "${label}" has no ${metric} for ${runs.length - values.length} of its ${runs.length} runs${na ? ` (n/a: ${na})` : ""}`,
      );
    const items = runs.map((r) => r.items?.[metric]);
    return {
      label,
      values,
      ...(items.every((x) => x && Object.keys(x).length)
        ? { items: items as Record<string, number>[] }
        : {}),
      baseline: false,
    };
  }
  const b = table.baseline(label);
  if (!b)
    throw new EvalInputError(
      `compare: no arm or baseline named "${label}" (arms: ${table.labels().join(", ")}; baselines: ${table.baselines.map((x) => x.label).join(", ") || "none"})`,
    );
  const v = b.metrics[metric];
  if (typeof v !== "number")
    throw new EvalInputError(
      `compare: baseline "${label}" has no ${metric}${b.na?.[metric] ? ` (n/a: ${b.na[metric]})` : ""}`,
    );
  const items = b.items?.[metric];
  return {
    label,
    values: [v],
    ...(items && Object.keys(items).length ? { items: [items] } : {}),
    baseline: true,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, v) => a + (v - m) ** 2, 0) / (xs.length - 1);
};

/** Welch's t-interval for mean(a) − mean(b) over seeds; a side with one value (a baseline) is a constant. */
export function welchInterval(
  a: number[],
  b: number[],
  level = 0.95,
): Pick<BootstrapDiff, "diff" | "meanA" | "meanB" | "lo" | "hi" | "excludesZero" | "level"> & {
  df: number | null;
} {
  const diff = mean(a) - mean(b);
  const va = a.length > 1 ? variance(a) / a.length : 0,
    vb = b.length > 1 ? variance(b) / b.length : 0;
  const dfs = [a.length > 1 ? a.length - 1 : 0, b.length > 1 ? b.length - 1 : 0];
  if (!dfs[0] && !dfs[1])
    return {
      diff,
      meanA: mean(a),
      meanB: mean(b),
      lo: NaN,
      hi: NaN,
      excludesZero: false,
      level,
      df: null,
    };
  const se2 = va + vb;
  // Welch–Satterthwaite degrees of freedom (terms of a constant side drop out).
  const df =
    se2 === 0
      ? Math.max(dfs[0]!, dfs[1]!)
      : se2 ** 2 / ((dfs[0] ? va ** 2 / dfs[0] : 0) + (dfs[1] ? vb ** 2 / dfs[1] : 0));
  const h = tQuantile((1 + level) / 2, df) * Math.sqrt(se2);
  return {
    diff,
    meanA: mean(a),
    meanB: mean(b),
    lo: diff - h,
    hi: diff + h,
    excludesZero: diff - h > 0 || diff + h < 0,
    level,
    df,
  };
}

/**
 * Compare rows `x` and `y` of the table (arm or baseline labels) on `metric`; the interval is chosen
 * as the file comment says, and the record's `method` names it.
 */
export function compareArms(
  table: RunsTable,
  x: string,
  y: string,
  metric: string,
  opts: CompareOptions = {},
): ComparisonRecord {
  const a = side(table, x, metric),
    b = side(table, y, metric);
  const info = metricInfo(metric);
  const higherIsBetter = opts.higherIsBetter ?? info.higherIsBetter;
  const names = {
    x: opts.names?.x ?? x,
    y: opts.names?.y ?? y,
    metric: opts.names?.metric ?? info.label,
  };
  const seedsOf = (s: Side) =>
    s.baseline ? "a baseline" : `${s.values.length} seed${s.values.length > 1 ? "s" : ""}`;
  let result: BootstrapDiff, method: string;
  if (a.items && b.items) {
    result = hierarchicalBootstrap(a.items, b.items, {
      resamples: opts.resamples,
      seed: opts.seed,
      level: opts.level,
    });
    method = `hierarchical bootstrap over seeds × ${result.items} test items (${names.x}: ${seedsOf(a)}; ${names.y}: ${seedsOf(b)}; ${result.resamples} resamples)`;
  } else {
    const w = welchInterval(a.values, b.values, opts.level ?? 0.95);
    result = {
      ...w,
      resamples: 0,
      seed: 0,
      items: 0,
      seedsA: a.values.length,
      seedsB: b.values.length,
    };
    method =
      w.df === null
        ? `seed-level interval: none (one value on each side, no per-item scores for ${metric})`
        : `seed-level Welch t-interval over seeds, df ${w.df.toFixed(1)} (no per-item scores for ${metric}; ${names.x}: ${seedsOf(a)}; ${names.y}: ${seedsOf(b)})`;
  }
  const digits = opts.digits ?? 3;
  const sentence = Number.isNaN(result.lo)
    ? `${names.x} vs ${names.y} on ${names.metric}: ${names.x} − ${names.y} = ${result.diff.toFixed(digits)}, no interval (one seed on each side and no per-item scores), so no difference can be claimed`
    : describeComparison({
        x: names.x,
        y: names.y,
        metric: names.metric,
        result,
        higherIsBetter,
        digits,
      });
  return { x: names.x, y: names.y, metric, method, result, sentence };
}
