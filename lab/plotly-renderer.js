// A JupyterLab mime renderer for Plotly figures (`application/vnd.plotly.v1+json`), drawn with the
// same plotly.js bundle as the kernel's HTML output and the saved notebooks (npm
// plotly.js-cartesian-dist-min, lib/display/plotly.ts). It is marked safe: a figure is JSON that plotly.js draws, no script from the
// notebook runs, so figures draw in untrusted notebooks too, sliders and menus included. Rank 0 puts
// it before text/html, so the kernel's HTML copy of each figure (scripts, shown only when trusted)
// is not used here. Why not the jupyterlab-plotly package: see docs/jupyterlab.md.
import { Widget } from "@lumino/widgets";
// How a figure's static picture is drawn and stored, shared with the kernel (lib/display/plotly-picture.cjs,
// copied here by lab/build.mjs).
import picture from "./plotly-picture.cjs";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
/** How long a figure stays unchanged before its picture is drawn (ms; lib/display/plotly.ts PICTURE_DELAY_MS). */
const PICTURE_DELAY_MS = 1500;

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
    this.renders = 0; // counts renderModel calls: a picture is stored only for the latest one
  }

  // Called for the first display and again for each update_display_data: Plotly.react redraws in
  // place (a live training plot keeps its DOM node, zoom state aside, instead of flickering).
  async renderModel(model) {
    const fig = model.data[this.mimeType];
    const render = ++this.renders;
    clearTimeout(this.pictureTimer);
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
      this.schedulePicture(model, fig, Plotly, render);
    } catch (e) {
      this.drawn = false;
      this.node.textContent = `Plotly could not draw this figure: ${e?.message ?? e}`;
      this.node.classList.add("jp-RenderedText");
    }
  }

  // A figure drawn live (a trusted output) that has no static picture gets one in its output model:
  // `image/png`, and inside the kernel's HTML fragment the same <img> the kernel and
  // scripts/notebooks/static-figures.ts put there, so the saved notebook shows the figure where scripts
  // do not run (classic Notebook untrusted, nbconvert, GitHub; issue 17 item 2). Drawn once the figure
  // has not changed for PICTURE_DELAY_MS (a live training plot updates twice a second). An output with
  // HTML of another kind is left as it is; untrusted outputs too (opening a notebook changes nothing).
  schedulePicture(model, fig, Plotly, render) {
    if (!model.trusted || typeof model.setData !== "function") return;
    const html = [model.data["text/html"] ?? []].flat().join("");
    const ours = picture.needsPicture(html);
    if (!ours && (html || model.data["image/png"])) return;
    this.pictureTimer = setTimeout(async () => {
      try {
        const png = await picture.drawPicture(Plotly, fig);
        if (render !== this.renders || this.isDisposed) return; // redrawn since: that render stores it
        const data = { ...model.data, "image/png": png };
        if (ours) data["text/html"] = picture.withPicture(html, png, picture.figureText(fig));
        model.setData({ data });
      } catch (e) {
        console.warn("simvlm: no static picture for a Plotly figure", e);
      }
    }, PICTURE_DELAY_MS);
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
    clearTimeout(this.pictureTimer);
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
