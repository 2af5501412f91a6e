/**
 * The display API cells use (`display.html(…)`, `display.plotly(fig)`, progress displays) and the
 * rendering of values into mime bundles. Every bundle goes through `completeBundle`: JSON-valued
 * mime types pass the one display serialiser (lib/display/json.ts), Plotly figures get
 * offline-capable HTML built from the same serialised data, with the bundle's static picture inside
 * it, and markdown gets an HTML rendering beside it — what viewers that run no scripts and trust
 * nothing (the untrusted classic Notebook, nbconvert's HTML, GitHub) show. The first Plotly figure
 * of a session is followed by an output carrying plotly.js (plotlyLoaderBundle).
 */
import { inspect } from "node:util";
import { escapeHtml } from "../lib/display/html.ts";
import { UserError } from "../lib/errors.ts";
import {
  DISPLAY,
  isDisplayable,
  PLOTLY_MIME,
  type MimeBundle,
  type PlotlyFigure,
} from "../lib/display/index.ts";
import { DisplayValueError, toJsonValue } from "../lib/display/json.ts";
import { markdownHtml } from "../lib/display/markdown.ts";
import { plotlyFigureHtml, plotlyFigureText, plotlyLoaderHtml } from "../lib/display/plotly.ts";
import {
  progressText,
  throttledProgress,
  type ProgressFactory,
  type ProgressLine,
} from "../lib/runtime.ts";
import type { IopubMessage } from "./jupyter-messages.ts";
import { alignTables } from "./markdown-tables.ts";
import { mapStackText } from "./traceback.ts";

export interface DisplayOptions {
  displayId?: string;
  update?: boolean;
}

/** A cell used the display or input API wrongly (no bundle, an update without an id, no cell running…). */
export class CellApiError extends UserError {}
/** Sends one iopub message for the current execution. */
export type IopubSend = (message: IopubMessage) => void;

let plotlyLoaded = false;

/**
 * Bookkeeping Node attaches to promises (and other async resources) a cell creates — async ids and
 * the async context, which is the kernel's execution record — shown by util.inspect like own keys.
 */
const ASYNC_HOOK_ENTRY =
  /,?\n?[ \t]*\[Symbol\((?:async_id_symbol|trigger_async_id_symbol|kResourceStore)\)\]: (?:\d+|\[cell execution \d+\])/g;

/** Text for a value, as the REPL would show it: stacks inside it point into cells, Node's async bookkeeping left out. */
export function plainText(value: unknown): string {
  if (typeof value === "string") return inspect(value);
  const text = inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 }).replace(
    ASYNC_HOOK_ENTRY,
    "",
  );
  return mapStackText(text).replace(/^Promise \{\n {2}([^\n]*)\n\}$/, "Promise { $1 }");
}

/** The mime bundle for a value: its own display method, else text/plain. */
export function bundleFor(value: unknown): MimeBundle {
  if (isDisplayable(value)) {
    const b = value[DISPLAY]();
    if (typeof b !== "object" || b === null)
      throw new CellApiError(
        `[Symbol.for("Jupyter.display")]() must return a mime bundle object, got ${typeof b}`,
      );
    return b;
  }
  return { "text/plain": plainText(value) };
}

const isJsonMime = (mime: string) => mime === "application/json" || mime.endsWith("+json");

/**
 * A bundle as it goes on the wire: JSON types (application/json, any +json) serialised by the
 * display rules; other types as strings (numbers and booleans as their text, bytes for an image
 * type as base64; anything else is an error naming the mime type). Plotly gets offline-capable
 * HTML that shows the bundle's PNG, JPEG or SVG until (and unless) its script draws, and a text line;
 * markdown gets its HTML rendering (untrusted, the classic Notebook shows no markdown output).
 */
export function completeBundle(bundle: MimeBundle): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, value] of Object.entries(bundle)) {
    if (value === undefined) continue;
    if (isJsonMime(mime))
      out[mime] = toJsonValue(value, mime === PLOTLY_MIME ? "figure" : `display: "${mime}"`);
    else if (typeof value === "string") out[mime] = value;
    else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
      out[mime] = String(value);
    else if (value instanceof Uint8Array && mime.startsWith("image/"))
      out[mime] = bytesToBase64(value);
    else
      throw new DisplayValueError(
        `display: "${mime}" must be a string${mime.startsWith("image/") ? " (base64) or bytes" : ""}, got ${describe(value)}`,
      );
  }
  const fig = out[PLOTLY_MIME] as PlotlyFigure | undefined;
  if (PLOTLY_MIME in out && (typeof fig !== "object" || fig === null || !Array.isArray(fig.data))) {
    throw new DisplayValueError(
      `display: "${PLOTLY_MIME}" must be a Plotly figure with a "data" array`,
    );
  }
  if (fig) {
    if (!("text/html" in out))
      out["text/html"] = plotlyFigureHtml(fig, { image: staticImage(out) });
    out["text/plain"] ??= plotlyFigureText(fig);
  }
  if (typeof out["text/markdown"] === "string" && !("text/html" in out))
    out["text/html"] = markdownHtml(out["text/markdown"]);
  if (!("text/plain" in out)) out["text/plain"] = `<${Object.keys(out).join(", ")}>`;
  return out;
}

