// Types of the kernel's display API as seen from cells: the globals `display`, `clearOutput`,
// `input`, and the virtual module "tslab" (compatible with tslab's `tslab.display.html(…)`).
export interface DisplayOptions {
  /** Name this output so a later call with `update: true` replaces it in place. */
  displayId?: string;
  /** Replace the output with this displayId instead of adding a new one. */
  update?: boolean;
}
export interface PlotlyFigureLike {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}
export interface Display {
  /** Show any value: rich when it has `[Symbol.for("Jupyter.display")]()`, else as text. */
  (value: unknown, opts?: DisplayOptions): void;
  html(html: string, opts?: DisplayOptions): void;
  markdown(markdown: string, opts?: DisplayOptions): void;
  text(text: string, opts?: DisplayOptions): void;
  json(value: unknown, opts?: DisplayOptions): void;
  /** PNG bytes (or base64). */
  png(bytes: Uint8Array | string, opts?: DisplayOptions): void;
  jpeg(bytes: Uint8Array | string, opts?: DisplayOptions): void;
  svg(svg: string, opts?: DisplayOptions): void;
  /** A Plotly figure: rendered offline in the Notebook, JupyterLab and nbconvert HTML. */
  plotly(figure: PlotlyFigureLike, opts?: DisplayOptions): void;
  /** A raw mime bundle, e.g. { "text/html": "<b>hi</b>", "text/plain": "hi" }. */
  mime(bundle: Record<string, unknown>, opts?: DisplayOptions): void;
}
export declare const display: Display;
/** Clear this cell's output; with wait=true, only when the next output arrives. */
export declare function clearOutput(wait?: boolean): void;
/** Ask the user for a line of text over the stdin channel. */
export declare function input(prompt?: string, opts?: { password?: boolean }): Promise<string>;
/** tslab's name for a display with its own id, updated in place. */
export declare function newDisplay(): Display;
/** A progress display updated in place: `const p = progress("train", 100); p.update({ step: 1 }); p.done()`. */
export declare function progress(
  label: string,
  total?: number,
): {
  update(p: {
    step: number;
    total?: number;
    message?: string;
    metrics?: Record<string, number>;
  }): void;
  done(message?: string): void;
};
/** Versions of the kernel's parts. */
export declare const versions: { tslab: string; typescript: string; node: string };
