/**
 * The ambient run context: how long loops in lib/ (training, decoding, ablations) learn about an
 * interrupt and report progress without importing the kernel. The kernel installs a context for each
 * cell (its interrupt trips `signal`; `progress` and `display` update outputs in place); the CLI
 * installs a terminal progress bar and Ctrl-C. Explicit options always win over the ambient ones.
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

export interface ProgressSink { update(p: Progress): void; done(message?: string): void }
export type ProgressFactory = (label: string, total?: number) => ProgressSink;
/** Show a bundle; with the same displayId and update=true, replace it in place. */
export type DisplaySink = (bundle: MimeBundle, opts?: { displayId?: string; update?: boolean }) => void;

export interface RunContext {
  signal?: AbortSignal;
  progress?: ProgressFactory;
  display?: DisplaySink;
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
  constructor(message = "interrupted") { super(message); this.name = "AbortedError"; }
}

let ambient: RunContext = {};

export function setRunContext(ctx: RunContext): void { ambient = ctx; }
export function getRunContext(): RunContext { return ambient; }

/** The signal to obey: the caller's, else the ambient one (the kernel's interrupt). */
export function runSignal(opts?: LongRunOptions): AbortSignal | undefined {
  return opts?.signal ?? ambient.signal;
}

export function throwIfAborted(signal: AbortSignal | undefined, what = "run"): void {
  if (signal?.aborted) throw new AbortedError(`${what} interrupted`);
}

/** A progress sink honouring the options: caller's callback, ambient display, or a terminal bar. */
export function startProgress(label: string, total: number | undefined, opts?: LongRunOptions): ProgressSink {
  if (opts?.progress === false) return { update() {}, done() {} };
  const sinks: ProgressSink[] = [];
  if (opts?.onProgress) { const f = opts.onProgress; sinks.push({ update: f, done() {} }); }
  const factory = ambient.progress ?? (process.stderr.isTTY && process.env.SIMVLM_TESTING !== "1" ? terminalProgress : undefined);
  if (factory) sinks.push(factory(label, total));
  return { update: (p) => sinks.forEach((s) => s.update(p)), done: (m) => sinks.forEach((s) => s.done(m)) };
}

/** A one-line text bar on stderr, redrawn at most 10 times a second. */
export const terminalProgress: ProgressFactory = (label, total) => {
  let last = 0;
  const start = Date.now();
  const render = (p: Progress, final = false) => {
    const now = Date.now();
    if (!final && now - last < 100) return;
    last = now;
    const width = 24;
    const frac = total ? Math.min(1, p.step / total) : 0;
    const bar = total ? "[" + "#".repeat(Math.round(frac * width)).padEnd(width, ".") + "] " : "";
    const elapsed = (now - start) / 1000;
    const eta = total && p.step > 0 ? ` eta ${Math.max(0, (elapsed / p.step) * (total - p.step)).toFixed(0)}s` : "";
    const line = `${label} ${bar}${p.step}${total ? `/${total}` : ""} ${p.message ?? ""} ${elapsed.toFixed(1)}s${eta}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1).padEnd(Math.min(line.length, 99))}`);
  };
  let lastP: Progress = { step: 0 };
  return {
    update(p) { lastP = p; render(p); },
    done(message) { render(lastP, true); process.stderr.write(message ? ` ${message}\n` : "\n"); },
  };
};
