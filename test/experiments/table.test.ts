// The runs table and comparisons on hand-built results: the 95% t-interval over seeds and the mean
// time per run, n/a cells with their reason, baseline rows, results-file entries, and the comparison
// record (hierarchical bootstrap with per-item scores, Welch's seed-level interval without). Interval
// fixtures were computed with mpmath (t quantiles by root-finding on the regularized incomplete beta,
// as test/eval/stats-reference.py does) and typed in.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RunsTable,
  compareArms,
  type RunResult,
  type GridBaseline,
} from "../../lib/experiments/index.ts";
import { describeComparison, hierarchicalBootstrap } from "../../lib/eval/index.ts";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

function run(
  label: string,
  seed: number,
  metrics: Record<string, number>,
  extra: Partial<RunResult> = {},
): RunResult {
  return {
    key: `${label}-${seed}`,
    run: "x",
    label,
    params: {},
    diff: {},
    seed,
    codeVersion: "v",
    metrics,
    startedAt: "",
    finishedAt: "",
    seconds: 0,
    ...extra,
  };
}

const SPAN_WHY = "span corruption never learns to write a text";
const rows: RunResult[] = [
  run("A", 0, { vqa: 0.5, loss_tp0_token: 1 }, { seconds: 10, items: { vqa: { q1: 1, q2: 0 } } }),
  run("A", 1, { vqa: 0.6, loss_tp0_token: 2 }, { seconds: 20, items: { vqa: { q1: 1, q2: 0.2 } } }),
  run("A", 2, { vqa: 0.7, loss_tp0_token: 3 }, { seconds: 30, items: { vqa: { q1: 1, q2: 0.4 } } }),
  run("B", 0, { vqa: 0.1, loss_tp0_token: 2 }, { seconds: 5, items: { vqa: { q1: 0, q2: 0.2 } } }),
  run("B", 1, { vqa: 0.2, loss_tp0_token: 4 }, { seconds: 7, items: { vqa: { q1: 0.4, q2: 0 } } }),
  run("B", 2, { vqa: 0.3, loss_tp0_token: 6 }, { seconds: 9, items: { vqa: { q1: 0.6, q2: 0 } } }),
  run(
    "span",
    0,
    { vqa: 0.4 },
    { seconds: 4, na: { loss_tp0_token: SPAN_WHY }, items: { vqa: { q1: 0.8, q2: 0 } } },
  ),
];
const baselines: GridBaseline[] = [
  {
    label: "baseline: prior",
    metrics: { vqa: 0.25, loss_tp0_token: 1 },
    items: { vqa: { q1: 0.5, q2: 0 } },
  },
];
const table = new RunsTable(rows, {}, baselines);

test("summary: mean and 95% t-interval over seeds, mean time per run, n/a with its reason", () => {
  const a = table.summary().find((s) => s.label === "A")!;
  assert.equal(a.seeds, 3);
  close(a.metrics.vqa!.mean, 0.6);
  close(a.metrics.vqa!.halfWidth!, 0.24841377117503299, 1e-9); // t(0.975, 2) · 0.1 / √3 (jStat: ~1e-8 relative)
  close(a.metrics.vqa!.lo!, 0.6 - 0.24841377117503299, 1e-9);
  close(a.metrics.vqa!.std, 0.1, 1e-12);
  assert.equal(a.seconds, 20, "time is the mean per run, not the sum over seeds");
  assert.equal(a.secondsTotal, 60);
  const span = table.summary().find((s) => s.label === "span")!;
  assert.equal(span.metrics.loss_tp0_token, undefined);
  assert.equal(span.na.loss_tp0_token, SPAN_WHY);
  assert.equal(span.metrics.vqa!.halfWidth, null, "one seed: no interval");
});

