/**
 * The live view of a grid on the queue, for notebooks (through the run context's display, updated
 * in place): one row per run that is not from the cache — queued, running on which worker and at
 * which step, done with its first metrics, refused or failed with the error.
 */
import { escapeHtml } from "../../display/html.ts";
import type { MimeBundle } from "../../display/index.ts";

export interface RunStatusRow {
  label: string;
  seed: number;
  /** queued | running | done | failed | refused | waiting | delayed … */
  status: string;
  worker?: string;
  detail?: string;
}

const COLOURS: Record<string, string> = {
  done: "#2e7d32",
  failed: "#c62828",
  refused: "#ef6c00",
  running: "#1565c0",
};

export function queueStatusBundle(
  grid: string,
  url: string,
  rows: RunStatusRow[],
  counts: { done: number; total: number; cached: number; failed: number; final: boolean },
): MimeBundle {
  const running = rows.filter((r) => r.status === "running").length;
  const head = `${grid}: ${counts.done}/${counts.total} done (${counts.cached} from the cache) · ${running} running · ${counts.failed} failed${counts.final ? "" : ` · queue ${url}`}`;
  const text = [
    head,
    ...rows.map(
      (r) =>
        `  ${r.status.padEnd(8)} ${r.label} seed ${r.seed}${r.worker ? ` on ${r.worker}` : ""}${r.detail ? `: ${r.detail}` : ""}`,
    ),
  ].join("\n");
  const td = (s: string, style = "") =>
    `<td style="text-align:left;${style}">${escapeHtml(s)}</td>`;
  const body = rows
    .map(
      (r) =>
        `<tr>${td(r.label)}${td(String(r.seed))}${td(r.status, `color:${COLOURS[r.status] ?? "inherit"};font-weight:600`)}${td(r.worker ?? "")}${td(r.detail ?? "")}</tr>`,
    )
    .join("");
  const html = `<div class="simvlm-queue"><div>${escapeHtml(head)}</div><table><thead><tr><th>run</th><th>seed</th><th>status</th><th>worker</th><th>detail</th></tr></thead><tbody>${body}</tbody></table></div>`;
  return { "text/html": html, "text/plain": text };
}
