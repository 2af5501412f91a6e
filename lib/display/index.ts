/**
 * One display protocol (as in Deno's kernel): any object with a `[Symbol.for("Jupyter.display")]()`
 * method returning a mime bundle renders itself. Library figures carry it; the kernel only asks for
 * the bundle, and a script can write the same bundle to a file.
 */
export const DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** mime type → data (string for text and base64 images, objects for JSON types). */
export type MimeBundle = Record<string, unknown>;

export interface Displayable {
  [DISPLAY](): MimeBundle;
}

export function isDisplayable(x: unknown): x is Displayable {
  return (
    (typeof x === "object" || typeof x === "function") &&
    x !== null &&
    typeof (x as Record<symbol, unknown>)[DISPLAY] === "function"
  );
}

/** Attach the display method to a plain object without making it enumerable (JSON stays clean). */
export function withDisplay<T extends object>(
  obj: T,
  bundle: (o: T) => MimeBundle,
): T & Displayable {
  Object.defineProperty(obj, DISPLAY, { value: () => bundle(obj), enumerable: false });
  return obj as T & Displayable;
}

/** A Plotly figure as plain data (the JSON that plotly.js and the plotly mime renderer take). */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
  frames?: Record<string, unknown>[];
}

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
