// The lead's acceptance check, small: `pretrain` straight vs `--until` then `--resume` gives identical
// weights.safetensors, and the JSONL log has the documented fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "pretrain", ...args], {
    encoding: "utf8",
    env: { ...process.env, SIMVLM_TESTING: "1" },
  });

test("simvlm pretrain: --until then --resume == straight, bit for bit; log fields; clear errors", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "simvlm-cli-"));
  const a = path.join(root, "a"),
    b = path.join(root, "b");
  const flags = [
    "--config",
    "tiny",
    "--data",
    "shapes",
    "--steps",
    "4",
    "--batch",
    "4",
    "--seed",
    "3",
  ];
  try {
    let r = run(...flags, "--out", a);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /pretrain done at step 4\/4, loss [\d.]+ → [\d.]+; checkpoint in/);
    r = run(...flags, "--out", b, "--until", "2");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /stopped \(--until\) at step 2\/4.*--resume/);
    r = run("--steps", "4", "--out", b, "--resume");
    assert.equal(r.status, 0, r.stderr);
    for (const f of ["weights.safetensors", "optimizer.safetensors"]) {
      assert.ok(
        fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))),
        `${f} identical`,
      );
    }
    for (const f of ["config.json", "tokenizer.json", "state.json"])
      assert.ok(fs.existsSync(path.join(a, f)), f);
    const rows = fs
      .readFileSync(path.join(a, "train.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((x) => x.step),
      [1, 2, 3, 4],
    );
    for (const x of rows)
      for (const k of ["loss", "lr", "grad_norm", "examples_per_s"])
        assert.equal(typeof x[k], "number", k);

    r = run(...flags, "--out", a);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /already holds a checkpoint \(step 4\).*resume/);
    r = run("--steps", "4", "--out", path.join(root, "none"), "--resume");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /CheckpointError|no such checkpoint|state\.json/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace for a user error");
    r = run(...flags, "--out", path.join(root, "c"), "--objective", "nope");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--objective must be one of prefixlm, lm, span/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
