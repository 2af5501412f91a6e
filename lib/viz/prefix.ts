/**
 * Prefix-length views: the PrefixLM attention mask for a real example at a given T_p, loss and
 * token accuracy against T_p, and ablation curves (a metric against the prefix strategy, one point
 * per seed, with the spread).
 */
import sharp from "sharp";
import { withDisplay, PLOTLY_MIME, type Displayable, type PlotlyFigure } from "../display/index.ts";
import { VizError, roundTo } from "./attention-math.ts";
import { escapeHtml } from "../display/html.ts";
import { truncate } from "./raster.ts";

/** Cell kinds of the mask diagram: what a query may attend to. */
export const MASK_KINDS = [
  "blocked",
  "image (bidirectional)",
  "prefix text (bidirectional)",
  "suffix (causal)",
] as const;
const MASK_COLOURS = ["#f2f2f2", "#4c78a8", "#f58518", "#54a24b"];

export interface PrefixMaskOptions {
  /** The example's text tokens (strings); the first tp are the prefix, the rest the suffix. */
  tokens: string[];
  numPatches: number;
  tp: number;
  title?: string;
  /** Image patches are drawn as at most this many columns (their mask is identical); default 16. */
  maxPatchColumns?: number;
}

export interface PrefixMaskFigure {
  kind: "prefix-mask";
  figure: PlotlyFigure;
  png: string;
  text: string;
  /** Row-major mask over positions [image ; prefix ; suffix] with MASK_KINDS indices (0 = blocked). */
  mask: number[][];
  labels: string[];
}

/** The PrefixLM mask: image and prefix see each other both ways; suffix tokens see those and earlier suffix tokens. */
export function prefixMask(numImage: number, tp: number, numSuffix: number): number[][] {
  const n = numImage + tp + numSuffix,
    pre = numImage + tp;
  const kindOfKey = (k: number) => (k < numImage ? 1 : k < pre ? 2 : 3);
  return Array.from({ length: n }, (_, q) =>
    Array.from({ length: n }, (_, k) => (k < pre || (q >= pre && k <= q) ? kindOfKey(k) : 0)),
  );
}

