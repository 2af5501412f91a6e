/**
 * A figure as a standalone HTML page (plotly.js inlined, works offline from a file:// URL), for
 * `simvlm viz … --out FILE.html`. The page itself comes from lib/display/plotly.ts so the CLI and
 * the kernel draw figures the same way.
 */
import type { PlotlyFigure } from "../display/index.ts";
import { plotlyStandaloneHtml } from "../display/plotly.ts";

export function vizStandaloneHtml(fig: PlotlyFigure, opts: { title?: string } = {}): string {
  return plotlyStandaloneHtml(fig, opts.title ?? "simvlm figure");
}
