/**
 * Figures drawn in a live classic Notebook keep a static picture when the notebook is saved (issue 17
 * item 2): a fresh notebook (trusted: the user made it) runs a plain figure, a live training plot
 * updated ~30 times, and a figure drawn once plotly.js is already on the page; each figure's own
 * script stores a 1× PNG in its output (bundle `image/png` and an `<img>` in its HTML), once the
 * figure has stopped changing. The saved file holds exactly what scripts/notebooks/static-figures.ts
 * writes for the same outputs, and a copy of it opened untrusted (no script runs) shows every figure
 * as a visible picture.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { exitWhenDone, installTempKernelspec } from "../kernel/client.ts";
import { launchChromium, PLOTS_DRAWN } from "../kernel/browser.ts";
import { startJupyter, type RunningServer } from "../kernel/server.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";
import { addStaticFigures } from "../../scripts/notebooks/static-figures.ts";
import picture from "../../lib/display/plotly-picture.cjs";

exitWhenDone();

const PLOTLY = "application/vnd.plotly.v1+json";
const KERNELSPEC = { name: "simvlm", display_name: "SimVLM (TypeScript)", language: "typescript" };
const CELLS = [
  `display.plotly({ data: [{ type: "scatter", y: [3, 1, 4, 1, 5] }], layout: { title: { text: "live figure" } } })`,
  `import { liveTrainingPlot } from "simvlm";
const plot = liveTrainingPlot({ title: "demo", maxUpdatesPerSecond: 50 });
for (let s = 1; s <= 30; s++) { plot.onStep({ step: s, loss: 3 / s, lr: 1e-3, examples_per_s: 50 }); await new Promise((r) => setTimeout(r, 20)); }
plot.finish();`,
  `display.plotly({ data: [{ type: "bar", y: [1, 2, 3] }], layout: { title: { text: "second" }, width: 500, height: 300 } })`,
];

type Output = { output_type: string; data?: Record<string, unknown> };
type Notebook = { metadata: Record<string, unknown>; cells: { outputs?: Output[] }[] };
const text = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v ?? ""));
const divId = (html: string) => /<div id="([^"]+)" class="simvlm-plotly"/.exec(html)?.[1];
/** A PNG's pixel size, from its IHDR chunk. */
function pngSize(b64: string): { w: number; h: number; kb: number } {
  const b = Buffer.from(b64, "base64");
  assert.equal(b.toString("latin1", 1, 4), "PNG", "image/png holds a PNG");
  return { w: b.readUInt32BE(16), h: b.readUInt32BE(20), kb: Math.round(b.length / 102.4) / 10 };
}
const figureOutputs = (nb: Notebook) =>
  nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.[PLOTLY]);

async function openNotebook(page: Page, server: RunningServer, name: string) {
  await page.goto(`${server.url}notebooks/${name}?token=${server.token}`);
  await page.waitForFunction(() => (window as any).Jupyter?.notebook?._fully_loaded, undefined, {
    timeout: 120_000,
  });
}

