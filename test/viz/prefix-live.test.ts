import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import {
  prefixMaskFigure,
  prefixAttentionMask,
  lossByPrefixFigure,
  ablationCurveFigure,
  liveTrainingPlot,
  VizError,
  DISPLAY,
  PLOTLY_MIME,
  setRunContext,
  getRunContext,
  type MimeBundle,
} from "../../lib/index.ts";

test("prefix mask: image+prefix bidirectional, suffix causal", () => {
  const m = prefixAttentionMask(2, 1, 2); // positions: i0 i1 p0 s0 s1
  assert.deepEqual(m, [
    [1, 1, 2, 0, 0],
    [1, 1, 2, 0, 0],
    [1, 1, 2, 0, 0],
    [1, 1, 2, 3, 0],
    [1, 1, 2, 3, 3],
  ]);
});

test("prefixMaskFigure: heatmap of the real tokens, boundaries, valid non-uniform PNG", async () => {
  const tokens = ["a", "red", "circle", "on", "the", "left"];
  const f = await prefixMaskFigure({ tokens, numPatches: 4, tp: 2 });
  const b = f[DISPLAY]();
  const fig = b[PLOTLY_MIME] as typeof f.figure;
  const z = fig.data[0]!.z as number[][];
  assert.equal(z.length, 10);
  assert.equal(z[0]!.length, 10);
  assert.equal(f.labels[4], "P0: a");
  assert.equal(f.labels[6], "S2: circle");
  assert.equal(z[5]![6], 0, "prefix may not see the suffix");
  assert.equal(z[6]![5], 2, "suffix sees the prefix");
  assert.equal(z[7]![8], 0, "suffix is causal");
  assert.equal((fig.layout!.shapes as unknown[]).length, 4);
  // Sized from its content (issue 17 item 3): legible cells, and the square mask with its labels and colour bar within the width.
  const L = fig.layout as unknown as {
    width: number;
    height: number;
    margin: { l: number; r: number; t: number; b: number };
  };
  const side = L.height - L.margin.t - L.margin.b;
  assert.ok(side / 10 >= 12, `cells of ${side / 10} px`);
  assert.ok(
    L.width >= L.margin.l + side + L.margin.r,
    `width ${L.width} holds the mask (${side} px) and its margins`,
  );
  const png = Buffer.from(f.png, "base64");
  assert.equal((await sharp(png).metadata()).format, "png");
  const st = await sharp(png).stats();
  assert.ok(st.channels.some((c) => c.max - c.min > 100));
  assert.ok(JSON.stringify(b).length < 300_000);
  // Many patches collapse to at most 16 image columns.
  const g = await prefixMaskFigure({ tokens, numPatches: 64, tp: 0 });
  assert.equal(g.mask.length, 16 + 6);
  assert.equal(g.labels[0], "img 1–4");
  await assert.rejects(
    prefixMaskFigure({ tokens, numPatches: 4, tp: 9 }),
    (e: Error) => e instanceof VizError && /tp must be .* 0\.\.6/.test(e.message),
  );
});

