/**
 * A figure as a standalone HTML page: plotly.js inlined (works offline, from a file:// URL), the
 * figure JSON embedded, and the static PNG as a fallback under the plot. Used by `simvlm viz … --out
 * FILE.html`.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { PlotlyFigure } from "../display/index.ts";
import { escapeXml } from "./raster.ts";

let plotlySource: string | undefined;

/** The plotly.js bundle shipped with the package (plotly.js-dist-min). */
export function plotlyScript(): string {
  if (plotlySource === undefined) {
    const path = createRequire(import.meta.url).resolve("plotly.js-dist-min/plotly.min.js");
    plotlySource = readFileSync(path, "utf8");
  }
  return plotlySource;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(x: unknown): string {
  return JSON.stringify(x).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function vizStandaloneHtml(fig: PlotlyFigure, opts: { title?: string; pngBase64?: string } = {}): string {
  const title = escapeXml(opts.title ?? "simvlm figure");
  const fallback = opts.pngBase64 ? `<details><summary>static image</summary><img alt="${title}" src="data:image/png;base64,${opts.pngBase64}"></details>` : "";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:16px}</style>
<script>${plotlyScript()}</script></head>
<body><div id="plot" class="simvlm-plot"></div>${fallback}
<script>
const fig = ${scriptJson(fig)};
Plotly.newPlot("plot", fig.data, fig.layout || {}, Object.assign({ responsive: true }, fig.config || {}));
</script></body></html>
`;
}
