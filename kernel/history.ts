/**
 * This session's cell history for `history_request`: tail, range and search (glob pattern with
 * `*` and `?`, optional `unique`), entries as [session, line, input] or [session, line, [input, output]].
 */
import type { HistoryEntry, HistoryRequest } from "./jupyter-messages.ts";

interface Entry {
  line: number;
  input: string;
  output: string | null;
}

export class History {
  private readonly entries: Entry[] = [];
  /** Session number as IPython reports it; one session per kernel process. */
  readonly session = 1;

  add(line: number, input: string, output?: string): void {
    this.entries.push({ line, input, output: output ?? null });
  }

  /** Answer a history_request's content (read defensively: it comes from the network). */
  query(c: HistoryRequest): HistoryEntry[] {
    const output = !!c.output;
    const fmt = (e: Entry): HistoryEntry => [
      this.session,
      e.line,
      output ? [e.input, e.output] : e.input,
    ];
    const n = Number.isInteger(c.n) && (c.n as number) > 0 ? (c.n as number) : undefined;
    switch (c.hist_access_type) {
      case "tail":
        return (n === undefined ? this.entries : this.entries.slice(-n)).map(fmt);
      case "range": {
        if (c.session !== undefined && c.session !== this.session && c.session !== 0) return [];
        const start = Number(c.start ?? 0),
          stop = c.stop === undefined || c.stop === null ? Infinity : Number(c.stop);
        return this.entries.filter((e) => e.line >= start && e.line < stop).map(fmt);
      }
      case "search": {
        const re = globToRegExp(String(c.pattern ?? "*"));
        let hits = this.entries.filter((e) => re.test(e.input));
        if (c.unique) {
          const seen = new Set<string>();
          hits = hits
            .reverse()
            .filter((e) => !seen.has(e.input) && !!seen.add(e.input))
            .reverse();
        }
        return (n === undefined ? hits : hits.slice(-n)).map(fmt);
      }
      default:
        return [];
    }
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[\\s\\S]*")
    .replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}
