// Loss by T_p for a trained model, and `simvlm viz` from a tiny checkpoint made by a few pretraining steps: valid, non-uniform PNGs and
// HTML pages holding the Plotly figure; bad flags give one clear error.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import sharp from "sharp";
import {
  initBackend,
  tf,
  pretrain,
  makeWorld,
  encodePng,
  loadModel,
  liveTrainingPlot,
  lossByPrefixLength,
  lossByPrefixFigure,
  DISPLAY,
  PLOTLY_MIME,
} from "../../lib/index.ts";
import viz from "../../cli/commands/viz.ts";

let dir = "",
  ckpt = "",
  image = "";
const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;

before(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), "simvlm-viz-cli-"));
  ckpt = join(dir, "ckpt");
  const plot = liveTrainingPlot({ title: "tiny" }); // the trainer's log rows feed the live plot as they are
  const r = await pretrain({
    config: "tiny",
    steps: 2,
    batchSize: 4,
    outDir: ckpt,
    seed: 1,
    tokenizerExamples: 200,
    progress: false,
    onStep: plot.onStep,
  });
  r.model.dispose();
  plot.finish();
  assert.deepEqual(
    plot.rows.map((x) => x.step),
    [1, 2],
  );
  assert.ok(
    plot.rows.every(
      (x) =>
        Number.isFinite(x.loss) && typeof x.lr === "number" && typeof x.examples_per_s === "number",
    ),
  );
  image = join(dir, "scene.png");
  writeFileSync(
    image,
    await encodePng(makeWorld({ seed: 3, split: "val", n: 1, size: 64 })[0]!.image),
  );
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function checkPng(file: string): Promise<void> {
  const buf = readFileSync(file);
  const meta = await sharp(buf).metadata();
  assert.equal(meta.format, "png", file);
  assert.ok(meta.width! > 50 && meta.height! > 50, `${file}: ${meta.width}×${meta.height}`);
  const st = await sharp(buf).stats();
  assert.ok(
    st.channels.slice(0, 3).some((c) => c.max - c.min > 50),
    `${file} is uniform`,
  );
}

function checkHtml(file: string, traceType: string): void {
  const html = readFileSync(file, "utf8");
  assert.match(html, /^<!DOCTYPE html>/i);
  // The one plotly.js of notebooks too: the cartesian bundle (issue 17 item 5).
  assert.ok(html.includes("plotly.js (cartesian - minified) v"), "plotly.js is inlined");
  assert.ok(html.includes(`"type":"${traceType}"`), `the figure JSON holds a ${traceType} trace`);
  assert.ok(html.includes("newPlot"));
}

test("viz attention: generated caption → PNG; given caption with a prefix → HTML; grid → PNG; no tensor leaks", async () => {
  const b0 = tf.memory().numTensors;
  (await loadModel(ckpt)).model.dispose();
  assert.equal(tf.memory().numTensors, b0, "a load + dispose leaves no tensors");
  const n0 = tf.memory().numTensors;
  assert.equal(
    await viz(["attention", "--ckpt", ckpt, "--image", image, "--out", join(dir, "att.png")]),
    0,
  );
  await checkPng(join(dir, "att.png"));
  assert.equal(
    await viz([
      "attention",
      "--ckpt",
      ckpt,
      "--image",
      image,
      "--text",
      "a small pink circle",
      "--prefix",
      "a picture of",
      "--out",
      join(dir, "att.html"),
    ]),
    0,
  );
  checkHtml(join(dir, "att.html"), "heatmap");
  assert.ok(readFileSync(join(dir, "att.html"), "utf8").includes('"type":"image"'));
  assert.equal(
    await viz([
      "attention",
      "--ckpt",
      ckpt,
      "--image",
      image,
      "--grid",
      "--out",
      join(dir, "grid.png"),
    ]),
    0,
  );
  await checkPng(join(dir, "grid.png"));
  assert.equal(tf.memory().numTensors, n0, "the viz command leaked tensors");
});

test("viz prefix-mask: PNG and HTML from the checkpoint's tokenizer; bad --tp and --out are named", async () => {
  assert.equal(
    await viz([
      "prefix-mask",
      "--ckpt",
      ckpt,
      "--text",
      "a red circle on the left",
      "--tp",
      "2",
      "--out",
      join(dir, "pm.png"),
    ]),
    0,
  );
  await checkPng(join(dir, "pm.png"));
  assert.equal(
    await viz([
      "prefix-mask",
      "--ckpt",
      ckpt,
      "--text",
      "a red circle on the left",
      "--tp",
      "0",
      "--out",
      join(dir, "pm.html"),
    ]),
    0,
  );
  checkHtml(join(dir, "pm.html"), "heatmap");
  await assert.rejects(
    viz([
      "prefix-mask",
      "--ckpt",
      ckpt,
      "--text",
      "a red circle",
      "--tp",
      "40",
      "--out",
      join(dir, "x.png"),
    ]),
    /--tp must be a whole number in 0\.\.\d+ \(the text has \d+ tokens: .*\), got 40/,
  );
  await assert.rejects(
    viz(["prefix-mask", "--ckpt", ckpt, "--text", "a", "--tp", "0", "--out", join(dir, "x.svg")]),
    /--out .*x\.svg: the file must end in \.png or \.html/,
  );
  await assert.rejects(
    viz([
      "attention",
      "--ckpt",
      ckpt,
      "--image",
      join(dir, "missing.png"),
      "--out",
      join(dir, "x.png"),
    ]),
    /--image .*missing\.png: no such file/,
  );
});

test("npx simvlm viz through the real CLI entry point", () => {
  const out = join(dir, "cli.png");
  const r = spawnSync(
    process.execPath,
    [
      bin,
      "viz",
      "prefix-mask",
      "--ckpt",
      ckpt,
      "--text",
      "a blue square",
      "--tp",
      "1",
      "--out",
      out,
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*cli\.png/);
  const bad = spawnSync(process.execPath, [bin, "viz", "wobble"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /viz: unknown figure "wobble"/);
});

test("lossByPrefixFigure from lib/eval's lossByPrefixLength on a trained checkpoint", async () => {
  const { model, tokenizer } = await loadModel(ckpt);
  try {
    const examples = makeWorld({ seed: 5, split: "val", n: 6, size: 32 }).map((a) => ({
      id: a.id,
      image: a.image,
      text: a.captions[0]!,
    }));
    const n0 = tf.memory().numTensors;
    const rows = lossByPrefixLength(model, tokenizer, examples, { tps: [0, 1, 3] });
    assert.equal(tf.memory().numTensors, n0, "tensors leaked");
    assert.deepEqual(
      rows.map((r) => r.tp),
      [0, 1, 3],
    );
    for (const r of rows) {
      assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
      assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
      assert.equal(r.examples, 6);
      assert.ok(r.tokens > 0);
    }
    // A longer prefix leaves fewer target tokens.
    assert.ok(rows[0]!.tokens > rows[2]!.tokens);
    const f = lossByPrefixFigure(rows);
    assert.deepEqual(
      (f[DISPLAY]()[PLOTLY_MIME] as { data: { x: number[] }[] }).data[0]!.x,
      [0, 1, 3],
    );
  } finally {
    model.dispose();
  }
});
