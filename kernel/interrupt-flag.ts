/**
 * The interrupt flag: a few Int32 slots in a SharedArrayBuffer that the wire worker (which gets
 * `interrupt_request`) and the main thread (which runs the cell, and may be busy in a loop that
 * never yields) both read and write with Atomics. Every slot is named and used only here.
 *
 * How an interrupt travels: the wire calls `request()`, which marks PENDING for the execution in
 * RUNNING. A loop guard compiled into the cell (`tick` in executor.ts) sees PENDING within
 * microseconds and stops the cell. Code without guards (plain synchronous vm code, or an idle
 * await) never looks, so if PENDING is still set 50 ms later the wire counts a SIGINT in SIGNALS
 * and sends it; the main thread's SIGINT handling then knows the signal was the wire's and which
 * execution it was for (TARGET) — a signal for a cell that already stopped must not hit the next.
 */

/** Slot indices. */
const PENDING = 0; // 1 while an interrupt waits to be seen by the main thread
const SIGNALS = 1; // SIGINTs the wire sent that the main thread has not accounted for yet
const RUNNING = 2; // the execution id now running (0: none)
const TARGET = 3; // the execution id the latest interrupt was meant for
const SLOTS = 4;

/** How long the wire waits for a loop guard to take an interrupt before it sends SIGINT. */
const SIGNAL_AFTER_MS = 50;

export class InterruptFlag {
  private readonly slots: Int32Array;

  /** A new flag, or a view of one another thread created (pass its `buffer`). */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT)) {
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
  clearPending(): void { Atomics.store(this.slots, PENDING, 0); }

  /** For the loop guard: takes a pending interrupt; true when it was meant for `executionId`. */
  takePending(executionId: number | undefined): boolean {
    if (Atomics.load(this.slots, PENDING) === 0) return false;
    Atomics.store(this.slots, PENDING, 0);
    return executionId !== undefined && Atomics.load(this.slots, TARGET) === executionId;
  }

  /**
   * A SIGINT arrived (or vm reported one). When the wire sent it, it is accounted for now and the
   * execution it was meant for is returned; undefined means it came from outside (Ctrl-C, kill).
   */
  takeSignal(): number | undefined {
    if (Atomics.load(this.slots, SIGNALS) <= 0) return undefined;
    Atomics.sub(this.slots, SIGNALS, 1);
    return Atomics.load(this.slots, TARGET);
  }

  // ---- wire worker ----

  /** Interrupt whatever runs now (nothing when idle); `sendSignal` delivers SIGINT to the kernel process. */
  request(sendSignal: () => void): void {
    const running = Atomics.load(this.slots, RUNNING);
    if (!running) return;
    Atomics.store(this.slots, TARGET, running);
    Atomics.store(this.slots, PENDING, 1);
    // Only if no guard took it: sending SIGINT regardless could land on the next cell after the
    // guard already stopped this one.
    setTimeout(() => {
      if (Atomics.load(this.slots, PENDING) !== 1 || Atomics.load(this.slots, RUNNING) !== running) return;
      Atomics.add(this.slots, SIGNALS, 1);
      sendSignal();
    }, SIGNAL_AFTER_MS);
  }
}
