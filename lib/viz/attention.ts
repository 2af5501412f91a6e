/**
 * Attention over image patches for an encoder-decoder VLM: the decoder's cross-attention from a
 * text token to the encoder inputs [image patches ; prefix text], per layer and head, the head
 * mean, and rollout through the encoder self-attention, overlaid on the image.
 *
 * The Plotly figure is interactive without a server: a slider picks the token (it restyles the z of
 * every view trace at once) and a dropdown picks the view (it toggles which traces are visible), so
 * the two choices combine freely. Only patch-grid values are stored (plotly smooths them over the
 * image with zsmooth), rounded, which keeps a saved figure small.
 */
import type { AttentionCapture } from "../model/types.ts";
import type { RgbImage } from "../data/types.ts";
import { withDisplay, PLOTLY_MIME, type Displayable, type PlotlyFigure } from "../display/index.ts";
import {
  attentionViews,
  checkCapture,
  decoderPositionLabels,
  crossAttentionFor,
  encoderRollout,
  roundTo,
  toRows,
  VizError,
  type AttentionView,
} from "./attention-math.ts";
import {
  checkRgbImage,
  overlayRaw,
  panelsPng,
  plotlyColorscale,
  resizeRgb,
  rgbDataUri,
  truncate,
} from "./raster.ts";

/** The PNG's colour map for plotly, with opacity growing with the value so the image shows through. */
const OVERLAY_COLORSCALE = plotlyColorscale(true);

/**
 * Default size budget for one figure in a saved notebook (the limit is 300 KB): the Plotly JSON and
 * the PNG counted twice (the kernel adds an HTML fragment holding both again: the PNG is what
 * viewers that run no scripts show) and the text.
 */
export const VIZ_FIGURE_BUDGET = 280_000;

export interface AttentionFigureOptions {
  /** The image as the model saw it (its full extent is the patch grid). */
  image: RgbImage;
  capture: AttentionCapture;
  title?: string;
  /** Decoder positions to offer (default: all, up to maxTokens). */
  tokens?: number[];
  maxTokens?: number;
  /** Offer every head of every layer (default: yes while the bundle fits the budget). */
  heads?: boolean;
  /** Decoder layers to offer (0-based; default all). */
  layers?: number[];
  /** Name each decoder position by the token it predicts (default) or the token it reads. */
  labels?: "predicted" | "input";
  /** Token panels in the static PNG (default 6). */
  pngTokens?: number;
  /** Side of each PNG panel in pixels (default 160). */
  pngSize?: number;
  /** Bytes allowed for the whole bundle (default VIZ_FIGURE_BUDGET). */
  budgetBytes?: number;
}

export interface AttentionFigure {
  kind: "attention";
  figure: PlotlyFigure;
  /** Base64 PNG of the static overlay. */
  png: string;
  text: string;
  /** Decoder positions shown and their labels. */
  tokens: { index: number; label: string }[];
  views: string[];
}

/** Attention from token t under view v, split into the patch grid and the prefix part. */
interface Split {
  patches: Float64Array;
  prefix: Float64Array;
  max: number;
}

/** Colour scales top out at the row's maximum, but never below this many times uniform attention. */
const UNIFORM_FLOOR = 4;

function splitRow(row: Float64Array, numPatches: number): Split {
  const patches = row.subarray(0, numPatches),
    prefix = row.subarray(numPatches);
  let max = UNIFORM_FLOOR / row.length;
  for (const v of row) max = Math.max(max, v);
  return { patches, prefix, max };
}

function tokenLabel(names: string[], t: number): string {
  return `${t}: ${truncate(names[t]!, 16)}`;
}

/** Estimated JSON bytes for the interactive part: every (token, view) map once in the slider, once initially. */
function estimateBytes(tokens: number, views: number, keys: number): number {
  return (tokens + 1) * views * (keys * 6 + 40);
}

