/**
 * The ambient run context: how long loops in lib/ (training, decoding, ablations) learn about an
 * interrupt and report progress without importing the kernel. The kernel installs a context for each
 * cell (its interrupt trips `signal`; `progress` and `display` update outputs in place); the CLI
 * installs a terminal progress bar and Ctrl-C. Explicit options always win over the ambient ones.
 *
 * Interrupts must not depend on the event loop turning: a training step or a decoding loop can run
 * for minutes without yielding, so an AbortSignal tripped by an event handler would trip too late.
 * Every long loop therefore calls `isInterrupted(signal)` (or `throwIfAborted`) at each step, batch
 * or token boundary; besides the signal it asks the host's synchronous check (`pollInterrupt`: in
 * the kernel one Atomics.load of its shared-memory interrupt flag), which may trip the signal itself.
 */
import type { MimeBundle } from "./display/index.ts";

export interface Progress {
  /** Steps done so far. */
  step: number;
  total?: number;
  /** Short text such as "loss 2.31". */
  message?: string;
  metrics?: Record<string, number>;
}

export interface ProgressSink {
  update(p: Progress): void;
  done(message?: string): void;
}
export type ProgressFactory = (label: string, total?: number) => ProgressSink;
/** Show a bundle; with the same displayId and update=true, replace it in place. */
export type DisplaySink = (
  bundle: MimeBundle,
  opts?: { displayId?: string; update?: boolean },
) => void;

export interface RunContext {
  signal?: AbortSignal;
  progress?: ProgressFactory;
  display?: DisplaySink;
  /**
   * The host's synchronous interrupt check: true when the current run must stop. It must be cheap
   * (it runs at every step, batch and token) and must not need the event loop — the kernel reads
   * its shared-memory interrupt flag, an ablation worker a marker its parent writes.
   */
  pollInterrupt?: () => boolean;
}

/** Options every long-running library function accepts. */
export interface LongRunOptions {
  signal?: AbortSignal;
  /** Called after every step; overrides the ambient progress display when given. */
  onProgress?: (p: Progress) => void;
  /** false turns the progress display off. */
  progress?: boolean;
}

export class AbortedError extends Error {
  constructor(message = "interrupted") {
    super(message);
    this.name = "AbortedError";
  }
}

let ambient: RunContext = {};

export function setRunContext(ctx: RunContext): void {
  ambient = ctx;
}
export function getRunContext(): RunContext {
  return ambient;
}

/** The signal to obey: the caller's, else the ambient one (the kernel's interrupt). */
export function runSignal(opts?: LongRunOptions): AbortSignal | undefined {
  return opts?.signal ?? ambient.signal;
}

/**
 * Whether a long loop must stop now: its signal is aborted, or the host's synchronous check
 * (`RunContext.pollInterrupt`) says so. Call it at every step, batch or token boundary.
 */
export function isInterrupted(signal?: AbortSignal): boolean {
  return !!signal?.aborted || !!ambient.pollInterrupt?.();
}

export function throwIfAborted(signal: AbortSignal | undefined, what = "run"): void {
  if (isInterrupted(signal)) throw new AbortedError(`${what} interrupted`);
}

/** A progress sink honouring the options: caller's callback, ambient display, or a terminal bar. */
export function startProgress(
  label: string,
  total: number | undefined,
  opts?: LongRunOptions,
): ProgressSink {
  if (opts?.progress === false) return { update() {}, done() {} };
  const sinks: ProgressSink[] = [];
  if (opts?.onProgress) {
    const f = opts.onProgress;
    sinks.push({ update: f, done() {} });
  }
  const factory =
    ambient.progress ??
    (process.stderr.isTTY && process.env.SIMVLM_TESTING !== "1" ? terminalProgress : undefined);
  if (factory) sinks.push(factory(label, total));
  return {
    update: (p) => sinks.forEach((s) => s.update(p)),
    done: (m) => sinks.forEach((s) => s.done(m)),
  };
}

/**
 * What a progress line says, decided here once: the terminal bar below and the kernel's display
 * (text and HTML) both render it. `details` are, in order: the message, the metrics, the elapsed
 * time, the eta (while running, when the total is known) and the final note.
 */
export interface ProgressLine {
  label: string;
  /** Steps done over the total, in [0, 1]; undefined when the total is unknown. */
  fraction?: number;
  step: number;
  total?: number;
  /** "3/10", or "3" without a total. */
  count: string;
  details: string[];
}

export function describeProgress(
  label: string,
  p: Progress,
  opts: { total?: number; elapsedMs: number; final?: string },
): ProgressLine {
  const total = p.total ?? opts.total;
  const secs = opts.elapsedMs / 1000;
  const metrics = Object.entries(p.metrics ?? {})
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(" · ");
  const eta =
    total && p.step > 0 && !opts.final
      ? `eta ${Math.max(0, (secs / p.step) * (total - p.step)).toFixed(0)}s`
      : "";
  return {
    label,
    step: p.step,
    total,
    fraction: total ? Math.min(1, p.step / total) : undefined,
    count: `${p.step}${total ? `/${total}` : ""}`,
    details: [p.message, metrics, `${secs.toFixed(1)}s`, eta, opts.final].filter(
      (d): d is string => !!d,
    ),
  };
}

/** The line as text: `train [#######.......] 3/10 · loss 2.31 · 1.2s · eta 3s`. */
export function progressText(line: ProgressLine, barWidth = 30): string {
  const bar =
    line.fraction === undefined
      ? ""
      : `[${"#".repeat(Math.round(line.fraction * barWidth)).padEnd(barWidth, ".")}] `;
  return `${line.label} ${bar}${[line.count, ...line.details].join(" · ")}`;
}

/**
 * A ProgressFactory that describes each update and hands it to `draw` at most 10 times a second
 * (always the first and the final one); `done(message)` draws the last update with the message
 * (default "done") as the final note. `now` is the clock in ms (tests pass their own).
 */
export function throttledProgress(
  draw: (line: ProgressLine, opts: { first: boolean; final: boolean }) => void,
  now = Date.now,
): ProgressFactory {
  return (label, total) => {
    const start = now();
    let lastDraw = 0;
    let first = true;
    let last: Progress = { step: 0, total };
    const render = (p: Progress, final?: string) => {
      draw(describeProgress(label, p, { total, elapsedMs: now() - start, final }), {
        first,
        final: final !== undefined,
      });
      first = false;
    };
    return {
      update(p) {
        last = p;
        const t = now();
        if (!first && t - lastDraw < 100) return;
        lastDraw = t;
        render(p);
      },
      done(message) {
        render(last, message ?? "done");
      },
    };
  };
}

/** The terminal's progress: one line on stderr, redrawn in place (`\r`, then erase to the end of the line). */
export const terminalProgress: ProgressFactory = throttledProgress((line, { final }) => {
  const text = progressText(line, 24).slice(0, (process.stderr.columns || 100) - 1);
  process.stderr.write(`\r${text}\x1b[K${final ? "\n" : ""}`);
});
