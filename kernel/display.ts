/**
 * The display API cells use (`display.html(…)`, `display.plotly(fig)`, `clearOutput()`, progress
 * bars) and the rendering of values into mime bundles. Plotly bundles get offline-capable HTML; the
 * first Plotly figure of a session is preceded by an output carrying plotly.js (plotlyLoaderBundle).
 */
import { inspect } from "node:util";
import { DISPLAY, isDisplayable, PLOTLY_MIME, type MimeBundle, type PlotlyFigure } from "../lib/display/index.ts";
import { plotlyFigureHtml, plotlyFigureText, plotlyLoaderHtml } from "../lib/display/plotly.ts";
import type { Progress, ProgressFactory } from "../lib/runtime.ts";

export interface DisplayOptions { displayId?: string; update?: boolean }
/** Sends one iopub message for the current execution. */
export type IopubSend = (msgType: string, content: Record<string, unknown>) => void;

let plotlyLoaded = false;

/** Text for a value, as the REPL would show it. */
export function plainText(value: unknown): string {
  return typeof value === "string" ? inspect(value) : inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 });
}

/** The mime bundle for a value: its own display method, else text/plain. */
export function bundleFor(value: unknown): MimeBundle {
  if (isDisplayable(value)) {
    const b = value[DISPLAY]();
    if (typeof b !== "object" || b === null) throw new TypeError(`[Symbol.for("Jupyter.display")]() must return a mime bundle object, got ${typeof b}`);
    return b;
  }
  return { "text/plain": plainText(value) };
}

/** Normalise a bundle for the wire: Plotly gets offline-capable HTML and text. */
export function completeBundle(bundle: MimeBundle): MimeBundle {
  const out: MimeBundle = { ...bundle };
  const fig = out[PLOTLY_MIME] as PlotlyFigure | undefined;
  if (fig && typeof fig === "object") {
    if (!("text/html" in out)) out["text/html"] = plotlyFigureHtml(fig);
    out["text/plain"] ??= plotlyFigureText(fig);
  }
  if (!("text/plain" in out)) out["text/plain"] = `<${Object.keys(out).join(", ")}>`;
  return out;
}

/**
 * The output that defines plotly.js, due once per session, right after the first figure we render to
 * HTML (that figure's script waits for it): it makes a saved notebook and its nbconvert HTML render
 * offline. It is an output of its own (a script, nothing visible) so that every figure output stays small, and it carries plotly.js's
 * cartesian bundle (1.4 MB: scatter, bar, heatmap, image, box, contour, histogram, pie, violin)
 * rather than the 4.7 MB full one. Returns undefined when not due.
 */
export function plotlyLoaderBundle(bundle: MimeBundle): MimeBundle | undefined {
  if (plotlyLoaded || !(PLOTLY_MIME in bundle) || "text/html" in bundle) return undefined;
  plotlyLoaded = true;
  return { "text/html": plotlyLoaderHtml(), "text/plain": "" };
}

