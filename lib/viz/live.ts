/**
 * A training plot that updates in place: pass `plot.onStep` as the trainer's onStep callback; it
 * redraws through the ambient display sink (the kernel turns that into update_display_data) at most
 * `maxUpdatesPerSecond` times, and `finish()` draws the last state. The object itself is displayable,
 * so the final figure stays in the notebook (and a script can save it).
 */
import {
  withDisplay,
  PLOTLY_MIME,
  type Displayable,
  type MimeBundle,
  type PlotlyFigure,
} from "../display/index.ts";
import { getRunContext } from "../runtime.ts";
import { roundTo } from "./attention-math.ts";

/** What the plot reads from a log row (extra fields, e.g. lib/train's grad_norm, are kept in `rows`). */
export interface TrainingRow {
  step: number;
  loss: number;
  lr?: number;
  examples_per_s?: number;
}

export interface LiveTrainingPlotOptions {
  title?: string;
  /** Redraws per second at most (default 2). */
  maxUpdatesPerSecond?: number;
  /** Points kept per curve in the figure; longer runs are thinned evenly (default 1000). */
  maxPoints?: number;
  /** Display id (default a fresh one per plot). */
  displayId?: string;
}

export interface LiveTrainingPlot {
  readonly kind: "live-training-plot";
  readonly displayId: string;
  readonly rows: TrainingRow[];
  onStep(row: TrainingRow): void;
  /** Draw now, before any step: fixes the plot's place among a cell's outputs (several plots training at once). */
  show(): void;
  finish(): void;
  figure(): PlotlyFigure;
  bundle(): MimeBundle;
}

let counter = 0;

/** Every k-th point so at most `max` remain, always keeping the last. */
function thin<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const k = Math.ceil(xs.length / max),
    out: T[] = [];
  for (let i = 0; i < xs.length; i += k) out.push(xs[i]!);
  if (out[out.length - 1] !== xs[xs.length - 1]) out.push(xs[xs.length - 1]!);
  return out;
}

export function liveTrainingPlot(
  opts: LiveTrainingPlotOptions = {},
): LiveTrainingPlot & Displayable {
  const displayId =
    opts.displayId ?? `simvlm-train-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const minGap = 1000 / (opts.maxUpdatesPerSecond ?? 2);
  const rows: TrainingRow[] = [];
  let shown = false,
    lastDraw = 0,
    timer: ReturnType<typeof setTimeout> | undefined,
    finished = false;

  const figure = (): PlotlyFigure => {
    const pts = thin(rows, opts.maxPoints ?? 1000);
    const x = pts.map((r) => r.step);
    const series = (f: (r: TrainingRow) => unknown, digits: number) =>
      pts.map((r) => {
        const v = f(r);
        return typeof v === "number" && Number.isFinite(v) ? roundTo(v, digits) : null;
      });
    const last = rows[rows.length - 1];
    return {
      data: [
        {
          type: "scatter",
          mode: "lines",
          name: "loss",
          x,
          y: series((r) => r.loss, 4),
          xaxis: "x",
          yaxis: "y",
          line: { color: "#4c78a8" },
        },
        {
          type: "scatter",
          mode: "lines",
          name: "learning rate",
          x,
          y: series((r) => r.lr, 8),
          xaxis: "x2",
          yaxis: "y2",
          line: { color: "#f58518" },
        },
        {
          type: "scatter",
          mode: "lines",
          name: "examples/s",
          x,
          y: series((r) => r.examples_per_s, 2),
          xaxis: "x3",
          yaxis: "y3",
          line: { color: "#54a24b" },
        },
      ],
      layout: {
        title: {
          text: `${opts.title ?? "Training"}${last ? ` — step ${last.step}, loss ${Number(last.loss).toFixed(4)}` : ""}${finished ? " (done)" : ""}`,
        },
        width: 900,
        height: 320,
        showlegend: false,
        margin: { t: 60, l: 60, r: 20, b: 50 },
        xaxis: { domain: [0, 0.3], title: { text: "step" } },
        yaxis: { title: { text: "loss" } },
        xaxis2: { domain: [0.36, 0.64], title: { text: "step" }, anchor: "y2" },
        yaxis2: { title: { text: "learning rate" }, anchor: "x2", exponentformat: "e" },
        xaxis3: { domain: [0.7, 1], title: { text: "step" }, anchor: "y3" },
        yaxis3: { title: { text: "examples/s" }, anchor: "x3", rangemode: "tozero" },
      },
    };
  };
  const text = () => {
    const last = rows[rows.length - 1];
    if (!last) return `${opts.title ?? "Training"}: no steps yet`;
    const extra = [
      last.lr !== undefined ? `lr ${Number(last.lr).toExponential(2)}` : "",
      last.examples_per_s !== undefined ? `${Number(last.examples_per_s).toFixed(1)} ex/s` : "",
    ]
      .filter(Boolean)
      .join(", ");
    return `${opts.title ?? "Training"}: step ${last.step}, loss ${Number(last.loss).toFixed(4)}${extra ? `, ${extra}` : ""}${finished ? " (done)" : ""}`;
  };
  const bundle = (): MimeBundle => ({ [PLOTLY_MIME]: figure(), "text/plain": text() });
  const draw = () => {
    timer = undefined;
    lastDraw = Date.now();
    const sink = getRunContext().display;
    if (!sink) return;
    sink(bundle(), { displayId, update: shown });
    shown = true;
  };

  const plot: LiveTrainingPlot = {
    kind: "live-training-plot",
    displayId,
    rows,
    onStep(row: TrainingRow) {
      rows.push({ ...row });
      if (finished) return;
      const wait = lastDraw + minGap - Date.now();
      if (!shown || wait <= 0) {
        if (timer) clearTimeout(timer);
        draw();
      } else if (!timer) {
        timer = setTimeout(draw, wait);
        timer.unref?.();
      } // trailing redraw keeps the newest rows
    },
    show() {
      if (!shown) draw();
    },
    finish() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      finished = true;
      draw();
    },
    figure,
    bundle,
  };
  return withDisplay(plot, () => bundle());
}
