// Intervals and bootstraps against values computed independently by test/eval/stats-reference.py
// (mpmath for t quantiles, NumPy percentiles over a Python port of the same seeded resampling).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  tQuantile,
  seedInterval,
  percentile,
  pairedBootstrap,
  hierarchicalBootstrap,
  describeComparison,
  formatSeedInterval,
  EvalInputError,
} from "../../lib/eval/index.ts";
import { Rng } from "../../lib/util/rng.ts";

// Output of `/usr/bin/python3 test/eval/stats-reference.py`.
const REF = {
  rngFirst: [1255788323, 229556502, 1129684417],
  t975: {
    1: 12.706204736174694,
    2: 4.302652729749462,
    3: 3.1824463052837086,
    4: 2.7764451051977934,
    5: 2.5705818356363146,
    9: 2.262157162798205,
    29: 2.045229642132704,
    100: 1.9839715185235518,
  },
  t995_4: 4.604094871349992,
  seeds5: {
    mean: 0.6,
    sd: 0.02738612787525833,
    halfWidth: 0.03400436903291282,
    lo: 0.5659956309670872,
    hi: 0.6340043690329128,
  },
  seeds3_90: {
    mean: 2.38,
    sd: 0.07000000000000006,
    halfWidth: 0.11800981225929356,
    lo: 2.2619901877407065,
    hi: 2.4980098122592937,
  },
  paired: { diff: 0.15, lo: 0.04166666666666668, hi: 0.25833333333333336 },
  paired_seed0: { diff: 0.15, lo: 0.041666666666666664, hi: 0.25833333333333336 },
  hierarchical: { diff: 0.13749999999999998, lo: 0.05515625000000005, hi: 0.22609374999999968 },
};
const A12 = [0.9, 0.3, 1.0, 0.0, 0.6, 0.7, 1.0, 0.2, 0.8, 0.5, 0.4, 1.0];
const B12 = [0.7, 0.3, 0.6, 0.1, 0.6, 0.2, 0.9, 0.0, 0.8, 0.3, 0.5, 0.6];
const HA = [
  [0.5, 0.9, 0.1, 0.7, 0.3, 1.0, 0.6, 0.2],
  [0.4, 1.0, 0.2, 0.6, 0.5, 0.9, 0.6, 0.1],
  [0.7, 0.8, 0.0, 0.9, 0.2, 1.0, 0.4, 0.3],
];
const HB = [
  [0.3, 0.8, 0.1, 0.5, 0.3, 0.7, 0.5, 0.2],
  [0.2, 0.9, 0.0, 0.6, 0.1, 0.8, 0.4, 0.0],
];
const near = (a: number | null, b: number, tol: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("t quantiles and seed intervals match mpmath (jStat is accurate to ~1e-7)", () => {
  for (const [df, q] of Object.entries(REF.t975))
    near(tQuantile(0.975, Number(df)), q, 1e-7 * q, `t(0.975, ${df})`);
  near(tQuantile(0.995, 4), REF.t995_4, 1e-7 * REF.t995_4, "t(0.995, 4)");
  const s = seedInterval([0.61, 0.58, 0.64, 0.6, 0.57]);
  for (const k of ["mean", "sd", "halfWidth", "lo", "hi"] as const)
    near(s[k], REF.seeds5[k], 1e-9, `seeds5.${k}`);
  assert.equal(s.df, 4);
  const s90 = seedInterval([2.31, 2.45, 2.38], 0.9);
  for (const k of ["mean", "sd", "halfWidth", "lo", "hi"] as const)
    near(s90[k], REF.seeds3_90[k], 1e-8, `seeds3_90.${k}`);
  const one = seedInterval([0.7]);
  assert.deepEqual([one.mean, one.sd, one.lo, one.hi], [0.7, null, null, null]);
  assert.equal(formatSeedInterval(s), "0.600 ± 0.034 (mean of 5 seeds, 95% t interval)");
  assert.equal(formatSeedInterval(one), "0.700 (1 seed, no interval)");
  assert.throws(() => seedInterval([]), EvalInputError);
  assert.throws(() => seedInterval([1, NaN]), /value 1 is NaN/);
});

test("the resampling Rng is the Python port's, and percentiles interpolate as NumPy's default", () => {
  const r = new Rng(0);
  assert.deepEqual([r.nextUint32(), r.nextUint32(), r.nextUint32()], REF.rngFirst);
  // np.percentile([1, 2, 4, 8], [0, 25, 50, 90, 100]) = [1, 1.75, 3, 6.8, 8]
  const xs = [1, 2, 4, 8];
  for (const [q, v] of [
    [0, 1],
    [25, 1.75],
    [50, 3],
    [90, 6.8],
    [100, 8],
  ])
    near(percentile(xs, q!), v!, 1e-12, `p${q}`);
});

test("paired bootstrap over items equals the NumPy reference; records are aligned by id", () => {
  for (const [seed, ref] of [
    [7, REF.paired],
    [0, REF.paired_seed0],
  ] as const) {
    const b = pairedBootstrap(A12, B12, { resamples: 2000, seed });
    near(b.diff, ref.diff, 1e-12, "diff");
    near(b.lo, ref.lo, 1e-12, "lo");
    near(b.hi, ref.hi, 1e-12, "hi");
    assert.equal(b.excludesZero, true);
  }
  // The same scores as records, in another key order: the same pairs, so the same result.
  const ids = A12.map((_, i) => `q${i}`);
  const ra = Object.fromEntries(ids.map((id, i) => [id, A12[i]!]));
  const rb = Object.fromEntries([...ids].reverse().map((id) => [id, B12[Number(id.slice(1))]!]));
  const br = pairedBootstrap(ra, rb, { resamples: 2000, seed: 7 });
  near(br.lo, REF.paired.lo, 1e-12, "records lo");
  // Identical systems: difference 0, interval [0, 0], not a difference.
  const same = pairedBootstrap(A12, A12, { resamples: 200 });
  assert.deepEqual([same.diff, same.lo, same.hi, same.excludesZero], [0, 0, 0, false]);
  assert.throws(() => pairedBootstrap(A12, B12.slice(1)), /12 and 11 item scores/);
  assert.throws(() => pairedBootstrap({ a: 1 }, { b: 1 }), /only in A: a; only in B: b/);
  assert.throws(() => pairedBootstrap(A12, B12, { resamples: 0 }), EvalInputError);
});

test("paired bootstrap covers a known mean difference about 95% of the time (a property check)", () => {
  // Items with a true mean difference of 0.1 and noise: over 200 simulated test sets the 95%
  // interval should contain 0.1 in roughly 95% of them (binomial sd ≈ 1.5%; accept 88–99%).
  const rng = new Rng(123);
  let covered = 0;
  for (let t = 0; t < 200; t++) {
    const a = Array.from({ length: 60 }, () => rng.normal() * 0.5 + 0.1),
      b = Array.from({ length: 60 }, () => 0);
    const r = pairedBootstrap(a, b, { resamples: 400, seed: t });
    if (r.lo <= 0.1 && 0.1 <= r.hi) covered++;
  }
  assert.ok(covered >= 176 && covered <= 198, `covered ${covered}/200`);
});

test("hierarchical bootstrap over seeds and items equals the NumPy reference; one seed each is the paired bootstrap", () => {
  const h = hierarchicalBootstrap(HA, HB, { resamples: 1500, seed: 3 });
  near(h.diff, REF.hierarchical.diff, 1e-12, "diff");
  near(h.lo, REF.hierarchical.lo, 1e-12, "lo");
  near(h.hi, REF.hierarchical.hi, 1e-12, "hi");
  assert.deepEqual([h.seedsA, h.seedsB, h.items], [3, 2, 8]);
  const one = hierarchicalBootstrap([A12], [B12], { resamples: 2000, seed: 7 });
  const paired = pairedBootstrap(A12, B12, { resamples: 2000, seed: 7 });
  assert.deepEqual([one.diff, one.lo, one.hi], [paired.diff, paired.lo, paired.hi]);
  assert.throws(() => hierarchicalBootstrap([A12, A12.slice(2)], [B12]), /A seed 1/);
  assert.throws(() => hierarchicalBootstrap([], [B12]), EvalInputError);
});

test("describeComparison writes the sentence from the numbers, for either winner and for losses", () => {
  const r = { diff: 0.0521, lo: 0.0113, hi: 0.0938, excludesZero: true, level: 0.95 };
  assert.equal(
    describeComparison({ x: "random T_p", y: "plain LM", metric: "VQA accuracy", result: r }),
    "random T_p beats plain LM on VQA accuracy by 0.052 (95% CI [0.011, 0.094])",
  );
  assert.equal(
    describeComparison({
      x: "plain LM",
      y: "random T_p",
      metric: "VQA accuracy",
      result: { ...r, diff: -0.0521, lo: -0.0938, hi: -0.0113 },
    }),
    "random T_p beats plain LM on VQA accuracy by 0.052 (95% CI [0.011, 0.094])",
  );
  // Loss: lower is better, so x − y = −0.12 means x wins by 0.12.
  assert.equal(
    describeComparison({
      x: "random T_p",
      y: "plain LM",
      metric: "val loss",
      higherIsBetter: false,
      result: { diff: -0.12, lo: -0.2, hi: -0.05, excludesZero: true, level: 0.95 },
    }),
    "random T_p beats plain LM on val loss by 0.120 (95% CI [0.050, 0.200])",
  );
  assert.equal(
    describeComparison({
      x: "random T_p",
      y: "plain LM",
      metric: "CIDEr-D",
      digits: 2,
      result: { diff: 0.004, lo: -0.03, hi: 0.041, excludesZero: false, level: 0.95 },
    }),
    "no significant difference between random T_p and plain LM on CIDEr-D at this scale (random T_p − plain LM = 0.00, 95% CI [-0.03, 0.04])",
  );
});
