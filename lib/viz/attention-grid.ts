/**
 * The grid view of decoder cross-attention: small multiples, one row per decoder layer and one
 * column per head plus the head mean, each a heatmap over the patch grid for the selected token
 * (bertviz's model view, but over image patches). A slider picks the token; the static PNG shows the
 * same grid for one token overlaid on the image.
 */
import type { AttentionCapture } from "../model/types.ts";
import type { RgbImage } from "../data/types.ts";
import { withDisplay, PLOTLY_MIME, type Displayable, type PlotlyFigure } from "../display/index.ts";
import {
  checkCapture,
  crossAttentionFor,
  decoderPositionLabels,
  toRows,
  VizError,
  type AttentionView,
} from "./attention-math.ts";
import { checkRgbImage, overlayRaw, panelsPng, plotlyColorscale, truncate } from "./raster.ts";
import { VIZ_FIGURE_BUDGET } from "./attention.ts";

export interface AttentionGridOptions {
  capture: AttentionCapture;
  /** When given, the PNG overlays each cell on the image; otherwise it shows plain heatmaps. */
  image?: RgbImage;
  title?: string;
  tokens?: number[];
  maxTokens?: number;
  /** Token (decoder position) shown in the PNG (default the first offered). */
  pngToken?: number;
  /** Name each decoder position by the token it predicts (default) or the token it reads. */
  labels?: "predicted" | "input";
  /** Cells show at most this many patches a side; finer grids are pooled by summing blocks (default 8). */
  maxCellGrid?: number;
  /** Side of each PNG cell (default 96). */
  pngSize?: number;
  budgetBytes?: number;
}

export interface AttentionGridFigure {
  kind: "attention-grid";
  figure: PlotlyFigure;
  png: string;
  text: string;
  layers: number;
  /** Columns: heads then the head mean. */
  columns: string[];
  tokens: { index: number; label: string }[];
}

function axisName(prefix: "x" | "y", n: number): string {
  return n === 1 ? prefix : `${prefix}${n}`;
}

