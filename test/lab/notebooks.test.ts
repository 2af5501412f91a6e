/**
 * The committed notebooks opened in the JupyterLab that `npm start` builds (lab/), in Chromium, as a
 * new user sees them: untrusted (a fresh Jupyter data folder has no signatures). Every Plotly figure
 * is drawn by lab/plotly-renderer.js (an SVG of non-zero size), the attention figure's token slider
 * and view menu work, PNGs and markdown summaries are shown. Then the notebook is trusted from the
 * UI and the figures are still drawn.
 */
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { exitWhenDone, repo } from "../kernel/client.ts";
import { launchChromium } from "../kernel/browser.ts";
import {
  drawnFigures,
  labPrerequisites,
  notebookState,
  openDocument,
  openInLab,
  startLab,
  type RunningLab,
} from "./lab.ts";

exitWhenDone();

const PLOTLY = "application/vnd.plotly.v1+json";
const NOTEBOOKS = [
  "01-prefixlm-pretraining.ipynb",
  "02-prefix-length-ablation.ipynb",
  "03-zero-shot-transfer.ipynb",
];
const pre = await labPrerequisites();

/** What raw markdown looks like on screen: a table rule, bold markers, a heading or quote marker. */
const RAW_MARKDOWN = /\|\s*:?-{3,}:?\s*\||\*\*\S|^#{1,6} |^> /m;

/** What the saved file holds: figures, PNGs shown on their own (no richer mime beside them), markdown. */
function expected(nb: string) {
  const cells = JSON.parse(readFileSync(join(repo, "notebooks", nb), "utf8")).cells as {
    outputs?: { data?: Record<string, unknown> }[];
  }[];
  const outs = cells.flatMap((c) => c.outputs ?? []).map((o) => Object.keys(o.data ?? {}));
  return {
    figures: outs.filter((m) => m.includes(PLOTLY)).length,
    pngs: outs.filter(
      (m) => m.includes("image/png") && !m.includes(PLOTLY) && !m.includes("text/html"),
    ).length,
    markdown: outs.filter((m) => m.includes("text/markdown")).length,
    // Summaries with a table (the kernel adds an HTML rendering to each markdown output).
    tables: cells
      .flatMap((c) => c.outputs ?? [])
      .filter((o) => /\n\|?\s*:?-{3,}/.test(String(o.data?.["text/markdown"] ?? ""))).length,
  };
}