it(
  "classic Notebook: live figures store a static picture; the saved notebook shows them untrusted",
  { skip: skipUnless("notebook", "chromium"), timeout: 400_000 },
  async () => {
    const ks = installTempKernelspec();
    const root = mkdtempSync(join(tmpdir(), "simvlm-live-pictures-"));
    const cells = CELLS.map((source, i) => ({
      cell_type: "code",
      execution_count: null,
      id: `c${i}`,
      metadata: {},
      outputs: [],
      source,
    }));
    const nb = { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: KERNELSPEC }, cells };
    writeFileSync(join(root, "live.ipynb"), JSON.stringify(nb));
    let server: RunningServer | undefined, browser: Browser | undefined;
    try {
      server = await startJupyter("notebook", root, ks.jupyterPath);
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await openNotebook(page, server, "live.ipynb");
      await page.waitForFunction(
        () => (window as any).Jupyter.notebook.kernel?.info_reply?.language_info?.name === "typescript",
        undefined,
        { timeout: 120_000 },
      );
      // Every state the kernel sent, by figure div id: what static-figures.ts would be given.
      // (A string: tsx would wrap a named function inside with a helper the page lacks.)
      await page.evaluate(`(() => {
        window.__sent = {};
        window.__updates = 0;
        const keep = (e, d) => {
          const html = String(d.output.data?.["text/html"] ?? "");
          const id = /<div id="([^"]+)" class="simvlm-plotly"/.exec(html)?.[1];
          if (id) window.__sent[id] = JSON.parse(JSON.stringify(d.output.data));
        };
        Jupyter.notebook.events.on("output_added.OutputArea", keep);
        Jupyter.notebook.events.on("output_updated.OutputArea", (e, d) => {
          window.__updates++;
          keep(e, d);
        });
      })()`);
      const run = async (i: number, drawn: number) => {
        await page.evaluate((k) => (window as any).Jupyter.notebook.get_cell(k).execute(), i);
        await page.waitForFunction(
          `typeof Jupyter.notebook.get_cell(${i}).input_prompt_number === "number" && ${PLOTS_DRAWN} >= ${drawn}`,
          undefined,
          { timeout: 120_000 },
        );
      };
      await run(0, 1);
      await run(1, 2);
      await run(2, 3); // plotly.js is on the page already: the figure draws into its attached div
      assert.equal(await page.locator(".js-plotly-plot").count(), 3, "every figure is drawn");
      const updates = await page.evaluate(() => (window as any).__updates);
      assert.ok(updates >= 10, `the live plot was updated in place (${updates} updates)`);
      // Each figure's picture is stored once it has not changed for 1.5 s.
      await page.waitForFunction(
        (mime) =>
          (window as any).Jupyter.notebook
            .get_cells()
            .flatMap((c: any) => c.output_area.outputs)
            .filter((o: any) => o.data?.[mime])
            .every((o: any) => o.data["image/png"]),
        PLOTLY,
        { timeout: 30_000, polling: 250 },
      );
      assert.equal(await page.evaluate(() => (window as any).Jupyter.notebook.dirty), true);
      await page.evaluate(() => (window as any).Jupyter.notebook.save_notebook());
      await page.waitForFunction(() => !(window as any).Jupyter.notebook.dirty, undefined, {
        timeout: 30_000,
      });

      const saved = JSON.parse(readFileSync(join(root, "live.ipynb"), "utf8")) as Notebook;
      const figs = figureOutputs(saved);
      assert.equal(figs.length, 3, "one output per figure (the live plot updated in place)");
      const sizes = figs.map((o) => {
        const png = text(o.data!["image/png"]);
        const html = text(o.data!["text/html"]);
        assert.ok(png, "the saved figure has image/png");
        assert.ok(
          html.includes(`<img src="data:image/png;base64,${png}"`),
          "the saved HTML shows the same picture as an <img>",
        );
        assert.equal(picture.needsPicture(html), false);
        return { ...pngSize(png), html: Math.round(html.length / 1024) };
      });
      // 1× pictures at the layout's size: the default 760×450, the live plot's 900×320, 500×300.
      assert.deepEqual(
        sizes.map((s) => [s.w, s.h]),
        [
          [760, 450],
          [900, 320],
          [500, 300],
        ],
      );
      assert.match(
        text(figs[1]!.data!["text/html"]),
        /alt="Plotly figure &quot;demo — step 30, loss 0\.1000 \(done\)&quot;/,
        "the live plot's picture is of its final state",
      );
      console.log(
        `# live classic pictures: ${sizes.map((s) => `${s.w}×${s.h} ${s.kb} KB (HTML ${s.html} KB)`).join(", ")}; live plot updated ${updates} times`,
      );

      // The same outputs as the kernel sent them, given pictures by static-figures.ts (what
      // scripts/notebooks/run.ts does after a run): the same bundle, byte for byte.
      const sent = (await page.evaluate(() => (window as any).__sent)) as Record<
        string,
        Record<string, unknown>
      >;
      const asSent = structuredClone(saved);
      for (const o of figureOutputs(asSent)) {
        const id = divId(text(o.data!["text/html"]))!;
        assert.ok(sent[id], `the kernel's output for figure ${id} was seen`);
        o.data = sent[id];
        assert.equal(o.data["image/png"], undefined);
      }
      const asSentFile = join(root, "as-sent.ipynb");
      writeFileSync(asSentFile, JSON.stringify(asSent));
      const [r] = await addStaticFigures([asSentFile]);
      assert.equal(r!.rendered, 3);
      const byScript = figureOutputs(JSON.parse(readFileSync(asSentFile, "utf8")) as Notebook);
      for (const [i, o] of figs.entries()) {
        assert.equal(
          text(o.data!["text/html"]),
          text(byScript[i]!.data!["text/html"]),
          `figure ${i}: the HTML saved live is static-figures.ts's`,
        );
        assert.equal(
          text(o.data!["image/png"]),
          text(byScript[i]!.data!["image/png"]),
          `figure ${i}: the PNG saved live is static-figures.ts's`,
        );
      }

      // A copy that no signature covers opens untrusted: no script runs, the pictures show.
      saved.metadata.copied = true;
      writeFileSync(join(root, "copy.ipynb"), JSON.stringify(saved));
      const page2 = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await openNotebook(page2, server, "copy.ipynb");
      await page2.waitForFunction(
        () =>
          Array.from(document.querySelectorAll(".output_area img")).every(
            (i) => (i as HTMLImageElement).complete,
          ),
        undefined,
        { timeout: 30_000 },
      );
      const shown = await page2.evaluate(() => ({
        trusted: (window as any).Jupyter.notebook.trusted,
        drawn: document.querySelectorAll(".js-plotly-plot").length,
        figures: Array.from(document.querySelectorAll(".simvlm-plotly")).map((f) => {
          const i = f.querySelector("img");
          const r = i?.getBoundingClientRect();
          return { natural: i?.naturalWidth ?? 0, w: Math.round(r?.width ?? 0), h: Math.round(r?.height ?? 0) };
        }),
      }));
      assert.equal(shown.trusted, false, "the copy opened untrusted");
      assert.equal(shown.drawn, 0, "no script ran");
      assert.equal(shown.figures.length, 3);
      for (const f of shown.figures)
        assert.ok(f.natural > 0 && f.w > 100 && f.h > 100, `picture visible: ${JSON.stringify(f)}`);
      console.log(
        `# untrusted copy: ${shown.figures.map((f) => `${f.w}×${f.h}`).join(", ")} CSS px`,
      );
    } finally {
      await browser?.close().catch(() => {});
      await server?.stop();
      ks.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