export async function attentionGridFigure(
  opts: AttentionGridOptions,
): Promise<AttentionGridFigure & Displayable> {
  const c = opts.capture;
  checkCapture(c);
  if (opts.image) checkRgbImage(opts.image, "attentionGridFigure image");
  if (c.numPatches === 0)
    throw new VizError(
      "attentionGridFigure: the capture has no image patches (a text-only example)",
    );
  const L = c.decoderCross.length,
    Hd = c.decoderCross[0]!.heads,
    T = c.decoderCross[0]!.queries;
  const { h, w } = c.grid;
  const names = decoderPositionLabels(c, opts.labels);
  const cols = Hd + 1;
  let tokens = (opts.tokens ?? [...Array(T).keys()]).slice(0, opts.maxTokens ?? 16);
  for (const t of tokens)
    if (!(Number.isInteger(t) && t >= 0 && t < T))
      throw new VizError(`attentionGridFigure: token index ${t} out of range 0..${T - 1}`);
  // The JSON is stored twice in a notebook, and so is the PNG (the rest of the budget).
  const budget = (opts.budgetBytes ?? VIZ_FIGURE_BUDGET) * 0.3;

  const cellView = (l: number, col: number): AttentionView => ({
    label: col < Hd ? `L${l + 1} H${col + 1}` : `L${l + 1} mean`,
    layer: l,
    head: col < Hd ? col : "mean",
  });
  const cellMap = (t: number, l: number, col: number) =>
    crossAttentionFor(c, t, cellView(l, col)).subarray(0, c.numPatches);
  // Small multiples need shape, not precision: blocks of patches are summed down to at most
  // maxCellGrid a side and each cell is stored as whole percent of its own maximum (at least 4× uniform, so flat cells stay dim).
  const f = Math.max(1, Math.ceil(Math.max(h, w) / (opts.maxCellGrid ?? 8)));
  const ph = Math.ceil(h / f),
    pw = Math.ceil(w / f);
  const cellZ = (t: number, l: number, col: number): number[][] => {
    const m = cellMap(t, l, col),
      pooled = new Float64Array(ph * pw);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        pooled[Math.floor(i / f) * pw + Math.floor(j / f)]! += m[i * w + j]!;
    const max = Math.max(...pooled, (4 * f * f) / (h * w)); // near-uniform cells stay dim
    return toRows(
      pooled.map((v) => Math.round((100 * v) / max)),
      ph,
      pw,
      0,
    );
  };
  const perToken = L * cols * (ph * pw * 3 + 12);
  while (tokens.length > 1 && (tokens.length + 1) * perToken > budget) tokens = tokens.slice(0, -1);
  const maps = tokens.map((t) =>
    Array.from({ length: L * cols }, (_, i) => cellZ(t, Math.floor(i / cols), i % cols)),
  );

  const gap = 0.02,
    cw = (1 - gap * (cols - 1)) / cols,
    rh = (1 - gap * 2 * (L - 1)) / L;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: { text: opts.title ?? "Cross-attention to patches: decoder layers × heads" },
    width: Math.min(1100, 130 * cols + 120),
    height: 130 * L + 200,
    margin: { l: 60, r: 20, t: 70, b: 90 },
    annotations: [] as unknown[],
  };
  for (let l = 0; l < L; l++)
    for (let col = 0; col < cols; col++) {
      const n = l * cols + col + 1;
      const x0 = col * (cw + gap),
        y1 = 1 - l * (rh + gap * 2);
      layout[`xaxis${n === 1 ? "" : n}`] = {
        domain: [x0, x0 + cw],
        showticklabels: false,
        showgrid: false,
        zeroline: false,
        anchor: axisName("y", n),
      };
      layout[`yaxis${n === 1 ? "" : n}`] = {
        domain: [y1 - rh, y1],
        showticklabels: false,
        showgrid: false,
        zeroline: false,
        autorange: "reversed",
        scaleanchor: axisName("x", n),
        anchor: axisName("x", n),
      };
      const m = maps[0]![n - 1]!;
      data.push({
        type: "heatmap",
        z: m,
        zmin: 0,
        zmax: 100,
        colorscale: plotlyColorscale(),
        showscale: false,
        xaxis: axisName("x", n),
        yaxis: axisName("y", n),
        name: cellView(l, col).label,
        hovertemplate: `${cellView(l, col).label} block (%{y}, %{x}): %{z}% of the cell's max<extra></extra>`,
      });
      if (l === 0)
        (layout.annotations as unknown[]).push({
          text: col < Hd ? `head ${col + 1}` : "mean",
          xref: "paper",
          yref: "paper",
          x: x0 + cw / 2,
          y: 1.02,
          showarrow: false,
          yanchor: "bottom",
        });
      if (col === 0)
        (layout.annotations as unknown[]).push({
          text: `layer ${l + 1}`,
          xref: "paper",
          yref: "paper",
          x: -0.01,
          y: y1 - rh / 2,
          showarrow: false,
          xanchor: "right",
          textangle: -90,
        });
    }
  layout.sliders = [
    {
      active: 0,
      currentvalue: { prefix: opts.labels === "input" ? "token " : "predicting " },
      pad: { t: 20 },
      steps: tokens.map((t, ti) => ({
        label: `${t}: ${truncate(names[t]!, 16)}`,
        method: "restyle",
        args: [{ z: maps[ti]! }, data.map((_, i) => i)],
      })),
    },
  ];
  const figure: PlotlyFigure = { data, layout, config: { responsive: true } };

  // PNG: the grid for one token.
  const pt = opts.pngToken ?? tokens[0]!;
  if (!(Number.isInteger(pt) && pt >= 0 && pt < T))
    throw new VizError(`attentionGridFigure: pngToken ${pt} out of range 0..${T - 1}`);
  // Smaller cells while the bundle would pass the budget.
  let size = opts.pngSize ?? 96,
    png = "";
  const blank: RgbImage = opts.image ?? {
    width: w,
    height: h,
    data: new Uint8Array(w * h * 3).fill(0),
  };
  const figBytes = JSON.stringify(figure).length,
    total = opts.budgetBytes ?? VIZ_FIGURE_BUDGET;
  for (;;) {
    const panels = await Promise.all(
      Array.from({ length: L * cols }, async (_, i) => ({
        image: await overlayRaw(
          blank,
          cellMap(pt, Math.floor(i / cols), i % cols),
          h,
          w,
          size,
          opts.image ? 0.75 : 1,
          4 / (h * w),
        ),
        label: cellView(Math.floor(i / cols), i % cols).label,
      })),
    );
    png = (
      await panelsPng(panels, {
        columns: cols,
        title: `${opts.labels === "input" ? "token" : "predicting"} "${names[pt]}": layers × heads`,
      })
    ).toString("base64");
    // The PNG is stored twice too: in the bundle and inside the kernel's HTML fragment.
    const room = (total - 2 * figBytes - 8000) / 2;
    if (png.length <= room || size <= 24) break;
    // PNG bytes grow about with pixel area: jump close to the fit at once.
    size = Math.max(
      24,
      Math.min(size - 8, Math.floor(size * Math.sqrt(Math.max(0.05, room / png.length)) * 0.95)),
    );
  }
  const text =
    `attention grid: ${L} decoder layers × ${Hd} heads (+ mean), patch grid ${h}×${w}` +
    (f > 1 ? ` pooled ${f}×${f} to ${ph}×${pw}` : "") +
    `, ${tokens.length}/${T} tokens; each cell in % of its own maximum`;
  const out: AttentionGridFigure = {
    kind: "attention-grid",
    figure,
    png,
    text,
    layers: L,
    columns: [...Array(Hd).keys()].map((i) => `head ${i + 1}`).concat("mean"),
    tokens: tokens.map((t) => ({ index: t, label: names[t]! })),
  };
  return withDisplay(out, (o) => ({
    [PLOTLY_MIME]: o.figure,
    "image/png": o.png,
    "text/plain": o.text,
  }));
}
