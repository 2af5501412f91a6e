/**
 * Bootstrap intervals for any statistic of the test items — corpus BLEU-4, micro-averaged object F1,
 * count accuracy, CIDEr-D — not only for means of per-item scores (stats.ts handles those).
 *
 * A statistic is a function of a multiset of item indices: `stat(idx)` recomputes the metric on the
 * items `idx` (with repeats), e.g. BLEU-4 from the summed per-caption statistics of those items, or
 * Σ matched / Σ named for object precision. The resampling is the one of stats.ts, draw for draw:
 *
 * - `statisticInterval(n, a)`: the percentile interval of one system's statistic (Efron &
 *   Tibshirani 1993, ch. 13). With one training seed it resamples the n items; with several (a[s]
 *   is seed s's statistic) each resample also draws the seeds with replacement and averages the
 *   statistic over them (the two-level bootstrap of stats.ts `hierarchicalBootstrap`).
 * - `statisticDifference(n, a, b)`: statistic(A) − statistic(B) on the same resampled items (paired),
 *   seeds drawn for each system independently. For statistics that are means of per-item scores it
 *   gives exactly `pairedBootstrap` (one seed each) or `hierarchicalBootstrap` (several), the same
 *   draws in the same order: A's seeds (when > 1), B's seeds (when > 1), then the items ⌊u·n⌋.
 *
 * A statistic may be undefined on a resample (precision when the drawn texts name nothing, count
 * accuracy when none states a count): it returns NaN and that resample is dropped; `dropped` says
 * how many were. The point estimate is the mean over seeds of the statistic on all items.
 */
import { Rng } from "../util/rng.ts";
import {
  bootstrapOptions,
  percentile,
  type BootstrapDiff,
  type BootstrapOptions,
} from "./stats.ts";
import { EvalInputError } from "./metrics/errors.ts";

/** A metric recomputed on a multiset of item indices (NaN where it is undefined). */
export type ItemStatistic = (idx: readonly number[]) => number;

export interface StatisticInterval {
  /** Mean over seeds of the statistic on all items (NaN when undefined). */
  value: number;
  lo: number;
  hi: number;
  level: number;
  resamples: number;
  /** Resamples on which the statistic was undefined (left out of the percentiles). */
  dropped: number;
  seed: number;
  items: number;
  seeds: number;
}

function check(n: number, systems: readonly (readonly ItemStatistic[])[], what: string): void {
  if (!Number.isInteger(n) || n < 1)
    throw new EvalInputError(`${what}: needs at least one item, got n = ${n}`);
  for (const s of systems)
    if (!Array.isArray(s) || !s.length || s.some((f) => typeof f !== "function"))
      throw new EvalInputError(
        `${what}: give each system one statistic function per training seed (at least one)`,
      );
}

const meanOver = (
  fs: readonly ItemStatistic[],
  seeds: readonly number[],
  idx: readonly number[],
) => {
  let s = 0;
  for (const k of seeds) s += fs[k]!(idx);
  return s / seeds.length;
};
const allSeeds = (S: number) => Array.from({ length: S }, (_, k) => k);

function run(
  n: number,
  systems: readonly (readonly ItemStatistic[])[],
  o: Required<BootstrapOptions>,
  combine: (v: number[]) => number,
) {
  const rng = new Rng(o.seed);
  const draw = (S: number) =>
    S > 1 ? Array.from({ length: S }, () => Math.floor(rng.next() * S)) : [0];
  const stats: number[] = [];
  let dropped = 0;
  const idx = new Array<number>(n);
  for (let r = 0; r < o.resamples; r++) {
    const seeds = systems.map((s) => draw(s.length));
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng.next() * n);
    const v = combine(systems.map((s, j) => meanOver(s, seeds[j]!, idx)));
    if (Number.isFinite(v)) stats.push(v);
    else dropped++;
  }
  stats.sort((x, y) => x - y);
  const lo = stats.length ? percentile(stats, ((1 - o.level) / 2) * 100) : NaN;
  const hi = stats.length ? percentile(stats, ((1 + o.level) / 2) * 100) : NaN;
  return { lo, hi, dropped };
}

/** Percentile bootstrap interval of one system's statistic over the n test items (and its seeds). */
export function statisticInterval(
  n: number,
  a: readonly ItemStatistic[],
  opts: BootstrapOptions = {},
): StatisticInterval {
  const o = bootstrapOptions(opts, "statisticInterval");
  check(n, [a], "statisticInterval");
  const all = allSeeds(n);
  const value = meanOver(a, allSeeds(a.length), all);
  const { lo, hi, dropped } = run(n, [a], o, ([x]) => x!);
  return {
    value,
    lo,
    hi,
    level: o.level,
    resamples: o.resamples,
    dropped,
    seed: o.seed,
    items: n,
    seeds: a.length,
  };
}

/** Paired bootstrap of statistic(A) − statistic(B) on the same n test items (seeds drawn per system). */
export function statisticDifference(
  n: number,
  a: readonly ItemStatistic[],
  b: readonly ItemStatistic[],
  opts: BootstrapOptions = {},
): BootstrapDiff & { dropped: number } {
  const o = bootstrapOptions(opts, "statisticDifference");
  check(n, [a, b], "statisticDifference");
  const all = allSeeds(n);
  const meanA = meanOver(a, allSeeds(a.length), all),
    meanB = meanOver(b, allSeeds(b.length), all);
  const { lo, hi, dropped } = run(n, [a, b], o, ([x, y]) => x! - y!);
  return {
    diff: meanA - meanB,
    meanA,
    meanB,
    lo,
    hi,
    excludesZero: lo > 0 || hi < 0,
    level: o.level,
    resamples: o.resamples,
    seed: o.seed,
    items: n,
    seedsA: a.length,
    seedsB: b.length,
    dropped,
  };
}

/** The statistic "mean of these per-item scores" (VQA accuracy per question, entailment 0/1, CIDEr-D per image). */
export function meanStatistic(scores: readonly number[]): ItemStatistic {
  return (idx) => {
    let s = 0;
    for (const i of idx) s += scores[i]!;
    return s / idx.length;
  };
}