/** The bundle's static picture as a data: URI (PNG, then SVG, then JPEG), if it has one. */
function staticImage(out: MimeBundle): string | undefined {
  for (const mime of ["image/png", "image/svg+xml", "image/jpeg"]) {
    const v = out[mime];
    if (typeof v !== "string" || v === "") continue;
    const data =
      mime === "image/svg+xml" ? Buffer.from(v).toString("base64") : v.replace(/\s+/g, "");
    return `data:${mime};base64,${data}`;
  }
  return undefined;
}

const describe = (v: unknown) =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "an array"
      : typeof v === "object"
        ? (v.constructor?.name ?? "an object")
        : typeof v;

/**
 * The output that defines plotly.js, due once per session, right after the first figure we render to
 * HTML (that figure's script waits for it): it makes a saved notebook and its nbconvert HTML render
 * offline. It is an output of its own (a script, nothing visible) so that every figure output stays
 * small, and it carries plotly.js's cartesian bundle (1.4 MB: scatter, bar, heatmap, image, box,
 * contour, histogram, pie, violin) rather than the 4.7 MB full one — the bundle the kernelspec folder
 * serves to live pages and lab/ imports, so a page has one plotly.js. Returns undefined when not due.
 */
export function plotlyLoaderBundle(bundle: MimeBundle): MimeBundle | undefined {
  if (plotlyLoaded || !(PLOTLY_MIME in bundle) || "text/html" in bundle) return undefined;
  plotlyLoaded = true;
  return { "text/html": plotlyLoaderHtml(), "text/plain": "" };
}

function bytesToBase64(b: Uint8Array | string): string {
  return typeof b === "string"
    ? b
    : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
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
    if (typeof bundle !== "object" || bundle === null)
      throw new CellApiError("display.mime: expected a mime bundle object");
    const send = getSend();
    const { displayId, update } = { ...defaults, ...opts };
    if (update && !displayId) throw new CellApiError("display: { update: true } needs a displayId");
    const data = completeBundle(bundle);
    const content = { data, metadata: {}, transient: displayId ? { display_id: displayId } : {} };
    send(
      update ? { msgType: "update_display_data", content } : { msgType: "display_data", content },
    );
    const loader = update ? undefined : plotlyLoaderBundle(bundle);
    if (loader)
      send({ msgType: "display_data", content: { data: loader, metadata: {}, transient: {} } });
  };
  const d = ((value: unknown, opts?: DisplayOptions) => mime(bundleFor(value), opts)) as DisplayFn;
  d.mime = mime;
  d.html = (s, o) =>
    mime({ "text/html": String(s), "text/plain": String(s).replace(/<[^>]*>/g, "") }, o);
  d.markdown = (s, o) =>
    mime({ "text/markdown": alignTables(String(s)), "text/plain": String(s) }, o);
  d.text = (s, o) => mime({ "text/plain": String(s) }, o);
  d.json = (v, o) => mime({ "application/json": v, "text/plain": plainText(v) }, o);
  d.png = (b, o) => mime({ "image/png": bytesToBase64(b), "text/plain": "<PNG image>" }, o);
  d.jpeg = (b, o) => mime({ "image/jpeg": bytesToBase64(b), "text/plain": "<JPEG image>" }, o);
  d.svg = (s, o) => mime({ "image/svg+xml": String(s), "text/plain": "<SVG image>" }, o);
  d.plotly = (fig, o) => {
    if (typeof fig !== "object" || fig === null || !Array.isArray(fig.data))
      throw new CellApiError('display.plotly: a figure needs a "data" array');
    mime(
      {
        [PLOTLY_MIME]: {
          data: fig.data,
          layout: fig.layout ?? {},
          ...(fig.config ? { config: fig.config } : {}),
          ...(fig.frames ? { frames: fig.frames } : {}),
        },
      },
      o,
    );
  };
  return d;
}

let progressCounter = 0;

/** A progress line as HTML: the label, a <progress> bar when the total is known, then the details. */
function progressHtml(line: ProgressLine): string {
  const bar =
    line.fraction === undefined
      ? ""
      : `<progress value="${line.step}" max="${line.total}" style="width:240px;vertical-align:middle"></progress> `;
  return `<div style="font-family:monospace;font-size:12px"><span>${escapeHtml(line.label)}</span> ${bar}<span>${escapeHtml([line.count, ...line.details].join(" · "))}</span></div>`;
}

/**
 * The kernel's progress: one display updated in place (text and HTML of the same line), at most ~10
 * redraws a second. When the call finishes the line collapses to a one-line summary without the bar,
 * so a notebook's finished calls read as done, not as bars still standing.
 */
export function makeProgress(display: DisplayFn): ProgressFactory {
  return (label, total) => {
    const displayId = `simvlm-progress-${process.pid}-${++progressCounter}`;
    return throttledProgress((line, { first, final }) => {
      const shown = final ? { ...line, fraction: undefined } : line;
      display.mime(
        { "text/plain": progressText(shown), "text/html": progressHtml(shown) },
        { displayId, update: !first },
      );
    })(label, total);
  };
}
