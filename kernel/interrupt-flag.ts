/**
 * The interrupt flag: a few Int32 slots in a SharedArrayBuffer that the wire worker (which gets
 * `interrupt_request`) and the main thread (which runs the cell, and may be busy in a loop that
 * never yields) both read and write with Atomics. Every slot is named and used only here.
 *
 * How an interrupt travels: the wire calls `request(wake)`, which marks PENDING for the execution in
 * RUNNING. A loop guard compiled into the cell (`tick` in executor.ts) or a library loop's check
 * (`pollInterrupt`, lib/runtime.ts) sees PENDING within one step and stops the cell. Code that never
 * looks (an idle await) is woken 50 ms later: the wire counts a wake-up in SIGNALS and calls `wake`;
 * the main thread then knows which execution the interrupt was for (TARGET) — an interrupt for a
 * cell that already stopped must not hit the next.
 *
 * SIGINT from outside (Jupyter's signal-mode interrupt, `kill -INT`, Ctrl-C) would reach the main
 * thread's handler only when its event loop turns — never during a library loop that does not
 * yield. So the wire worker watches SIGINT itself (`watchSignals`, on its own event loop) and turns
 * each signal into a request; it then wakes the main thread with a message instead of a signal, and
 * the main thread ignores SIGINTs (WATCHING), which it would take late and apply to whatever cell
 * runs by then. Cells then run without vm's `breakOnSigint`: vm takes the process's SIGINT listeners
 * off and puts them back around each run, and while a second watcher is alive libuv does not
 * reinstall its handler afterwards, so the next SIGINT would kill the kernel. Where the worker cannot
 * watch signals, the wire wakes the main thread with SIGINT, and `breakOnSigint` also stops
 * synchronous cell code before its first await.
 */

/** Slot indices. */
const PENDING = 0; // 1 while an interrupt waits to be seen by the main thread
const SIGNALS = 1; // wake-ups the wire sent that the main thread has not accounted for yet
const RUNNING = 2; // the execution id now running (0: none)
const TARGET = 3; // the execution id the latest interrupt was meant for
const WATCHING = 4; // 1 when the wire worker watches SIGINT (see above)
const SLOTS = 5;

/** How long the wire waits for a guard or check to take an interrupt before it wakes the main thread. */
const SIGNAL_AFTER_MS = 50;

export class InterruptFlag {
  private readonly slots: Int32Array;

  /** A new flag, or a view of one another thread created (pass its `buffer`). */
  constructor(
    readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(
      SLOTS * Int32Array.BYTES_PER_ELEMENT,
    ),
  ) {
    this.slots = new Int32Array(buffer);
  }

  // ---- main thread ----

  /** From the moment an execute request is taken (type-checking included) an interrupt targets it. */
  begin(executionId: number): void {
    Atomics.store(this.slots, PENDING, 0);
    Atomics.store(this.slots, RUNNING, executionId);
  }

  end(): void {
    Atomics.store(this.slots, RUNNING, 0);
    Atomics.store(this.slots, PENDING, 0);
  }

  /** Drop an interrupt nobody took (the cell finished first). */
  clearPending(): void {
    Atomics.store(this.slots, PENDING, 0);
  }

  /** For the loop guard: takes a pending interrupt; true when it was meant for `executionId`. */
  takePending(executionId: number | undefined): boolean {
    if (Atomics.load(this.slots, PENDING) === 0) return false;
    Atomics.store(this.slots, PENDING, 0);
    return executionId !== undefined && Atomics.load(this.slots, TARGET) === executionId;
  }

  /**
   * A wake-up or a SIGINT arrived (or vm reported one). When the wire sent it, it is accounted for
   * now and the execution it was meant for is returned; undefined means a signal from outside.
   */
  takeSignal(): number | undefined {
    if (Atomics.load(this.slots, SIGNALS) <= 0) return undefined;
    Atomics.sub(this.slots, SIGNALS, 1);
    return Atomics.load(this.slots, TARGET);
  }

  /** Whether SIGINTs are the wire worker's to handle (see the module comment). */
  wireWatchesSignals(): boolean {
    return Atomics.load(this.slots, WATCHING) === 1;
  }

  // ---- wire worker ----

  /** Interrupt whatever runs now (nothing when idle); `wake` reaches the main thread (a message, or SIGINT). */
  request(wake: () => void): void {
    const running = Atomics.load(this.slots, RUNNING);
    if (!running) return;
    Atomics.store(this.slots, TARGET, running);
    Atomics.store(this.slots, PENDING, 1);
    // Only if no guard took it: a wake-up regardless could land on the next cell after the guard
    // already stopped this one.
    setTimeout(() => {
      if (Atomics.load(this.slots, PENDING) !== 1 || Atomics.load(this.slots, RUNNING) !== running)
        return;
      Atomics.add(this.slots, SIGNALS, 1);
      wake();
    }, SIGNAL_AFTER_MS);
  }

  /**
   * Watch SIGINT on this (the wire worker's) event loop and call `onSignal` for each. Worker threads
   * get no `process.on("SIGINT")`, so this uses libuv's signal watcher through Node's `signal_wrap`
   * binding; where that is missing it returns false and the main thread handles SIGINT itself.
   */
  watchSignals(onSignal: () => void): boolean {
    const watcher = signalWatcher();
    if (!watcher) return false;
    watcher.onsignal = onSignal;
    if (watcher.start(SIGINT) !== 0) return false;
    watcher.unref();
    Atomics.store(this.slots, WATCHING, 1);
    return true;
  }
}

const SIGINT = 2;

interface SignalHandle {
  onsignal: ((signum: number) => void) | null;
  start(signum: number): number;
  unref(): void;
}

/** A libuv signal handle on the calling thread's loop, or undefined where Node does not offer one. */
function signalWatcher(): SignalHandle | undefined {
  const p = process as unknown as {
    binding?: (name: string) => { Signal?: new () => SignalHandle };
    noDeprecation?: boolean;
  };
  const quiet = p.noDeprecation;
  p.noDeprecation = true; // process.binding is documented as deprecated (DEP0111); the kernel log needs no warning
  try {
    const Signal = p.binding?.("signal_wrap").Signal;
    return Signal ? new Signal() : undefined;
  } catch {
    return undefined;
  } finally {
    p.noDeprecation = quiet;
  }
}
