/**
 * Figures drawn live in the JupyterLab that `npm start` builds (lab/) keep a static picture when the
 * notebook is saved (issue 17 item 2): lab/plotly-renderer.js, once a trusted figure has stopped
 * changing, stores a 1× PNG in its output model (`image/png`, and an `<img>` in the kernel's HTML
 * fragment), so the saved .ipynb shows the figure where scripts do not run. A live training plot
 * updated in place gets one picture, of its final state. An untrusted notebook is only shown: opening
 * one whose figures lack pictures leaves it unmodified.
 */
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { exitWhenDone } from "../kernel/client.ts";
import { launchChromium } from "../kernel/browser.ts";
import {
  cellDone,
  drawnFigures,
  labPrerequisites,
  openDocument,
  openInLab,
  startLab,
  waitForKernel,
  type RunningLab,
} from "./lab.ts";
import picture from "../../lib/display/plotly-picture.cjs";
import { plotlyFigureHtml } from "../../lib/display/plotly.ts";
import type { PlotlyFigure } from "../../lib/display/index.ts";

exitWhenDone();

const PLOTLY = "application/vnd.plotly.v1+json";
const pre = await labPrerequisites();

const CELLS = [
  `display.plotly({ data: [{ type: "scatter", y: [3, 1, 4, 1, 5] }], layout: { title: { text: "live figure" } } })`,
  `import { liveTrainingPlot } from "simvlm";
const plot = liveTrainingPlot({ title: "demo", maxUpdatesPerSecond: 50 });
for (let s = 1; s <= 30; s++) { plot.onStep({ step: s, loss: 3 / s, lr: 1e-3, examples_per_s: 50 }); await new Promise((r) => setTimeout(r, 20)); }
plot.finish();`,
];

type Output = { output_type: string; data?: Record<string, unknown> };
type Notebook = { metadata: Record<string, unknown>; cells: { outputs?: Output[] }[] };
const text = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v ?? ""));
const figureOutputs = (nb: Notebook) =>
  nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.[PLOTLY]);
function pngSize(b64: string): { w: number; h: number; kb: number } {
  const b = Buffer.from(b64, "base64");
  assert.equal(b.toString("latin1", 1, 4), "PNG", "image/png holds a PNG");
  return { w: b.readUInt32BE(16), h: b.readUInt32BE(20), kb: Math.round(b.length / 102.4) / 10 };
}

/** Whether the current notebook has unsaved changes. */
const dirty = (page: Page) =>
  page.evaluate(() => (window as any).simvlmLab.shell.currentWidget.context.model.dirty as boolean);

describe(
  "JupyterLab (npm build): live figures are saved with a static picture",
  { skip: "skip" in pre && pre.skip, timeout: 600_000 },
  () => {
    let lab: RunningLab;
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];
    before(async () => {
      if ("skip" in pre) return;
      lab = await startLab(pre);
      const cells = CELLS.map((source, i) => ({
        cell_type: "code",
        execution_count: null,
        id: `c${i}`,
        metadata: {},
        outputs: [],
        source,
      }));
      writeFileSync(
        join(lab.root, "live.ipynb"),
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
          cells,
        }),
      );
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("pageerror", (e) => errors.push(e.message));
      await openInLab(page, lab, "live.ipynb");
      await waitForKernel(page, "idle");
    });
    after(async () => {
      await browser?.close();
      await lab?.stop();
    });

    it("a figure and a live training plot run in a new notebook are saved with their pictures", async () => {
      await page.evaluate(() => {
        void (window as any).simvlmLab.commands.execute("notebook:run-all-cells");
      });
      await cellDone(page, CELLS.length - 1, 180_000);
      assert.equal((await drawnFigures(page)).length, 2, "both figures are drawn");
      // Each figure's picture is stored once it has not changed for 1.5 s.
      await page.waitForFunction(
        (mime) => {
          const model = (window as any).simvlmLab.shell.currentWidget.content.model;
          const outs: any[] = [];
          for (let i = 0; i < model.cells.length; i++) {
            const c = model.cells.get(i);
            for (let j = 0; j < c.outputs.length; j++) outs.push(c.outputs.get(j).data);
          }
          const figs = outs.filter((d) => d[mime]);
          return figs.length === 2 && figs.every((d) => d["image/png"]);
        },
        PLOTLY,
        { timeout: 30_000, polling: 250 },
      );
      assert.equal(await dirty(page), true, "storing the pictures marked the notebook modified");
      await page.evaluate(() => (window as any).simvlmLab.shell.currentWidget.context.save());
      assert.equal(await dirty(page), false);

      const saved = JSON.parse(readFileSync(join(lab.root, "live.ipynb"), "utf8")) as Notebook;
      const figs = figureOutputs(saved);
      assert.equal(figs.length, 2, "one output per figure (the live plot updated in place)");
      const sizes = figs.map((o) => {
        const png = text(o.data!["image/png"]);
        const html = text(o.data!["text/html"]);
        assert.ok(png, "the saved figure has image/png");
        assert.ok(
          html.includes(`<img src="data:image/png;base64,${png}"`),
          "the saved HTML shows the same picture as an <img>",
        );
        assert.equal(picture.needsPicture(html), false);
        return pngSize(png);
      });
      assert.deepEqual(
        sizes.map((s) => [s.w, s.h]),
        [
          [760, 450],
          [900, 320],
        ],
        "1× pictures at the layout's size (default 760×450)",
      );
      assert.match(
        text(figs[1]!.data!["text/html"]),
        /alt="Plotly figure &quot;demo — step 30, loss 0\.1000 \(done\)&quot;/,
        "the live plot's picture is of its final state",
      );
      console.log(
        `# JupyterLab live pictures: ${sizes.map((s) => `${s.w}×${s.h} ${s.kb} KB`).join(", ")}`,
      );
      assert.deepEqual(errors, []);
    });

    it("an untrusted notebook whose figures lack pictures is shown, not modified", async () => {
      const saved = JSON.parse(readFileSync(join(lab.root, "live.ipynb"), "utf8")) as Notebook;
      for (const o of figureOutputs(saved)) {
        delete o.data!["image/png"];
        o.data!["text/html"] = plotlyFigureHtml(o.data![PLOTLY] as PlotlyFigure);
      }
      saved.metadata.copied = true; // no signature covers it: untrusted
      writeFileSync(join(lab.root, "bare.ipynb"), JSON.stringify(saved));
      await openDocument(page, "bare.ipynb");
      const trusted = await page.evaluate(() => {
        const model = (window as any).simvlmLab.shell.currentWidget.content.model;
        return [...Array(model.cells.length).keys()].map((i) => model.cells.get(i).trusted);
      });
      assert.deepEqual(trusted, [false, false], "the copy opened untrusted");
      assert.equal((await drawnFigures(page)).length, 2, "its figures are drawn");
      await page.waitForTimeout(3000); // twice the delay after which a trusted figure stores its picture
      assert.equal(await dirty(page), false, "opening it changed nothing");
      assert.deepEqual(errors, []);
    });
  },
);
