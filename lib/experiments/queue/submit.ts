/**
 * The submitting side of runGrid(grid, { queue: URL }): put every run that is not cached on the
 * BullMQ queue (job id = run key), follow the jobs until each has a result or has failed for good,
 * and write each result into the submitter's run cache as it arrives.
 *
 * The submitter keeps no state of its own: the jobs in Redis are the state. So a submitter that is
 * interrupted, or a second submitter of the same grid, finds the jobs already there — finished ones
 * give their result at once, running ones are awaited — and nothing runs twice. A job Redis no
 * longer has (restarted without persistence) is queued again. It looks at its jobs every `pollMs`
 * rather than trusting an event stream, so a Redis restart only delays it.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { Queue, type Job } from "bullmq";
import { AbortedError, getRunContext, type ProgressSink } from "../../runtime.ts";
import { writeAtomic, type RunCache, type RunResult } from "../cache.ts";
import type { GridSpec, RunSpec } from "../grid.ts";
import {
  checkQueueUrl,
  checkRedis,
  connectionOptions,
  DEFAULT_QUEUE_NAME,
  QueueError,
  redactUrl,
} from "./connection.ts";
import { queueStatusBundle, type RunStatusRow } from "./display.ts";
import { REFUSED, safeRelativePath, type RunJobData, type RunJobResult } from "./jobs.ts";
import type { FailedRun, QueueEvent, QueueGridOptions } from "./types.ts";

export interface SubmitContext {
  grid: GridSpec;
  todo: { spec: RunSpec; key: string; res?: { key: Record<string, string> } }[];
  cache: RunCache;
  version: string;
  force?: boolean;
  signal?: AbortSignal;
  progress: ProgressSink;
  total: number;
  cached: number;
  /** false: no live display (runGrid's progress: false). */
  display?: boolean;
  /** Each result as it arrives (runGrid keeps it and calls onRun). */
  onResult: (r: RunResult) => void;
}

interface Pending {
  spec: RunSpec;
  key: string;
  /** Content hashes of the grid resources the run depends on (its tokenizer), kept with its result. */
  resources?: Record<string, string>;
  state: string;
  worker?: string;
  progress?: string;
  attempts: number;
  stalls: number;
  refusals: Map<string, string>;
}

const WEEK_S = 7 * 24 * 3600;
const what = (p: { spec: RunSpec }) => `${p.spec.label} seed ${p.spec.seed}`;

