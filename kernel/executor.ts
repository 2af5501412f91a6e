/**
 * The executor (main thread): runs converted cells with `vm.runInThisContext` in the kernel's realm,
 * keeps their state as globals, captures output, and stops interrupted cells.
 *
 * Interrupts. The wire worker sets a shared flag and sends SIGINT to this process:
 * - synchronous code before the cell's first `await` runs under vm's `breakOnSigint`;
 * - loops compiled from cells call `__simvlm.tick()`, which sees the flag even while this thread is
 *   busy, so a busy loop after an `await` (or in a cell-defined function) stops too;
 * - each execution has an AbortController in an AsyncLocalStorage context: library loops obey it
 *   through the ambient run context (lib/runtime.ts); timers the cell created fire early on abort (so
 *   an awaiting loop wakes up and hits its guard instead of sleeping on), intervals are cleared, and an
 *   aborted execution's late output is dropped. Earlier cells' variables are untouched.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire, SourceMap } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { setRunContext } from "../lib/runtime.ts";

const repo = fileURLToPath(new URL("..", import.meta.url));

export class InterruptError extends Error {
  constructor() { super("cell interrupted"); this.name = "InterruptError"; }
}

export interface Exec {
  req: number;
  controller: AbortController;
  timeouts: Map<NodeJS.Timeout, () => void>;
  intervals: Set<NodeJS.Timeout>;
}

export const als = new AsyncLocalStorage<Exec>();
let current: Exec | undefined;
let flag: Int32Array;
let ticks = 0;
let strict = false;

/** The execution output belongs to: the async context's, else the one running now. */
export function owner(): Exec | undefined { return als.getStore() ?? current; }

export function abort(ex: Exec | undefined): void {
  if (!ex || ex.controller.signal.aborted) return;
  strict = true;
  ex.controller.abort(new InterruptError());
  for (const t of ex.intervals) clearInterval(t);
  ex.intervals.clear();
  for (const [t, fire] of ex.timeouts) { clearTimeout(t); setImmediate(() => als.run(ex, fire)); }
  ex.timeouts.clear();
}

/**
 * Shared flag slots (Int32Array over a SharedArrayBuffer, written by the wire worker too):
 * PENDING = an interrupt waits to be seen; SIGNALS = SIGINTs the wire sent and this thread has not
 * seen yet; RUNNING = the request now executing; TARGET = the request the interrupt was meant for.
 * A SIGINT the wire sent for a cell that has already stopped must not hit the next cell.
 */
export const PENDING = 0, SIGNALS = 1, RUNNING = 2, TARGET = 3;
export const FLAG_SLOTS = 4;

function tick(): void {
  if (Atomics.load(flag, PENDING) !== 0) {
    Atomics.store(flag, PENDING, 0);
    if (current && Atomics.load(flag, TARGET) === current.req) {
      abort(current);
      throw new InterruptError();
    }
  }
  // Once any cell was interrupted, an abandoned async loop of it may wake up at any tick: check the
  // async context every time from then on (before that, sample it cheaply).
  if ((strict || (++ticks & 63) === 0) && als.getStore()?.controller.signal.aborted) throw new InterruptError();
}

/** Track timers per execution (see the module comment). Node's own timers are untouched. */
function instrumentTimers(): void {
  const g = globalThis as any;
  const { setTimeout: st, setInterval: si } = g;
  g.setTimeout = function (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
    const ex = als.getStore();
    if (!ex || typeof cb !== "function") return st(cb, ms, ...args);
    const t: NodeJS.Timeout = st(() => { ex.timeouts.delete(t); cb(...args); }, ms);
    ex.timeouts.set(t, () => cb(...args));
    return t;
  };
  g.setInterval = function (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
    const ex = als.getStore();
    const t: NodeJS.Timeout = si(cb, ms, ...args);
    ex?.intervals.add(t);
    return t;
  };
  Object.assign(g.setTimeout, { __promisify__: st.__promisify__ });
}

export interface Globals { display: unknown; clearOutput: unknown; input: unknown; tslab: Record<string, unknown> }

export function installRuntime(sharedFlag: Int32Array, globals: Globals): void {
  flag = sharedFlag;
  instrumentTimers();
  const g = globalThis as any;
  g.__simvlm = { tick, import: importForCell(globals.tslab) };
  g.display = globals.display;
  g.clearOutput = globals.clearOutput;
  g.input = globals.input;
  g.require = createRequire(join(process.cwd(), "__notebook__.js"));
}

/** Resolve what a cell imports: "simvlm" → this repo's library, "tslab" → the display API. */
function importForCell(tslab: Record<string, unknown>) {
  const libIndex = pathToFileURL(join(repo, "lib", "index.ts")).href;
  return async (spec: string): Promise<unknown> => {
    if (spec === "simvlm") return import(libIndex);
    if (spec === "tslab") return tslab;
    if (spec.startsWith("node:")) return import(spec);
    if (spec.startsWith(".") || isAbsolute(spec)) return import(pathToFileURL(resolve(process.cwd(), spec)).href);
    try {
      return await import(pathToFileURL(createRequire(join(process.cwd(), "__notebook__.js")).resolve(spec)).href);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
      return import(spec); // builtins, and packages this repo has (resolved from the kernel's folder)
    }
  };
}