export async function attentionFigure(
  opts: AttentionFigureOptions,
): Promise<AttentionFigure & Displayable> {
  const c = opts.capture;
  checkCapture(c);
  checkRgbImage(opts.image, "attentionFigure image");
  if (c.numPatches === 0)
    throw new VizError("attentionFigure: the capture has no image patches (a text-only example)");
  const T = c.decoderCross[0]!.queries;
  const budget = opts.budgetBytes ?? VIZ_FIGURE_BUDGET;
  let tokens = (opts.tokens ?? [...Array(T).keys()]).slice(0, opts.maxTokens ?? 16);
  for (const t of tokens)
    if (!(Number.isInteger(t) && t >= 0 && t < T))
      throw new VizError(`attentionFigure: token index ${t} out of range 0..${T - 1}`);
  if (tokens.length === 0) throw new VizError("attentionFigure: no tokens to show");
  const names = decoderPositionLabels(c, opts.labels);
  const keys = c.numPatches + c.prefixTokens.length;

  // The embedded image: at most 256 px a side, PNG or JPEG, whichever is smaller.
  const img =
    Math.max(opts.image.width, opts.image.height) > 256
      ? await resizeRgb(opts.image, 256)
      : opts.image;
  const [pngUri, jpgUri] = await Promise.all([rgbDataUri(img, "png"), rgbDataUri(img, "jpeg")]);
  const source = pngUri.length <= jpgUri.length ? pngUri : jpgUri;
  // A notebook stores the Plotly JSON twice (the mime bundle and the kernel's text/html fragment),
  // plus the PNG twice: keep room for all of them.
  const interactiveBudget = (budget * 0.8) / 2 - source.length - 12_000;

  // Fit the budget: drop per-head views first, then tokens.
  let views: AttentionView[] = attentionViews(c, {
    heads: opts.heads ?? true,
    layers: opts.layers,
  });
  if (
    opts.heads === undefined &&
    estimateBytes(tokens.length, views.length, keys) > interactiveBudget
  )
    views = attentionViews(c, { heads: false, layers: opts.layers });
  while (tokens.length > 1 && estimateBytes(tokens.length, views.length, keys) > interactiveBudget)
    tokens = tokens.slice(0, -1);

  const rollout = encoderRollout(c.encoderSelf, keys);
  const maps: Split[][] = tokens.map((t) =>
    views.map((v) => splitRow(crossAttentionFor(c, t, v, rollout), c.numPatches)),
  );
  const shown: Shown = { c, tokens, names, views, maps };
  const figure = overlayFigure(shown, img, source, opts);
  const meanView = views.findIndex((v) => v.layer === "all" && v.head === "mean");
  const png = await staticPanels(
    shown,
    meanView,
    opts,
    (budget - 2 * JSON.stringify(figure).length - 8000) / 2,
  );
  const out: AttentionFigure = {
    kind: "attention",
    figure,
    png,
    text: summary(shown, meanView, T),
    tokens: tokens.map((t) => ({ index: t, label: names[t]! })),
    views: views.map((v) => v.label),
  };
  return withDisplay(out, (o) => ({
    [PLOTLY_MIME]: o.figure,
    "image/png": o.png,
    "text/plain": o.text,
  }));
}

/** What the figure shows: the tokens, their labels, the views, and maps[token][view]. */
interface Shown {
  c: AttentionCapture;
  tokens: number[];
  names: string[];
  views: AttentionView[];
  maps: Split[][];
}

/** The interactive figure: the image under one heatmap per view (+ the prefix strip), a view menu and a token slider. */
function overlayFigure(
  { c, tokens, names, views, maps }: Shown,
  img: RgbImage,
  source: string,
  opts: AttentionFigureOptions,
): PlotlyFigure {
  const { h, w } = c.grid;
  const P = c.prefixTokens.length;
  const W = img.width,
    H = img.height;
  const xs = [...Array(w).keys()].map((j) => roundTo(((j + 0.5) * W) / w, 2));
  const ys = [...Array(h).keys()].map((i) => roundTo(((i + 0.5) * H) / h, 2));
  const per = P > 0 ? 2 : 1; // traces per view: patches (+ prefix)
  const data: Record<string, unknown>[] = [
    {
      type: "image",
      source,
      x0: 0.5,
      y0: 0.5,
      dx: 1,
      dy: 1,
      hoverinfo: "skip",
      xaxis: "x",
      yaxis: "y",
    },
  ];
  views.forEach((v, vi) => {
    const m = maps[0]![vi]!;
    data.push({
      type: "heatmap",
      name: v.label,
      x: xs,
      y: ys,
      z: toRows(m.patches, h, w),
      zmin: 0,
      zmax: roundTo(m.max, 4),
      zsmooth: "best",
      colorscale: OVERLAY_COLORSCALE,
      showscale: vi === 0,
      visible: vi === 0,
      colorbar: { title: { text: "attention" }, len: 0.7, y: 0.62 },
      xaxis: "x",
      yaxis: "y",
      hovertemplate: "attention %{z:.3f}<extra></extra>",
    });
    if (P > 0)
      data.push({
        type: "heatmap",
        name: `${v.label} (prefix)`,
        x: [...Array(P).keys()],
        y: [0],
        z: [Array.from(m.prefix, (x) => roundTo(x))],
        zmin: 0,
        zmax: roundTo(m.max, 4),
        colorscale: plotlyColorscale(),
        showscale: false,
        visible: vi === 0,
        xaxis: "x2",
        yaxis: "y2",
        hovertemplate: "%{x}: attention %{z:.3f}<extra></extra>",
      });
  });
  const viewTraces = [...Array(views.length * per).keys()].map((i) => i + 1);
  const steps = tokens.map((t, ti) => {
    const z: unknown[] = [],
      zmax: number[] = [];
    views.forEach((_, vi) => {
      const m = maps[ti]![vi]!;
      z.push(toRows(m.patches, h, w));
      zmax.push(roundTo(m.max, 4));
      if (P > 0) {
        z.push([Array.from(m.prefix, (x) => roundTo(x))]);
        zmax.push(roundTo(m.max, 4));
      }
    });
    return { label: tokenLabel(names, t), method: "restyle", args: [{ z, zmax }, viewTraces] };
  });
  const buttons = views.map((v, vi) => ({
    label: v.label,
    method: "restyle",
    args: [
      {
        visible: [true, ...viewTraces.map((i) => Math.floor((i - 1) / per) === vi)],
        showscale: [
          false,
          ...viewTraces.map((i) => (i - 1) % per === 0 && Math.floor((i - 1) / per) === vi),
        ],
      },
    ],
  }));
  const axis = { showticklabels: false, showgrid: false, zeroline: false, ticks: "" };
  const layout: Record<string, unknown> = {
    title: {
      text:
        opts.title ??
        "Decoder cross-attention over image patches" + (P > 0 ? " and prefix text" : ""),
      y: 0.98,
      yanchor: "top",
    },
    width: 640,
    height: P > 0 ? 780 : 690,
    margin: { l: 40, r: 20, t: 100, b: 100 },
    xaxis: { ...axis, domain: [0, 0.8], range: [0, W] },
    yaxis: { ...axis, domain: P > 0 ? [0.16, 1] : [0, 1], range: [H, 0], scaleanchor: "x" },
    updatemenus: [
      {
        type: "dropdown",
        buttons,
        active: 0,
        x: 0,
        xanchor: "left",
        y: 1.02,
        yanchor: "bottom",
        showactive: true,
      },
    ],
    sliders: [
      {
        active: 0,
        steps,
        currentvalue: {
          prefix: opts.labels === "input" ? "token " : "predicting ",
          font: { size: 13 },
        },
        pad: { t: 40 },
        x: 0,
        len: 1,
      },
    ],
  };
  if (P > 0) {
    layout.xaxis2 = {
      domain: [0, 0.8],
      anchor: "y2",
      tickvals: [...Array(P).keys()],
      ticktext: c.prefixTokens.map((s) => truncate(s, 10)),
      tickangle: -45,
      showgrid: false,
    };
    layout.yaxis2 = { ...axis, domain: [0, 0.07], anchor: "x2", title: { text: "prefix" } };
  }
  return { data, layout, config: { responsive: true } };
}

