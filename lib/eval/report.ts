/**
 * From per-item statistics to the entries of a results file (results.ts) and back to what a notebook
 * prints: a metric with its interval, a comparison with its generated sentence, a table, and the
 * verdict of a paper claim. Nothing here types a result: every string is made from the numbers.
 *
 * Intervals: with several training seeds a metric carries the Student-t interval over seeds
 * (seedInterval) and, beside it, the two-level bootstrap over seeds and test items; with one seed
 * only the percentile bootstrap over test items exists (`itemInterval`), and tables say which one
 * they show. Comparisons always use the paired (or two-level) bootstrap of item-bootstrap.ts.
 */
import { describeComparison, type BootstrapOptions } from "./stats.ts";
import {
  isNotApplicable,
  seedMetric,
  type ClaimRecord,
  type ComparisonRecord,
  type MetricEntry,
  type NotApplicable,
  type ResultsFile,
  type SeedMetric,
} from "./results.ts";
import { statisticDifference, statisticInterval, type ItemStatistic } from "./item-bootstrap.ts";

/** The bootstrap interval over test items (and seeds) stored with a metric. */
export interface ItemInterval {
  lo: number;
  hi: number;
  level: number;
  resamples: number;
  dropped: number;
  method: string;
}
/** A metric entry of the protocol: per-seed values, t-interval over seeds, and the item bootstrap interval. */
export type ReportedMetric = SeedMetric & { itemInterval?: ItemInterval };
/** A comparison record that also says which direction is better (for verdicts). */
export type ProtocolComparison = ComparisonRecord & { higherIsBetter: boolean };

const ALL = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * One metric of one system: `perSeed[s]` recomputes it on test items for training seed s. Returns
 * `{ na }` (with `na` as the reason) when the metric is undefined on the whole test set.
 */
export function reportMetric(
  n: number,
  perSeed: readonly ItemStatistic[],
  opts: { higherIsBetter?: boolean; unit?: string; bootstrap?: BootstrapOptions; na?: string } = {},
): ReportedMetric | NotApplicable {
  const values = perSeed.map((f) => f(ALL(n)));
  if (values.some((v) => !Number.isFinite(v)))
    return { na: opts.na ?? "undefined on these test items" };
  const iv = statisticInterval(n, perSeed, opts.bootstrap);
  const method =
    perSeed.length > 1
      ? `two-level bootstrap over ${perSeed.length} seeds × ${n} test items`
      : `percentile bootstrap over ${n} test items`;
  const entry: ReportedMetric = {
    ...seedMetric(values, { higherIsBetter: opts.higherIsBetter, unit: opts.unit }),
    itemInterval: {
      lo: iv.lo,
      hi: iv.hi,
      level: iv.level,
      resamples: iv.resamples,
      dropped: iv.dropped,
      method,
    },
  };
  return entry;
}

/** A system in a comparison: its name and one statistic per training seed. */
export interface ComparedSystem {
  name: string;
  stats: readonly ItemStatistic[];
}

/** Compare x with y on one metric over the same n test items: the bootstrap and its sentence. */
export function compareSystems(
  n: number,
  x: ComparedSystem,
  y: ComparedSystem,
  metric: string,
  opts: { higherIsBetter?: boolean; bootstrap?: BootstrapOptions; digits?: number } = {},
): ProtocolComparison {
  const higherIsBetter = opts.higherIsBetter ?? true;
  const result = statisticDifference(n, x.stats, y.stats, opts.bootstrap);
  const seeds = Math.max(x.stats.length, y.stats.length);
  const method =
    seeds > 1
      ? `paired two-level bootstrap over seeds (${x.stats.length} vs ${y.stats.length}) × ${n} test items, ${result.resamples} resamples`
      : `paired bootstrap over ${n} test items, ${result.resamples} resamples`;
  const sentence = Number.isFinite(result.lo)
    ? describeComparison({
        x: x.name,
        y: y.name,
        metric,
        result,
        higherIsBetter,
        digits: opts.digits,
      })
    : `${metric} is undefined for ${x.name} or ${y.name} on these items; no comparison`;
  return { x: x.name, y: y.name, metric, method, result, sentence, higherIsBetter };
}

/** Whether x beats y in a comparison (interval excludes zero, in x's favour). */
export function xWins(c: ProtocolComparison): boolean {
  return c.result.excludesZero && (c.higherIsBetter ? c.result.diff > 0 : c.result.diff < 0);
}
/** Whether y beats x in a comparison. */
export function yWins(c: ProtocolComparison): boolean {
  return c.result.excludesZero && (c.higherIsBetter ? c.result.diff < 0 : c.result.diff > 0);
}

/**
 * The verdict on a claim "x beats y" checked by comparisons: reproduced when x wins every one, not
 * reproduced when y wins any, otherwise inconclusive at this scale.
 */
export function claimVerdict(comparisons: readonly ProtocolComparison[]): ClaimRecord["verdict"] {
  if (!comparisons.length) return "not tested";
  if (comparisons.some(yWins)) return "not reproduced";
  if (comparisons.every(xWins)) return "reproduced";
  return "inconclusive at this scale";
}

/** "0.512 [0.480, 0.545]" (one seed: bootstrap over items), "0.512 ± 0.030" (seeds: t interval), or "n/a (reason)". */
export function formatMetric(entry: MetricEntry | undefined, digits = 3): string {
  if (!entry) return "–";
  if (isNotApplicable(entry)) return `n/a (${entry.na})`;
  const e = entry as ReportedMetric,
    f = (v: number) => v.toFixed(digits);
  if (e.halfWidth !== null) return `${f(e.mean)} ± ${f(e.halfWidth)}`;
  if (e.itemInterval && Number.isFinite(e.itemInterval.lo))
    return `${f(e.mean)} [${f(e.itemInterval.lo)}, ${f(e.itemInterval.hi)}]`;
  return f(e.mean);
}

/** The mean of a metric entry, or undefined when it is n/a or missing. */
export function metricMean(
  results: Pick<ResultsFile, "metrics">,
  system: string,
  metric: string,
): number | undefined {
  const e = results.metrics[system]?.[metric];
  return e && !isNotApplicable(e) ? e.mean : undefined;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A markdown table of systems (rows) × metrics (columns) drawn from a results file. */
export function metricsTable(
  results: Pick<ResultsFile, "metrics">,
  systems: readonly string[],
  columns: readonly { key: string; label: string }[],
  digits = 3,
): string {
  const head = `| system | ${columns.map((c) => cell(c.label)).join(" | ")} |`;
  const rule = `|---|${columns.map(() => "---").join("|")}|`;
  const rows = systems.map(
    (s) =>
      `| ${cell(s)} | ${columns.map((c) => cell(formatMetric(results.metrics[s]?.[c.key], digits))).join(" | ")} |`,
  );
  return [head, rule, ...rows].join("\n");
}

/** The sentence that says how a table's intervals were obtained, from the entries themselves. */
export function intervalNote(results: Pick<ResultsFile, "metrics" | "seeds">): string {
  const seeds = results.seeds.length;
  return seeds > 1
    ? `Values are means over ${seeds} training seeds ± the half-width of the 95% Student-t interval over seeds; comparisons use a paired two-level bootstrap over seeds and test items.`
    : `One training seed, so no spread over seeds can be measured: values carry a 95% percentile bootstrap interval over test items [lo, hi], and comparisons a paired bootstrap over the same items. These intervals say how much the test set could move the number, not how much another training run would.`;
}
