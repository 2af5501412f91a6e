/**
 * The executor (main thread): runs converted cells with `vm.runInThisContext` in the kernel's realm,
 * keeps their state as globals, and stops interrupted cells.
 *
 * Interrupts (the flag's protocol is in interrupt-flag.ts):
 * - synchronous code before the cell's first `await` runs under vm's `breakOnSigint` where the wire
 *   worker cannot watch SIGINT itself (interrupt-flag.ts);
 * - loops compiled from cells call `__simvlm.tick()`, which sees the flag even while this thread is
 *   busy, so a busy loop after an `await` (or in a cell-defined function) stops too;
 * - each execution has an AbortController in an AsyncLocalStorage context: library loops obey it
 *   through the ambient run context (lib/runtime.ts), whose synchronous `pollInterrupt` reads the
 *   flag too, so a library loop that never yields still stops at its next step; timers the cell created fire early on abort (so
 *   an awaiting loop wakes up and hits its guard instead of sleeping on), intervals are cleared, and an
 *   interrupted execution's late output is dropped once it has reported (Execution.silenced). Earlier cells' variables are untouched.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { inspect } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { setRunContext, type DisplaySink, type ProgressFactory } from "../lib/runtime.ts";
import type { InterruptFlag } from "./interrupt-flag.ts";
import type { Converted } from "./thread-messages.ts";
import { cellFileName, registerCell } from "./traceback.ts";

const repo = fileURLToPath(new URL("..", import.meta.url));

export class InterruptError extends Error {
  constructor() {
    super("cell interrupted");
    this.name = "InterruptError";
  }
}

/** One execute_request being run on this thread (see thread-messages.ts for its id and count). */
export interface Execution {
  /** The executionId the wire gave the request. */
  id: number;
  /** Its execution_count (In [N]); executions that store no history share the previous one. */
  count: number;
  /** Whether the frontend accepts input_request for it (the request's allow_stdin). */
  allowStdin: boolean;
  controller: AbortController;
  /**
   * Set once an interrupted execution has reported its error: its late output (leftover timers,
   * abandoned loops) is dropped from then on. Between the interrupt and the report, what a library
   * loop writes as it stops (its progress line's "interrupted at step N") still reaches the cell.
   */
  silenced?: boolean;
  /** Timers the cell started that have not fired, with how to fire them early on abort. */
  timeouts: Map<NodeJS.Timeout, () => void>;
  intervals: Set<NodeJS.Timeout>;
}

export function newExecution(id: number, count: number, allowStdin: boolean): Execution {
  const execution = {
    id,
    count,
    allowStdin,
    controller: new AbortController(),
    timeouts: new Map(),
    intervals: new Set<NodeJS.Timeout>(),
  };
  // Node keeps the async context on every promise a cell makes, and util.inspect shows it: one short token (display.ts drops it).
  return Object.defineProperty(execution, inspect.custom, {
    value: () => `[cell execution ${id}]`,
  });
}

/** The execution whose async context the code now running belongs to (timers, promises, handlers). */
const executionContext = new AsyncLocalStorage<Execution>();
/** The execution this thread is running now, if any. */
let running: Execution | undefined;
let flag: InterruptFlag;
let ticks = 0;
/** Set once any cell was interrupted: from then on every tick checks the async context. */
let checkEveryTick = false;

/** The execution output belongs to: the async context's, else the one running now. */
export function currentExecution(): Execution | undefined {
  return executionContext.getStore() ?? running;
}
/** The execution whose async context the calling code runs in, if any (no fallback to the running one). */
export function contextExecution(): Execution | undefined {
  return executionContext.getStore();
}

export function abort(execution: Execution | undefined): void {
  if (!execution || execution.controller.signal.aborted) return;
  checkEveryTick = true;
  execution.controller.abort(new InterruptError());
  for (const timer of execution.intervals) clearInterval(timer);
  execution.intervals.clear();
  for (const [timer, fire] of execution.timeouts) {
    clearTimeout(timer);
    setImmediate(() => executionContext.run(execution, fire));
  }
  execution.timeouts.clear();
}

/**
 * The synchronous interrupt check library loops call at every step (lib/runtime.ts `pollInterrupt`):
 * library code has no compiled guards and may never yield to the event loop, so it reads the shared
 * flag itself. True when the execution the caller belongs to was interrupted.
 */
function pollInterrupt(): boolean {
  if (flag.takePending(running?.id)) abort(running);
  return (executionContext.getStore() ?? running)?.controller.signal.aborted ?? false;
}

/** The loop guard compiled into every loop of a cell. */
function tick(): void {
  if (flag.takePending(running?.id)) {
    abort(running);
    throw new InterruptError();
  }
  // An abandoned async loop of an interrupted cell may wake up at any tick: once any cell was
  // interrupted check the async context every time (before that, sample it cheaply).
  if (
    (checkEveryTick || (++ticks & 63) === 0) &&
    executionContext.getStore()?.controller.signal.aborted
  )
    throw new InterruptError();
}

