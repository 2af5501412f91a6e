/**
 * The statistics of the evaluation protocol (issue 14): every number with its spread, and a
 * difference called a difference only when its interval excludes zero.
 *
 * - `seedInterval`: mean over training seeds with a Student-t interval, mean ± t_{(1+level)/2, n−1} · s/√n,
 *   s the sample standard deviation (n − 1 in the denominator). The t quantile comes from jStat
 *   (`jStat.studentt.inv`, accurate to ~1e-8 against mpmath in test/eval/stats.test.ts).
 * - `pairedBootstrap`: the difference of two systems' mean per-item scores on the same test items,
 *   with a percentile interval from resampling items with replacement (Efron & Tibshirani 1993,
 *   *An Introduction to the Bootstrap*, ch. 13; paired resampling as in Koehn 2004, "Statistical
 *   significance tests for machine translation evaluation").
 * - `hierarchicalBootstrap`: the same when each system has several training seeds (rules below).
 * - `describeComparison`: the one sentence a notebook may print about a comparison.
 *
 * Resampling is reproducible: the Rng of lib/util (sfc32 seeded by splitmix32), index
 * ⌊u · n⌋ with u = next() — the same draws test/eval/stats-reference.py makes in NumPy — and
 * percentiles by linear interpolation between order statistics (NumPy's default "linear" method).
 *
 * Per-item scores: VQA accuracy per question (`vqaAccuracy(...).perQuestion`), grounded F1 per
 * text (`groundedScores(...).perItem[id].f1`), entailment correctness per item (0/1), and CIDEr-D per
 * image (`captionScores(...).ciderPerImage`). CIDEr-D is corpus-level through its document
 * frequencies; per-image CIDEr-D is computed once with the document frequencies of the whole test
 * set's references, and the bootstrap resamples those fixed per-image values (it does not recompute
 * document frequencies for each resample), so it measures the spread over images at fixed idf.
 */
import { createRequire } from "node:module";
import { Rng } from "../util/rng.ts";
import { EvalInputError } from "./metrics/errors.ts";

const require = createRequire(import.meta.url);
const { jStat } = require("jstat") as {
  jStat: { studentt: { inv(p: number, df: number): number } };
};

/** Quantile p of Student's t distribution with df degrees of freedom (jStat). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new EvalInputError(`tQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new EvalInputError(`tQuantile: df must be > 0, got ${df}`);
  return jStat.studentt.inv(p, df);
}

function checkLevel(level: number, what: string): void {
  if (!(level > 0 && level < 1))
    throw new EvalInputError(`${what}: level must be in (0, 1), got ${level}`);
}
function checkFinite(xs: readonly number[], what: string): void {
  xs.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new EvalInputError(`${what}: value ${i} is ${v}, expected a finite number`);
  });
}
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface SeedInterval {
  /** Seeds (values) averaged. */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 denominator); null for one seed. */
  sd: number | null;
  /** t_{(1+level)/2, n−1} · sd / √n and the interval mean ∓ it; null for one seed (no spread to estimate). */
  halfWidth: number | null;
  lo: number | null;
  hi: number | null;
  df: number | null;
  level: number;
  values: number[];
}

/** Mean and Student-t interval of one metric over training seeds (one value per seed). */
export function seedInterval(values: readonly number[], level = 0.95): SeedInterval {
  if (!Array.isArray(values) || values.length === 0)
    throw new EvalInputError("seedInterval: needs at least one value (one per seed)");
  checkFinite(values, "seedInterval");
  checkLevel(level, "seedInterval");
  const n = values.length,
    m = mean(values);
  if (n === 1)
    return {
      n,
      mean: m,
      sd: null,
      halfWidth: null,
      lo: null,
      hi: null,
      df: null,
      level,
      values: [...values],
    };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (n - 1));
  const halfWidth = (tQuantile((1 + level) / 2, n - 1) * sd) / Math.sqrt(n);
  return {
    n,
    mean: m,
    sd,
    halfWidth,
    lo: m - halfWidth,
    hi: m + halfWidth,
    df: n - 1,
    level,
    values: [...values],
  };
}

