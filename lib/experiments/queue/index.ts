// Public API of the queue (grids across machines on Redis + BullMQ; docs/queue.md). BullMQ and
// ioredis load only when a queue is used, so importing "simvlm" does not pay for them.
export { QueueError, DEFAULT_QUEUE_NAME, redactUrl, checkQueueUrl } from "./url.ts";
export type { FailedRun, QueueEvent, QueueGridOptions } from "./types.ts";
export type { QueueWorker, QueueWorkerOptions } from "./worker.ts";
import type { QueueWorker, QueueWorkerOptions } from "./worker.ts";

/**
 * Start a worker in this process that takes runs from the queue (what `simvlm worker` runs); each
 * run goes to its own child process. Resolves once connected; `close()` stops it (see worker.ts).
 * Errors: QueueError for a bad URL, an unreachable Redis or a store it cannot write.
 */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  return (await import("./worker.ts")).startQueueWorker(opts);
}
