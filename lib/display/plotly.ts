/**
 * Plotly figures as HTML that renders without internet access, with one plotly.js everywhere: the
 * cartesian partial bundle (npm `plotly.js-cartesian-dist-min`, 1.4 MB), which live sessions load
 * from the kernelspec folder, saved notebooks carry inline and JupyterLab's renderer (lab/) imports.
 *
 * - `plotlyFigureHtml(fig, { image })`: a notebook fragment (a div and a small script, a few KB plus
 *   the figure data). The div holds the figure's static picture as an `<img>` (a data: URI), which is
 *   what viewers that run no scripts show: the untrusted classic Notebook (its sanitiser keeps img
 *   data: URIs and drops the script), nbconvert's HTML opened without JavaScript, GitHub. When the
 *   script runs it replaces the picture with the interactive figure, drawn with `window.Plotly` if
 *   present; otherwise, on a live Jupyter server, plotly.js is loaded once per page from the
 *   kernelspec folder (`{base_url}kernelspecs/simvlm/plotly.min.js`), and otherwise the fragment
 *   waits for the loader below (e.g. in `nbconvert --to html` output opened offline).
 * - `plotlyLoaderHtml()`: a `<script>` with plotly.js inline; the kernel emits it once per session,
 *   as its own output after the first figure, so saved notebooks and their HTML exports stay
 *   self-contained while each figure output stays small. It defines plotly.js only where the page
 *   has none and none is loading, so a page loads plotly.js once.
 * - `plotlyStandaloneHtml(fig, title?)`: a complete offline page (used by `viz --out FILE.html`).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { escapeHtml } from "./html.ts";
import { toJson } from "./json.ts";
import type { PlotlyFigure } from "./index.ts";
import picture from "./plotly-picture.cjs";

/**
 * plotly.js's cartesian partial bundle (1.4 MB instead of the full bundle's 4.7): every trace type
 * the library's figures use (scatter, heatmap, image) and the common 2-D ones, listed below.
 */
const CARTESIAN_BUNDLE = "plotly.js-cartesian-dist-min/plotly-cartesian.min.js";
/** The full bundle, used only for a standalone page whose figure needs a trace type the cartesian one lacks. */
const FULL_BUNDLE = "plotly.js-dist-min/plotly.min.js";
/** The trace types in the cartesian bundle (plotly.js lib/index-cartesian.js). */
export const CARTESIAN_TRACES: ReadonlySet<string> = new Set([
  "scatter",
  "bar",
  "box",
  "heatmap",
  "histogram",
  "histogram2d",
  "histogram2dcontour",
  "contour",
  "pie",
  "violin",
  "image",
]);

/** Absolute path of the plotly.js bundle notebooks use (the kernelspec folder serves a copy). */
export function plotlyJsPath(): string {
  return createRequire(import.meta.url).resolve(CARTESIAN_BUNDLE);
}