/** Percentile q ∈ [0, 100] of ascending `sorted` values, linear between order statistics (NumPy's default). */
export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) throw new EvalInputError("percentile: no values");
  const h = (sorted.length - 1) * (q / 100),
    lo = Math.floor(h),
    hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface BootstrapOptions {
  /** Resamples (default 10,000). */
  resamples?: number;
  /** Rng seed of the resampling (default 0): the same inputs and seed give the same interval. */
  seed?: number;
  /** Interval level (default 0.95): the (1 − level)/2 and (1 + level)/2 percentiles. */
  level?: number;
}

export interface BootstrapDiff {
  /** mean(A) − mean(B) over the items (and seeds). */
  diff: number;
  meanA: number;
  meanB: number;
  /** Percentile interval of the resampled differences. */
  lo: number;
  hi: number;
  /** lo > 0 or hi < 0: the only case a notebook may call a difference. */
  excludesZero: boolean;
  level: number;
  resamples: number;
  seed: number;
  /** Items (and, for the hierarchical bootstrap, seeds per system). */
  items: number;
  seedsA?: number;
  seedsB?: number;
}

type Scores = readonly number[] | Readonly<Record<string, number>>;

/** Two per-item score lists aligned by item (arrays by index, records by id; the ids must agree). */
function align(a: Scores, b: Scores, what: string): { ids: string[]; a: number[]; b: number[] } {
  if (Array.isArray(a) !== Array.isArray(b))
    throw new EvalInputError(
      `${what}: pass both systems' scores as arrays or both as records keyed by item id`,
    );
  if (Array.isArray(a)) {
    const bb = b as readonly number[];
    if (a.length !== bb.length)
      throw new EvalInputError(
        `${what}: the systems have ${a.length} and ${bb.length} item scores; paired scores need the same items`,
      );
    return { ids: a.map((_, i) => String(i)), a: [...a], b: [...bb] };
  }
  const ra = a as Readonly<Record<string, number>>,
    rb = b as Readonly<Record<string, number>>;
  const ids = Object.keys(ra),
    onlyA = ids.filter((id) => !(id in rb)),
    onlyB = Object.keys(rb).filter((id) => !(id in ra));
  if (onlyA.length || onlyB.length)
    throw new EvalInputError(
      `${what}: paired scores need the same item ids; only in A: ${onlyA.slice(0, 10).join(", ") || "none"}; only in B: ${onlyB.slice(0, 10).join(", ") || "none"}`,
    );
  return { ids, a: ids.map((id) => ra[id]!), b: ids.map((id) => rb[id]!) };
}

/** A bootstrap's options with their defaults (10 000 resamples, seed 0, 95%), checked; errors name `what`. */
export function bootstrapOptions(opts: BootstrapOptions, what: string): Required<BootstrapOptions> {
  const o = {
    resamples: opts.resamples ?? 10_000,
    seed: opts.seed ?? 0,
    level: opts.level ?? 0.95,
  };
  if (!Number.isInteger(o.resamples) || o.resamples < 1)
    throw new EvalInputError(`${what}: resamples must be an integer ≥ 1, got ${o.resamples}`);
  if (!Number.isInteger(o.seed))
    throw new EvalInputError(`${what}: seed must be an integer, got ${o.seed}`);
  checkLevel(o.level, what);
  return o;
}

function interval(stats: number[], o: Required<BootstrapOptions>): { lo: number; hi: number } {
  stats.sort((x, y) => x - y);
  return {
    lo: percentile(stats, ((1 - o.level) / 2) * 100),
    hi: percentile(stats, ((1 + o.level) / 2) * 100),
  };
}

