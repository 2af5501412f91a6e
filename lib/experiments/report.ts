/**
 * Tables and figures drawn from a results file's metrics (lib/eval/results.ts `ResultsFile.metrics`:
 * system → metric → per-seed values with their interval, or n/a with its reason), so what a
 * notebook shows is exactly what it wrote.
 */
import { withDisplay, PLOTLY_MIME, type Displayable, type PlotlyFigure } from "../display/index.ts";
import { isNotApplicable, type MetricEntry, type SeedMetric } from "../eval/results.ts";
import { metricInfo } from "../eval/protocol.ts";

type Metrics = Record<string, Record<string, MetricEntry>>;

/** A Markdown table: one row per system, a cell per metric ("mean ± 95% half-width", "n/a [k]" with footnotes). */
export function metricsMarkdown(
  metrics: Metrics,
  opts: { columns: string[]; systems?: string[]; digits?: number },
): string {
  const systems = opts.systems ?? Object.keys(metrics);
  const digits = opts.digits ?? 3;
  const notes: string[] = [];
  const note = (why: string) => {
    let i = notes.indexOf(why);
    if (i < 0) {
      notes.push(why);
      i = notes.length - 1;
    }
    return `n/a [${i + 1}]`;
  };
  const isBaseline = (s: string) => s.startsWith("baseline:");
  const cell = (e: MetricEntry | undefined, baseline: boolean) => {
    if (!e) return "—";
    if (isNotApplicable(e)) return note(e.na);
    if (e.halfWidth === null)
      return baseline ? e.mean.toFixed(digits) : `${e.mean.toFixed(digits)} (1 seed)`;
    return `${e.mean.toFixed(digits)} ± ${e.halfWidth.toFixed(digits)}`;
  };
  const head = ["system", "seeds", ...opts.columns];
  const seedsOf = (row: Record<string, MetricEntry>) => {
    const ns = Object.values(row)
      .filter((e): e is SeedMetric => !isNotApplicable(e))
      .map((e) => e.n);
    return ns.length ? String(Math.max(...ns)) : "—";
  };
  const rows = systems
    .filter((s) => metrics[s])
    .map(
      (s) =>
        `| ${s} | ${isBaseline(s) ? "—" : seedsOf(metrics[s]!)} | ${opts.columns.map((m) => cell(metrics[s]![m], isBaseline(s))).join(" | ")} |`,
    );
  const legend = opts.columns
    .map(
      (m) =>
        `${m}: ${metricInfo(m).label}${metricInfo(m).higherIsBetter ? "" : " (lower is better)"}`,
    )
    .join("; ");
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows,
    "",
    `mean ± half-width of the 95% Student-t interval over training seeds; a baseline has no seed (one value); — : not measured for that row.  `,
    `Columns: ${legend}.  `,
    ...notes.map((n, i) => `[${i + 1}] ${n}  `),
  ].join("\n");
}

/**
 * One metric across systems: each seed's value as a dot, the mean with its 95% t-interval as a
 * bar, blind baselines as dashed horizontal lines. Systems whose metric is n/a are listed in the
 * title's note instead of drawn.
 */
export function metricIntervalFigure(
  metrics: Metrics,
  metric: string,
  opts: { systems: string[]; baselines?: string[]; title?: string },
): { figure: PlotlyFigure; text: string } & Displayable {
  const info = metricInfo(metric);
  const drawn = opts.systems.filter(
    (s) => metrics[s]?.[metric] && !isNotApplicable(metrics[s]![metric]!),
  );
  const na = opts.systems.filter(
    (s) => metrics[s]?.[metric] && isNotApplicable(metrics[s]![metric]!),
  );
  const e = (s: string) => metrics[s]![metric] as SeedMetric;
  const round = (v: number) => Math.round(v * 1e5) / 1e5;
  const data: Record<string, unknown>[] = [
    {
      type: "scatter",
      mode: "markers",
      name: "seed",
      x: drawn.flatMap((s) => e(s).values.map(() => s)),
      y: drawn.flatMap((s) => e(s).values.map(round)),
      marker: { size: 6, opacity: 0.5, color: "#4c78a8" },
      hovertemplate: "%{x}: %{y}<extra>seed</extra>",
    },
    {
      type: "scatter",
      mode: "markers",
      name: "mean, 95% t-interval",
      x: drawn,
      y: drawn.map((s) => round(e(s).mean)),
      marker: { size: 11, symbol: "diamond", color: "#e45756" },
      error_y: { type: "data", array: drawn.map((s) => round(e(s).halfWidth ?? 0)), visible: true },
    },
  ];
  const colors = ["#54a24b", "#b279a2", "#f58518", "#9d755d", "#72b7b2"];
  (opts.baselines ?? [])
    .filter((b) => metrics[b]?.[metric] && !isNotApplicable(metrics[b]![metric]!))
    .forEach((b, i) => {
      const v = round(e(b).mean);
      data.push({
        type: "scatter",
        mode: "lines",
        name: b,
        x: [drawn[0], drawn.at(-1)],
        y: [v, v],
        line: { dash: "dash", color: colors[i % colors.length] },
      });
    });
  const title =
    (opts.title ?? `${info.label}${info.higherIsBetter ? "" : " — lower is better"}`) +
    (na.length ? `<br><sub>n/a: ${na.join(", ")}</sub>` : "");
  const figure: PlotlyFigure = {
    data,
    layout: {
      title: { text: title },
      width: 760,
      height: 440,
      margin: { b: 140 },
      xaxis: { tickangle: -30, categoryorder: "array", categoryarray: drawn },
      yaxis: { title: { text: info.unit || metric } },
      legend: { orientation: "h", y: -0.45 },
    },
  };
  const text = [
    `${info.label}`,
    ...drawn.map(
      (s) =>
        `  ${s}: ${e(s).mean.toFixed(4)}${e(s).halfWidth !== null ? ` ± ${e(s).halfWidth!.toFixed(4)}` : ""}`,
    ),
    ...na.map((s) => `  ${s}: n/a`),
  ].join("\n");
  return withDisplay({ figure, text }, (o) => ({ [PLOTLY_MIME]: o.figure, "text/plain": o.text }));
}