describe(
  "committed notebooks in JupyterLab (npm build)",
  { skip: "skip" in pre && pre.skip, timeout: 600_000 },
  () => {
    let lab: RunningLab;
    let browser: Browser;
    let page: Page;
    const errors: string[] = []; // uncaught errors in the page, from the app's start on
    before(async () => {
      if ("skip" in pre) return;
      // Reading needs no kernel: opening a notebook does not start one here (a user's does).
      lab = await startLab(pre, {
        notebooks: NOTEBOOKS,
        serverArgs: ["--SimvlmLab.notebook_starts_kernel=False"],
      });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("pageerror", (e) => errors.push(e.message));
      await openInLab(page, lab);
    });
    after(async () => {
      await browser?.close();
      await lab?.stop();
    });

    for (const nb of NOTEBOOKS) {
      it(`${nb}: untrusted, every figure, PNG and summary is shown`, async () => {
        await openDocument(page, nb);
        const want = expected(nb);
        const state = (await notebookState(page))!;
        assert.equal(state.path, nb);
        const untrusted = await page.evaluate(() => {
          const nbw = (window as any).simvlmLab.shell.currentWidget.content;
          const cells = [...Array(nbw.model.cells.length).keys()]
            .map((i) => nbw.model.cells.get(i))
            .filter((c: any) => c.type === "code");
          return cells.filter((c: any) => !c.trusted).length;
        });
        assert.ok(untrusted > 0, "the notebook opened untrusted (what a new user sees)");

        const figs = await drawnFigures(page);
        assert.equal(figs.length, want.figures, "one drawn Plotly figure per figure output");
        for (const [i, f] of figs.entries())
          assert.ok(
            f.svg && f.w > 100 && f.h > 100,
            `figure ${i} drawn with a visible size: ${JSON.stringify(f)}`,
          );
        const pngs = await page
          .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedImage img")
          .evaluateAll(
            (imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length,
          );
        assert.equal(pngs, want.pngs, "every PNG output shows its image");
        // Summaries: markdown outputs carry an HTML rendering, which JupyterLab prefers (sanitised
        // when untrusted); its renderers are asynchronous: wait (up to 20 s) for every table.
        const outputs = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output";
        let tables = await page.locator(`${outputs} table`).count();
        for (const end = Date.now() + 20_000; tables < want.tables && Date.now() < end;) {
          await page.waitForTimeout(250);
          tables = await page.locator(`${outputs} table`).count();
        }
        assert.ok(want.markdown > 0);
        assert.ok(
          tables >= want.tables,
          `every summary table is rendered (${tables}/${want.tables})`,
        );
        const raw = await page
          .locator(outputs)
          .evaluateAll(
            (els, re) =>
              els
                .map((e) => (e as HTMLElement).innerText)
                .filter((t) => new RegExp(re, "m").test(t)),
            RAW_MARKDOWN.source,
          );
        assert.deepEqual(raw, [], "no summary is shown as markdown source");
        assert.deepEqual(errors, []);
      });
    }

    it("the attention figure's token slider and view menu work in an untrusted notebook", async () => {
      await openDocument(page, NOTEBOOKS[0]!);
      await drawnFigures(page);
      const fig = page
        .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .simvlm-PlotlyRenderer", {
          has: page.locator(".slider-container"),
        })
        .first();
      await fig.evaluate((e) => e.scrollIntoView({ block: "center" }));
      await page.waitForTimeout(500); // let the scroll settle before clicking by coordinates
      const visible = () =>
        fig.evaluate((gd: any) => {
          const i = gd.data.findIndex((t: any) => t.type === "heatmap" && t.visible !== false);
          return { i, z: JSON.stringify(gd.data[i].z) };
        });
      const before = await visible();
      const rail = (await fig.locator(".slider-rail-touch-rect").boundingBox())!;
      await page.mouse.click(rail.x + rail.width - 3, rail.y + rail.height / 2);
      await page.waitForTimeout(300);
      const slid = await visible();
      assert.equal(slid.i, before.i);
      assert.notEqual(slid.z, before.z, "the slider shows another token's attention map");
      const last = await fig.evaluate((gd: any) =>
        JSON.stringify(gd.layout.sliders[0].steps.at(-1).args[0].z[0]),
      );
      assert.equal(slid.z, last, "the last slider step is shown");
      await fig.locator(".updatemenu-header-group").click();
      const options = fig.locator(".updatemenu-dropdown-button");
      assert.ok((await options.count()) >= 2, "the view menu lists several views");
      await options.nth(1).click();
      await page.waitForTimeout(300);
      assert.notEqual((await visible()).i, before.i, "the menu switched to another view's trace");
      assert.deepEqual(errors, []);
    });

    it("figures are still drawn once the notebook is trusted from the UI", async () => {
      await openDocument(page, NOTEBOOKS[2]!);
      const want = expected(NOTEBOOKS[2]!).figures;
      await page.evaluate(() => {
        void (window as any).simvlmLab.commands.execute("notebook:trust");
      }); // resolves after the dialog
      await page.locator(".jp-Dialog .jp-Dialog-button", { hasText: "Trust" }).click();
      await page.waitForFunction(
        () => {
          const nbw = (window as any).simvlmLab.shell.currentWidget.content;
          return [...Array(nbw.model.cells.length).keys()].every(
            (i) => nbw.model.cells.get(i).trusted,
          );
        },
        undefined,
        { timeout: 30_000 },
      );
      const figs = await drawnFigures(page);
      assert.equal(figs.length, want);
      for (const f of figs) assert.ok(f.svg && f.w > 100 && f.h > 100);
    });
  },
);