/**
 * Paired bootstrap over test items of mean(A) − mean(B), where a[i] and b[i] are the two systems'
 * scores on the same item i. Each resample draws n item indices ⌊u·n⌋ (u = Rng(seed).next(), in
 * order) and takes the mean of a − b over them; the interval is the percentile interval.
 */
export function pairedBootstrap(a: Scores, b: Scores, opts: BootstrapOptions = {}): BootstrapDiff {
  const o = bootstrapOptions(opts, "pairedBootstrap");
  const x = align(a, b, "pairedBootstrap");
  const n = x.a.length;
  if (!n) throw new EvalInputError("pairedBootstrap: no items");
  checkFinite(x.a, "pairedBootstrap (A)");
  checkFinite(x.b, "pairedBootstrap (B)");
  const d = x.a.map((v, i) => v - x.b[i]!);
  const rng = new Rng(o.seed);
  const stats: number[] = [];
  for (let r = 0; r < o.resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rng.next() * n)]!;
    stats.push(s / n);
  }
  const { lo, hi } = interval(stats, o);
  return {
    diff: mean(d),
    meanA: mean(x.a),
    meanB: mean(x.b),
    lo,
    hi,
    excludesZero: lo > 0 || hi < 0,
    level: o.level,
    resamples: o.resamples,
    seed: o.seed,
    items: n,
  };
}

/**
 * Bootstrap of mean(A) − mean(B) when each system was trained with several seeds and scored on the
 * same test items: `a[s]` holds seed s's per-item scores (arrays by index or records by item id,
 * the same items for every seed of both systems).
 *
 * Choice: a two-level (hierarchical) bootstrap — each resample draws the seeds of A and of B with
 * replacement (independently: a seed is not a shared unit between two different systems) and the
 * items with replacement (shared: both systems answer the same items), and takes the mean over the
 * drawn items of (mean of A's drawn seeds − mean of B's drawn seeds). It carries both sources of
 * variation a claim "A beats B" must survive: other training runs and other test items. Averaging
 * seeds first and bootstrapping items only would ignore the spread between training runs, which at
 * this scale is often the larger one (Ren et al. 2010, "Nonparametric bootstrapping for
 * hierarchical data", J. Applied Statistics 37(9); Davison & Hinkley 1997, §3.8). With one seed per
 * system no seed is drawn and the result equals `pairedBootstrap` with the same options. With few
 * seeds (3–5) the seed level is resampled coarsely and the interval tends to be narrow: report the
 * per-seed interval (`seedInterval`) beside it.
 *
 * Draw order per resample (for the NumPy reference): A's seeds (when > 1, each ⌊u·S_A⌋), B's seeds,
 * then the items (each ⌊u·n⌋).
 */
