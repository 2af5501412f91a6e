/**
 * The results files committed beside the executed notebooks (issue 14 item 6): each is a well-formed
 * ResultsFile, belongs to the executed notebook next to it (the notebook's outputs show the file's
 * test-split hash and write-up), and a quick-mode file says so and claims nothing about the paper.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { resultsFileProblems, type ResultsFile } from "../../lib/eval/index.ts";
import { NOTEBOOK_DIR } from "../../scripts/notebooks/build.ts";

// Notebooks that write notebooks/results/<name>.json (issue 14); 02 joins when its runner does.
const WITH_RESULTS = ["01-prefixlm-pretraining", "03-zero-shot-transfer"];

function outputsText(ipynb: string): string {
  const nb = JSON.parse(readFileSync(ipynb, "utf8")) as { cells: { outputs?: { data?: Record<string, string | string[]>; text?: string | string[] }[] }[] };
  const join1 = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));
  return nb.cells.flatMap((c) => c.outputs ?? []).map((o) => join1(o.data?.["text/markdown"]) + join1(o.text)).join("\n");
}

for (const name of WITH_RESULTS) {
  test(`${name}: its committed results file is well-formed and matches the executed notebook`, () => {
    const file = join(NOTEBOOK_DIR, "results", `${name}.json`);
    assert.ok(existsSync(file), `${file} is missing: run node --import tsx scripts/notebooks/run.ts ${name}`);
    const r = JSON.parse(readFileSync(file, "utf8")) as ResultsFile;
    assert.deepEqual(resultsFileProblems(r), [], `${file} is malformed`);
    assert.equal(r.notebook, name);
    const text = outputsText(join(NOTEBOOK_DIR, `${name}.ipynb`));
    const testHash = r.splits.find((s) => s.split === "test")?.hash;
    assert.ok(testHash && text.includes(testHash.slice(0, 16)), `${name}.ipynb does not show the results file's test split hash: run the notebook again so both come from one run`);
    assert.match(text, /What it does not show/);
    if (r.mode === "quick") {
      assert.match(text, /quick-mode smoke run/, `${name}.ipynb comes from a quick run but does not say so`);
      assert.ok(r.claims.every((c) => c.verdict === "not tested"), `${file}: a quick run must not give a verdict on the paper's claims`);
    }
  });
}