/**
 * The static PNG (base64): one panel per token under the all-layers head mean (`meanView`),
 * labelled with the prefix share; fewer and smaller panels until it fits in `room` bytes.
 */
async function staticPanels(
  { c, tokens, names, maps }: Shown,
  meanView: number,
  opts: AttentionFigureOptions,
  room: number,
): Promise<string> {
  const { h, w } = c.grid;
  const P = c.prefixTokens.length,
    keys = c.numPatches + P;
  let pngCount = Math.min(tokens.length, opts.pngTokens ?? 6);
  let size = opts.pngSize ?? 160;
  for (;;) {
    const panels = await Promise.all(
      tokens.slice(0, pngCount).map(async (t, ti) => {
        const m = maps[ti]![meanView]!;
        const prefixShare = m.prefix.reduce((a, b) => a + b, 0);
        return {
          image: await overlayRaw(opts.image, m.patches, h, w, size, 0.75, UNIFORM_FLOOR / keys),
          label: `"${names[t]}"` + (P > 0 ? ` · prefix ${Math.round(prefixShare * 100)}%` : ""),
        };
      }),
    );
    const png = (
      await panelsPng(panels, {
        columns: Math.min(pngCount, 4),
        title: "cross-attention, mean over layers and heads",
      })
    ).toString("base64");
    if (png.length <= room || (pngCount === 1 && size <= 64)) return png;
    // PNG bytes grow about linearly with panels and with pixel area: jump close to the fit at once.
    const r = Math.max(0.05, room / png.length);
    if (pngCount > 1)
      pngCount = Math.max(1, Math.min(pngCount - 1, Math.floor(pngCount * r * 0.9)));
    else size = Math.max(64, Math.min(size - 8, Math.floor(size * Math.sqrt(r) * 0.95)));
  }
}

/** The text/plain summary: per token, the most attended patch (and the prefix share). */
function summary({ c, tokens, names, views, maps }: Shown, meanView: number, T: number): string {
  const { h, w } = c.grid;
  const P = c.prefixTokens.length;
  const lines = [
    `attention figure: ${tokens.length}/${T} decoder tokens × ${views.length} views, patch grid ${h}×${w}, prefix ${P} tokens`,
  ];
  tokens.forEach((t, ti) => {
    const m = maps[ti]![meanView]!;
    let best = 0;
    m.patches.forEach((v, i) => {
      if (v > m.patches[best]!) best = i;
    });
    lines.push(
      `  ${tokenLabel(names, t).padEnd(20)} top patch (row ${Math.floor(best / w)}, col ${best % w}) ${roundTo(m.patches[best]!, 3)}` +
        (P > 0
          ? `, prefix ${roundTo(
              m.prefix.reduce((a, b) => a + b, 0),
              3,
            )}`
          : ""),
    );
  });
  return lines.join("\n");
}
