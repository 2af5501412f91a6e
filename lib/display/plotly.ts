/**
 * Plotly figures as HTML that renders without internet access, using plotly.js from the npm
 * package `plotly.js-dist-min` (a 4.7 MB script, so it is never embedded in each figure):
 *
 * - `plotlyFigureHtml(fig)`: a notebook fragment (a div and a small script, a few KB plus the figure
 *   data). It draws with `window.Plotly` if present; otherwise, on a live Jupyter server, it loads
 *   plotly.js once per page from the kernelspec folder (`{base_url}kernelspecs/simvlm/plotly.min.js`),
 *   and otherwise waits for the loader below (e.g. in `nbconvert --to html` output opened offline).
 * - `plotlyLoaderHtml()`: a `<script>` with plotly.js (the 1.4 MB cartesian bundle) inline; the kernel
 *   emits it once per session, as its own output before the first figure, so saved notebooks and
 *   their HTML exports stay self-contained while each figure output stays small.
 * - `plotlyStandaloneHtml(fig, title?)`: a complete offline page (used by `viz --out FILE.html`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { escapeHtml } from "./html.ts";
import { toJson } from "./json.ts";
import type { PlotlyFigure } from "./index.ts";

const FULL_BUNDLE = "plotly.js-dist-min/plotly.min.js";
/**
 * plotly.js's cartesian partial bundle (npm `plotly.js-cartesian-dist-min`, 1.4 MB instead of 4.7):
 * every trace type the library's figures use (scatter, heatmap, image) and the common 2-D ones.
 * It is what saved notebooks carry; standalone pages keep the full bundle.
 */
const CARTESIAN_BUNDLE = "plotly.js-cartesian-dist-min/plotly-cartesian.min.js";

/** Absolute path of the full plotly.js bundle (copied into the kernelspec, inlined in standalone pages). */
export function plotlyJsPath(): string {
  return createRequire(import.meta.url).resolve(FULL_BUNDLE);
}

const inlineCache = new Map<string, string>();

/** A bundle's source, read once, made safe to sit inside a <script> element. */
function inlineBundle(spec: string): string {
  let js = inlineCache.get(spec);
  if (js === undefined) {
    js = readFileSync(createRequire(import.meta.url).resolve(spec), "utf8").replace(
      /<\/script/gi,
      "<\\/script",
    );
    inlineCache.set(spec, js);
  }
  return js;
}

/** JSON (by the display serialiser's rules, lib/display/json.ts) safe to put inside a <script> element. */
function scriptJson(v: unknown): string {
  return toJson(v, "figure")
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function checkFigure(fig: PlotlyFigure, what = "figure"): void {
  if (typeof fig !== "object" || fig === null || !Array.isArray(fig.data))
    throw new TypeError(`${what}: a Plotly figure needs a "data" array`);
}

let counter = 0;

/** A notebook fragment that draws `fig` (see the module comment for how plotly.js is found). */
export function plotlyFigureHtml(
  fig: PlotlyFigure,
  opts: { divId?: string; height?: number } = {},
): string {
  checkFigure(fig);
  const id = opts.divId ?? `simvlm-plotly-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const height = opts.height ?? (typeof fig.layout?.height === "number" ? fig.layout.height : 420);
  const config = { responsive: true, displaylogo: false, ...(fig.config ?? {}) };
  return `<div id="${id}" class="simvlm-plotly" style="width:100%;min-height:${height}px"></div>
<script type="text/javascript">
(function () {
  var fig = ${scriptJson({ data: fig.data, layout: fig.layout ?? {}, config, frames: fig.frames })};
  function draw() {
    var el = document.getElementById(${JSON.stringify(id)});
    if (el && !el.dataset.drawn) { el.dataset.drawn = "1"; window.Plotly.newPlot(el, fig.data, fig.layout, fig.config).then(function () { if (fig.frames) window.Plotly.addFrames(el, fig.frames); }); }
  }
  if (window.Plotly) return draw();
  var waiting = (window.__simvlmPlotlyWaiting = window.__simvlmPlotlyWaiting || []);
  waiting.push(draw);
  if (window.__simvlmPlotlyLoading) return;
  // Live server: load plotly.js once per page from the kernelspec folder jupyter_server serves.
  var base = null;
  try {
    var cfg = document.getElementById("jupyter-config-data");
    if (cfg) base = JSON.parse(cfg.textContent).baseUrl;
    if (!base && document.body && document.body.dataset) base = document.body.dataset.baseUrl;
  } catch (e) {}
  if (base == null || location.protocol === "file:") return; // offline page: the loader output defines Plotly
  window.__simvlmPlotlyLoading = true;
  var s = document.createElement("script");
  s.src = base.replace(/\\/?$/, "/") + "kernelspecs/simvlm/plotly.min.js";
  s.onload = function () { window.__simvlmPlotlyReady && window.__simvlmPlotlyReady(); };
  document.head.appendChild(s);
  window.__simvlmPlotlyReady = function () { var w = window.__simvlmPlotlyWaiting || []; window.__simvlmPlotlyWaiting = []; w.forEach(function (f) { f(); }); };
})();
</script>`;
}

/** A script that defines window.Plotly inline (cartesian bundle) and draws figures that were waiting for it. */
export function plotlyLoaderHtml(): string {
  const js = inlineBundle(CARTESIAN_BUNDLE);
  return `<script type="text/javascript">
if (!window.Plotly) {
${js}
}
(function () { var w = window.__simvlmPlotlyWaiting || []; window.__simvlmPlotlyWaiting = []; w.forEach(function (f) { f(); }); })();
</script>`;
}

/** A complete HTML page with plotly.js inline: opens offline in any browser. */
export function plotlyStandaloneHtml(fig: PlotlyFigure, title = "SimVLM figure"): string {
  checkFigure(fig);
  const js = inlineBundle(FULL_BUNDLE);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="text/javascript">${js}</script>
</head><body style="margin:0;font-family:sans-serif">
${plotlyFigureHtml(fig, { divId: "figure" })}
</body></html>
`;
}

/** A short text description of a figure for text/plain. */
export function plotlyFigureText(fig: PlotlyFigure): string {
  const title = fig.layout?.title;
  const t =
    typeof title === "string"
      ? title
      : typeof title === "object" && title && "text" in title
        ? String((title as { text: unknown }).text)
        : "";
  const kinds = [...new Set(fig.data.map((d) => String(d.type ?? "scatter")))].join(", ");
  return `Plotly figure${t ? ` "${t}"` : ""}: ${fig.data.length} trace${fig.data.length === 1 ? "" : "s"} (${kinds})`;
}
