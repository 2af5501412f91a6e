// The "pretrainEval" ablation run through runGrid with a tiny config, measured with the protocol:
// every arm's metrics and per-item scores, n/a with a reason for span corruption's LM losses, the
// from-scratch control (0 pretraining steps), one tokenizer and the same records for every run
// whatever its seed, the grid's baselines as table rows; a rerun trains nothing; an interrupted run
// resumes its checkpoint and the finetunes leave that checkpoint unchanged.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { runGrid, pretrainEvalRun } from "../../lib/experiments/index.ts";
import { PROTOCOL_METRICS } from "../../lib/eval/index.ts";
import { readTrainLog } from "../../lib/train/index.ts";

const dir = mkdtempSync(join(tmpdir(), "simvlm-pretrain-eval-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  config: "tiny",
  steps: 4,
  batch: 4,
  evalN: 3,
  valN: 3,
  maxK: 2,
  captionMaxLen: 4,
  finetuneSteps: 2,
  finetuneImages: 4,
  tokenizerImages: 40,
  baselineTrainN: 30,
  ngramTexts: 60,
  objective: "prefixlm",
  prefix: { mode: "random" },
};
let firstSplits = "";
const LOSSES = Object.keys(PROTOCOL_METRICS).filter((m) => m.startsWith("loss_"));

test("pretrainEval: every arm measured alike, n/a for span's LM losses, the control, one tokenizer and data set; rerun trains nothing", async () => {
  const grid = {
    name: "quick",
    run: "pretrainEval",
    base,
    seeds: [0],
    variants: [
      { label: "random", params: {} },
      { label: "span", params: { objective: "span", prefix: { mode: "none" } } },
      { label: "scratch", params: { steps: 0 } },
    ],
  };
  const ran: boolean[] = [];
  const t = await runGrid(grid, {
    cacheDir: join(dir, "cache"),
    progress: false,
    onRun: (_r, cached) => ran.push(cached),
  });
  assert.deepEqual(ran, [false, false, false]);
  const [r0, span, scratch] = t.rows;
  firstSplits = JSON.stringify(r0!.extra!.splits);
  for (const m of [
    ...LOSSES,
    "zs_cider",
    "zs_bleu4",
    "zs_obj_f1",
    "ft_cider",
    "ft_obj_f1_img",
    "vqa",
    "entail_image",
    "entail_text",
  ]) {
    assert.ok(Number.isFinite(r0!.metrics[m]), `random arm: ${m}`);
    assert.ok(Number.isFinite(scratch!.metrics[m]), `control: ${m}`);
  }
  for (const m of LOSSES) {
    assert.equal(span!.metrics[m], undefined, `span has no number for ${m}`);
    assert.match(span!.na![m]!, /span corruption's decoder .* never .* write a whole text/);
  }
  assert.deepEqual(span!.extra!.lossByTp, { na: span!.na!.loss_tp0_token });
  for (const m of ["zs_cider", "vqa", "entail_image"])
    assert.ok(Number.isFinite(span!.metrics[m]), `span is measured downstream: ${m}`);
  assert.equal(scratch!.extra!.steps, 0);
  assert.equal(r0!.extra!.steps, 4);
  // Per-item scores whose mean is the metric.
  for (const m of ["zs_cider", "vqa", "entail_image", "loss_rtp_example"]) {
    const items = Object.values(r0!.items![m]!);
    assert.ok(items.length >= 3, m);
    assert.ok(
      Math.abs(items.reduce((a, b) => a + b, 0) / items.length - r0!.metrics[m]!) < 1e-9,
      `${m} is the mean of its items`,
    );
  }
  assert.equal(Object.keys(r0!.items!.vqa!).length, 15, "3 test images × 5 questions");
  // One tokenizer and the same records for every run (the data seed fixes them; the next test checks another run seed).
  assert.equal(new Set(t.rows.map((r) => r.resources!.tokenizer)).size, 1);
  assert.equal(new Set(t.rows.map((r) => JSON.stringify(r.extra!.splits))).size, 1);
  assert.equal((r0!.extra!.splits as { dataSeed: number }[])[0]!.dataSeed, 0);
  assert.equal(t.baselines.length, 6);
  assert.ok(t.toMarkdown().includes("baseline: VQA question-type prior"));
  const again: boolean[] = [];
  await runGrid(grid, {
    cacheDir: join(dir, "cache"),
    progress: false,
    onRun: (_r, cached) => again.push(cached),
  });
  assert.deepEqual(again, [true, true, true]);
});

test("pretrainEval resumes the checkpoint in its folder; the finetunes leave it unchanged; bad params are named", async () => {
  const runDir = join(dir, "run");
  const ac = new AbortController();
  await assert.rejects(
    pretrainEvalRun(
      { ...base, steps: 6 },
      {
        seed: 1,
        dir: runDir,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.step === 3) ac.abort();
        },
      },
    ),
    /interrupted/,
  );
  assert.ok(existsSync(join(runDir, "ckpt", "state.json")), "a checkpoint was saved on interrupt");
  const weights = () =>
    createHash("sha256")
      .update(readFileSync(join(runDir, "ckpt", "weights.safetensors")))
      .digest("hex");
  let pretrained = "";
  const r = await pretrainEvalRun(
    { ...base, steps: 6 },
    {
      seed: 1,
      dir: runDir,
      onProgress: (p) => {
        if (p.message === "evaluating the pretrained model") pretrained = weights();
      },
    },
  );
  assert.equal(r.extra!.resumed, true);
  assert.equal(
    JSON.stringify(r.extra!.splits),
    firstSplits,
    "run seed 1 is scored on the same records as run seed 0",
  );
  assert.equal(r.extra!.steps, 6);
  assert.ok(
    pretrained && weights() === pretrained,
    "the finetunes did not write the pretrained checkpoint",
  );
  assert.equal(JSON.parse(readFileSync(join(runDir, "ckpt", "state.json"), "utf8")).step, 6);
  await assert.rejects(
    pretrainEvalRun({ ...base, objective: "mlm" }, { seed: 0, dir: join(dir, "bad") }),
    /param "objective" must be one of prefixlm, lm, span, got "mlm"/,
  );
  await assert.rejects(
    pretrainEvalRun({ ...base, evalN: 0 }, { seed: 0, dir: join(dir, "bad") }),
    /param "evalN" must be an integer ≥ 1/,
  );
  await assert.rejects(
    pretrainEvalRun(
      { ...base, evalPrefix: { mode: "fixed", k: 2 } },
      { seed: 0, dir: join(dir, "bad") },
    ),
    /param "evalPrefix" must be a random-T_p distribution/,
  );
  await assert.rejects(
    pretrainEvalRun(
      { ...base, evalPrefix: { mode: "random", kMax: -1 } },
      { seed: 0, dir: join(dir, "bad") },
    ),
    /param "evalPrefix": prefix.kMax must be an integer ≥ 0/,
  );
  // An explicit null is refused by name, never read as "use the default".
  for (const [param, msg] of [
    ["evalPrefix", /param "evalPrefix" must be a random-T_p distribution/],
    ["prefix", /param "prefix" must be a T_p strategy object/],
    ["config", /param "config" must be a preset name or an object of overrides/],
    ["objective", /param "objective" must be one of prefixlm, lm, span, got null/],
  ] as const)
    await assert.rejects(
      pretrainEvalRun({ ...base, [param]: null }, { seed: 0, dir: join(dir, "bad") }),
      msg,
    );
  await assert.rejects(
    pretrainEvalRun({ ...base, prefix: { mode: "fixed" } }, { seed: 0, dir: join(dir, "bad") }),
    /param "prefix": prefix.k must be an integer ≥ 0 for mode "fixed", and is missing/,
  );
});

