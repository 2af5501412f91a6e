/**
 * A notebook executed through nbclient on this kernel, then exported with nbconvert --to html and
 * opened offline in headless Chromium: the Plotly figure must draw (its SVG present) with no server
 * and no network.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exitWhenDone, installTempKernelspec, PYTHON, repo } from "./client.ts";
import { launchChromium } from "./browser.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

exitWhenDone();

it(
  "runs a notebook with nbclient; its HTML export draws the Plotly figure offline",
  { skip: skipUnless("nbclient", "nbconvert", "chromium"), timeout: 300_000 },
  async () => {
    const ks = installTempKernelspec();
    const dir = mkdtempSync(join(tmpdir(), "simvlm-nb-"));
    try {
      const r = spawnSync(
        PYTHON,
        [
          join(repo, "test", "kernel", "py", "run_notebook.py"),
          join(dir, "nb.ipynb"),
          join(dir, "nb.html"),
        ],
        {
          cwd: dir,
          encoding: "utf8",
          timeout: 280_000,
          env: { ...process.env, JUPYTER_PATH: ks.jupyterPath, PYTHONDONTWRITEBYTECODE: "1" },
        },
      );
      assert.equal(r.status, 0, r.stderr);
      const { cells, language } = JSON.parse(r.stdout.trim().split("\n").pop()!);
      assert.equal(language, "typescript");
      assert.deepEqual(
        cells.map((c: { execution_count: number }) => c.execution_count),
        [1, 2, 3, 4],
      );
      assert.equal(cells[0].outputs[0].output_type, "execute_result");
      assert.equal(cells[0].outputs[0].plain, "[ 2, 4, 6 ]");
      assert.equal(cells[1].outputs[0].text, "sum 6\n");
      const fig = cells[2].outputs[0];
      assert.equal(fig.output_type, "display_data");
      assert.ok(
        fig.mimes.includes("application/vnd.plotly.v1+json") && fig.mimes.includes("text/html"),
      );
      assert.equal(cells[3].outputs[0].plain, "true");

      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.route(/^https?:/, (route) => route.abort()); // offline: nothing from the network
        await page.goto(pathToFileURL(join(dir, "nb.html")).href);
        await page.waitForSelector(".js-plotly-plot svg.main-svg", { timeout: 60_000 });
        assert.ok((await page.locator(".js-plotly-plot .scatterlayer .trace").count()) >= 1);
      } finally {
        await browser.close();
      }
    } finally {
      ks.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
