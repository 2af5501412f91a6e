/**
 * The runs table: one row per arm (what differs from the base), each metric as the mean over the
 * arm's training seeds with its 95% Student-t interval (not ± sd), "n/a" where the metric has no
 * meaning for the arm (its reason in a footnote), the grid's blind baselines as rows of their own,
 * and the mean wall time per run. It renders itself in a notebook (HTML) and gives the numbers as
 * results-file entries (lib/eval/results.ts) and per-seed / per-item scores for comparisons
 * (compare.ts).
 */
import { type MimeBundle, DISPLAY } from "../display/index.ts";
import { escapeHtml } from "../display/html.ts";
import { seedMetric, type MetricEntry, type SeedMetric } from "../eval/results.ts";
import { metricInfo, PROTOCOL_METRICS } from "../eval/protocol.ts";
import type { RunResult } from "./cache.ts";
import { flattenParams, type Params } from "./grid.ts";
import type { GridBaseline } from "./registry.ts";
import type { FailedRun } from "./queue/types.ts";

/** One metric of one arm over its seeds: the interval plus sd (as `std`), min and max. */
export interface MetricCell extends SeedMetric {
  std: number;
  min: number;
  max: number;
}

export interface SummaryRow {
  label: string;
  diff: Params;
  /** Runs (seeds) of the arm. */
  seeds: number;
  /** metric → mean, 95% t-interval, sd, min, max over the seeds that have a number. */
  metrics: Record<string, MetricCell>;
  /** metric → why it has no meaning for this arm (when no seed has a number). */
  na: Record<string, string>;
  /** Mean wall time per run, seconds (cached runs keep the time they took), and the sum. */
  seconds: number;
  secondsTotal: number;
}

export interface TableFormat {
  /** Columns shown (default: the table's selection, else every metric). */
  metrics?: string[];
  digits?: number;
  /** Show the baseline rows (default true). */
  baselines?: boolean;
}

const ORDER = Object.keys(PROTOCOL_METRICS);

export class RunsTable {
  /** `failed`: runs that ended without a result (a grid on the queue finishes the rest and lists these). */
  constructor(
    readonly rows: RunResult[],
    readonly base: Params = {},
    readonly baselines: GridBaseline[] = [],
    readonly columns?: string[],
    readonly failed: FailedRun[] = [],
  ) {}

  get length(): number {
    return this.rows.length;
  }

  /** Every metric a run or baseline reports (numbers or n/a), protocol metrics first in their order. */
  metricNames(): string[] {
    const names = new Set(
      this.rows.flatMap((r) => [...Object.keys(r.metrics), ...Object.keys(r.na ?? {})]),
    );
    return [...ORDER.filter((m) => names.has(m)), ...[...names].filter((m) => !ORDER.includes(m))];
  }

  /** The same table showing only these columns (all data kept). */
  select(metrics: string[]): RunsTable {
    return new RunsTable(this.rows, this.base, this.baselines, metrics, this.failed);
  }

  filter(pred: (r: RunResult) => boolean): RunsTable {
    return new RunsTable(
      this.rows.filter(pred),
      this.base,
      this.baselines,
      this.columns,
      this.failed,
    );
  }

  /** Rows whose label contains `text`, or whose diff matches every given dotted-path value. */
  where(match: string | Params): RunsTable {
    if (typeof match === "string") return this.filter((r) => r.label.includes(match));
    return this.filter((r) =>
      Object.entries(match).every(
        ([k, v]) => JSON.stringify(flattenParams(r.params)[k]) === JSON.stringify(v),
      ),
    );
  }

  /** Arm labels in run order. */
  labels(): string[] {
    return [...new Set(this.rows.map((r) => r.label))];
  }

  /** The runs of one arm, by seed. */
  runsOf(label: string): RunResult[] {
    return this.rows.filter((r) => r.label === label).sort((a, b) => a.seed - b.seed);
  }

  baseline(label: string): GridBaseline | undefined {
    return this.baselines.find((b) => b.label === label);
  }

  /** Aggregate over seeds: one row per arm (runs only; baselines are `baselines`). */
  summary(): SummaryRow[] {
    return this.labels().map((label) => {
      const rs = this.runsOf(label);
      const metrics: SummaryRow["metrics"] = {},
        na: SummaryRow["na"] = {};
      for (const m of this.metricNames()) {
        const values = rs
          .map((r) => r.metrics[m])
          .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
        if (values.length) metrics[m] = cell(values, m);
        else {
          const why = rs.map((r) => r.na?.[m]).find((x) => x);
          if (why) na[m] = why;
        }
      }
      const total = rs.reduce((a, r) => a + r.seconds, 0);
      return {
        label,
        diff: rs[0]!.diff,
        seeds: rs.length,
        metrics,
        na,
        seconds: total / rs.length,
        secondsTotal: total,
      };
    });
  }

  /** Rows as {strategy, seed, metric} points for ablation curve figures. */
  points(metric: string): { label: string; seed: number; value: number }[] {
    return this.rows
      .filter((r) => typeof r.metrics[metric] === "number")
      .map((r) => ({ label: r.label, seed: r.seed, value: r.metrics[metric]! }));
  }

