/**
 * A cell's output on its way to iopub (main thread). process.stdout/stderr writes made while an
 * execution is current become that execution's `stream` messages — buffered, coalesced, and
 * flushed before any other message of the execution so the order the cell wrote in is kept.
 * An interrupted execution's late output is dropped.
 */
import { CellApiError } from "./display.ts";
import type { IopubMessage } from "./jupyter-messages.ts";
import { currentExecution, type Execution } from "./executor.ts";
import type { MainToWire } from "./thread-messages.ts";

type StreamName = "stdout" | "stderr";
interface Buffered {
  stdout: string;
  stderr: string;
  since: number;
}

/** Flush a stream buffer once it holds this much, or is this old (ms), even while the cell is busy. */
const FLUSH_BYTES = 65536;
const FLUSH_AFTER_MS = 50;

export class CellOutput {
  private readonly buffers = new Map<number, Buffered>();
  private readonly lastFlush = new Map<number, number>();
  private flushScheduled = false;

  constructor(private readonly toWire: (m: MainToWire) => void) {}

  /** Send one iopub message for `execution` (after its buffered streams). */
  send(execution: Execution | undefined, message: IopubMessage): void {
    if (!execution)
      throw new CellApiError(
        "display: no cell is running (output after a cell finished has nowhere to go)",
      );
    if (execution.silenced) return;
    this.flush(execution.id);
    this.toWire({ type: "iopub", executionId: execution.id, message });
  }

  /** Send what `executionId` has buffered. */
  flush(executionId: number): void {
    const buffered = this.buffers.get(executionId);
    if (!buffered) return;
    this.buffers.delete(executionId);
    for (const name of ["stdout", "stderr"] as const) {
      if (buffered[name])
        this.toWire({
          type: "iopub",
          executionId,
          message: { msgType: "stream", content: { name, text: buffered[name] } },
        });
    }
  }

  /** The execution ended: flush, and forget its timing. */
  finish(executionId: number): void {
    this.flush(executionId);
    this.lastFlush.delete(executionId);
  }

  write(execution: Execution, name: StreamName, text: string): void {
    if (execution.silenced) return;
    // Keep stdout/stderr order: switching streams flushes what the other one holds.
    if (this.buffers.get(execution.id)?.[name === "stdout" ? "stderr" : "stdout"])
      this.flush(execution.id);
    let buffered = this.buffers.get(execution.id);
    if (!buffered)
      this.buffers.set(execution.id, (buffered = { stdout: "", stderr: "", since: Date.now() }));
    buffered[name] += text;
    // A busy cell never yields to setImmediate: the first write after a quiet spell goes out at
    // once, later ones are coalesced and flushed by size and age as the cell writes.
    const now = Date.now();
    if (
      buffered[name].length > FLUSH_BYTES ||
      now - buffered.since > FLUSH_AFTER_MS ||
      now - (this.lastFlush.get(execution.id) ?? 0) > FLUSH_AFTER_MS
    ) {
      this.lastFlush.set(execution.id, now);
      this.flush(execution.id);
    } else this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const id of [...this.buffers.keys()]) this.flush(id);
    });
  }

  /**
   * Route process.stdout/stderr writes made while an execution is current to it; others pass
   * through. `executionOf` says which execution a write belongs to (tests that share stdout with
   * their runner pass one that looks only at the cell's async context).
   */
  captureProcessStreams(executionOf: () => Execution | undefined = currentExecution): void {
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
        const execution = executionOf();
        if (!execution) return original(chunk as never, encoding as never, callback as never);
        const text =
          typeof chunk === "string"
            ? chunk
            : Buffer.from(chunk).toString(
                typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
              );
        this.write(execution, name, text);
        const done = typeof encoding === "function" ? encoding : callback;
        if (typeof done === "function") queueMicrotask(() => (done as () => void)());
        return true;
      }) as typeof stream.write;
    }
  }
}
