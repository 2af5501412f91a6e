// `simvlm score`: plain and COCO-style inputs, and errors that name the file and field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captionScores } from "../../lib/eval/index.ts";

const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "score", ...args], { encoding: "utf8" });

test("score CLI: plain maps and COCO files give the same captionScores JSON", () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-score-"));
  try {
    const refs = {
      "1": ["A man riding a horse.", "A person on a horse."],
      "2": ["A cat on a mat.", "The cat sits on the mat."],
      "3": ["Two dogs play in the park."],
    };
    const cands = {
      "1": "a man on a horse",
      "2": "a cat sitting on a mat",
      "3": "a dog in a park",
    };
    const want = captionScores(refs, cands);
    const w = (name: string, v: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(v));
      return p;
    };
    const plain = run("--refs", w("refs.json", refs), "--cands", w("cands.json", cands));
    assert.equal(plain.status, 0, plain.stderr);
    assert.deepEqual(JSON.parse(plain.stdout), want);
    const cocoRefs = {
      annotations: Object.entries(refs).flatMap(([id, cs]) =>
        cs.map((caption) => ({ image_id: Number(id), caption })),
      ),
    };
    const cocoCands = Object.entries(cands).map(([id, caption]) => ({
      image_id: Number(id),
      caption,
    }));
    const coco = run("--refs", w("ann.json", cocoRefs), "--cands", w("res.json", cocoCands));
    assert.equal(coco.status, 0, coco.stderr);
    assert.deepEqual(JSON.parse(coco.stdout), want);

    const bad = run(
      "--refs",
      w("ann2.json", { annotations: [{ image_id: 1 }] }),
      "--cands",
      w("res2.json", cocoCands),
    );
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /ann2\.json: annotations\[0\]\.caption/);
    const missing = run("--refs", join(dir, "nope.json"), "--cands", join(dir, "res.json"));
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /cannot read refs file .*nope\.json/);
    const mismatch = run("--refs", join(dir, "refs.json"), "--cands", w("few.json", { "1": "x" }));
    assert.notEqual(mismatch.status, 0);
    assert.match(mismatch.stderr, /refs ids without a candidate: "2", "3"/);
    assert.doesNotMatch(mismatch.stderr, /\n\s+at /); // a message, not a stack trace
    assert.match(mismatch.stderr, /--only-cands/);
    const subset = run(
      "--refs",
      join(dir, "ann.json"),
      "--cands",
      w("part.json", cocoCands.slice(0, 2)),
      "--only-cands",
    );
    assert.equal(subset.status, 0, subset.stderr);
    assert.deepEqual(
      JSON.parse(subset.stdout),
      captionScores({ "1": refs["1"], "2": refs["2"] }, { "1": cands["1"], "2": cands["2"] }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
