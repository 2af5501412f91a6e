import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import {
  attentionFigure,
  attentionGridFigure,
  attentionRollout,
  attentionHeadMean,
  crossAttentionFor,
  attentionViews,
  upsampleAttention,
  syntheticAttentionCapture,
  VizError,
  DISPLAY,
  PLOTLY_MIME,
  type AttentionCapture,
} from "../../lib/index.ts";

const grey = (n: number) => ({ width: n, height: n, data: new Uint8Array(n * n * 3).fill(128) });
const rowSums = (m: ArrayLike<number>, rows: number, cols: number) =>
  Array.from({ length: rows }, (_, i) => {
    let s = 0;
    for (let k = i * cols; k < (i + 1) * cols; k++) s += m[k]!;
    return s;
  });
/** What a figure costs in a saved notebook: the bundle plus the kernel's HTML copy of the Plotly JSON. */
// As saved: the bundle, plus the kernel's HTML fragment holding the figure JSON and the PNG again.
const notebookBytes = (b: Record<string, unknown>) =>
  JSON.stringify(b).length +
  JSON.stringify(b[PLOTLY_MIME]).length +
  String(b["image/png"] ?? "").length +
  2000;
const argmax2d = (z: number[][]) => {
  let best = [0, 0];
  z.forEach((r, i) =>
    r.forEach((v, j) => {
      if (v > z[best[0]!]![best[1]!]!) best = [i, j];
    }),
  );
  return best;
};

test("synthetic captures, head means, rollout and cross-attention rows all sum to 1", () => {
  const c = syntheticAttentionCapture({ grid: { h: 3, w: 3 }, heads: 3, encoderLayers: 3 });
  const enc = c.numPatches + c.prefixTokens.length;
  for (const m of [...c.encoderSelf, ...c.decoderSelf, ...c.decoderCross])
    for (const s of rowSums(m.data, m.heads * m.queries, m.keys))
      assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
  for (const s of rowSums(attentionHeadMean(c.encoderSelf[0]!), enc, enc))
    assert.ok(Math.abs(s - 1) < 1e-5, `head-mean row sum ${s}`);
  const r = attentionRollout(c.encoderSelf, enc);
  for (const s of rowSums(r, enc, enc)) assert.ok(Math.abs(s - 1) < 1e-5, `rollout row sum ${s}`);
  for (const v of attentionViews(c))
    for (let t = 0; t < c.decoderTokens.length; t++) {
      const row = crossAttentionFor(c, t, v);
      assert.equal(row.length, enc);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6, `${v.label} token ${t}`);
    }
});

test("rollout adds the identity, renormalises and multiplies through layers", () => {
  const layer = { heads: 1, queries: 2, keys: 2, data: new Float32Array([0.5, 0.5, 0, 1]) };
  assert.deepEqual(Array.from(attentionRollout([layer], 2)), [0.75, 0.25, 0, 1]);
  // Two layers: Â·Â = [[0.5625, 0.4375], [0, 1]].
  assert.deepEqual(Array.from(attentionRollout([layer, layer], 2)), [0.5625, 0.4375, 0, 1]);
  assert.deepEqual(Array.from(attentionRollout([], 2)), [1, 0, 0, 1]);
});

test("bilinear upsampling peaks inside the hot patch", () => {
  const g = new Float32Array(16);
  g[1 * 4 + 2] = 1;
  const up = upsampleAttention(g, 4, 4, 64, 64);
  let best = 0;
  up.forEach((v, i) => {
    if (v > up[best]!) best = i;
  });
  const y = Math.floor(best / 64),
    x = best % 64;
  assert.ok(y >= 16 && y < 32 && x >= 32 && x < 48, `peak at ${x},${y}`);
});