/** Track timers per execution (see the module comment). Node's own timers are untouched. */
function instrumentTimers(): void {
  const g = globalThis as any;
  const { setTimeout: st, setInterval: si } = g;
  g.setTimeout = function (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
    const execution = executionContext.getStore();
    if (!execution || typeof cb !== "function") return st(cb, ms, ...args);
    const timer: NodeJS.Timeout = st(() => {
      execution.timeouts.delete(timer);
      cb(...args);
    }, ms);
    execution.timeouts.set(timer, () => cb(...args));
    return timer;
  };
  g.setInterval = function (cb: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
    const timer: NodeJS.Timeout = si(cb, ms, ...args);
    executionContext.getStore()?.intervals.add(timer);
    return timer;
  };
  Object.assign(g.setTimeout, { __promisify__: st.__promisify__ });
}

/** What every cell sees as globals, and the `tslab` compatibility module (docs/kernel.md). */
export interface CellGlobals {
  display: unknown;
  clearOutput: unknown;
  input: unknown;
  /** What `import … from "tslab"` gives a cell: the display API under tslab's names. */
  tslabModule: Record<string, unknown>;
  /** Ambient sinks for library loops (lib/runtime.ts): progress bars and live figures. */
  progress: ProgressFactory;
  displaySink: DisplaySink;
}

let ambientProgress: ProgressFactory | undefined;
let ambientDisplay: DisplaySink | undefined;

export function installRuntime(interruptFlag: InterruptFlag, globals: CellGlobals): void {
  flag = interruptFlag;
  instrumentTimers();
  const g = globalThis as any;
  g.__simvlm = { tick, import: importForCell(globals.tslabModule) };
  g.display = globals.display;
  g.clearOutput = globals.clearOutput;
  g.input = globals.input;
  g.require = createRequire(join(process.cwd(), "__notebook__.js"));
  ambientProgress = globals.progress;
  ambientDisplay = globals.displaySink;
}

/** Resolve what a cell imports: "simvlm" → this repo's library, "tslab" → the display API. */
function importForCell(tslabModule: Record<string, unknown>) {
  const libIndex = pathToFileURL(join(repo, "lib", "index.ts")).href;
  return async (spec: string): Promise<unknown> => {
    if (spec === "simvlm") return import(libIndex);
    if (spec === "tslab") return tslabModule;
    if (spec.startsWith("node:")) return import(spec);
    if (spec.startsWith(".") || isAbsolute(spec))
      return import(pathToFileURL(resolve(process.cwd(), spec)).href);
    try {
      return await import(
        pathToFileURL(createRequire(join(process.cwd(), "__notebook__.js")).resolve(spec)).href
      );
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
      return import(spec); // builtins, and packages this repo has (resolved from the kernel's folder)
    }
  };
}

/** Run a converted cell; resolves with { value } or undefined, rejects with the cell's error. */
export async function runCell(
  execution: Execution,
  code: Converted,
): Promise<{ value: unknown } | undefined> {
  registerCell(execution.id, execution.count, code);
  if (execution.controller.signal.aborted) throw new InterruptError();
  setRunContext({
    signal: execution.controller.signal,
    progress: ambientProgress,
    display: ambientDisplay,
    pollInterrupt,
  });
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(execution.controller.signal.reason ?? new InterruptError());
    if (execution.controller.signal.aborted) onAbort();
    else execution.controller.signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    const promise = executionContext.run(execution, () => {
      try {
        // Not while the wire watches SIGINT: see interrupt-flag.ts for why, and what stops sync code then.
        return vm.runInThisContext(code.js, {
          filename: cellFileName(execution.id),
          breakOnSigint: !flag.wireWatchesSignals(),
        }) as Promise<{ value: unknown } | undefined>;
      } catch (e) {
        if ((e as NodeJS.ErrnoException)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
          flag.takeSignal(); // vm consumed the signal: if the wire sent it, it is accounted for now
          abort(execution);
          throw new InterruptError();
        }
        throw e;
      }
    });
    promise.catch(() => {}); // a cell that rejects after being interrupted must not crash the kernel
    return await Promise.race([promise, aborted]);
  } finally {
    flag.clearPending();
  }
}

/** From the moment an execute request is taken (type-checking included) an interrupt targets it. */
export function beginExecution(execution: Execution): void {
  flag.begin(execution.id);
  running = execution;
}
export function endExecution(): void {
  running = undefined;
  flag.end();
}

/** Resolves with `p`, or rejects as soon as the execution is interrupted. */
export function unlessInterrupted<T>(execution: Execution, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      if (execution.controller.signal.aborted) reject(new InterruptError());
      execution.controller.signal.addEventListener("abort", () => reject(new InterruptError()), {
        once: true,
      });
    }),
  ]);
}

/**
 * Called on the wire's wake-up (a message, or SIGINT outside vm's breakOnSigint window) and on
 * SIGINT from outside. When the wire worker watches SIGINT itself (interrupt-flag.ts), a signal from
 * outside has already become an interrupt request there: handling it here too could hit the next
 * cell, since this handler runs only once the event loop turns.
 */
export function interruptCurrent(): void {
  const fromWire = flag.takeSignal();
  if (fromWire === undefined && flag.wireWatchesSignals()) return;
  const target = fromWire ?? running?.id;
  if (process.env.SIMVLM_KERNEL_DEBUG)
    process.stderr.write(
      `[simvlm kernel] SIGINT for execution ${target}; running ${running?.id}\n`,
    );
  if (running && running.id === target) abort(running);
}