/** Trace types of `fig` that the cartesian bundle cannot draw (empty for every library figure). */
export function nonCartesianTraces(fig: PlotlyFigure): string[] {
  const types = fig.data.map((d) => String(d.type ?? "scatter"));
  return [...new Set(types.filter((t) => !CARTESIAN_TRACES.has(t)))];
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

let pictureJs: string | undefined;
/**
 * plotly-picture.cjs as an expression for a figure's script (its comments left out): the same code
 * that made the kernel's HTML puts a live figure's picture into it in the classic Notebook.
 */
function pictureModuleJs(): string {
  pictureJs ??= `(function () { var module = { exports: {} };\n${readFileSync(
    new URL("./plotly-picture.cjs", import.meta.url),
    "utf8",
  )
    .replace(/\/\*\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*\n/gm, "")
    .replace(/^\s+/gm, "")
    // Inside a <script> no "</script" may appear, and no "<img": tools that look for a figure's
    // picture in its HTML (a regular expression for "<img") must not find one in this code.
    .replace(/<\/script/gi, "<\\/script")
    .replace(/<img/g, "\\x3cimg")}return module.exports; })()`;
  return pictureJs;
}

/**
 * How long a figure must stay unchanged before its picture is drawn into the notebook (ms): a live
 * training plot is redrawn up to twice a second, and only its last state needs a picture.
 */
export const PICTURE_DELAY_MS = 1500;

/**
 * A notebook fragment that draws `fig` (see the module comment for how plotly.js is found).
 * `image`: the figure's static picture (a data: URI of a PNG, JPEG or SVG, or base64 PNG data),
 * shown until the script draws and wherever scripts do not run.
 *
 * In the live classic Notebook (trusted: its scripts run) a figure without a picture stores one:
 * PICTURE_DELAY_MS after it was drawn and unchanged, the script draws the picture with plotly.js
 * (plotly-picture.cjs: 1× PNG at the layout's size) and puts it into this output's bundle as
 * `image/png` and, as the `<img>` below, into its `text/html`, and marks the notebook modified, so
 * saving the notebook saves the picture (issue 17 item 2). Elsewhere (no `Jupyter.notebook`:
 * nbconvert pages, standalone pages) it stores nothing.
 */
export function plotlyFigureHtml(
  fig: PlotlyFigure,
  opts: { divId?: string; height?: number; image?: string } = {},
): string {
  checkFigure(fig);
  const id = opts.divId ?? `simvlm-plotly-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const height = opts.height ?? (typeof fig.layout?.height === "number" ? fig.layout.height : 420);
  const config = { responsive: true, displaylogo: false, ...(fig.config ?? {}) };
  const html = `<div id="${id}" class="simvlm-plotly" style="width:100%;min-height:${height}px"></div>
<script type="text/javascript">
(function () {
  var fig = ${scriptJson({ data: fig.data, layout: fig.layout ?? {}, config, frames: fig.frames })};
  var id = ${JSON.stringify(id)};
  function draw() {
    var el = document.getElementById(id);
    if (!el || el.dataset.drawn) return;
    el.dataset.drawn = "1";
    el.textContent = ""; // the static picture gives way to the interactive figure
    el.style.minHeight = "${height}px";
    window.Plotly.newPlot(el, fig.data, fig.layout, fig.config).then(function () { if (fig.frames) window.Plotly.addFrames(el, fig.frames); storePicture(); });
  }
  // Live classic Notebook: this output's picture, drawn once the figure has stopped changing.
  function storePicture() {
    var nb = window.Jupyter && window.Jupyter.notebook;
    if (!nb || typeof nb.get_cells !== "function") return;
    var html = function (o) { var h = o.data && o.data["text/html"]; return Array.isArray(h) ? h.join("") : h; };
    var outputs = function () { return [].concat.apply([], nb.get_cells().map(function (c) { return (c.output_area && c.output_area.outputs) || []; })); };
    var out = outputs().filter(function (o) { return String(html(o)).indexOf('id="' + id + '"') >= 0; })[0];
    var picture = ${pictureModuleJs()};
    if (!out || !picture.needsPicture(html(out))) return;
    var timers = (window.__simvlmPictureTimers = window.__simvlmPictureTimers || new WeakMap());
    clearTimeout(timers.get(out));
    var data = out.data;
    timers.set(out, setTimeout(function () {
      if (out.data !== data) return; // updated since (a live plot): its own draw stores the picture
      picture.drawPicture(window.Plotly, fig).then(function (png) {
        if (outputs().indexOf(out) < 0 || out.data !== data || !picture.needsPicture(html(out))) return; // cleared or updated since
        var next = {};
        for (var k in data) next[k] = data[k];
        next["image/png"] = png;
        next["text/html"] = picture.withPicture(html(out), png, picture.figureText(fig));
        out.data = next;
        nb.set_dirty(true);
      }, function (e) { console.warn("simvlm: no static picture for figure " + id, e); });
    }, ${PICTURE_DELAY_MS}));
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
  window.__simvlmPlotlyReady = function () { var w = window.__simvlmPlotlyWaiting || []; window.__simvlmPlotlyWaiting = []; w.forEach(function (f) { f(); }); };
  var s = document.createElement("script");
  s.src = base.replace(/\\/?$/, "/") + "kernelspecs/simvlm/plotly.min.js";
  s.onload = function () { window.__simvlmPlotlyReady(); };
  // No kernelspec copy (another server, an old install): the notebook's own loader output, if any.
  s.onerror = function () { window.__simvlmPlotlyLoading = false; if (window.__simvlmDefinePlotly) { window.__simvlmDefinePlotly(); window.__simvlmPlotlyReady(); } };
  document.head.appendChild(s);
})();
</script>`;
  // With a picture the div takes the picture's height; the script sets the figure's when it draws.
  return opts.image ? picture.withPicture(html, opts.image, plotlyFigureText(fig)) : html;
}

/**
 * A script that defines window.Plotly inline (cartesian bundle) and draws figures that were waiting
 * for it. Where the page already has plotly.js, or a figure is loading it from the kernelspec folder
 * (a live server), it defines nothing: that load draws the waiting figures.
 */
export function plotlyLoaderHtml(): string {
  const js = inlineBundle(CARTESIAN_BUNDLE);
  // Kept as a function when a load is under way: the figure's script calls it if that load fails.
  return `<script type="text/javascript">
if (!window.Plotly) {
window.__simvlmDefinePlotly = function () {
${js}
};
if (!window.__simvlmPlotlyLoading) window.__simvlmDefinePlotly();
}
(function () { if (!window.Plotly) return; var w = window.__simvlmPlotlyWaiting || []; window.__simvlmPlotlyWaiting = []; w.forEach(function (f) { f(); }); })();
</script>`;
}

/** A complete HTML page with plotly.js inline (the cartesian bundle unless the figure needs more): opens offline in any browser. */
export function plotlyStandaloneHtml(fig: PlotlyFigure, title = "SimVLM figure"): string {
  checkFigure(fig);
  const js = inlineBundle(nonCartesianTraces(fig).length ? FULL_BUNDLE : CARTESIAN_BUNDLE);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="text/javascript">${js}</script>
</head><body style="margin:0;font-family:sans-serif">
${plotlyFigureHtml(fig, { divId: "figure" })}
</body></html>
`;
}

/** A short text description of a figure for text/plain (also the alt text of its picture). */
export function plotlyFigureText(fig: PlotlyFigure): string {
  return picture.figureText(fig);
}
