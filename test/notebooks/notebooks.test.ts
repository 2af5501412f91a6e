/**
 * The three notebooks: their cells match the sources they are generated from
 * (scripts/notebooks/src), and they run top to bottom headless through nbclient with the simvlm
 * kernel in quick mode (SIMVLM_QUICK=1), each output holding no error and at least one Plotly
 * figure and one PNG. The kernelspec goes into a temporary prefix (`simvlm kernel install --prefix`),
 * checkpoints and the run cache into a temporary folder.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notebookSpecs, readNotebookCells, readSources, sameCells, syncCellMetadata } from "../../scripts/notebooks/build.ts";
import { PYTHON, runNotebooks } from "../../scripts/notebooks/run.ts";
import { CHROMIUM } from "../../scripts/notebooks/static-figures.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

const PLOTLY = "application/vnd.plotly.v1+json";
const NAMES = ["01-prefixlm-pretraining", "02-prefix-length-ablation", "03-zero-shot-transfer"];

const noNbclient = skipUnless("nbclient");

test("the three notebooks exist and match their sources", () => {
  const specs = notebookSpecs();
  assert.deepEqual(specs.map((s) => s.name), NAMES);
  for (const s of specs) {
    const cells = readNotebookCells(s.ipynb);
    assert.ok(cells, `${s.ipynb} is missing or not JSON`);
    assert.ok(sameCells(readSources(s), cells), `${s.ipynb} differs from ${s.src}: run node --import tsx scripts/notebooks/build.ts`);
    const nb = JSON.parse(readFileSync(s.ipynb, "utf8"));
    assert.equal(syncCellMetadata(nb), 0, `${s.ipynb}: code cells lack the built metadata (scrolled: false): run node --import tsx scripts/notebooks/build.ts`);
    assert.ok(statSync(s.ipynb).size < 5e6, `${s.ipynb} is ${statSync(s.ipynb).size} bytes (limit 5 MB)`);
  }
});

test("every notebook runs headless in quick mode with the simvlm kernel", { skip: noNbclient, timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-notebooks-"));
  try {
    // Static figure pictures need Chromium: without it the run checks everything else.
    const pictures = existsSync(CHROMIUM);
    if (!pictures) console.log(`# no Chromium at ${CHROMIUM}: figures' static pictures not drawn or checked`);
    const results = await runNotebooks({ quick: true, outDir: join(dir, "out"), cacheDir: join(dir, "cache"), timeout: 300, stderr: false, pictures });
    assert.equal(results.length, 3);
    for (const r of results) {
      assert.equal(r.failed, null, `${r.notebook}: ${r.failed}`);
      assert.deepEqual(r.errors, [], `${r.notebook} has error outputs`);
      assert.ok(r.bytes < 5e6, `${r.out} is ${r.bytes} bytes (limit 5 MB)`);
      // Count from the saved file too (not only the runner's summary).
      const nb = JSON.parse(readFileSync(r.out, "utf8")) as { cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown> }[] }[] };
      const outs = nb.cells.flatMap((c) => c.outputs ?? []);
      assert.ok(outs.some((o) => o.data && PLOTLY in o.data), `${r.notebook}: no Plotly figure`);
      assert.ok(outs.some((o) => o.data && "image/png" in o.data), `${r.notebook}: no PNG`);
      assert.ok(!outs.some((o) => o.output_type === "error"), `${r.notebook}: an error output`);
      if (pictures) {
        const figs = outs.filter((o) => o.data && PLOTLY in o.data);
        const bare = figs.filter((o) => !/<img src="data:image\//.test(String(o.data!["text/html"])));
        assert.equal(bare.length, 0, `${r.notebook}: ${bare.length} of ${figs.length} figures have no static picture in their HTML`);
      }
      const code = nb.cells.filter((c) => c.cell_type === "code");
      assert.ok(code.every((c) => (c as { execution_count?: number | null }).execution_count != null), `${r.notebook}: a code cell did not run`);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("the committed notebooks are saved executed: outputs, a Plotly figure and a PNG each, nbformat-valid", () => {
  for (const s of notebookSpecs()) {
    const nb = JSON.parse(readFileSync(s.ipynb, "utf8")) as { cells: { cell_type: string; execution_count?: number | null; outputs?: { output_type: string; data?: Record<string, unknown> }[] }[] };
    const code = nb.cells.filter((c) => c.cell_type === "code");
    assert.ok(code.every((c) => c.execution_count != null && (c.outputs?.length ?? 0) > 0), `${s.ipynb}: every code cell must be executed and have output (run scripts/notebooks/run.ts)`);
    const outs = code.flatMap((c) => c.outputs ?? []);
    assert.ok(!outs.some((o) => o.output_type === "error"), `${s.ipynb}: holds an error output`);
    assert.ok(outs.some((o) => o.data && PLOTLY in o.data), `${s.ipynb}: no Plotly figure`);
    assert.ok(outs.some((o) => o.data && "image/png" in o.data), `${s.ipynb}: no PNG`);
    // What viewers without scripts or trust show (issue 17 item 2): a picture in every figure's HTML,
    // an HTML rendering beside every markdown summary.
    const html = (o: { data?: Record<string, unknown> }) => [o.data?.["text/html"] ?? ""].flat().join("");
    const bare = outs.filter((o) => o.data && PLOTLY in o.data && !/<img src="data:image\//.test(html(o)));
    assert.equal(bare.length, 0, `${s.ipynb}: ${bare.length} figures without a static picture (run scripts/notebooks/run.ts)`);
    const mdOnly = outs.filter((o) => o.data && "text/markdown" in o.data && !html(o));
    assert.equal(mdOnly.length, 0, `${s.ipynb}: ${mdOnly.length} markdown outputs without HTML (run scripts/notebooks/run.ts)`);
    if (!noNbclient) {
      const v = spawnSync(PYTHON, ["-c", "import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))", s.ipynb], { encoding: "utf8" });
      assert.equal(v.status, 0, `${s.ipynb} is not nbformat-valid: ${v.stderr}`);
    }
  }
});
