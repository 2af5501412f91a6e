/**
 * The classic Notebook (Debian's jupyter-notebook) in headless Chromium: open a notebook on this
 * kernel, run its cells in the page, and check that the Plotly figure is drawn (its SVG present)
 * and a second figure draws without shipping plotly.js again; then Kernel > Interrupt stops a
 * running pretrain() at a step boundary and the next cell resumes it.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec } from "./client.ts";
import type { Browser } from "playwright-core";
import { startJupyter, type RunningServer } from "./server.ts";
import { launchChromium, PLOTS_DRAWN } from "./browser.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

exitWhenDone();

const cell = (source: string) => ({
  cell_type: "code",
  execution_count: null,
  metadata: {},
  outputs: [],
  source,
});

it(
  "classic Notebook in Chromium renders a Plotly figure from this kernel; its Kernel menu interrupts pretrain()",
  { skip: skipUnless("notebook", "chromium"), timeout: 300_000 },
  async () => {
    const ks = installTempKernelspec();
    const root = mkdtempSync(join(tmpdir(), "simvlm-classic-"));
    writeFileSync(
      join(root, "plot.ipynb"),
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {
          kernelspec: {
            name: "simvlm",
            display_name: "SimVLM (TypeScript)",
            language: "typescript",
          },
        },
        cells: [
          cell(
            "const ys: number[] = [3, 1, 4, 1, 5]\ndisplay.plotly({ data: [{ type: 'scatter', y: ys }], layout: { title: { text: 'first' } } })",
          ),
          cell(
            "display.plotly({ data: [{ type: 'bar', y: ys }], layout: { title: { text: 'second' } } })",
          ),
        ].map((c, i) => ({ ...c, id: `c${i}` })),
      }),
    );
    let server: RunningServer | undefined, browser: Browser | undefined;
    try {
      server = await startJupyter("notebook", root, ks.jupyterPath);
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${server.url}notebooks/plot.ipynb?token=${server.token}`);
      await page.waitForFunction(
        () => {
          const nb = (window as any).Jupyter?.notebook;
          return (
            nb?.kernel?.is_connected?.() &&
            nb.kernel.info_reply?.language_info?.name === "typescript"
          );
        },
        undefined,
        { timeout: 120_000 },
      );
      await page.evaluate(() => (window as any).Jupyter.notebook.execute_all_cells());
      await page.waitForFunction(`${PLOTS_DRAWN} >= 2`, undefined, { timeout: 120_000 });
      const plots = await page.locator(".js-plotly-plot").count();
      assert.equal(plots, 2);
      assert.ok((await page.locator(".js-plotly-plot .scatterlayer .trace").count()) >= 1);
      assert.ok((await page.locator(".js-plotly-plot .barlayer .trace").count()) >= 1);
      const titles = await page.locator(".js-plotly-plot .gtitle").allTextContents();
      assert.deepEqual(titles, ["first", "second"]);
      // One plotly.js per page (issue 17 item 5): the cartesian bundle, fetched once from the
      // kernelspec folder; the kernel's inline copy (its loader output, there too) is not run.
      const plotly = await page.evaluate(() => ({
        fetched: performance
          .getEntriesByType("resource")
          .map((e) => e.name)
          .filter((n) => /plotly[^/]*\.js/.test(n)),
        loaders: (window as any).Jupyter.notebook
          .get_cells()
          .flatMap((c: any) => c.output_area.outputs)
          .filter((o: any) =>
            String(o.data?.["text/html"] ?? "").includes("__simvlmDefinePlotly = function"),
          ).length,
        traces: Object.keys((window as any).Plotly.PlotSchema.get().traces),
      }));
      assert.equal(plotly.fetched.length, 1, plotly.fetched.join(", "));
      assert.match(plotly.fetched[0]!, /kernelspecs\/simvlm\/plotly\.min\.js/);
      assert.equal(plotly.loaders, 1, "the kernel sent its inline plotly.js once");
      assert.ok(
        plotly.traces.includes("heatmap") && !plotly.traces.includes("scatter3d"),
        `the cartesian bundle: ${plotly.traces.join(",")}`,
      );

      // Kernel > Interrupt on a running pretrain(): it stops at a step boundary, says where, and the
      // next cell resumes it from the checkpoint it saved (issue 17 items 1 and 8).
      const outDir = join(root, "run");
      const opts = `config: "tiny", data: { source: "shapes", split: "train" }, steps: 3000, batchSize: 8, seed: 0, outDir: ${JSON.stringify(outDir)}`;
      const runCell = (source: string) =>
        page.evaluate((src) => {
          const nb = (window as any).Jupyter.notebook;
          const c = nb.insert_cell_at_bottom("code");
          c.set_text(src);
          c.execute();
          return nb.ncells() - 1;
        }, source);
      const cellState = (k: number) =>
        page.evaluate((i) => {
          const c = (window as any).Jupyter.notebook.get_cell(i);
          return {
            done: typeof c.input_prompt_number === "number",
            text: c.output_area.element[0].textContent as string,
            errors: (c.output_area.outputs as { output_type: string; ename?: string }[])
              .filter((o) => o.output_type === "error")
              .map((o) => o.ename),
          };
        }, k);
      const training = await runCell(
        `import { pretrain, readCheckpointMeta } from "simvlm"\nconst run = await pretrain({ ${opts} })`,
      );
      await page.waitForFunction(
        (i) =>
          /\b([3-9]|\d\d+)\/3000\b/.test(
            (window as any).Jupyter.notebook.get_cell(i).output_area.element[0].textContent,
          ),
        training,
        { timeout: 180_000, polling: 200 },
      );
      const t0 = Date.now();
      await page.click("#kernellink");
      await page.click("#int_kernel");
      await page.waitForFunction(
        (i) => typeof (window as any).Jupyter.notebook.get_cell(i).input_prompt_number === "number",
        training,
        { timeout: 30_000, polling: 100 },
      );
      console.log(
        `# classic Notebook, Kernel > Interrupt: pretrain stopped ${Date.now() - t0} ms after the click`,
      );
      const stopped = await cellState(training);
      assert.deepEqual(stopped.errors, ["InterruptError"], stopped.text);
      const at = Number(/interrupted at step (\d+)/.exec(stopped.text)?.[1]);
      assert.ok(at >= 3 && at < 3000, `stopped early, at a step it names: ${stopped.text}`);
      const next = await runCell(
        `const more = await pretrain({ ${opts}, resume: true, until: readCheckpointMeta(${JSON.stringify(outDir)}).step + 2 });\n\`\${more.step} \${more.stopped}\``,
      );
      await page.waitForFunction(
        (i) => typeof (window as any).Jupyter.notebook.get_cell(i).input_prompt_number === "number",
        next,
        { timeout: 120_000, polling: 200 },
      );
      const resumed = await cellState(next);
      assert.match(
        resumed.text,
        new RegExp(`${at + 2} until`),
        `the next cell resumed training: ${resumed.text}`,
      );
    } finally {
      // Each step even when the one before failed: a failed Chromium launch must not leave the server up.
      await browser?.close().catch(() => {});
      await server?.stop();
      ks.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