test("pretrainEval scores every arm's random-T_p loss under the grid's evalPrefix, not its own training prefix", async () => {
  // kMax 0: the only prefix length is 0, so the averaged loss is the T_p = 0 loss exactly — for an
  // arm trained with fixed T_p = 2 as for any other.
  const r = await pretrainEvalRun(
    { ...base, prefix: { mode: "fixed", k: 2 }, evalPrefix: { mode: "random", kMax: 0 } },
    { seed: 0, dir: join(dir, "kmax0") },
  );
  assert.ok(r.metrics.loss_tp0_token! > 0);
  assert.equal(r.metrics.loss_rtp_token, r.metrics.loss_tp0_token);
  const d = await pretrainEvalRun(
    { ...base, prefix: { mode: "fixed", k: 2 } },
    { seed: 0, dir: join(dir, "kmax-default") },
  );
  assert.notEqual(d.metrics.loss_rtp_token, d.metrics.loss_tp0_token);
});

test("pretrainEval's decay param sets the pretraining schedule after warmup, and bad values are named", async () => {
  const runDir = join(dir, "decay-constant");
  await pretrainEvalRun({ ...base, steps: 6, decay: "constant" }, { seed: 0, dir: runDir });
  const lrs = readTrainLog(join(runDir, "ckpt")).map((r) => r.lr);
  assert.equal(lrs.length, 6);
  // One warmup update (2% of 6, at least 1), then the peak for every later update.
  assert.equal(new Set(lrs.slice(1)).size, 1);
  assert.ok(lrs[5]! > 0);
  await assert.rejects(
    pretrainEvalRun({ ...base, decay: "step" }, { seed: 0, dir: join(dir, "bad") }),
    /param "decay" must be one of linear, cosine, constant, got "step"/,
  );
});

test("the from-scratch control runs in fresh grid workers (workers: 2), which nothing else has initialized", async () => {
  // Full mode runs every arm in its own worker process; the control (0 pretraining steps) never
  // calls pretrain, so it must set the backend up itself. In-process runs hid this.
  const t = await runGrid(
    {
      name: "control-in-workers",
      run: "pretrainEval",
      base: { ...base, steps: 0 },
      seeds: [0, 1],
      variants: [{ label: "scratch", params: {} }],
    },
    { cacheDir: join(dir, "cache-workers"), workers: 2, progress: false },
  );
  assert.equal(t.rows.length, 2);
  for (const r of t.rows) {
    assert.equal(r.extra!.steps, 0);
    assert.ok(Number.isFinite(r.metrics.vqa), `seed ${r.seed}: vqa measured`);
  }
});