export interface CellCode { js: string; lineOffset: number; sourceMap: unknown; hasResult: boolean }

const maps = new Map<number, { map?: SourceMap; lineOffset: number }>();

/** Run a converted cell; resolves with { value } or undefined, rejects with the cell's error. */
export async function runCell(ex: Exec, cell: number, code: CellCode): Promise<{ value: unknown } | undefined> {
  maps.set(cell, { map: code.sourceMap ? new SourceMap(code.sourceMap as never) : undefined, lineOffset: code.lineOffset });
  if (ex.controller.signal.aborted) throw new InterruptError();
  setRunContext({ signal: ex.controller.signal, progress: globalProgress, display: globalDisplaySink });
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(ex.controller.signal.reason ?? new InterruptError());
    if (ex.controller.signal.aborted) onAbort(); else ex.controller.signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    const promise = als.run(ex, () => {
      try {
        return vm.runInThisContext(code.js, { filename: `cell-${cell}`, breakOnSigint: true }) as Promise<{ value: unknown } | undefined>;
      } catch (e) {
        if ((e as NodeJS.ErrnoException)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
          // vm consumed the signal: if the wire sent it, it is accounted for now.
          if (Atomics.load(flag, SIGNALS) > 0) Atomics.sub(flag, SIGNALS, 1);
          abort(ex);
          throw new InterruptError();
        }
        throw e;
      }
    });
    promise.catch(() => {}); // a cell that rejects after being interrupted must not crash the kernel
    return await Promise.race([promise, aborted]);
  } finally {
    Atomics.store(flag, PENDING, 0);
  }
}

/** From the moment an execute request is taken (type-checking included) an interrupt targets it. */
export function beginExecution(ex: Exec): void { Atomics.store(flag, PENDING, 0); Atomics.store(flag, RUNNING, ex.req); current = ex; }
export function endExecution(): void { current = undefined; Atomics.store(flag, RUNNING, 0); Atomics.store(flag, PENDING, 0); }

/** Resolves with `p`, or rejects as soon as the execution is interrupted. */
export function unlessInterrupted<T>(ex: Exec, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => {
    if (ex.controller.signal.aborted) reject(new InterruptError());
    ex.controller.signal.addEventListener("abort", () => reject(new InterruptError()), { once: true });
  })]);
}

/** Ambient sinks the kernel sets up once (see kernel.ts). */
let globalProgress: import("../lib/runtime.ts").ProgressFactory | undefined;
let globalDisplaySink: import("../lib/runtime.ts").DisplaySink | undefined;
export function setAmbientSinks(progress: typeof globalProgress, display: typeof globalDisplaySink): void {
  globalProgress = progress; globalDisplaySink = display;
}

/** Called on SIGINT outside vm's breakOnSigint window (from the wire's interrupt, or from outside). */
export function interruptCurrent(): void {
  let target = current?.req;
  if (Atomics.load(flag, SIGNALS) > 0) {
    Atomics.sub(flag, SIGNALS, 1);
    target = Atomics.load(flag, TARGET);
  }
  if (process.env.SIMVLM_KERNEL_DEBUG) process.stderr.write(`[simvlm kernel] SIGINT for request ${target}; running ${current?.req}\n`);
  if (current && current.req === target) abort(current);
}

/** A traceback whose frames point into cells (`cell[3]:2:5`), without kernel internals. */
export function formatError(e: unknown): { ename: string; evalue: string; traceback: string[] } {
  if (!(e instanceof Error)) return { ename: "Error", evalue: String(e), traceback: [`\x1b[31mUncaught\x1b[0m ${String(e)}`] };
  const ename = e.name || "Error";
  const stack = String(e.stack ?? "").split("\n");
  const frames = stack.filter((l) => /^\s+at /.test(l))
    .filter((l) => !/\(node:|at node:|\/kernel\/(executor|kernel|display)\.ts|node_modules\/tsx\//.test(l))
    .map((l) => l.replace(/cell-(\d+):(\d+):(\d+)/g, (_, c, line, col) => mapPosition(Number(c), Number(line), Number(col))));
  const head = `\x1b[31m${ename}\x1b[0m: ${e.message}`;
  return { ename, evalue: e.message, traceback: [head, ...frames.filter((f, i) => f !== frames[i - 1])] };
}

function mapPosition(cell: number, line: number, col: number): string {
  const m = maps.get(cell);
  const bodyLine = line - 1 - (m?.lineOffset ?? 0);
  if (!m || bodyLine < 0) return `cell[${cell}]`;
  const entry = m.map?.findEntry(bodyLine, Math.max(0, col - 1)) as { originalLine?: number; originalColumn?: number } | undefined;
  if (entry?.originalLine === undefined) return `cell[${cell}]:${bodyLine + 1}`;
  return `cell[${cell}]:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
}
