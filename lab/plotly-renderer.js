// A JupyterLab mime renderer for Plotly figures (`application/vnd.plotly.v1+json`), drawn with the
// same plotly.js bundle as the kernel's HTML output and the saved notebooks (npm
// plotly.js-cartesian-dist-min, lib/display/plotly.ts). It is marked safe: a figure is JSON that plotly.js draws, no script from the
// notebook runs, so figures draw in untrusted notebooks too, sliders and menus included. Rank 0 puts
// it before text/html, so the kernel's HTML copy of each figure (scripts, shown only when trusted)
// is not used here. Why not the jupyterlab-plotly package: see docs/jupyterlab.md.
import { Widget } from "@lumino/widgets";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

// plotly.js (1.4 MB) is its own chunk, loaded with the first figure rather than with the page. One
// plotly.js per page: a trusted notebook's plotly.js output (the kernel's inline loader) and the
// HTML copies of figures use window.Plotly when it is there, and define none while this load is
// under way (window.__simvlmPlotlyLoading); the bundle sets window.Plotly itself.
let plotly;
const loadPlotly = () =>
  (plotly ??= window.Plotly
    ? Promise.resolve(window.Plotly)
    : ((window.__simvlmPlotlyLoading = true),
      import(/* webpackChunkName: "plotly" */ "plotly.js-cartesian-dist-min").then((m) => {
        window.__simvlmPlotlyLoading = false;
        return m.default ?? m;
      })));

class PlotlyRenderer extends Widget {
  constructor(options) {
    super();
    this.mimeType = options.mimeType;
    this.addClass("simvlm-PlotlyRenderer");
    this.drawn = false;
  }

  // Called for the first display and again for each update_display_data: Plotly.react redraws in
  // place (a live training plot keeps its DOM node, zoom state aside, instead of flickering).
  async renderModel(model) {
    const fig = model.data[this.mimeType];
    try {
      if (!fig || typeof fig !== "object" || !Array.isArray(fig.data))
        throw new Error('the figure has no "data" array');
      const Plotly = await loadPlotly();
      await Plotly.react(this.node, {
        data: fig.data,
        layout: { ...(fig.layout ?? {}) },
        config: { displaylogo: false, responsive: true, ...(fig.config ?? {}) },
        frames: fig.frames,
      });
      this.drawn = true;
    } catch (e) {
      this.drawn = false;
      this.node.textContent = `Plotly could not draw this figure: ${e?.message ?? e}`;
      this.node.classList.add("jp-RenderedText");
    }
  }

  onAfterShow() {
    this.resize();
  }
  onResize() {
    this.resize();
  }
  resize() {
    if (this.drawn && this.isVisible)
      plotly?.then((P) => P.Plots.resize(this.node)).catch(() => {});
  }

  dispose() {
    if (this.isDisposed) return;
    if (this.drawn) plotly?.then((P) => P.purge(this.node));
    super.dispose();
  }
}

export const rendererFactory = {
  safe: true,
  mimeTypes: [PLOTLY_MIME],
  defaultRank: 0,
  createRenderer: (options) => new PlotlyRenderer(options),
};

/** The mime extension JupyterLab registers (IRenderMime.IExtension). */
export default { id: "simvlm-lab:plotly-renderer", rendererFactory, rank: 0, dataType: "json" };