export async function runOnQueue(opts: QueueGridOptions, ctx: SubmitContext): Promise<FailedRun[]> {
  const retries = opts.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0)
    throw new QueueError(`retries must be an integer ≥ 0, got ${retries}`, { option: "retries" });
  const pollMs = opts.pollMs ?? 1000;
  const url = redactUrl(opts.queue);
  const queueName = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const db = checkQueueUrl(opts.queue).pathname.replace(/^\//, "") || "0";
  await checkRedis(opts.queue);
  const queue = new Queue(queueName, { connection: connectionOptions(opts.queue) });

  const emit = (e: QueueEvent) => opts.onEvent?.(e);
  const runEvent = (kind: QueueEvent["kind"], p: Pending, message: string) =>
    emit({ kind, label: p.spec.label, seed: p.spec.seed, key: p.key, worker: p.worker, message });
  // ioredis reconnects by itself and holds commands meanwhile; its errors only tell us Redis is away.
  let down = false,
    closing = false;
  const lost = (why: string) => {
    if (down || closing) return;
    down = true;
    emit({
      kind: "connection",
      message: `lost the queue at ${url} (${why}): waiting for it to come back`,
    });
  };
  queue.on("error", (e) => lost(firstLine((e as Error).message)));
  queue.on("ioredis:close", () => lost("connection closed"));
  const pending = new Map<string, Pending>(
    ctx.todo.map(({ spec, key, res }) => [
      key,
      {
        spec,
        key,
        resources: res?.key,
        state: "queued",
        attempts: 0,
        stalls: 0,
        refusals: new Map(),
      },
    ]),
  );
  const failed: FailedRun[] = [];
  const doneRows: RunStatusRow[] = [];
  let done = ctx.cached;

  const abortable = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((res, rej) => {
      if (ctx.signal?.aborted) return rej(new AbortedError());
      const onAbort = () => rej(new AbortedError());
      ctx.signal?.addEventListener("abort", onAbort, { once: true });
      p.then(res, rej).finally(() => ctx.signal?.removeEventListener("abort", onAbort));
    });

  const add = (p: Pending) => {
    const data: RunJobData = {
      v: 1,
      key: p.key,
      run: p.spec.run,
      label: p.spec.label,
      params: p.spec.params,
      diff: p.spec.diff,
      seed: p.spec.seed,
      codeVersion: ctx.version,
      grid: ctx.grid.name,
      ...(p.resources && Object.keys(p.resources).length ? { resources: p.resources } : {}),
    };
    return queue.add(p.spec.label.slice(0, 200), data, {
      jobId: p.key,
      attempts: retries + 1,
      backoff: { type: "fixed", delay: 1000 },
      removeOnComplete: { age: WEEK_S },
      removeOnFail: { age: WEEK_S },
    });
  };

  const collect = (p: Pending, rv: RunJobResult) => {
    const dir = ctx.cache.begin(p.key, p.spec);
    for (const [rel, text] of Object.entries(rv.files ?? {})) {
      if (!safeRelativePath(rel)) continue;
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeAtomic(join(dir, rel), text);
    }
    const checkpoints = rv.store
      ? `kept in ${rv.store} (the store of worker ${rv.worker})`
      : `not kept: worker ${rv.worker} had no --store, so only the results came back`;
    const r: RunResult = {
      key: p.key,
      run: p.spec.run,
      label: p.spec.label,
      params: p.spec.params,
      diff: p.spec.diff,
      seed: p.spec.seed,
      codeVersion: ctx.version,
      metrics: rv.metrics,
      ...(rv.na ? { na: rv.na } : {}),
      ...(rv.items ? { items: rv.items } : {}),
      ...(p.resources && Object.keys(p.resources).length ? { resources: p.resources } : {}),
      extra: rv.extra,
      startedAt: rv.startedAt,
      finishedAt: rv.finishedAt,
      seconds: rv.seconds,
      grid: ctx.grid.name,
      remote: { worker: rv.worker, store: rv.store, checkpoints },
    };
    ctx.cache.finish(r);
    pending.delete(p.key);
    done++;
    p.worker = rv.worker;
    doneRows.push({
      label: p.spec.label,
      seed: p.spec.seed,
      status: "done",
      worker: rv.worker,
      detail: fmtMetrics(rv.metrics),
    });
    ctx.onResult(r);
    const left = rv.leftOut?.length ? `; left out: ${rv.leftOut.join(", ")}` : "";
    runEvent(
      "done",
      p,
      `done ${what(p)} on ${rv.worker} in ${rv.seconds.toFixed(1)} s: ${fmtMetrics(rv.metrics)}${rv.store ? "" : " (no store: only results kept)"}${left}`,
    );
  };

  const fail = (p: Pending, error: string, attempts: number) => {
    pending.delete(p.key);
    failed.push({
      key: p.key,
      label: p.spec.label,
      seed: p.spec.seed,
      params: p.spec.params,
      diff: p.spec.diff,
      error,
      attempts,
      worker: p.worker,
    });
    doneRows.push({
      label: p.spec.label,
      seed: p.spec.seed,
      status: "failed",
      worker: p.worker,
      detail: error,
    });
    runEvent(
      "failed",
      p,
      `failed ${what(p)} after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${error}`,
    );
  };

  // 1. Queue what is missing; join what is there.
  for (const p of pending.values()) {
    const job = await abortable(queue.getJob(p.key));
    const state = job ? await abortable(job.getState()) : "missing";
    if (!job || state === "unknown") {
      await abortable(add(p));
      continue;
    }
    if ((state === "completed" || state === "failed") && (ctx.force || state === "failed")) {
      // A fresh job rather than job.retry(), so this submission's retries apply.
      await abortable(job.remove());
      await abortable(add(p));
      runEvent(
        "requeued",
        p,
        `${what(p)} ${state === "failed" ? "had failed before" : "is rerun (force)"}: queued again`,
      );
      continue;
    }
    p.attempts = job.attemptsMade;
    if (state !== "completed")
      runEvent(
        "joined",
        p,
        `${what(p)} is already on the queue (${state}; another submitter, or an earlier run of this grid): waiting for it`,
      );
  }
  const queued = ctx.todo.length;
  emit({
    kind: "queued",
    message:
      `${queued} run${queued === 1 ? "" : "s"} on the queue at ${url} (queue ${queueName})${ctx.cached ? `, ${ctx.cached} from the cache` : ""}` +
      (ctx.grid.module
        ? `; the grid's run functions come from ${ctx.grid.module}: workers run them only when started with --module ${ctx.grid.module}`
        : ""),
  });

  // 2. Follow every job until it has a result or has failed for good.
  const inspect = async (p: Pending) => {
    const job: Job | undefined = await queue.getJob(p.key);
    if (!job) {
      await add(p);
      p.state = "queued";
      runEvent(
        "requeued",
        p,
        `${what(p)} was no longer on the queue (Redis restarted without its data?): queued again`,
      );
      return;
    }
    const state = await job.getState();
    // attemptsMade also counts the attempt that completes: only a failed attempt with one to come is a retry.
    if (
      job.attemptsMade > p.attempts &&
      state !== "failed" &&
      state !== "completed" &&
      job.failedReason
    ) {
      runEvent(
        "retrying",
        p,
        `retrying ${what(p)} (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1}) after: ${firstLine(job.failedReason)}`,
      );
    }
    p.attempts = Math.max(p.attempts, job.attemptsMade);
    if (job.stalledCounter > p.stalls) {
      p.stalls = job.stalledCounter;
      runEvent(
        "requeued",
        p,
        `${what(p)} stalled on ${p.worker ?? "its worker"} (the worker stopped renewing its lock): given to the next worker`,
      );
    }
    if (state === "completed") {
      // A worker rebuilds the grid's tokenizer from the run's params: a different one would make
      // this run incomparable with the grid's other arms, so it is a failure, not a result.
      const rv = job.returnvalue as RunJobResult;
      const want = p.resources?.tokenizer,
        got = (rv.extra?.tokenizer as { hash?: string } | undefined)?.hash;
      if (want && got && want !== got)
        return fail(
          p,
          `worker ${rv.worker} built tokenizer ${got.slice(0, 12)}, not the grid's ${want.slice(0, 12)}`,
          job.attemptsMade,
        );
      return collect(p, rv);
    }
    if (state === "failed") return fail(p, firstLine(job.failedReason), job.attemptsMade);
    if (state === "active") {
      const w = job.processedBy ?? "a worker";
      if (p.state !== "active" || p.worker !== w) {
        p.worker = w;
        runEvent("started", p, `${what(p)} running on ${w}`);
      }
      const pr = job.progress as { step?: number; total?: number; message?: string } | undefined;
      p.progress =
        pr && typeof pr === "object" && pr.step !== undefined
          ? `step ${pr.step}${pr.total ? `/${pr.total}` : ""}${pr.message ? ` ${pr.message}` : ""}`
          : undefined;
    } else p.progress = undefined;
    p.state = state;
  };

  // A job every connected worker refuses (another code version, a run function they lack) would
  // wait forever: it is taken off the queue and listed as failed with the workers' reasons.
  const checkRefusals = async () => {
    const waiting = [...pending.values()].filter((p) => p.state !== "active");
    if (!waiting.length) return;
    let workers: string[] | undefined;
    for (const p of waiting) {
      const { logs } = await queue.getJobLogs(p.key);
      for (const line of logs) {
        const [tag, w, reason] = line.split("\t");
        if (tag !== REFUSED || !w || p.refusals.has(w)) continue;
        p.refusals.set(w, reason ?? "");
        emit({
          kind: "refused",
          label: p.spec.label,
          seed: p.spec.seed,
          key: p.key,
          worker: w,
          message: `worker ${w} refuses ${what(p)}: ${reason}`,
        });
      }
      if (!p.refusals.size) continue;
      workers ??= await connectedWorkers(queue, db);
      if (workers.length && workers.every((w) => p.refusals.has(w))) {
        const job = await queue.getJob(p.key);
        try {
          await job?.remove();
        } catch {
          continue; /* taken meanwhile: look again next time */
        }
        fail(
          p,
          `refused by every connected worker: ${[...p.refusals].map(([w, r]) => `${w}: ${r}`).join("; ")}`,
          0,
        );
      }
    }
  };

  const display = ctx.display !== false ? getRunContext().display : undefined;
  const displayId = `simvlm-queue-${ctx.grid.name}-${Date.now()}`;
  let first = true;
  const show = (final = false) => {
    const active = [...pending.values()];
    const running = active.filter((p) => p.state === "active");
    const parts = [
      `${running.length} running${running.length ? `: ${running.map((p) => `${p.spec.label} s${p.spec.seed} on ${p.worker}${p.progress ? ` ${p.progress.split(" ")[1] ?? ""}` : ""}`).join("; ")}` : ""}`,
      `${active.length - running.length} waiting`,
      `${failed.length} failed`,
    ];
    ctx.progress.update({ step: done, total: ctx.total, message: parts.join(" · ") });
    if (!display) return;
    const rows: RunStatusRow[] = [
      ...doneRows,
      ...active.map((p) => ({
        label: p.spec.label,
        seed: p.spec.seed,
        status:
          p.state === "active"
            ? "running"
            : p.refusals.size
              ? "refused"
              : p.state === "queued"
                ? "queued"
                : p.state,
        worker: p.worker,
        detail:
          p.state === "active"
            ? p.progress
            : p.refusals.size
              ? [...p.refusals].map(([w, r]) => `${w}: ${r}`).join("; ")
              : undefined,
      })),
    ];
    display(
      queueStatusBundle(ctx.grid.name, url, rows, {
        done,
        total: ctx.total,
        cached: ctx.cached,
        failed: failed.length,
        final,
      }),
      { displayId, update: !first },
    );
    first = false;
  };

  let round = 0;
  try {
    while (pending.size) {
      try {
        for (const p of [...pending.values()]) await abortable(inspect(p));
        if (round++ % 3 === 0) await abortable(checkRefusals());
        if (down) {
          down = false;
          emit({ kind: "connection", message: `the queue at ${url} is back` });
        }
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        if (!down) {
          down = true;
          emit({
            kind: "connection",
            message: `lost the queue at ${url} (${firstLine((e as Error).message)}): retrying`,
          });
        }
      }
      show();
      if (pending.size) await abortable(new Promise((r) => setTimeout(r, pollMs)));
    }
    show(true);
  } catch (e) {
    if (e instanceof AbortedError) {
      throw new AbortedError(
        `stopped waiting for grid "${ctx.grid.name}": ${pending.size} run${pending.size === 1 ? "" : "s"} stay on the queue and keep running on the workers; rerun the same command to collect them`,
      );
    }
    throw e;
  } finally {
    // Do not hang on a Redis that is away: give close a moment, then drop the connection.
    closing = true;
    await Promise.race([
      queue.close().catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    void queue.disconnect().catch(() => undefined);
  }
  return failed;
}

/** Names of the workers connected to the queue (BullMQ names their connections "…:w:NAME"). */
async function connectedWorkers(queue: Queue, db: string): Promise<string[]> {
  try {
    // CLIENT LIST shows the clients of every database: keep this one's.
    const clients = (await queue.getWorkers()).filter((c) => (c.db ?? "0") === db);
    return [
      ...new Set(
        clients.map((c) => (c.rawname ?? "").split(":w:")[1]).filter((n): n is string => !!n),
      ),
    ];
  } catch {
    return []; // CLIENT LIST not allowed (some hosted Redis): never fail runs on a guess
  }
}

function firstLine(s: string | undefined): string {
  return (s ?? "unknown error").split("\n")[0]!;
}

function fmtMetrics(m: Record<string, number>): string {
  return Object.entries(m ?? {})
    .slice(0, 4)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : Number(v).toFixed(4)}`)
    .join(", ");
}