test("attentionFigure: plotly data, selectors, peak on the focused patch in figure and PNG, size", async () => {
  const patch = 2 * 8 + 5; // row 2, col 5
  const c = syntheticAttentionCapture({
    grid: { h: 8, w: 8 },
    heads: 4,
    focus: { token: 1, patch },
  });
  const f = await attentionFigure({
    image: grey(64),
    capture: c,
    tokens: [1, 0, 2],
    pngTokens: 1,
    pngSize: 160,
  });
  const bundle = f[DISPLAY]();
  assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME, "image/png", "text/plain"].sort());
  const fig = bundle[PLOTLY_MIME] as typeof f.figure;
  assert.equal(fig.data[0]!.type, "image");
  assert.match(String(fig.data[0]!.source), /^data:image\/(png|jpeg);base64,/);
  const views = f.views.length;
  assert.equal(views, 2 * (4 + 1) + 2); // per layer: mean + 4 heads; then all-layer mean and rollout
  assert.equal(fig.data.length, 1 + 2 * views); // image + (patch heatmap, prefix strip) per view
  const slider = (
    fig.layout!.sliders as { steps: { args: [{ z: number[][][] }, number[]] }[] }[]
  )[0]!;
  assert.equal(slider.steps.length, 3);
  const menu = (fig.layout!.updatemenus as { buttons: { args: [{ visible: boolean[] }] }[] }[])[0]!;
  assert.equal(menu.buttons.length, views);
  for (const b of menu.buttons) {
    assert.equal(b.args[0].visible.length, fig.data.length);
    assert.equal(b.args[0].visible.filter(Boolean).length, 3);
  }
  // Token 1 (first step) in every view: the patch heatmap is 8×8 and peaks at row 2, col 5.
  const z0 = slider.steps[0]!.args[0].z;
  for (let v = 0; v < views; v++) {
    const z = z0[2 * v]!;
    assert.equal(z.length, 8);
    assert.equal(z[0]!.length, 8);
    if (!f.views[v]!.includes("rollout")) assert.deepEqual(argmax2d(z), [2, 5], f.views[v]);
  }
  // The static overlay: the most changed pixel of the panel lies inside patch (2,5) (20 px per patch).
  const png = Buffer.from(f.png, "base64");
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, "png");
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let best = -1,
    bx = 0,
    by = 0;
  for (let y = 0; y < 160; y++)
    for (let x = 0; x < 160; x++) {
      const p = ((28 + y) * info.width + 6 + x) * info.channels;
      const d =
        Math.abs(data[p]! - 128) + Math.abs(data[p + 1]! - 128) + Math.abs(data[p + 2]! - 128);
      if (d > best) {
        best = d;
        bx = x;
        by = y;
      }
    }
  assert.ok(bx >= 100 && bx < 120 && by >= 40 && by < 60, `PNG peak at ${bx},${by}`);
  assert.ok(notebookBytes(bundle) < 300_000);
  assert.match(f.text, /1: on\s+top patch \(row 2, col 5\)/);
});

test("attentionFigure stays under 300 KB for a base-sized capture by dropping heads and tokens", async () => {
  const c = syntheticAttentionCapture({
    grid: { h: 16, w: 16 },
    heads: 8,
    encoderLayers: 6,
    decoderLayers: 6,
    prefixTokens: Array.from({ length: 8 }, (_, i) => `p${i}`),
    decoderTokens: Array.from({ length: 20 }, (_, i) => `t${i}`),
  });
  const img = {
    width: 128,
    height: 128,
    data: new Uint8Array(128 * 128 * 3).map((_, i) => (i * 7919) % 251),
  }; // noisy
  const f = await attentionFigure({ image: img, capture: c });
  const size = notebookBytes(f[DISPLAY]());
  assert.ok(size < 300_000, `bundle ${size} bytes`);
  assert.ok(f.tokens.length >= 1);
  const g = await attentionGridFigure({ image: img, capture: c });
  const gsize = notebookBytes(g[DISPLAY]());
  assert.ok(gsize < 300_000, `grid bundle ${gsize} bytes`);
});

test("attentionGridFigure: layers × (heads + mean) cells, token slider, valid PNG", async () => {
  const c = syntheticAttentionCapture({
    grid: { h: 4, w: 4 },
    heads: 3,
    decoderLayers: 2,
    focus: { token: 2, patch: 6 },
  });
  const g = await attentionGridFigure({ capture: c, image: grey(32), pngToken: 2 });
  assert.equal(g.figure.data.length, 2 * 4);
  assert.deepEqual(g.columns, ["head 1", "head 2", "head 3", "mean"]);
  const steps = (g.figure.layout!.sliders as { steps: { args: [{ z: number[][][] }] }[] }[])[0]!
    .steps;
  assert.equal(steps.length, c.decoderTokens.length);
  for (const z of steps[2]!.args[0].z) assert.deepEqual(argmax2d(z), [1, 2]);
  const meta = await sharp(Buffer.from(g.png, "base64")).metadata();
  assert.equal(meta.format, "png");
  const stats = await sharp(Buffer.from(g.png, "base64")).stats();
  assert.ok(
    stats.channels.some((ch) => ch.max - ch.min > 50),
    "grid PNG is not uniform",
  );
});

test("bad captures and images give one clear error naming the field", async () => {
  const c = syntheticAttentionCapture();
  const broken: AttentionCapture = {
    ...c,
    decoderCross: [{ ...c.decoderCross[0]!, data: new Float32Array(3) }],
  };
  await assert.rejects(
    attentionFigure({ image: grey(8), capture: broken }),
    (e: Error) => e instanceof VizError && /decoderCross\[0\]/.test(e.message),
  );
  await assert.rejects(
    attentionFigure({ image: { width: 4, height: 4, data: new Uint8Array(5) }, capture: c }),
    /attentionFigure image/,
  );
  await assert.rejects(
    attentionFigure({ image: grey(8), capture: c, tokens: [99] }),
    /token index 99/,
  );
  await assert.rejects(
    attentionFigure({ image: grey(8), capture: { ...c, grid: { h: 3, w: 3 } } }),
    /grid 3×3 does not match numPatches 16/,
  );
});