export async function prefixMaskFigure(
  opts: PrefixMaskOptions,
): Promise<PrefixMaskFigure & Displayable> {
  const { tokens, numPatches, tp } = opts;
  if (!Array.isArray(tokens) || tokens.length === 0)
    throw new VizError("tokens is empty: the prefix mask needs the example's text tokens", {
      option: "tokens",
    });
  if (!(Number.isInteger(numPatches) && numPatches >= 0))
    throw new VizError(
      `prefixMaskFigure: numPatches must be a whole number ≥ 0, got ${numPatches}`,
    );
  if (!(Number.isInteger(tp) && tp >= 0 && tp <= tokens.length))
    throw new VizError(
      `tp must be a whole number in 0..${tokens.length} (the text has ${tokens.length} tokens: ${tokens.join(" ")}), got ${tp}`,
      { option: "tp" },
    );
  const imgCols = Math.min(numPatches, opts.maxPatchColumns ?? 16);
  const per = imgCols ? numPatches / imgCols : 0;
  const imgLabels = Array.from({ length: imgCols }, (_, i) => {
    const a = Math.floor(i * per) + 1,
      b = Math.floor((i + 1) * per);
    return a === b ? `img ${a}` : `img ${a}–${b}`;
  });
  const labels = [
    ...imgLabels,
    ...tokens.map((t, i) => `${i < tp ? "P" : "S"}${i}: ${truncate(t, 12)}`),
  ];
  const mask = prefixMask(imgCols, tp, tokens.length - tp);
  const n = labels.length;
  const colorscale: [number, string][] = [];
  MASK_COLOURS.forEach((c, i) => {
    colorscale.push([i / 4, c], [(i + 1) / 4, c]);
  });
  const boundary = (x: number) => ({
    type: "line",
    xref: "x",
    yref: "y",
    x0: x - 0.5,
    x1: x - 0.5,
    y0: -0.5,
    y1: n - 0.5,
    line: { color: "#222", width: 1.5 },
  });
  const hboundary = (y: number) => ({
    type: "line",
    xref: "x",
    yref: "y",
    y0: y - 0.5,
    y1: y - 0.5,
    x0: -0.5,
    x1: n - 0.5,
    line: { color: "#222", width: 1.5 },
  });
  const cuts = [imgCols, imgCols + tp].filter((v, i, a) => v > 0 && v < n && a.indexOf(v) === i);
  const idx = [...Array(n).keys()];
  // Sized from its content: cells big enough for legible ticks (12–24 px, the mask within ~640 px),
  // margins that hold the rotated labels and the colour bar, and a two-line title that fits inside.
  const cell = Math.max(12, Math.min(24, Math.floor(640 / n)));
  const margin = { l: 130, r: 130, t: 80, b: 130 };
  const plainTitle =
    opts.title ??
    `PrefixLM attention mask, T_p = ${tp} (${numPatches} image patches, ${tp} prefix, ${tokens.length - tp} suffix tokens)`;
  const titleText =
    opts.title ??
    `PrefixLM attention mask, T_p = ${tp}<br><sup>${numPatches} image patches, ${tp} prefix, ${tokens.length - tp} suffix tokens</sup>`;
  const figure: PlotlyFigure = {
    data: [
      {
        type: "heatmap",
        z: mask,
        x: idx,
        y: idx,
        zmin: -0.5,
        zmax: 3.5,
        colorscale,
        xgap: 1,
        ygap: 1,
        colorbar: {
          tickvals: [0, 1, 2, 3],
          ticktext: [...MASK_KINDS],
          title: { text: "may attend" },
        },
        customdata: idx.map((q) => idx.map((k) => `${labels[q]} → ${labels[k]}`)),
        hovertemplate: "%{customdata}<extra></extra>",
      },
    ],
    layout: {
      title: { text: titleText, x: 0, xref: "paper", xanchor: "left" },
      width: Math.max(560, margin.l + n * cell + margin.r),
      height: margin.t + n * cell + margin.b,
      margin,
      xaxis: {
        title: { text: "key (attended to)" },
        tickvals: idx,
        ticktext: labels,
        tickangle: -60,
        side: "bottom",
        showgrid: false,
        zeroline: false,
        constrain: "domain",
      },
      yaxis: {
        title: { text: "query" },
        tickvals: idx,
        ticktext: labels,
        autorange: "reversed",
        showgrid: false,
        zeroline: false,
        scaleanchor: "x",
      },
      shapes: [...cuts.map(boundary), ...cuts.map(hboundary)],
    },
  };
  const png = (await maskPng(mask, labels, { text: plainTitle }, cuts)).toString("base64");
  const text = [
    `prefix mask T_p=${tp}: ${numPatches} image patches + prefix [${tokens.slice(0, tp).join(" ")}] (bidirectional) | suffix [${tokens.slice(tp).join(" ")}] (causal)`,
  ].join("\n");
  const out: PrefixMaskFigure = { kind: "prefix-mask", figure, png, text, mask, labels };
  return withDisplay(out, (o) => ({
    [PLOTLY_MIME]: o.figure,
    "image/png": o.png,
    "text/plain": o.text,
  }));
}

