/**
 * The classic Notebook (Debian's jupyter-notebook) in headless Chromium: open a notebook on this
 * kernel, run its cells in the page, and check that the Plotly figure is drawn (its SVG present)
 * and a second figure draws without shipping plotly.js again.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec } from "./client.ts";
import type { Browser } from "playwright-core";
import { startJupyter, type RunningServer } from "./server.ts";
import { launchChromium } from "./browser.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

exitWhenDone();

const cell = (source: string) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source });

it("classic Notebook in Chromium renders a Plotly figure from this kernel", { skip: skipUnless("notebook", "chromium"), timeout: 300_000 }, async () => {
  const ks = installTempKernelspec();
  const root = mkdtempSync(join(tmpdir(), "simvlm-classic-"));
  writeFileSync(join(root, "plot.ipynb"), JSON.stringify({
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: "simvlm", display_name: "SimVLM (TypeScript)", language: "typescript" } },
    cells: [
      cell("const ys: number[] = [3, 1, 4, 1, 5]\ndisplay.plotly({ data: [{ type: 'scatter', y: ys }], layout: { title: { text: 'first' } } })"),
      cell("display.plotly({ data: [{ type: 'bar', y: ys }], layout: { title: { text: 'second' } } })"),
    ].map((c, i) => ({ ...c, id: `c${i}` })),
  }));
  let server: RunningServer | undefined, browser: Browser | undefined;
  try {
    server = await startJupyter("notebook", root, ks.jupyterPath);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${server.url}notebooks/plot.ipynb?token=${server.token}`);
    await page.waitForFunction(() => {
      const nb = (window as any).Jupyter?.notebook;
      return nb?.kernel?.is_connected?.() && nb.kernel.info_reply?.language_info?.name === "typescript";
    }, undefined, { timeout: 120_000 });
    await page.evaluate(() => (window as any).Jupyter.notebook.execute_all_cells());
    await page.waitForFunction(() => document.querySelectorAll(".js-plotly-plot svg.main-svg").length >= 2 * 1, undefined, { timeout: 120_000 });
    const plots = await page.locator(".js-plotly-plot").count();
    assert.equal(plots, 2);
    assert.ok(await page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 1);
    assert.ok(await page.locator(".js-plotly-plot .barlayer .trace").count() >= 1);
    const titles = await page.locator(".js-plotly-plot .gtitle").allTextContents();
    assert.deepEqual(titles, ["first", "second"]);
  } finally {
    // Each step even when the one before failed: a failed Chromium launch must not leave the server up.
    await browser?.close().catch(() => {});
    await server?.stop();
    ks.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
});
