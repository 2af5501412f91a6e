/**
 * Static pictures for the Plotly figures of saved notebooks, drawn by plotly.js itself in headless
 * Chromium (`Plotly.toImage`), so that a notebook reads well where its scripts do not run: the
 * untrusted classic Notebook, nbconvert's HTML without JavaScript, GitHub (issue 17 item 2).
 *
 *   node --import tsx scripts/notebooks/static-figures.ts FILE.ipynb…
 *
 * Library figures that carry a PNG already (prefix mask, attention) have it inside their HTML from
 * the kernel; this adds one to every other figure (training curves, ablation plots): the PNG goes
 * into the output's bundle and, as an `<img>`, into its HTML fragment, which the fragment's script
 * replaces with the interactive figure where scripts run. scripts/notebooks/run.ts calls it after
 * executing each notebook. Chromium: $CHROMIUM_PATH, else /usr/bin/chromium (never downloaded).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { PLOTLY_MIME, type PlotlyFigure } from "../../lib/display/index.ts";
import { plotlyFigureHtml, plotlyFigureText, plotlyJsPath } from "../../lib/display/plotly.ts";
import picture from "../../lib/display/plotly-picture.cjs";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PYTHON = process.env.SIMVLM_JUPYTER_PYTHON ?? "/usr/bin/python3";
/** How pictures are drawn and placed (size, 1× scale, the <img>): shared with the live front ends. */
const PICTURE_JS = new URL("../../lib/display/plotly-picture.cjs", import.meta.url);

type Output = { output_type: string; data?: Record<string, unknown> };
type Notebook = { cells: { cell_type: string; outputs?: Output[] }[] };

const text = (v: unknown) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");

/** Outputs whose figure has no static picture yet: a Plotly bundle whose kernel HTML has an empty figure div. */
function needingPictures(nb: Notebook): Output[] {
  return nb.cells
    .flatMap((c) => (c.cell_type === "code" ? (c.outputs ?? []) : []))
    .filter((o) => {
      const html = text(o.data?.["text/html"]);
      return o.data?.[PLOTLY_MIME] && picture.needsPicture(html);
    });
}

export interface StaticFiguresResult {
  file: string;
  /** Figures given a picture drawn by plotly.js here. */
  rendered: number;
  /** Figures whose bundle had a PNG already, now shown inside their HTML too. */
  embedded: number;
}

/** Give every figure of each notebook a static picture, in place; the files are rewritten by nbformat. */
export async function addStaticFigures(files: string[]): Promise<StaticFiguresResult[]> {
  const work = files.map((file) => {
    const nb = JSON.parse(readFileSync(file, "utf8")) as Notebook;
    return { file, nb, outputs: needingPictures(nb) };
  });
  const toDraw = work.flatMap((w) => w.outputs.filter((o) => !o.data!["image/png"]));
  if (toDraw.length && !existsSync(CHROMIUM))
    throw new Error(
      `static figure pictures need Chromium at ${CHROMIUM} (set CHROMIUM_PATH; Debian: apt install chromium)`,
    );
  const pictures = new Map<Output, string>();
  if (toDraw.length) {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage();
      await page.setContent("<!DOCTYPE html><html><body></body></html>");
      // The same plotly.js bundle the notebooks load (lib/display/plotly.ts), and the same drawing
      // code as a live classic Notebook or JupyterLab (plotly-picture.cjs).
      await page.addScriptTag({ path: plotlyJsPath() });
      await page.addScriptTag({
        content: `window.simvlmPicture = (function () { var module = { exports: {} };\n${readFileSync(PICTURE_JS, "utf8")}\nreturn module.exports; })();`,
      });
      for (const o of toDraw) {
        const fig = o.data![PLOTLY_MIME] as PlotlyFigure;
        const png = await page.evaluate((fig) => {
          const w = window as unknown as { Plotly: unknown; simvlmPicture: typeof picture };
          return w.simvlmPicture.drawPicture(w.Plotly, fig);
        }, fig);
        pictures.set(o, png);
      }
    } finally {
      await browser.close();
    }
  }
  const results: StaticFiguresResult[] = [];
  for (const { file, nb, outputs } of work) {
    let rendered = 0,
      embedded = 0;
    for (const o of outputs) {
      const fig = o.data![PLOTLY_MIME] as PlotlyFigure;
      const drawn = pictures.get(o);
      if (drawn) {
        o.data!["image/png"] = drawn;
        rendered++;
      } else embedded++;
      // The picture goes into the kernel's fragment as a live front end puts it (its div id kept);
      // a fragment of another layout is made anew.
      const image = text(o.data!["image/png"]).replace(/\s+/g, "");
      const html = text(o.data!["text/html"]);
      o.data!["text/html"] = picture.needsPicture(html)
        ? picture.withPicture(html, image, plotlyFigureText(fig))
        : plotlyFigureHtml(fig, { image });
    }
    if (outputs.length) {
      writeFileSync(file, JSON.stringify(nb));
      // nbformat writes it back in its own layout (sorted keys, text split into lines) and checks it.
      const r = spawnSync(
        PYTHON,
        ["-c", "import sys, nbformat\nnb = nbformat.read(sys.argv[1], as_version=4)\nnbformat.validate(nb)\nnbformat.write(nb, sys.argv[1])", file],
        { encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`nbformat could not rewrite ${file}: ${r.stderr || r.error}`);
    }
    results.push({ file, rendered, embedded });
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error("usage: node --import tsx scripts/notebooks/static-figures.ts FILE.ipynb…");
    process.exitCode = 2;
  } else
    addStaticFigures(files).then(
      (rs) => {
        for (const r of rs)
          console.log(`${r.file}: ${r.rendered} figures drawn to PNG, ${r.embedded} PNGs placed in their HTML`);
      },
      (e) => {
        console.error(String(e?.message ?? e));
        process.exitCode = 1;
      },
    );
}