  /**
   * The table as results-file entries: system → metric → per-seed values with their interval, or
   * n/a with its reason. Baselines are systems too (one value each, no interval: they have no seed).
   */
  toResultsMetrics(): Record<string, Record<string, MetricEntry>> {
    const out: Record<string, Record<string, MetricEntry>> = {};
    for (const s of this.summary()) {
      out[s.label] = {};
      for (const [m, c] of Object.entries(s.metrics)) {
        const { std: _s, min: _a, max: _b, ...entry } = c;
        out[s.label]![m] = entry;
      }
      for (const [m, why] of Object.entries(s.na)) out[s.label]![m] = { na: why };
    }
    for (const b of this.baselines) {
      out[b.label] = {};
      for (const [m, v] of Object.entries(b.metrics))
        out[b.label]![m] = seedMetric([v], metricOpts(m));
      for (const [m, why] of Object.entries(b.na ?? {})) out[b.label]![m] = { na: why };
    }
    return out;
  }

  toMarkdown(opts: TableFormat | number = {}): string {
    const t = this.layout(typeof opts === "number" ? { digits: opts } : opts);
    const lines = [
      `| ${t.head.join(" | ")} |`,
      `|${t.head.map(() => "---").join("|")}|`,
      ...t.body.map((r) => `| ${r.join(" | ")} |`),
    ];
    const after = [
      "mean ± half-width of the 95% Student-t interval over training seeds (one seed: no interval); baselines have no seed; — : not measured for that row.",
      ...(t.legend.length ? [`Columns: ${t.legend.join("; ")}.`] : []),
      ...t.notes.map((n, i) => `[${i + 1}] ${n}`),
    ];
    const failed = this.failed.length
      ? [
          "",
          `${this.failed.length} failed (not in the table):`,
          ...this.failed.map((f) => `- ${f.label} seed ${f.seed}: ${f.error}`),
        ]
      : [];
    return `${lines.join("\n")}\n\n${after.join("  \n")}${failed.join("\n")}`;
  }

  toHtml(opts: TableFormat | number = {}): string {
    const t = this.layout(typeof opts === "number" ? { digits: opts } : opts);
    const head = t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
    const body = t.body
      .map(
        (r, i) =>
          `<tr${i >= t.runs ? ' style="font-style:italic"' : ""}>${r.map((c, j) => `<td${j === 0 ? ' style="text-align:left"' : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`,
      )
      .join("");
    const lines = [
      ...(t.legend.length ? [`Columns: ${t.legend.join("; ")}.`] : []),
      ...t.notes.map((n, i) => `[${i + 1}] ${n}`),
    ];
    const notes = lines.length
      ? `<p style="font-size:smaller">${lines.map(escapeHtml).join("<br>")}</p>`
      : "";
    const caption = `<caption style="caption-side:bottom;text-align:left;font-size:smaller">mean ± half-width of the 95% Student-t interval over training seeds; one seed: no interval. Baselines (italic) have no seed. — : not measured for that row.</caption>`;
    const failed = this.failed.length
      ? `<p style="color:#c62828">${this.failed.length} failed (not in the table):</p><ul>${this.failed.map((f) => `<li>${escapeHtml(f.label)} seed ${f.seed}: ${escapeHtml(f.error)}</li>`).join("")}</ul>`
      : "";
    return `<table class="simvlm-runs">${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${notes}${failed}`;
  }

  [DISPLAY](): MimeBundle {
    return {
      "text/html": this.toHtml(),
      "text/markdown": this.toMarkdown(),
      "text/plain": this.toMarkdown(),
    };
  }

  /** Head, body cells and n/a footnotes of the rendered table. */
  private layout(opts: TableFormat): {
    head: string[];
    body: string[][];
    notes: string[];
    runs: number;
    legend: string[];
  } {
    const ms = opts.metrics ?? this.columns ?? this.metricNames();
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
    const fmt = (c: MetricCell) =>
      c.halfWidth === null
        ? `${c.mean.toFixed(digits)} (1 seed)`
        : `${c.mean.toFixed(digits)} ± ${c.halfWidth.toFixed(digits)}`;
    const head = ["run", "seeds", ...ms, "time/run (s)"];
    const body: string[][] = [];
    for (const s of this.summary()) {
      body.push([
        s.label,
        String(s.seeds),
        ...ms.map((m) => {
          const c = s.metrics[m];
          if (c) return c.n < s.seeds ? `${fmt(c)} (${c.n} of ${s.seeds} seeds)` : fmt(c);
          return s.na[m] ? note(s.na[m]!) : "—";
        }),
        s.seconds.toFixed(1),
      ]);
    }
    const runs = body.length;
    if (opts.baselines !== false) {
      for (const b of this.baselines) {
        if (!ms.some((m) => m in b.metrics || m in (b.na ?? {}))) continue;
        body.push([
          b.label,
          "—",
          ...ms.map((m) =>
            m in b.metrics ? b.metrics[m]!.toFixed(digits) : b.na?.[m] ? note(b.na[m]!) : "—",
          ),
          "—",
        ]);
      }
    }
    const legend = ms
      .filter((m) => metricInfo(m).label !== m)
      .map(
        (m) =>
          `${m}: ${metricInfo(m).label}${metricInfo(m).higherIsBetter ? "" : ", lower is better"}`,
      );
    return { head, body, notes, runs, legend };
  }
}

function metricOpts(m: string): { higherIsBetter: boolean; unit?: string } {
  const i = metricInfo(m);
  return { higherIsBetter: i.higherIsBetter, ...(i.unit ? { unit: i.unit } : {}) };
}

function cell(values: number[], m: string): MetricCell {
  const s = seedMetric(values, metricOpts(m));
  return { ...s, std: s.sd ?? 0, min: Math.min(...values), max: Math.max(...values) };
}
