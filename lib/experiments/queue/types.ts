/** Types shared by the queue's submitter, its displays and runGrid (no BullMQ import here). */
import type { Params } from "../grid.ts";

/** A run that ended without a result: its error, after its attempts. */
export interface FailedRun {
  key: string;
  label: string;
  seed: number;
  params: Params;
  diff: Params;
  /** The last attempt's error (or why no worker would take it). */
  error: string;
  attempts: number;
  worker?: string;
}

/** What the submitter reports while a grid runs on the queue (the CLI prints each as a line). */
export interface QueueEvent {
  kind:
    | "queued"
    | "joined"
    | "started"
    | "retrying"
    | "done"
    | "failed"
    | "refused"
    | "requeued"
    | "connection";
  /** The run's label, seed and key (absent for connection events). */
  label?: string;
  seed?: number;
  key?: string;
  worker?: string;
  /** The line to show, e.g. "done x=1 seed 0 on host:123 in 3.2 s: value 10". */
  message: string;
}

/** Options of runGrid's queue mode (runGrid(grid, { queue: URL, … })). */
export interface QueueGridOptions {
  /** redis://[user:pass@]HOST:PORT[/DB] or rediss://… (TLS). */
  queue: string;
  /** BullMQ queue name the workers listen on (default "simvlm-runs"). */
  queueName?: string;
  /** Retries of a run that throws, before it is listed as failed (default 2: three attempts). */
  retries?: number;
  /** How often the submitter looks at its runs' states, in ms (default 1000). */
  pollMs?: number;
  onEvent?: (e: QueueEvent) => void;
}
