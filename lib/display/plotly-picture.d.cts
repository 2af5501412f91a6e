// Types for plotly-picture.cjs (plain JavaScript shared with the browser; see that file).
type Figure = { data: Record<string, unknown>[]; layout?: Record<string, unknown> };
declare const picture: {
  DEFAULT_WIDTH: number;
  DEFAULT_HEIGHT: number;
  SCALE: number;
  /** Plotly.toImage options for `fig`: PNG at the layout's size (else 760×450), 1×. */
  pictureOptions(fig: Figure): { format: "png"; width: number; height: number; scale: number };
  /** Draws `fig` with plotly.js (`Plotly`: window.Plotly or the module); resolves to base64 PNG data. */
  drawPicture(Plotly: unknown, fig: Figure): Promise<string>;
  /** A short text description of a figure (its alt text and default text/plain). */
  figureText(fig: Figure): string;
  /** Whether `html` is a figure fragment of lib/display/plotly.ts whose div has no picture yet. */
  needsPicture(html: unknown): boolean;
  /** `html` with `image` (a data: URI or base64 PNG) as the figure's static picture. */
  withPicture(html: string, image: string, alt: string): string;
};
export = picture;
