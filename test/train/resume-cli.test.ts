// `--resume` as the README shows it: the same `simvlm pretrain` line with --resume added continues
// the run (bit-exactly); flags that agree with the checkpoint are accepted, each conflicting one is
// named with both values, --steps may extend the run, --until must lie after the checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { trainTokenizer } from "../../lib/tokenizer/tokenizer.ts";

const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;
const pretrain = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "pretrain", ...args], {
    encoding: "utf8",
    env: { ...process.env, SIMVLM_TESTING: "1" },
  });
const same = (a: string, b: string, f: string) =>
  fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f)));

test("the README's lines at tiny scale: --until, then the same command with --resume, equals a straight run", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "simvlm-resume-"));
  const straight = path.join(root, "straight"),
    runs = path.join(root, "runs-tiny");
  // README: npx simvlm pretrain --config small --steps 3000 --out runs/small --until 1000
  //         npx simvlm pretrain --config small --steps 3000 --out runs/small --resume
  const line = ["--config", "tiny", "--steps", "4", "--batch", "4"];
  try {
    let r = pretrain(...line, "--out", straight);
    assert.equal(r.status, 0, r.stderr);
    r = pretrain(...line, "--out", runs, "--until", "2");
    assert.equal(r.status, 0, r.stderr);
    r = pretrain(...line, "--out", runs, "--resume");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pretrain done at step 4\/4/);
    assert.doesNotMatch(r.stderr, /conflict|schedule/);
    for (const f of ["weights.safetensors", "optimizer.safetensors"])
      assert.ok(same(straight, runs, f), `${f}: resumed run differs from the straight one`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("--resume names every conflicting flag with both values, accepts agreeing ones, and lets --steps extend the run", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "simvlm-resume-"));
  const run = path.join(root, "run");
  try {
    let r = pretrain(
      "--config",
      "tiny",
      "--steps",
      "2",
      "--batch",
      "2",
      "--seed",
      "5",
      "--prefix",
      "fixed",
      "--k",
      "2",
      "--out",
      run,
    );
    assert.equal(r.status, 0, r.stderr);
    const other = path.join(root, "other-tokenizer.json");
    (await trainTokenizer(["a red circle", "a blue star on the left"], { vocabSize: 100 })).save(
      other,
    );

    r = pretrain(
      "--config",
      "small",
      "--data",
      path.join(root, "nowhere.jsonl"),
      "--text-only",
      path.join(root, "docs.txt"),
      "--steps",
      "2",
      "--batch",
      "8",
      "--seed",
      "5",
      "--lr",
      "0.002",
      "--warmup",
      "3",
      "--decay",
      "cosine",
      "--weight-decay",
      "0",
      "--clip",
      "0.5",
      "--objective",
      "lm",
      "--prefix",
      "fixed",
      "--k",
      "3",
      "--text-only-every",
      "2",
      "--tokenizer",
      other,
      "--out",
      run,
      "--resume",
    );
    assert.equal(r.status, 1);
    const msg = r.stderr;
    assert.doesNotMatch(msg, /\n\s+at /, "no stack trace");
    assert.match(
      msg,
      /^simvlm: --resume: these flags conflict with the checkpoint in \S+ \(given value first\): /,
    );
    assert.match(
      msg,
      /--config small \(checkpoint: config "tiny", differing in vocabSize 1000 vs 300, dModel 128 vs 32/,
    );
    assert.match(
      msg,
      new RegExp(
        `--data ${path.join(root, "nowhere.jsonl").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(checkpoint: shapes\\)`,
      ),
    );
    assert.match(msg, /--text-only \S+docs\.txt \(checkpoint: not set\)/);
    assert.match(msg, /--text-only-every 2 \(checkpoint: 8\)/);
    assert.match(
      msg,
      /--tokenizer \S+other-tokenizer\.json \(\d+ tokens, checkpoint: its own tokenizer\.json with \d+ tokens, a different vocabulary\)/,
    );
    assert.match(msg, /--batch 8 \(checkpoint: 2\)/);
    assert.match(msg, /--lr 0\.002 \(checkpoint: 0\.001\)/);
    assert.match(msg, /--warmup 3 \(checkpoint: 1\)/);
    assert.match(msg, /--decay cosine \(checkpoint: linear\)/);
    assert.match(msg, /--weight-decay 0 \(checkpoint: 0\.01\)/);
    assert.match(msg, /--clip 0\.5 \(checkpoint: 1\)/);
    assert.match(msg, /--objective lm \(checkpoint: prefixlm\)/);
    assert.match(msg, /--k 3 \(checkpoint: 2\)/);
    const listed = msg.slice(msg.indexOf("(given value first): "), msg.indexOf(". Leave them out"));
    assert.doesNotMatch(listed, /--seed|--prefix|--steps/, "agreeing flags are not conflicts");
    assert.equal(listed.split("; ").length, 13, listed);
    assert.equal(msg.trim().split("\n").length, 1, "one line");

    r = pretrain("--steps", "1", "--until", "2", "--out", run, "--resume");
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /--steps 1 \(checkpoint: already at step 2\); --until 2 \(checkpoint: already at step 2; --until must lie after it\)/,
    );

    // Every flag of the first command, spelled out with the values it used (defaults included),
    // agrees; --steps extends the run by one step, and the schedule change is said.
    r = pretrain(
      "--config",
      "tiny",
      "--data",
      "shapes",
      "--steps",
      "3",
      "--batch",
      "2",
      "--seed",
      "5",
      "--lr",
      "1e-3",
      "--warmup",
      "1",
      "--decay",
      "linear",
      "--weight-decay",
      "0.01",
      "--clip",
      "1",
      "--objective",
      "prefixlm",
      "--prefix",
      "fixed",
      "--k",
      "2",
      "--text-only-every",
      "8",
      "--tokenizer",
      path.join(run, "tokenizer.json"),
      "--save-every",
      "5",
      "--out",
      run,
      "--resume",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /--steps 3 extends the schedule from 2 updates/);
    assert.match(r.stdout, /pretrain done at step 3\/3/);
    const rows = fs
      .readFileSync(path.join(run, "train.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: number });
    assert.deepEqual(
      rows.map((x) => x.step),
      [1, 2, 3],
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