function bytesToBase64(b: Uint8Array | string): string {
  return typeof b === "string" ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

export interface DisplayFn {
  (value: unknown, opts?: DisplayOptions): void;
  html(s: string, opts?: DisplayOptions): void;
  markdown(s: string, opts?: DisplayOptions): void;
  text(s: string, opts?: DisplayOptions): void;
  json(v: unknown, opts?: DisplayOptions): void;
  png(b: Uint8Array | string, opts?: DisplayOptions): void;
  jpeg(b: Uint8Array | string, opts?: DisplayOptions): void;
  svg(s: string, opts?: DisplayOptions): void;
  plotly(fig: PlotlyFigure, opts?: DisplayOptions): void;
  mime(bundle: MimeBundle, opts?: DisplayOptions): void;
}

/** Build `display` bound to a sender (the kernel passes one that targets the running cell). */
export function makeDisplay(getSend: () => IopubSend, defaults: DisplayOptions = {}): DisplayFn {
  const mime = (bundle: MimeBundle, opts: DisplayOptions = {}) => {
    if (typeof bundle !== "object" || bundle === null) throw new TypeError("display.mime: expected a mime bundle object");
    const send = getSend();
    const o = { ...defaults, ...opts };
    if (o.update && !o.displayId) throw new TypeError("display: { update: true } needs a displayId");
    const data = completeBundle(bundle);
    send(o.update ? "update_display_data" : "display_data", { data, metadata: {}, transient: o.displayId ? { display_id: o.displayId } : {} });
    const loader = o.update ? undefined : plotlyLoaderBundle(bundle);
    if (loader) send("display_data", { data: loader, metadata: {}, transient: {} });
  };
  const d = ((value: unknown, opts?: DisplayOptions) => mime(bundleFor(value), opts)) as DisplayFn;
  d.mime = mime;
  d.html = (s, o) => mime({ "text/html": String(s), "text/plain": String(s).replace(/<[^>]*>/g, "") }, o);
  d.markdown = (s, o) => mime({ "text/markdown": String(s), "text/plain": String(s) }, o);
  d.text = (s, o) => mime({ "text/plain": String(s) }, o);
  d.json = (v, o) => mime({ "application/json": v as object, "text/plain": plainText(v) }, o);
  d.png = (b, o) => mime({ "image/png": bytesToBase64(b), "text/plain": "<PNG image>" }, o);
  d.jpeg = (b, o) => mime({ "image/jpeg": bytesToBase64(b), "text/plain": "<JPEG image>" }, o);
  d.svg = (s, o) => mime({ "image/svg+xml": String(s), "text/plain": "<SVG image>" }, o);
  d.plotly = (fig, o) => {
    if (typeof fig !== "object" || fig === null || !Array.isArray(fig.data)) throw new TypeError('display.plotly: a figure needs a "data" array');
    mime({ [PLOTLY_MIME]: { data: fig.data, layout: fig.layout ?? {}, ...(fig.config ? { config: fig.config } : {}), ...(fig.frames ? { frames: fig.frames } : {}) } }, o);
  };
  return d;
}

let progressCounter = 0;

/** A progress display updated in place (at most ~10 redraws a second, plus the final one). */
export function makeProgress(display: DisplayFn): ProgressFactory {
  return (label, total) => {
    const displayId = `simvlm-progress-${process.pid}-${++progressCounter}`;
    const start = Date.now();
    let last = 0;
    let shown = false;
    let lastP: Progress = { step: 0, total };
    const render = (p: Progress, final?: string) => {
      const t = p.total ?? total;
      const frac = t ? Math.min(1, p.step / t) : undefined;
      const secs = (Date.now() - start) / 1000;
      const eta = t && p.step > 0 && !final ? ` · eta ${Math.max(0, (secs / p.step) * (t - p.step)).toFixed(0)}s` : "";
      const metrics = p.metrics ? Object.entries(p.metrics).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`).join(" · ") : "";
      const info = [`${p.step}${t ? `/${t}` : ""}`, p.message, metrics, `${secs.toFixed(1)}s${eta}`, final].filter(Boolean).join(" · ");
      const bar = frac === undefined ? "" : "#".repeat(Math.round(frac * 30)).padEnd(30, ".");
      const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
      const html = `<div style="font-family:monospace;font-size:12px"><span>${esc(label)}</span> ` +
        (frac === undefined ? "" : `<progress value="${p.step}" max="${t}" style="width:240px;vertical-align:middle"></progress> `) + `<span>${esc(info)}</span></div>`;
      display.mime({ "text/plain": `${label} ${bar ? `[${bar}] ` : ""}${info}`, "text/html": html }, { displayId, update: shown });
      shown = true;
    };
    return {
      update(p) {
        lastP = p;
        const now = Date.now();
        if (shown && now - last < 100) return;
        last = now;
        render(p);
      },
      done(message) { render(lastP, message ?? "done"); },
    };
  };
}
