/**
 * The runs table: one row per run (what differs from the base, seed, metrics, time). It renders
 * itself in a notebook (HTML table) and can be filtered and summarised across seeds.
 */
import { type MimeBundle, DISPLAY } from "../display/index.ts";
import { escapeHtml } from "../display/html.ts";
import type { RunResult } from "./cache.ts";
import { flattenParams, type Params } from "./grid.ts";

export interface SummaryRow {
  label: string;
  diff: Params;
  seeds: number;
  /** metric → { mean, std, min, max, values } over seeds. */
  metrics: Record<string, { mean: number; std: number; min: number; max: number; values: number[] }>;
  seconds: number;
}

export class RunsTable {
  constructor(readonly rows: RunResult[], readonly base: Params = {}) {}

  get length(): number { return this.rows.length; }
  metricNames(): string[] { return [...new Set(this.rows.flatMap((r) => Object.keys(r.metrics)))]; }

  filter(pred: (r: RunResult) => boolean): RunsTable { return new RunsTable(this.rows.filter(pred), this.base); }

  /** Rows whose label contains `text`, or whose diff matches every given dotted-path value. */
  where(match: string | Params): RunsTable {
    if (typeof match === "string") return this.filter((r) => r.label.includes(match));
    return this.filter((r) => Object.entries(match).every(([k, v]) => JSON.stringify(flattenParams(r.params)[k]) === JSON.stringify(v)));
  }

  /** Aggregate over seeds: one row per label with mean/std/min/max of each metric. */
  summary(): SummaryRow[] {
    const groups = new Map<string, RunResult[]>();
    for (const r of this.rows) groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
    return [...groups.entries()].map(([label, rs]) => {
      const metrics: SummaryRow["metrics"] = {};
      for (const m of this.metricNames()) {
        const values = rs.map((r) => r.metrics[m]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
        if (!values.length) continue;
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const std = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
        metrics[m] = { mean, std, min: Math.min(...values), max: Math.max(...values), values };
      }
      return { label, diff: rs[0]!.diff, seeds: rs.length, metrics, seconds: rs.reduce((a, r) => a + r.seconds, 0) };
    });
  }

  /** Rows as {strategy, seed, metric} points for ablation curve figures. */
  points(metric: string): { label: string; seed: number; value: number }[] {
    return this.rows.filter((r) => typeof r.metrics[metric] === "number").map((r) => ({ label: r.label, seed: r.seed, value: r.metrics[metric]! }));
  }

  toMarkdown(digits = 4): string {
    const ms = this.metricNames();
    const head = ["run", "seeds", ...ms.map((m) => `${m} (mean ± sd)`), "time (s)"];
    const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
    for (const s of this.summary()) {
      lines.push(`| ${s.label} | ${s.seeds} | ${ms.map((m) => s.metrics[m] ? `${s.metrics[m]!.mean.toFixed(digits)} ± ${s.metrics[m]!.std.toFixed(digits)}` : "").join(" | ")} | ${s.seconds.toFixed(1)} |`);
    }
    return lines.join("\n");
  }

  toHtml(digits = 4): string {
    const ms = this.metricNames();
    const head = ["run", "seeds", ...ms.map((m) => `${escapeHtml(m)}<br><small>mean ± sd</small>`), "time (s)"];
    const rows = this.summary().map((s) => `<tr><td style="text-align:left">${escapeHtml(s.label)}</td><td>${s.seeds}</td>${ms.map((m) => `<td>${s.metrics[m] ? `${s.metrics[m]!.mean.toFixed(digits)} ± ${s.metrics[m]!.std.toFixed(digits)}` : ""}</td>`).join("")}<td>${s.seconds.toFixed(1)}</td></tr>`);
    return `<table class="simvlm-runs"><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
  }

  [DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/markdown": this.toMarkdown(), "text/plain": this.toMarkdown() };
  }
}

