// Bootstrap intervals of any statistic over test items, the per-item decomposition of the caption
// metrics, and the report helpers that turn them into results-file entries and sentences.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  statisticInterval,
  statisticDifference,
  meanStatistic,
  pairedBootstrap,
  hierarchicalBootstrap,
  captionItemStats,
  captionStatistic,
  captionScores,
  groundedScores,
  groundedItemScore,
  groundedPairCounts,
  CAPTION_ITEM_METRICS,
  reportMetric,
  compareSystems,
  isNotApplicable,
  resultsFileProblems,
  claimVerdict,
  formatMetric,
  metricsTable,
  intervalNote,
  seedMetric,
  EvalInputError,
  type ItemStatistic,
  type ProtocolComparison,
  type CaptionItemMetric,
} from "../../lib/eval/index.ts";
import { makeWorld } from "../../lib/data/index.ts";
import type { SceneObject } from "../../lib/data/types.ts";

const near = (a: number, b: number, what: string, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const scores = (n: number, k: number) =>
  Array.from({ length: n }, (_, i) => ((i * 7919 + k * 104729) % 97) / 97);

test("for means of per-item scores the statistic bootstrap is pairedBootstrap / hierarchicalBootstrap, draw for draw", () => {
  const a = scores(40, 1),
    b = scores(40, 2),
    opts = { resamples: 500, seed: 3 };
  const p = pairedBootstrap(a, b, opts),
    s = statisticDifference(40, [meanStatistic(a)], [meanStatistic(b)], opts);
  for (const k of ["diff", "lo", "hi", "meanA", "meanB"] as const) near(s[k], p[k], k);
  assert.equal(s.excludesZero, p.excludesZero);
  const A = [1, 3, 5].map((k) => scores(30, k)),
    B = [2, 4].map((k) => scores(30, k));
  const h = hierarchicalBootstrap(A, B, opts),
    t = statisticDifference(30, A.map(meanStatistic), B.map(meanStatistic), opts);
  for (const k of ["diff", "lo", "hi", "meanA", "meanB"] as const)
    near(t[k], h[k], `hierarchical ${k}`);
  assert.deepEqual([t.seedsA, t.seedsB, t.dropped], [3, 2, 0]);
  // One system: the interval of its mean is the paired bootstrap against a system scoring 0.
  const i = statisticInterval(40, [meanStatistic(a)], opts),
    z = pairedBootstrap(
      a,
      a.map(() => 0),
      opts,
    );
  near(i.value, z.diff, "value");
  near(i.lo, z.lo, "lo");
  near(i.hi, z.hi, "hi");
});

test("resamples on which a statistic is undefined are dropped and counted; bad inputs name the problem", () => {
  // Defined only when item 0 is drawn: P(not drawn in 5 draws) = (4/5)^5 ≈ 0.33.
  const f: ItemStatistic = (idx) => (idx.includes(0) ? idx.length : NaN);
  const r = statisticInterval(5, [f], { resamples: 2000, seed: 1 });
  assert.ok(r.dropped > 500 && r.dropped < 800, `dropped ${r.dropped}`);
  assert.equal(r.lo, 5);
  assert.equal(r.hi, 5);
  assert.ok(Number.isNaN(statisticInterval(3, [() => NaN], { resamples: 10 }).lo));
  assert.throws(() => statisticInterval(0, [f]), EvalInputError);
  assert.throws(() => statisticDifference(3, [f], []), /one statistic function per training seed/);
});

const obj = (color: string, shape: string, size: SceneObject["size"] = "medium"): SceneObject => ({
  color,
  shape,
  size,
  x: 0.5,
  y: 0.5,
});

test("held-out vs seen colour+shape counts of a text: the two classes add up to the grounded counts", () => {
  const scene = [obj("red", "triangle"), obj("blue", "circle"), obj("blue", "circle", "large")];
  const c = groundedPairCounts(
    "a red triangle, two blue circles and a green star. the triangle is small",
    scene,
  );
  // red triangle is held out (named 1, in the scene 1); blue circle ×2 and green star are seen.
  assert.deepEqual(c.heldOut, { named: 1, scene: 1, matched: 1 });
  assert.deepEqual(c.seen, { named: 3, scene: 2, matched: 2 });
  assert.equal(c.uncoloured, 0); // "the triangle" refers back to the red one
  assert.equal(groundedPairCounts("a triangle", scene).uncoloured, 1);
  // On real captions and noisy alt-texts the classes add up to groundedItemScore's counts.
  for (const r of makeWorld({ split: "test", n: 40 })) {
    for (const text of [r.captions[0]!, r.altText, "a red triangle and a circle", ""]) {
      const g = groundedItemScore(text, r.objects),
        p = groundedPairCounts(text, r.objects);
      assert.equal(p.heldOut.matched + p.seen.matched, g.matched, text);
      assert.equal(p.heldOut.named + p.seen.named + p.uncoloured, g.named, text);
      assert.equal(p.heldOut.scene + p.seen.scene, g.scene, text);
    }
  }
});

test("caption metrics recomputed from per-item statistics equal the corpus metrics on all items", () => {
  const world = makeWorld({ split: "test", n: 30 });
  const refs: Record<string, string[]> = {},
    scenes: Record<string, SceneObject[]> = {};
  for (const r of world) {
    refs[r.id] = r.captions.slice(1);
    scenes[r.id] = r.objects;
  }
  const systems: Record<string, string>[] = [
    Object.fromEntries(world.map((r) => [r.id, r.captions[0]!])),
    Object.fromEntries(world.map((r) => [r.id, r.altText])),
    Object.fromEntries(world.map((r, i) => [r.id, i % 3 ? "a red circle" : ""])),
  ];
  const all = world.map((_, i) => i);
  for (const cands of systems) {
    const st = captionItemStats(refs, cands, scenes),
      cs = captionScores(refs, cands),
      gs = groundedScores(cands, scenes);
    near(captionStatistic(st, "bleu4")(all), cs.bleu[3], "BLEU-4", 1e-12);
    near(captionStatistic(st, "bleu1")(all), cs.bleu[0], "BLEU-1", 1e-12);
    near(captionStatistic(st, "cider")(all), cs.cider, "CIDEr-D", 1e-12);
    near(captionStatistic(st, "objectF1")(all), gs.f1, "F1");
    near(captionStatistic(st, "objectRecall")(all), gs.recall, "recall");
    if (gs.precision === null)
      assert.ok(Number.isNaN(captionStatistic(st, "objectPrecision")(all)));
    else near(captionStatistic(st, "objectPrecision")(all), gs.precision, "precision");
    if (gs.countAccuracy === null)
      assert.ok(Number.isNaN(captionStatistic(st, "countAccuracy")(all)));
    else near(captionStatistic(st, "countAccuracy")(all), gs.countAccuracy, "count");
    for (const m of Object.keys(CAPTION_ITEM_METRICS) as CaptionItemMetric[])
      assert.equal(typeof captionStatistic(st, m)(all.slice(0, 5)), "number");
  }
  // The references themselves: every object named, held-out ones too.
  const ref = captionItemStats(refs, systems[0]!, scenes);
  near(captionStatistic(ref, "seenRecall")(all), 1, "seen recall");
  if (world.some((r) => r.heldOut))
    near(captionStatistic(ref, "heldOutRecall")(all), 1, "held-out recall");
  assert.throws(() => captionItemStats(refs, systems[0]!, {}), /no scene/);
});

test("report helpers: entries with intervals, n/a with a reason, generated sentences, verdicts, tables", () => {
  const a = scores(50, 1).map((x) => x + 0.5),
    b = scores(50, 2);
  const one = reportMetric(50, [meanStatistic(a)], { bootstrap: { resamples: 300 } });
  assert.ok(
    !isNotApplicable(one) && one.itemInterval!.lo < one.mean && one.mean < one.itemInterval!.hi,
  );
  assert.match(formatMetric(one), /^\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]$/);
  const three = reportMetric(
    50,
    [1, 2, 3].map((k) => meanStatistic(scores(50, k))),
    { bootstrap: { resamples: 100 } },
  );
  assert.match(formatMetric(three), /^\d\.\d{3} ± \d\.\d{3}$/);
  assert.deepEqual(reportMetric(5, [() => NaN], { na: "the model named nothing" }), {
    na: "the model named nothing",
  });
  assert.equal(
    formatMetric({ na: "span corruption has no LM loss" }),
    "n/a (span corruption has no LM loss)",
  );
  const c = compareSystems(
    50,
    { name: "model", stats: [meanStatistic(a)] },
    { name: "baseline", stats: [meanStatistic(b)] },
    "CIDEr-D",
    { bootstrap: { resamples: 300 } },
  );
  assert.match(c.sentence, /^model beats baseline on CIDEr-D by 0\.\d{3} \(95% CI \[/);
  assert.equal(claimVerdict([c]), "reproduced");
  const flip: ProtocolComparison = { ...c, higherIsBetter: false };
  assert.equal(claimVerdict([flip]), "not reproduced");
  const shifted = compareSystems(
    50,
    { name: "x", stats: [meanStatistic(a)] },
    { name: "y", stats: [meanStatistic(a.map((v) => v + 1e-3))] },
    "m",
    { bootstrap: { resamples: 300 } },
  );
  assert.equal(shifted.result.excludesZero, true); // a constant shift has no spread: significant however small
  const noisy = compareSystems(
    50,
    { name: "x", stats: [meanStatistic(b)] },
    { name: "y", stats: [meanStatistic(scores(50, 3))] },
    "m",
    { bootstrap: { resamples: 300 } },
  );
  assert.equal(
    claimVerdict([noisy]),
    noisy.result.excludesZero
      ? noisy.result.diff > 0
        ? "reproduced"
        : "not reproduced"
      : "inconclusive at this scale",
  );
  assert.equal(claimVerdict([]), "not tested");
  const results = {
    seeds: [0],
    metrics: { "a|b": { cider: one }, base: { cider: seedMetric([0.25]) } },
  };
  const table = metricsTable(
    results,
    ["a|b", "base", "missing"],
    [{ key: "cider", label: "CIDEr-D" }],
  );
  assert.equal(table.split("\n").length, 5);
  assert.ok(
    table.includes("| a\\|b |") &&
      table.includes("| base | 0.250 |") &&
      table.includes("| missing | – |"),
    table,
  );
  assert.match(intervalNote(results), /One training seed/);
});

test("resultsFileProblems accepts a well-formed results file and names every broken field", () => {
  const good = {
    notebook: "01-x",
    mode: "quick",
    finished: new Date(0).toISOString(),
    codeVersion: "abc",
    backend: { name: "wasm", threads: 1 },
    wallSeconds: 3,
    seeds: [0],
    dataSeed: 0,
    settings: {},
    splits: [{ split: "test", n: 4, hash: "a".repeat(64), dataSeed: 0 }],
    metrics: {
      model: {
        cider: reportMetric(3, [meanStatistic([1, 2, 3])], { bootstrap: { resamples: 50 } }),
        f1: { na: "names nothing" },
      },
    },
    comparisons: [
      compareSystems(
        3,
        { name: "a", stats: [meanStatistic([1, 2, 3])] },
        { name: "b", stats: [meanStatistic([0, 0, 1])] },
        "m",
        { bootstrap: { resamples: 50 } },
      ),
    ],
    claims: [{ paper: "p", here: "h", verdict: "inconclusive at this scale" }],
  };
  assert.deepEqual(resultsFileProblems(JSON.parse(JSON.stringify(good))), []);
  const bad = {
    ...good,
    mode: "fast",
    splits: [{ split: "test", n: 4, hash: "xyz", dataSeed: 0 }],
    metrics: { model: { cider: { mean: 1 } } },
    claims: [{ paper: "p", here: "h", verdict: "sort of" }],
  };
  const problems = resultsFileProblems(bad);
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(problems.join("\n"), /^mode: expected "full" or "quick"/m);
  assert.match(problems.join("\n"), /splits\[0\]/);
  assert.match(problems.join("\n"), /metrics\["model"\]\["cider"\]/);
  assert.match(problems.join("\n"), /claims\[0\]/);
  assert.deepEqual(resultsFileProblems([]), ["the results file is not a JSON object"]);
});
