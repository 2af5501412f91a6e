/**
 * The committed notebooks as a new user first sees them (issue 17 items 2 and 8): opened UNTRUSTED
 * in the classic Notebook (a fresh Jupyter data folder holds no signatures) in headless Chromium,
 * where no saved script runs and HTML is sanitised. Every figure must show its static picture at a
 * visible size and every markdown summary must be rendered, not shown as its source. Then the same
 * for `jupyter nbconvert --to html` opened with JavaScript off. Reads the saved files as committed;
 * nothing is executed.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { exitWhenDone, installTempKernelspec, PYTHON, repo } from "../kernel/client.ts";
import { launchChromium } from "../kernel/browser.ts";
import { startJupyter, type RunningServer } from "../kernel/server.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

exitWhenDone();

const PLOTLY = "application/vnd.plotly.v1+json";
const NOTEBOOKS = [
  "01-prefixlm-pretraining.ipynb",
  "02-prefix-length-ablation.ipynb",
  "03-zero-shot-transfer.ipynb",
];
/** What raw markdown looks like on screen: a table rule, bold markers, a heading or quote marker. */
const RAW_MARKDOWN = /\|\s*:?-{3,}:?\s*\||\*\*\S|^#{1,6} |^> /m;

type Kind = "figure" | "png" | "markdown" | "other";
/** The kind of each output of each code cell, in the saved file's order. */
function outputKinds(nb: string): Kind[][] {
  const cells = JSON.parse(readFileSync(join(repo, "notebooks", nb), "utf8")).cells as {
    cell_type: string;
    outputs?: { data?: Record<string, unknown> }[];
  }[];
  return cells
    .filter((c) => c.cell_type === "code")
    .map((c) =>
      (c.outputs ?? []).map((o) => {
        const d = o.data ?? {};
        if (PLOTLY in d) return "figure";
        if ("text/markdown" in d) return "markdown";
        if ("image/png" in d) return "png";
        return "other";
      }),
    );
}

/** Per output: its kind as rendered, the visible text, and its pictures' natural and shown sizes. */
interface Shown {
  cell: number;
  output: number;
  classes: string;
  text: string;
  tables: number;
  imgs: { natural: number; w: number; h: number; inFigure: boolean }[];
}

async function shownOutputs(page: Page): Promise<Shown[]> {
  return page.evaluate(() => {
    const out: Shown[] = [];
    const cells = (window as any).Jupyter.notebook
      .get_cells()
      .filter((c: any) => c.cell_type === "code");
    cells.forEach((c: any, ci: number) => {
      const areas = c.output_area.element[0].querySelectorAll(":scope > .output_area");
      areas.forEach((a: Element, oi: number) => {
        const sub = a.querySelector(".output_subarea");
        out.push({
          cell: ci,
          output: oi,
          classes: sub?.className ?? "",
          text: (sub as HTMLElement | null)?.innerText ?? "",
          tables: sub?.querySelectorAll("table").length ?? 0,
          imgs: Array.from(sub?.querySelectorAll("img") ?? []).map((i) => {
            const r = i.getBoundingClientRect();
            return {
              natural: (i as HTMLImageElement).naturalWidth,
              w: Math.round(r.width),
              h: Math.round(r.height),
              inFigure: !!i.closest(".simvlm-plotly"),
            };
          }),
        });
      });
    });
    return out;
  });
}

/** Check one notebook's rendered outputs against the kinds saved in its file; returns the figure sizes. */
function checkOutputs(nb: string, kinds: Kind[][], shown: Shown[]): string[] {
  const sizes: string[] = [];
  assert.equal(shown.length, kinds.flat().length, `${nb}: one rendered output per saved output`);
  for (const s of shown) {
    const kind = kinds[s.cell]![s.output]!;
    const where = `${nb} code cell ${s.cell} output ${s.output} (${kind})`;
    if (kind === "figure") {
      const img = s.imgs.find((i) => i.inFigure);
      assert.ok(img, `${where}: the figure shows no static picture (${s.classes})`);
      assert.ok(
        img.natural > 0 && img.w > 100 && img.h > 100,
        `${where}: the picture is not visible: ${JSON.stringify(img)}`,
      );
      sizes.push(`${img.w}×${img.h}`);
    } else if (kind === "png") {
      assert.ok(
        s.imgs.some((i) => i.natural > 0 && i.w > 50 && i.h > 50),
        `${where}: no visible image ${JSON.stringify(s.imgs)}`,
      );
    } else if (kind === "markdown") {
      assert.match(s.classes, /output_html/, `${where}: shown as ${s.classes}, not rendered`);
      assert.doesNotMatch(s.text, RAW_MARKDOWN, `${where}: raw markdown on screen: ${s.text}`);
    }
  }
  return sizes;
}

const classicSkip = skipUnless("notebook", "chromium");