/** The mask as an SVG picture rasterised by sharp: coloured cells, labels, boundary lines and a legend. */
async function maskPng(
  mask: number[][],
  labels: string[],
  title: { text: string },
  cuts: number[],
): Promise<Buffer> {
  const n = mask.length,
    cell = Math.max(8, Math.min(22, Math.floor(560 / n))),
    left = 120,
    top = 40,
    bottom = 110;
  const width = left + n * cell + 70,
    height = top + n * cell + bottom;
  const parts: string[] = [
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="8" y="20" font-family="DejaVu Sans, sans-serif" font-size="13">${escapeHtml(truncate(title.text, Math.floor(width / 7.5)))}</text>`,
  ];
  for (let q = 0; q < n; q++)
    for (let k = 0; k < n; k++)
      parts.push(
        `<rect x="${left + k * cell}" y="${top + q * cell}" width="${cell - 1}" height="${cell - 1}" fill="${MASK_COLOURS[mask[q]![k]!]}"/>`,
      );
  for (const c of cuts) {
    const at = (v: number) => v * cell - 0.5;
    parts.push(
      `<line x1="${left + at(c)}" y1="${top}" x2="${left + at(c)}" y2="${top + n * cell}" stroke="#222" stroke-width="1.5"/>`,
      `<line x1="${left}" y1="${top + at(c)}" x2="${left + n * cell}" y2="${top + at(c)}" stroke="#222" stroke-width="1.5"/>`,
    );
  }
  const fs = Math.min(11, cell - 1);
  labels.forEach((l, i) => {
    parts.push(
      `<text x="${left - 4}" y="${top + i * cell + cell * 0.75}" text-anchor="end" font-family="DejaVu Sans, sans-serif" font-size="${fs}">${escapeHtml(l)}</text>`,
    );
    const x = left + i * cell + cell * 0.7,
      y = top + n * cell + 4;
    parts.push(
      `<text x="${x}" y="${y}" transform="rotate(60 ${x} ${y})" font-family="DejaVu Sans, sans-serif" font-size="${fs}">${escapeHtml(l)}</text>`,
    );
  });
  MASK_KINDS.forEach((k, i) => {
    const x = 8 + i * Math.floor((width - 16) / 4),
      y = height - 14;
    parts.push(
      `<rect x="${x}" y="${y - 10}" width="10" height="10" fill="${MASK_COLOURS[i]}" stroke="#888"/><text x="${x + 14}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="10">${escapeHtml(k)}</text>`,
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join("")}</svg>`;
  return sharp(Buffer.from(svg)).png({ compressionLevel: 9, palette: true }).toBuffer();
}

export interface PrefixLossRow {
  tp: number;
  loss: number;
  accuracy: number;
  series?: string;
}

/** Loss and token accuracy against T_p (one line per `series`, e.g. per checkpoint). */
/** plotly's default colourway followed by five more, so 15 series stay distinct. */
const SERIES_COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#637939",
  "#8c6d31",
  "#843c39",
  "#7b4173",
];

export function lossByPrefixFigure(
  rows: PrefixLossRow[],
  opts: { title?: string } = {},
): {
  kind: "loss-by-prefix";
  figure: PlotlyFigure;
  text: string;
  rows: PrefixLossRow[];
} & Displayable {
  if (!Array.isArray(rows) || rows.length === 0)
    throw new VizError("lossByPrefixFigure: rows is empty");
  rows.forEach((r, i) => {
    for (const f of ["tp", "loss", "accuracy"] as const)
      if (typeof r[f] !== "number" || !Number.isFinite(r[f]))
        throw new VizError(
          `lossByPrefixFigure: rows[${i}].${f} must be a finite number, got ${String(r[f])}`,
        );
  });
  const groups = new Map<string, PrefixLossRow[]>();
  for (const r of rows) {
    const k = r.series ?? "";
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const data: Record<string, unknown>[] = [];
  // One legend entry and one colour per series for both panels (the axes say which is loss and
  // which accuracy): two entries per series overflowed the legend once a grid had 8 arms.
  [...groups].forEach(([name, g], i) => {
    g.sort((a, b) => a.tp - b.tp);
    const x = g.map((r) => r.tp);
    const common = {
      type: "scatter",
      mode: "lines+markers",
      name: name || "suffix",
      legendgroup: name || "suffix",
      line: { color: SERIES_COLORS[i % SERIES_COLORS.length] },
      marker: { color: SERIES_COLORS[i % SERIES_COLORS.length] },
      x,
    };
    data.push({ ...common, y: g.map((r) => roundTo(r.loss, 4)), xaxis: "x", yaxis: "y" });
    data.push({
      ...common,
      showlegend: false,
      y: g.map((r) => roundTo(r.accuracy, 4)),
      xaxis: "x2",
      yaxis: "y2",
    });
  });
  const figure: PlotlyFigure = {
    data,
    layout: {
      title: { text: opts.title ?? "Suffix loss and token accuracy against prefix length T_p" },
      width: 820,
      // Room for one legend line per series (plotly cuts a legend taller than the plot).
      height: Math.max(380, 200 + 30 * groups.size),
      xaxis: { domain: [0, 0.45], title: { text: "T_p (prefix tokens)" }, dtick: 1 },
      yaxis: { title: { text: "loss (nats/token)" } },
      xaxis2: { domain: [0.55, 1], title: { text: "T_p (prefix tokens)" }, dtick: 1, anchor: "y2" },
      yaxis2: { title: { text: "token accuracy" }, anchor: "x2", range: [0, 1] },
    },
  };
  const text = [
    "tp  loss    accuracy" + (groups.size > 1 ? "  series" : ""),
    ...[...rows]
      .sort((a, b) => a.tp - b.tp)
      .map(
        (r) =>
          `${String(r.tp).padEnd(3)} ${r.loss.toFixed(4).padEnd(7)} ${r.accuracy.toFixed(4)}${r.series ? `    ${r.series}` : ""}`,
      ),
  ].join("\n");
  return withDisplay({ kind: "loss-by-prefix" as const, figure, text, rows }, (o) => ({
    [PLOTLY_MIME]: o.figure,
    "text/plain": o.text,
  }));
}

export interface AblationRow {
  strategy: string;
  seed: number;
  metric: number;
}

/** Summary of one strategy's seeds. */
export interface AblationSummary {
  strategy: string;
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

export function summariseAblation(rows: AblationRow[]): AblationSummary[] {
  const order: string[] = [];
  const by = new Map<string, number[]>();
  for (const r of rows) {
    if (!by.has(r.strategy)) {
      by.set(r.strategy, []);
      order.push(r.strategy);
    }
    by.get(r.strategy)!.push(r.metric);
  }
  return order.map((s) => {
    const v = by.get(s)!,
      n = v.length,
      mean = v.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    return { strategy: s, n, mean, std, min: Math.min(...v), max: Math.max(...v) };
  });
}

/** A metric against the prefix strategy: every seed as a point, the mean with mean ± std (or min–max) bars. */
export function ablationCurveFigure(
  rows: AblationRow[],
  metricName: string,
  opts: { spread?: "std" | "minmax"; title?: string } = {},
): {
  kind: "ablation-curve";
  figure: PlotlyFigure;
  text: string;
  summary: AblationSummary[];
} & Displayable {
  if (!Array.isArray(rows) || rows.length === 0)
    throw new VizError("ablationCurveFigure: rows is empty");
  rows.forEach((r, i) => {
    if (typeof r.strategy !== "string" || !r.strategy)
      throw new VizError(`ablationCurveFigure: rows[${i}].strategy must be a non-empty string`);
    if (typeof r.metric !== "number" || !Number.isFinite(r.metric))
      throw new VizError(
        `ablationCurveFigure: rows[${i}].metric must be a finite number, got ${String(r.metric)}`,
      );
  });
  const spread = opts.spread ?? "std";
  const summary = summariseAblation(rows);
  const pos = new Map(summary.map((s, i) => [s.strategy, i]));
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  // Seeds side by side around the strategy's position so equal values do not hide each other.
  const jitter = (seed: number) =>
    seeds.length > 1 ? (seeds.indexOf(seed) / (seeds.length - 1) - 0.5) * 0.3 : 0;
  const figure: PlotlyFigure = {
    data: [
      {
        type: "scatter",
        mode: "markers",
        name: "seed",
        x: rows.map((r) => roundTo(pos.get(r.strategy)! + jitter(r.seed), 3)),
        y: rows.map((r) => roundTo(r.metric, 5)),
        text: rows.map((r) => `${r.strategy}, seed ${r.seed}`),
        hovertemplate: "%{text}: %{y}<extra></extra>",
        marker: { size: 7, opacity: 0.6, color: "#4c78a8" },
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: spread === "std" ? "mean ± std" : "mean (min–max)",
        x: summary.map((_, i) => i),
        y: summary.map((s) => roundTo(s.mean, 5)),
        marker: { size: 11, symbol: "diamond", color: "#e45756" },
        line: { color: "#e45756", width: 1.5 },
        error_y:
          spread === "std"
            ? { type: "data", array: summary.map((s) => roundTo(s.std, 5)), visible: true }
            : {
                type: "data",
                symmetric: false,
                array: summary.map((s) => roundTo(s.max - s.mean, 5)),
                arrayminus: summary.map((s) => roundTo(s.mean - s.min, 5)),
                visible: true,
              },
      },
    ],
    layout: {
      title: {
        text:
          opts.title ??
          `${metricName} by prefix strategy (${seeds.length} seed${seeds.length === 1 ? "" : "s"})`,
      },
      width: 680,
      height: 420,
      xaxis: {
        title: { text: "prefix strategy" },
        tickvals: summary.map((_, i) => i),
        ticktext: summary.map((s) => s.strategy),
      },
      yaxis: { title: { text: metricName } },
    },
  };
  const text = [
    `${metricName} by prefix strategy`,
    ...summary.map(
      (s) =>
        `  ${s.strategy.padEnd(16)} n=${s.n} mean ${s.mean.toFixed(4)} ± ${s.std.toFixed(4)} (min ${s.min.toFixed(4)}, max ${s.max.toFixed(4)})`,
    ),
  ].join("\n");
  return withDisplay({ kind: "ablation-curve" as const, figure, text, summary }, (o) => ({
    [PLOTLY_MIME]: o.figure,
    "text/plain": o.text,
  }));
}