test("lossByPrefixFigure and ablationCurveFigure: traces, spread, errors", () => {
  const f = lossByPrefixFigure([
    { tp: 2, loss: 1.5, accuracy: 0.4 },
    { tp: 0, loss: 2, accuracy: 0.3 },
    { tp: 4, loss: 1.2, accuracy: 0.5 },
  ]);
  assert.deepEqual(f.figure.data[0]!.x, [0, 2, 4]);
  assert.deepEqual(f.figure.data[1]!.y, [0.3, 0.4, 0.5]);
  assert.match(String(f[DISPLAY]()["text/plain"]), /^tp {2}loss/);
  // Eight series (a grid's arms): one legend entry each, one colour per series in both panels, and
  // a figure tall enough for the legend.
  const arms = Array.from({ length: 8 }, (_, a) =>
    [0, 2].map((tp) => ({ tp, loss: 2 - a / 10, accuracy: a / 10, series: `arm ${a}` })),
  ).flat();
  const g = lossByPrefixFigure(arms).figure;
  const shown = g.data.filter((t) => t.showlegend !== false);
  assert.deepEqual(
    shown.map((t) => t.name),
    arms.filter((r) => r.tp === 0).map((r) => r.series),
  );
  for (let a = 0; a < 8; a++)
    assert.deepEqual(g.data[2 * a]!.line, g.data[2 * a + 1]!.line, `arm ${a}'s colour`);
  assert.equal(new Set(shown.map((t) => JSON.stringify(t.line))).size, 8);
  assert.ok((g.layout!.height as number) >= 200 + 30 * 8);
  assert.throws(() => lossByPrefixFigure([{ tp: 1, loss: NaN, accuracy: 0 }]), /rows\[0\]\.loss/);
  const rows = [1, 2, 3].flatMap((seed) => [
    { strategy: "random", seed, metric: 0.5 + seed * 0.01 },
    { strategy: "fixed", seed, metric: 0.4 },
    { strategy: "none", seed, metric: 0.2 + seed * 0.1 },
  ]);
  const a = ablationCurveFigure(rows, "CIDEr");
  assert.equal((a.figure.data[0]!.y as number[]).length, 9);
  assert.deepEqual(
    a.summary.map((s) => s.strategy),
    ["random", "fixed", "none"],
  );
  assert.ok(Math.abs(a.summary[2]!.std - 0.1) < 1e-9);
  assert.deepEqual((a.figure.data[1]!.error_y as { array: number[] }).array, [0.01, 0, 0.1]);
  const mm = ablationCurveFigure(rows, "CIDEr", { spread: "minmax" });
  assert.deepEqual(
    (mm.figure.data[1]!.error_y as { arrayminus: number[] }).arrayminus,
    [0.01, 0, 0.1],
  );
  assert.throws(
    () => ablationCurveFigure([{ strategy: "", seed: 1, metric: 1 }], "x"),
    /rows\[0\]\.strategy/,
  );
});

test("liveTrainingPlot: first draw creates the display, later ones update in place, throttled; finish leaves the figure", async () => {
  const calls: { bundle: MimeBundle; opts?: { displayId?: string; update?: boolean } }[] = [];
  const saved = getRunContext();
  setRunContext({ display: (bundle, opts) => calls.push({ bundle, opts }) });
  try {
    const plot = liveTrainingPlot({ title: "tiny", maxUpdatesPerSecond: 20 });
    for (let s = 1; s <= 50; s++)
      plot.onStep({
        step: s,
        loss: 5 / s,
        lr: 1e-3 * Math.min(1, s / 10),
        examples_per_s: 100 + s,
      });
    assert.equal(calls.length, 1, "a burst of steps draws once, then waits for the throttle");
    assert.equal(calls[0]!.opts?.update, false);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(calls.length, 2, "the trailing redraw shows the newest rows");
    assert.equal(calls[1]!.opts?.update, true);
    assert.equal(calls[1]!.opts?.displayId, calls[0]!.opts?.displayId);
    const fig = calls[1]!.bundle[PLOTLY_MIME] as { data: { y: number[] }[] };
    assert.equal(fig.data[0]!.y.length, 50);
    assert.equal(fig.data.length, 3);
    plot.finish();
    assert.equal(calls.length, 3);
    assert.match(String(calls[2]!.bundle["text/plain"]), /step 50, loss 0\.1000.*\(done\)/);
    const final = plot[DISPLAY]();
    assert.equal((final[PLOTLY_MIME] as { data: unknown[] }).data.length, 3);
    // Long runs are thinned so the saved figure stays small.
    const long = liveTrainingPlot({ maxPoints: 100 });
    for (let s = 1; s <= 5000; s++) long.onStep({ step: s, loss: 1, lr: 1e-4, examples_per_s: 10 });
    long.finish();
    const ys = long.figure().data[0]!.x as number[];
    assert.ok(ys.length <= 101 && ys[ys.length - 1] === 5000);
    assert.ok(JSON.stringify(long[DISPLAY]()).length < 300_000);
    // show() takes the plot's place before any step; the first step then updates it.
    calls.length = 0;
    const [a, b] = [
      liveTrainingPlot({ title: "a", maxUpdatesPerSecond: 20 }),
      liveTrainingPlot({ title: "b", maxUpdatesPerSecond: 20 }),
    ];
    a.show();
    b.show();
    b.onStep({ step: 1, loss: 2 });
    await new Promise((r) => setTimeout(r, 120));
    b.finish();
    a.finish();
    assert.deepEqual(
      calls.map((c) => [c.opts?.displayId === a.displayId ? "a" : "b", c.opts?.update]),
      [
        ["a", false],
        ["b", false],
        ["b", true],
        ["b", true],
        ["a", true],
      ],
    );
    assert.match(String(calls[0]!.bundle["text/plain"]), /a: no steps yet/);
  } finally {
    setRunContext(saved);
  }
});