describe(
  "committed notebooks, untrusted, in the classic Notebook",
  { skip: classicSkip, timeout: 600_000 },
  () => {
    let ks: ReturnType<typeof installTempKernelspec>;
    let root: string;
    let server: RunningServer | undefined;
    let browser: Browser | undefined;
    let page: Page;
    before(async () => {
      ks = installTempKernelspec();
      root = mkdtempSync(join(tmpdir(), "simvlm-untrusted-"));
      for (const nb of NOTEBOOKS) cpSync(join(repo, "notebooks", nb), join(root, nb));
      server = await startJupyter("notebook", root, ks.jupyterPath);
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    });
    after(async () => {
      await browser?.close().catch(() => {});
      await server?.stop();
      ks?.cleanup();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    for (const nb of NOTEBOOKS) {
      it(`${nb}: every figure shows a picture, every summary is rendered`, async () => {
        await page.goto(`${server!.url}notebooks/${nb}?token=${server!.token}`);
        await page.waitForFunction(() => (window as any).Jupyter?.notebook?._fully_loaded, undefined, {
          timeout: 120_000,
        });
        const state = await page.evaluate(() => ({
          trusted: (window as any).Jupyter.notebook.trusted,
          drawn: document.querySelectorAll(".js-plotly-plot").length,
        }));
        assert.equal(state.trusted, false, "the notebook opened untrusted, as a new user sees it");
        assert.equal(state.drawn, 0, "no saved script ran (what is checked is the static picture)");
        // Pictures are data: URIs: wait until each has decoded.
        await page.waitForFunction(
          () => Array.from(document.querySelectorAll(".output_area img")).every((i) => (i as HTMLImageElement).complete),
          undefined,
          { timeout: 30_000 },
        );
        // Issue 17 item 3: no output sits in a scroll box, and no picture is wider than its output area.
        const layout = await page.evaluate(() => ({
          scrolled: document.querySelectorAll(".output_scroll").length,
          overflowing: Array.from(document.querySelectorAll(".output_subarea img"))
            .map((i) => [i.getBoundingClientRect().width, i.closest(".output_subarea")!.clientWidth])
            .filter(([w, area]) => w! > area! + 1),
        }));
        assert.equal(layout.scrolled, 0, "an output is trapped in a scroll box");
        assert.deepEqual(layout.overflowing, [], "pictures wider than their output area (px)");
        const sizes = checkOutputs(nb, outputKinds(nb), await shownOutputs(page));
        console.log(`# ${nb} untrusted: ${sizes.length} figures shown as pictures, CSS px ${sizes.join(", ")}`);
      });
    }
  },
);

it(
  "nbconvert --to html of notebook 01, opened with JavaScript off: figures as pictures, tables rendered",
  { skip: skipUnless("nbconvert", "chromium"), timeout: 300_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "simvlm-nbconvert-"));
    let browser: Browser | undefined;
    try {
      const nb = NOTEBOOKS[0]!;
      const r = spawnSync(
        PYTHON,
        ["-m", "nbconvert", "--to", "html", join(repo, "notebooks", nb), "--output-dir", dir],
        { encoding: "utf8", timeout: 240_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } },
      );
      assert.equal(r.status, 0, r.stderr);
      browser = await launchChromium();
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.route(/^https?:/, (route) => route.abort()); // offline
      await page.goto(`file://${join(dir, nb.replace(/\.ipynb$/, ".html"))}`);
      const seen = await page.evaluate(() => ({
        figures: Array.from(document.querySelectorAll(".simvlm-plotly")).map((f) => {
          const i = f.querySelector("img");
          const rect = i?.getBoundingClientRect();
          return { natural: i?.naturalWidth ?? 0, w: rect?.width ?? 0, h: rect?.height ?? 0 };
        }),
        drawn: document.querySelectorAll(".js-plotly-plot").length,
        tables: document.querySelectorAll(".jp-OutputArea-output table, .output_html table").length,
        text: Array.from(document.querySelectorAll(".jp-OutputArea-output, .output_area"))
          .map((o) => (o as HTMLElement).innerText)
          .join("\n"),
      }));
      const want = outputKinds(nb).flat();
      assert.equal(seen.drawn, 0, "no script ran");
      assert.equal(seen.figures.length, want.filter((k) => k === "figure").length);
      for (const f of seen.figures)
        assert.ok(f.natural > 0 && f.w > 100 && f.h > 100, `figure picture visible: ${JSON.stringify(f)}`);
      assert.ok(seen.tables > 0, "the summaries' tables are HTML tables");
      assert.doesNotMatch(seen.text, RAW_MARKDOWN, "no raw markdown in the outputs");
      console.log(
        `# nbconvert HTML, JavaScript off: ${seen.figures.length} figure pictures (${seen.figures.map((f) => `${Math.round(f.w)}×${Math.round(f.h)}`).join(", ")}), ${seen.tables} tables`,
      );
    } finally {
      await browser?.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
