// `simvlm eval` and `simvlm finetune` on a tiny checkpoint pretrained in the test: JSON shapes,
// metrics in range, the finetuned checkpoint loads and evaluates, and bad input names itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../../lib/backend/index.ts";
import { pretrain, loadModel } from "../../lib/train/index.ts";
import { checkpointDataSeed } from "../../lib/eval/tasks/checkpoint-eval.ts";
import { splitHash, WORLD_DATA_SEED } from "../../lib/data/world/index.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "bin/simvlm.js"), ...args], {
    encoding: "utf8",
    cwd: root,
    timeout: 120_000,
  });
let dir: string, ckpt: string;

before(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), "simvlm-evalcli-"));
  ckpt = join(dir, "ck");
  const r = await pretrain({
    config: "tiny",
    steps: 4,
    batchSize: 4,
    seed: 2,
    outDir: ckpt,
    progress: false,
    tokenizerExamples: 200,
  });
  r.model.dispose();
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("eval --task caption prints metrics and samples as JSON", () => {
  const r = cli(
    "eval",
    "--ckpt",
    ckpt,
    "--task",
    "caption",
    "--split",
    "val",
    "--n",
    "4",
    "--prompt",
    "a picture of",
    "--max-len",
    "5",
    "--samples",
    "2",
  );
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.task, "caption");
  assert.equal(j.split, "val");
  assert.equal(j.n, 4);
  assert.equal(j.prompt, "a picture of");
  assert.equal(j.step, 4);
  assert.equal(
    j.worldSeed,
    0,
    "the world the checkpoint trained on is WORLD_DATA_SEED, not its run seed 2",
  );
  assert.equal(j.dataSeed, 0);
  assert.equal(
    j.splitHash,
    splitHash({ dataSeed: 0, split: "val", n: 4, size: 32 }),
    "the hash of the 4 val records evaluated",
  );
  for (const k of ["bleu1", "bleu2", "bleu3", "bleu4"])
    assert.ok(j.metrics[k] >= 0 && j.metrics[k] <= 1, k);
  assert.ok(j.metrics.cider >= 0);
  assert.equal(j.samples.length, 2);
  assert.equal(typeof j.samples[0].caption, "string");
});

test("finetune writes a checkpoint of the same format; eval reads it (vqa, entailment with image premise)", () => {
  const out = join(dir, "ft");
  const r = cli(
    "finetune",
    "--ckpt",
    ckpt,
    "--task",
    "entailment",
    "--text-only",
    "--fraction",
    "0.5",
    "--steps",
    "3",
    "--images",
    "8",
    "--batch",
    "4",
    "--out",
    out,
  );
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.task, "entailment");
  assert.equal(s.textOnly, true);
  assert.equal(s.steps, 3);
  assert.equal(s.images, 4);
  assert.equal(s.pairs, 8);
  assert.equal(s.baseStep, 4);
  assert.equal(
    s.dataSeed,
    0,
    "finetuned on the world the checkpoint pretrained on (WORLD_DATA_SEED), not on its run seed 2",
  );
  assert.ok(Number.isFinite(s.firstLoss) && Number.isFinite(s.lastLoss));
  for (const f of [
    "config.json",
    "tokenizer.json",
    "weights.safetensors",
    "optimizer.safetensors",
    "state.json",
  ])
    assert.ok(existsSync(join(out, f)), f);
  const e = cli("eval", "--ckpt", out, "--task", "entailment", "--n", "2");
  assert.equal(e.status, 0, e.stderr);
  const j = JSON.parse(e.stdout);
  assert.equal(j.premise, "image");
  assert.equal(j.n, 4);
  assert.equal(j.step, 7);
  assert.equal(
    j.dataSeed,
    0,
    "a finetuned checkpoint is evaluated on the world it was finetuned on",
  );
  assert.equal(j.metrics.chance, 1 / 2);
  assert.ok(j.metrics.accuracy >= 0 && j.metrics.accuracy <= 1);
  const v = cli("eval", "--ckpt", out, "--task", "vqa", "--n", "2", "--held-out");
  assert.equal(v.status, 0, v.stderr);
  const jv = JSON.parse(v.stdout);
  assert.equal(jv.heldOut, true);
  assert.ok(jv.metrics.accuracy >= 0 && jv.metrics.accuracy <= 1);
  // Writing over an existing checkpoint is refused, naming it.
  const again = cli("finetune", "--ckpt", ckpt, "--task", "caption", "--steps", "1", "--out", out);
  assert.notEqual(again.status, 0);
  assert.match(
    again.stderr,
    new RegExp(`${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} already holds a checkpoint`),
  );
});

test("checkpointDataSeed: the data spec's or the finetune's data seed, never the run seed", () => {
  assert.equal(checkpointDataSeed({ train: { data: { source: "shapes", dataSeed: 3 } } }), 3);
  assert.equal(checkpointDataSeed({ finetune: { dataSeed: 5 } }), 5);
  assert.equal(
    checkpointDataSeed({ finetune: { worldSeed: 4 } }),
    4,
    "finetuned checkpoints written before the rename",
  );
  assert.equal(
    checkpointDataSeed({ seed: 2, train: { data: { source: "shapes" } } } as { train: unknown }),
    WORLD_DATA_SEED,
  );
  assert.equal(
    checkpointDataSeed({ train: { data: { source: "coco", dataSeed: 7 } } }),
    WORLD_DATA_SEED,
  );
});

test("loadModel reads the finetuned checkpoint", async () => {
  const out = join(dir, "ft");
  if (!existsSync(join(out, "state.json"))) return; // covered by the previous test's own assertions
  const m = await loadModel(out);
  const ft = (m.meta as unknown as { finetune: { task: string; dataSeed: number } }).finetune;
  assert.equal(ft.task, "entailment");
  assert.equal(ft.dataSeed, 0);
  m.model.dispose();
});

test("bad input: one line naming the flag, file or value", () => {
  const missing = cli("eval", "--ckpt", join(dir, "nope"), "--task", "caption");
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nope/);
  assert.ok(missing.stderr.trim().split("\n").length <= 2, missing.stderr);
  const task = cli("eval", "--ckpt", ckpt, "--task", "bogus");
  assert.match(task.stderr, /--task must be one of caption, vqa, entailment, got "bogus"/);
  const text = cli(
    "finetune",
    "--ckpt",
    ckpt,
    "--task",
    "caption",
    "--text-only",
    "--out",
    join(dir, "x"),
  );
  assert.match(text.stderr, /--text-only: text-only finetuning is for the entailment task/);
  const noOut = cli("finetune", "--ckpt", ckpt, "--task", "vqa");
  assert.match(noOut.stderr, /--out is required/);
});
