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
import { plotlyFigureHtml, plotlyJsPath } from "../../lib/display/plotly.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PYTHON = process.env.SIMVLM_JUPYTER_PYTHON ?? "/usr/bin/python3";
/** Size when the figure's layout states none: about a notebook output's width; plotly.js's default height. */
const DEFAULT_WIDTH = 760,
  DEFAULT_HEIGHT = 450;
/**
 * Pixels per CSS px. 1: a figure's PNG is 40–95 KB (measured on the committed notebooks; 2× was
 * 100–235 KB), and a saved figure holds it twice (bundle and HTML) within its 300 KB budget.
 */
const SCALE = 1;

type Output = { output_type: string; data?: Record<string, unknown> };
type Notebook = { cells: { cell_type: string; outputs?: Output[] }[] };

const text = (v: unknown) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");

/** Outputs whose figure has no static picture yet: a Plotly bundle whose kernel HTML holds no <img>. */
function needingPictures(nb: Notebook): Output[] {
  return nb.cells
    .flatMap((c) => (c.cell_type === "code" ? (c.outputs ?? []) : []))
    .filter((o) => {
      const html = text(o.data?.["text/html"]);
      return o.data?.[PLOTLY_MIME] && html.includes('class="simvlm-plotly"') && !/<img /.test(html);
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
      // The same plotly.js bundle the notebooks load (lib/display/plotly.ts).
      await page.addScriptTag({ path: plotlyJsPath() });
      for (const o of toDraw) {
        const fig = o.data![PLOTLY_MIME] as PlotlyFigure;
        const width = typeof fig.layout?.width === "number" ? fig.layout.width : DEFAULT_WIDTH;
        const height = typeof fig.layout?.height === "number" ? fig.layout.height : DEFAULT_HEIGHT;
        const url = await page.evaluate(
          ({ fig, width, height, scale }) =>
            (window as unknown as { Plotly: any }).Plotly.toImage(
              { data: fig.data, layout: fig.layout ?? {}, config: { staticPlot: true } },
              { format: "png", width, height, scale },
            ) as Promise<string>,
          { fig, width, height, scale: SCALE },
        );
        pictures.set(o, url.replace(/^data:image\/png;base64,/, ""));
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
      o.data!["text/html"] = plotlyFigureHtml(fig, {
        image: text(o.data!["image/png"]).replace(/\s+/g, ""),
      });
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