export function hierarchicalBootstrap(
  a: readonly Scores[],
  b: readonly Scores[],
  opts: BootstrapOptions = {},
): BootstrapDiff {
  const o = bootstrapOptions(opts, "hierarchicalBootstrap");
  if (!Array.isArray(a) || !Array.isArray(b) || !a.length || !b.length)
    throw new EvalInputError(
      "hierarchicalBootstrap: needs at least one seed's scores per system (arrays of per-item scores)",
    );
  const ref = align(a[0]!, b[0]!, "hierarchicalBootstrap (seed 0)");
  // Every seed's scores as a vector over A seed 0's items, in its order.
  const rows = (xs: readonly Scores[], name: string) =>
    xs.map((s, k) => {
      const what = `hierarchicalBootstrap (${name} seed ${k})`;
      const r = Array.isArray(s)
        ? align(s, ref.a, what).a
        : (align(s, a[0]!, what),
          ref.ids.map((id) => (s as Readonly<Record<string, number>>)[id]!));
      checkFinite(r, what);
      return r;
    });
  const A = rows(a, "A"),
    B = rows(b, "B"),
    n = ref.ids.length,
    SA = A.length,
    SB = B.length;
  if (!n) throw new EvalInputError("hierarchicalBootstrap: no items");
  const seedMean = (m: number[][], i: number, seeds: number[]) => {
    let s = 0;
    for (const k of seeds) s += m[k]![i]!;
    return s / seeds.length;
  };
  const all = (S: number) => Array.from({ length: S }, (_, k) => k);
  const d = Array.from({ length: n }, (_, i) => seedMean(A, i, all(SA)) - seedMean(B, i, all(SB)));
  const rng = new Rng(o.seed);
  const draw = (S: number) =>
    S > 1 ? Array.from({ length: S }, () => Math.floor(rng.next() * S)) : [0];
  const stats: number[] = [];
  for (let r = 0; r < o.resamples; r++) {
    const sa = draw(SA),
      sb = draw(SB);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rng.next() * n);
      s += SA === 1 && SB === 1 ? d[k]! : seedMean(A, k, sa) - seedMean(B, k, sb);
    }
    stats.push(s / n);
  }
  const { lo, hi } = interval(stats, o);
  const meanA = mean(A.map(mean)),
    meanB = mean(B.map(mean));
  return {
    diff: mean(d),
    meanA,
    meanB,
    lo,
    hi,
    excludesZero: lo > 0 || hi < 0,
    level: o.level,
    resamples: o.resamples,
    seed: o.seed,
    items: n,
    seedsA: SA,
    seedsB: SB,
  };
}

export interface ComparisonText {
  /** Names of the two systems, as the reader knows them ("random T_p", "plain LM"). */
  x: string;
  y: string;
  /** The metric's name ("VQA accuracy", "val loss (nats/token)"). */
  metric: string;
  /** A bootstrap result for x − y. */
  result: Pick<BootstrapDiff, "diff" | "lo" | "hi" | "excludesZero" | "level">;
  /** Default true; false for losses (lower is better, and "beats" means lower). */
  higherIsBetter?: boolean;
  /** Decimals printed (default 3). */
  digits?: number;
}

/**
 * The sentence a notebook may print about a comparison, generated from the numbers:
 * "X beats Y on M by d (95% CI [a, b])" — d and the interval are the winner's advantage — when the
 * interval excludes zero, else "no significant difference between X and Y on M at this scale
 * (X − Y = d, 95% CI [a, b])".
 */
export function describeComparison(c: ComparisonText): string {
  const { diff, lo, hi, excludesZero, level } = c.result;
  const digits = c.digits ?? 3;
  const fmt = (v: number) => {
    const s = v.toFixed(digits);
    return Number(s) === 0 ? (0).toFixed(digits) : s;
  };
  const pct = `${Math.round(level * 1000) / 10}% CI`;
  if (!excludesZero)
    return `no significant difference between ${c.x} and ${c.y} on ${c.metric} at this scale (${c.x} − ${c.y} = ${fmt(diff)}, ${pct} [${fmt(lo)}, ${fmt(hi)}])`;
  // The winner's advantage, oriented so that positive means "better".
  const sign = c.higherIsBetter === false ? -1 : 1;
  const xWins = sign * diff > 0;
  const [w, l] = xWins ? [c.x, c.y] : [c.y, c.x];
  const s = xWins ? sign : -sign;
  const [a, b] = [s * lo, s * hi].sort((p, q) => p - q);
  return `${w} beats ${l} on ${c.metric} by ${fmt(Math.abs(diff))} (${pct} [${fmt(a!)}, ${fmt(b!)}])`;
}

/** "0.512 ± 0.034 (mean of 5 seeds, 95% t interval)" or "0.512 (1 seed, no interval)". */
export function formatSeedInterval(s: SeedInterval, digits = 3): string {
  if (s.halfWidth === null) return `${s.mean.toFixed(digits)} (1 seed, no interval)`;
  return `${s.mean.toFixed(digits)} ± ${s.halfWidth.toFixed(digits)} (mean of ${s.n} seeds, ${Math.round(s.level * 1000) / 10}% t interval)`;
}
