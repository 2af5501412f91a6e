/**
 * A queue worker (`simvlm worker --queue URL`): a BullMQ Worker that takes runs from Redis, runs
 * each in its own child process (lib/experiments/worker.ts, the same child the local runner forks,
 * so results are the same bit for bit) and returns the run's result and its small text files.
 *
 * - Only run functions registered in this process run: the built-in ones and the modules the worker
 *   was started with (`modules`). A job names a function; it never brings code.
 * - A job submitted at another code version, or naming a function this worker lacks, is refused: the
 *   worker says why (here and in the job's log, where the submitter reads it) and puts the job back
 *   for another worker, without spending one of its attempts.
 * - A run's folder is `STORE/runs/KEY` when the worker has a store both sides can read (checkpoints
 *   stay there, so a run taken over after a crash resumes from them); without one, a scratch folder
 *   that is deleted once the results are sent.
 * - The child runs in its own process group, so Ctrl-C in the worker's terminal reaches only the
 *   worker: close() lets running runs finish, close(true) stops them at a step boundary and puts
 *   them back in the queue. A worker killed outright loses its lock; BullMQ's stalled-job check then
 *   gives the run to another worker (after `lockMs`).
 */
import { fork, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import type { Progress } from "../../runtime.ts";
import { RunCache, type RunResult } from "../cache.ts";
import { codeVersion } from "../hash.ts";
import { getRun, registeredRuns, type RunOutput } from "../registry.ts";
import { loadRunModules } from "../runner.ts";
import {
  checkRedis,
  connectionOptions,
  DEFAULT_QUEUE_NAME,
  QueueError,
  redactUrl,
} from "./connection.ts";
import {
  collectResultFiles,
  jobDataProblem,
  REFUSED,
  type RunJobData,
  type RunJobResult,
} from "./jobs.ts";

export interface QueueWorkerOptions {
  /** redis://[user:pass@]HOST:PORT[/DB] or rediss://… (TLS). */
  queue: string;
  queueName?: string;
  /** Runs at once (each in its own process). Default 1. */
  concurrency?: number;
  /** A folder both this worker and the submitter can read (e.g. NFS): run folders and checkpoints stay there. */
  store?: string;
  /** Modules that register run functions (registerRun), imported here and in each run's process. */
  modules?: string[];
  /** How this worker is shown (default "host:pid"); no spaces. */
  name?: string;
  /**
   * How long a run's lock lasts without renewal, in ms (default 30000): a worker that dies loses its
   * runs to other workers after about this long (BullMQ's lockDuration and stalled-check interval).
   */
  lockMs?: number;
  /** Where the worker's lines go (default: stdout). */
  log?: (line: string) => void;
}

export interface QueueWorker {
  readonly name: string;
  readonly codeVersion: string;
  /** The runs this worker is running now. */
  running(): { key: string; label: string; seed: number }[];
  /** Stop taking runs. Graceful: wait for the running ones. force: stop them now and put them back. */
  close(force?: boolean): Promise<void>;
}

/** How long a refused job waits before a worker may take it again. */
const REFUSE_DELAY_MS = 3000;
const CHILD = fileURLToPath(new URL("../worker.ts", import.meta.url));
// tsx by absolute URL: `--import tsx` alone resolves from the cwd, which need not be this checkout.
const TSX = import.meta.resolve("tsx");

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const name = opts.name ?? `${hostname()}:${process.pid}`;
  if (!/^[^\s]+$/.test(name)) throw new QueueError(`worker name "${name}" must not contain spaces`);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new QueueError(`concurrency must be an integer ≥ 1, got ${concurrency}`, {
      option: "concurrency",
    });
  const lockMs = opts.lockMs ?? 30_000;
  if (!(lockMs >= 1000))
    throw new QueueError(`lockMs must be at least 1000 ms, got ${lockMs}`, { option: "lockMs" });
  const modules = (opts.modules ?? []).map((m) =>
    m.startsWith(".") || m.startsWith("/") ? resolve(m) : m,
  );
  const store = opts.store ? resolve(opts.store) : undefined;
  if (store) {
    try {
      mkdirSync(join(store, "runs"), { recursive: true });
    } catch (e) {
      throw new QueueError(`store ${store} cannot be written: ${(e as Error).message}`, {
        option: "store",
      });
    }
  }
  const log = opts.log ?? ((line: string) => console.log(line));
  await checkRedis(opts.queue);
  await loadRunModules(modules);
  const version = codeVersion();
  const scratch = store ? undefined : mkdtempSync(join(tmpdir(), "simvlm-worker-"));
  const children = new Map<string, { child: ChildProcess; label: string; seed: number }>();
  const saidOnce = new Set<string>();
  let forcing = false;

  const processor = async (job: Job, token?: string): Promise<RunJobResult> => {
    const problem =
      jobDataProblem(job.data) ??
      (job.data.key !== job.id
        ? `field "key" (${job.data.key}) is not the job id ${job.id}`
        : undefined);
    if (problem) {
      log(`rejects job ${job.id}: ${problem}`);
      throw new UnrecoverableError(`worker ${name} rejects job ${job.id}: ${problem}`);
    }
    const d = job.data as RunJobData;
    const what = `${d.label} seed ${d.seed} (${d.key})`;
    const refuse = async (reason: string): Promise<never> => {
      if (!saidOnce.has(reason)) {
        saidOnce.add(reason);
        log(`refuses ${what}: ${reason}`);
      }
      await job.log(`${REFUSED}\t${name}\t${reason}`);
      await job.moveToDelayed(Date.now() + REFUSE_DELAY_MS, token);
      throw new DelayedError();
    };
    if (d.codeVersion !== version)
      await refuse(
        `this worker's code version ${version} differs from the submitter's ${d.codeVersion}; update its checkout to the submitter's and restart it`,
      );
    if (!getRun(d.run))
      await refuse(
        `no run function "${d.run}" here (registered: ${registeredRuns().join(", ")}); start the worker with --module FILE that registers it`,
      );

    // The key names the run's code, params, seed and resources, so a finished result in the store
    // is this job's answer: send it instead of training again (Redis lost the job, or a submitter
    // without the result in its own cache asked again).
    const stored = store ? new RunCache(store).get(d.key) : undefined;
    if (stored && stored.codeVersion === d.codeVersion) {
      const dir = new RunCache(store).runDir(d.key);
      log(`sends ${what} from the store (finished ${stored.finishedAt}); nothing is trained again`);
      return { ...jobResult(stored, dir, name, dir, stored), fromStore: true };
    }
    const attempt = `attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`;
    log(
      `takes ${what}, ${attempt}${job.stalledCounter ? ` (taken over after ${job.stalledCounter} stall${job.stalledCounter > 1 ? "s" : ""})` : ""}`,
    );
    const started = new Date();
    const spec = { run: d.run, label: d.label, params: d.params, seed: d.seed, diff: d.diff };
    const dir = store ? new RunCache(store).begin(d.key, spec) : join(scratch!, d.key);
    mkdirSync(dir, { recursive: true });
    let lastSent = 0;
    const onProgress = (p: Progress) => {
      const now = Date.now();
      if (now - lastSent < 1000 && p.step !== p.total) return;
      lastSent = now;
      job.updateProgress({ step: p.step, total: p.total, message: p.message }).catch(() => {
        /* progress is best effort */
      });
    };
    try {
      const out = await runChild(
        d,
        dir,
        modules,
        onProgress,
        (line) => log(`  [${d.label} seed ${d.seed}] ${line}`),
        (child) => children.set(d.key, { child, label: d.label, seed: d.seed }),
      );
      const finished = new Date();
      const seconds = (finished.getTime() - started.getTime()) / 1000;
      if (store) {
        const r: RunResult = {
          key: d.key,
          ...spec,
          codeVersion: d.codeVersion,
          metrics: out.metrics,
          ...(out.na ? { na: out.na } : {}),
          ...(out.items ? { items: out.items } : {}),
          extra: out.extra,
          startedAt: started.toISOString(),
          finishedAt: finished.toISOString(),
          seconds,
          grid: d.grid,
        };
        new RunCache(store).finish(r);
      }
      log(
        `done ${what} in ${seconds.toFixed(1)} s: ${fmtMetrics(out.metrics)}${store ? `; checkpoints in ${dir}` : "; no --store: only results go back"}`,
      );
      return jobResult(out, dir, name, store ? dir : undefined, {
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        seconds,
      });
    } catch (e) {
      if ((e as { aborted?: boolean }).aborted && forcing) {
        // Stopped by a second Ctrl-C: back to the queue for another worker, without spending an attempt.
        log(`stopped ${what}; it goes back to the queue`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const msg = (e as Error).message;
      log(`failed ${what}, ${attempt}: ${msg}`);
      throw new Error(msg);
    } finally {
      children.delete(d.key);
      if (!store) rmSync(dir, { recursive: true, force: true });
    }
  };

  const worker = new Worker(opts.queueName ?? DEFAULT_QUEUE_NAME, processor, {
    connection: connectionOptions(opts.queue),
    name,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
  });
  let lastError = "";
  worker.on("error", (e) => {
    const m = (e as Error).message;
    if (m !== lastError) {
      lastError = m;
      log(`queue error (${redactUrl(opts.queue)}): ${m}; reconnecting`);
    }
  });
  worker.on("ready", () => {
    if (lastError) {
      lastError = "";
      log(`connected again to ${redactUrl(opts.queue)}`);
    }
  });
  worker.on("stalled", (jobId) =>
    log(`run ${jobId} stalled (its worker stopped renewing the lock): back to the queue`),
  );
  await worker.waitUntilReady();
  log(
    `worker ${name} on ${redactUrl(opts.queue)} (queue ${opts.queueName ?? DEFAULT_QUEUE_NAME}), code version ${version}, ${concurrency} at a time; ` +
      `runs: ${registeredRuns().join(", ")}${modules.length ? ` (modules: ${modules.join(", ")})` : " (built-in only; --module FILE adds more)"}; ` +
      (store
        ? `store ${store}`
        : "no --store: checkpoints are discarded after each run, only results go back"),
  );

  let closing: Promise<void> | undefined;
  return {
    name,
    codeVersion: version,
    running: () =>
      [...children.entries()].map(([key, c]) => ({ key, label: c.label, seed: c.seed })),
    async close(force = false) {
      if (force) {
        forcing = true;
        for (const { child } of children.values())
          if (child.connected) child.send({ type: "abort" });
      }
      closing ??= worker.close().finally(() => {
        if (scratch) rmSync(scratch, { recursive: true, force: true });
      });
      await closing;
    },
  };
}

function fmtMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(", ");
}

/**
 * Run one run function in a child process (lib/experiments/worker.ts): its own process group, its
 * output to DIR/run.log and to `echo`. Rejects with the run's error (`aborted` set when it stopped
 * on an abort).
 */
function runChild(
  d: RunJobData,
  dir: string,
  modules: string[],
  onProgress: (p: Progress) => void,
  echo: (line: string) => void,
  started: (child: ChildProcess) => void,
): Promise<RunOutput> {
  const child = fork(CHILD, [], {
    execArgv: ["--import", TSX],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    detached: true,
    env: { ...process.env, SIMVLM_WORKER: "1" },
  });
  started(child);
  const logFile = createWriteStream(join(dir, "run.log"), { flags: "a" });
  let errorLine = "";
  for (const s of [child.stdout!, child.stderr!]) {
    s.on("data", (b: Buffer) => {
      logFile.write(b);
      for (const line of b.toString().split("\n")) {
        if (!line.trim()) continue;
        echo(line);
        if (/^\w*Error\b/.test(line.trim())) errorLine = line.trim();
      }
    });
  }
  return new Promise<RunOutput>((res, rej) => {
    child.on(
      "message",
      (m: {
        type: string;
        output?: RunOutput;
        error?: string;
        progress?: Progress;
        aborted?: boolean;
      }) => {
        if (m.type === "progress" && m.progress) onProgress(m.progress);
        else if (m.type === "done") res(m.output!);
        else if (m.type === "error") {
          const firstLine = (m.error ?? "unknown error").split("\n")[0]!;
          rej(Object.assign(new Error(firstLine), { aborted: m.aborted }));
        }
      },
    );
    child.on("exit", (code, signal) =>
      rej(
        new Error(
          `the run's process exited (${signal ?? `code ${code}`}) before finishing${errorLine ? `: ${errorLine}` : ""}`,
        ),
      ),
    );
    child.send({
      type: "run",
      modules,
      run: d.run,
      params: d.params,
      info: { seed: d.seed, dir, label: d.label },
    });
  }).finally(() => {
    if (child.connected) child.disconnect();
    logFile.end();
  });
}

/** A job's result: a run's output (fresh or stored) and the result files of its folder `dir`. */
function jobResult(
  out: Pick<RunJobResult, "metrics" | "na" | "items" | "extra">,
  dir: string,
  worker: string,
  store: string | undefined,
  time: Pick<RunJobResult, "startedAt" | "finishedAt" | "seconds">,
): RunJobResult {
  const { files, leftOut } = collectResultFiles(dir);
  return {
    metrics: out.metrics,
    ...(out.na ? { na: out.na } : {}),
    ...(out.items ? { items: out.items } : {}),
    extra: out.extra,
    files,
    leftOut,
    worker,
    store,
    startedAt: time.startedAt,
    finishedAt: time.finishedAt,
    seconds: time.seconds,
  };
}