test("rendering: interval cells, n/a footnotes, baseline rows, time per run", () => {
  const md = table.toMarkdown({ metrics: ["vqa", "loss_tp0_token"] });
  assert.match(md, /\| A \| 3 \| 0\.600 ± 0\.248 \| 2\.000 ± 2\.484 \| 20\.0 \|/);
  assert.match(md, /\| span \| 1 \| 0\.400 \(1 seed\) \| n\/a \[1\] \| 4\.0 \|/);
  assert.match(md, /\[1\] span corruption never learns to write a text/);
  assert.match(md, /\| baseline: prior \| — \| 0\.250 \| 1\.000 \| — \|/);
  assert.match(md, /time\/run \(s\)/);
  assert.doesNotMatch(md, /mean ± sd/);
  const html = table.select(["vqa"]).toHtml();
  assert.match(html, /<table/);
  assert.match(html, /baseline: prior/);
  assert.doesNotMatch(html, /loss_tp0_token/, "select() limits the columns");
});

test("results-file entries: per-seed values with the interval, n/a, baselines without a seed", () => {
  const m = table.toResultsMetrics();
  assert.deepEqual((m.A!.vqa as { values: number[] }).values, [0.5, 0.6, 0.7]);
  assert.equal((m.A!.loss_tp0_token as { higherIsBetter: boolean }).higherIsBetter, false);
  assert.deepEqual(m.span!.loss_tp0_token, { na: SPAN_WHY });
  assert.equal((m["baseline: prior"]!.vqa as { n: number; mean: number }).n, 1);
  assert.equal((m["baseline: prior"]!.vqa as { halfWidth: number | null }).halfWidth, null);
});

test("compareArms: hierarchical bootstrap over seeds × items when per-item scores exist", () => {
  const c = compareArms(table, "A", "B", "vqa", { resamples: 2000, seed: 3 });
  const ref = hierarchicalBootstrap(
    table.runsOf("A").map((r) => r.items!.vqa!),
    table.runsOf("B").map((r) => r.items!.vqa!),
    { resamples: 2000, seed: 3 },
  );
  assert.deepEqual(c.result, ref);
  assert.match(c.method, /hierarchical bootstrap over seeds × 2 test items/);
  assert.equal(
    c.sentence,
    describeComparison({
      x: "A",
      y: "B",
      metric: "VQA accuracy (finetuned)",
      result: ref,
      higherIsBetter: true,
    }),
  );
  const vsBaseline = compareArms(table, "A", "baseline: prior", "vqa", { resamples: 500 });
  assert.equal(vsBaseline.result.seedsB, 1, "a baseline is one 'seed'");
});

test("compareArms: Welch's seed-level interval without per-item scores; none with one value a side", () => {
  const c = compareArms(table, "A", "B", "loss_tp0_token");
  close(c.result.diff, -2);
  close(c.result.lo, -6.1553995031825044, 1e-9);
  close(c.result.hi, 2.1553995031825044, 1e-9);
  assert.equal(c.result.excludesZero, false);
  assert.match(c.method, /Welch t-interval over seeds, df 2\.9/);
  assert.match(c.sentence, /^no significant difference between A and B on loss at T_p = 0/);
  // Against a baseline (a constant): a one-sample interval on A's seeds.
  const t = new RunsTable(
    [1, 2, 3, 4].map((v, i) => run("X", i, { loss_tp0_token: v })),
    {},
    [{ label: "baseline: c", metrics: { loss_tp0_token: 1 } }],
  );
  const k = compareArms(t, "X", "baseline: c", "loss_tp0_token");
  close(k.result.lo, -0.55426025676052128, 1e-9);
  close(k.result.hi, 3.5542602567605213, 1e-9);
  const one = compareArms(
    new RunsTable([run("P", 0, { bleu: 1 }), run("Q", 0, { bleu: 0.5 })]),
    "P",
    "Q",
    "bleu",
  );
  assert.ok(Number.isNaN(one.result.lo));
  assert.match(one.sentence, /no interval .* so no difference can be claimed/);
});

test("compareArms refuses n/a metrics and unknown rows by name", () => {
  assert.throws(
    () => compareArms(table, "A", "span", "loss_tp0_token"),
    /"span" has no loss_tp0_token .*n\/a: span corruption never learns/,
  );
  assert.throws(() => compareArms(table, "A", "nope", "vqa"), /no arm or baseline named "nope"/);
});
