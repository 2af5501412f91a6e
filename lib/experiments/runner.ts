/**
 * The ablation runner. `runGrid` expands a grid, skips every run whose result is cached, and runs
 * the rest — in this process (workers: 0) or in parallel worker processes — writing each result as
 * it finishes, so an interrupted grid resumes where it stopped and a rerun with nothing changed does
 * no training at all.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AbortedError,
  isInterrupted,
  runSignal,
  startProgress,
  throwIfAborted,
  type LongRunOptions,
  type Progress,
} from "../runtime.ts";
import { RunCache, runKey, type RunResult } from "./cache.ts";
import { codeVersion } from "./hash.ts";
import { expandGrid, validateGrid, GridError, type GridSpec, type RunSpec } from "./grid.ts";
import { RunsTable } from "./table.ts";
import {
  getGridPrepare,
  getRun,
  registeredRuns,
  type GridResources,
  type RunOutput,
} from "./registry.ts";
import { registerBuiltinRuns } from "./runs.ts";
import type { QueueEvent } from "./queue/types.ts";

/** Register the built-in run functions and import the grid's own modules (which register theirs). */
export async function loadRunModules(modules: string[]): Promise<void> {
  registerBuiltinRuns();
  for (const m of modules) await import(m.startsWith(".") || m.startsWith("/") ? resolve(m) : m);
}

export interface GridOptions extends LongRunOptions {
  cacheDir?: string;
  /** 0 = run in this process (default when 1 core or custom functions); N = N worker processes. */
  workers?: number;
  /** Rerun even when cached. */
  force?: boolean;
  /** Called when each run finishes (cached results are reported too, with cached: true). */
  onRun?: (r: RunResult, cached: boolean) => void;
  /** Each run's own progress as it trains (in this process or a worker): a live plot per run draws it. */
  onRunProgress?: (spec: RunSpec, p: Progress) => void;
  /**
   * Run on workers anywhere instead (`simvlm worker --queue URL`): redis://[user:pass@]HOST:PORT[/DB]
   * or rediss:// for TLS. Runs that fail for good are listed in the table's `failed` (docs/queue.md).
   */
  queue?: string;
  /** With queue: retries of a run that throws (default 2), BullMQ queue name, what happens as it goes. */
  retries?: number;
  queueName?: string;
  onQueueEvent?: (e: QueueEvent) => void;
}

export function readGridFile(path: string): GridSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new GridError(`cannot read grid file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GridError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const grid = validateGrid(json, path);
  if (grid.module && !grid.module.startsWith("/")) grid.module = resolve(path, "..", grid.module);
  return grid;
}

/** Run (or fetch from the cache) every run of the grid; returns the runs table of this grid. */
export async function runGrid(
  gridOrPath: GridSpec | string,
  opts: GridOptions = {},
): Promise<RunsTable> {
  const grid = typeof gridOrPath === "string" ? readGridFile(gridOrPath) : validateGrid(gridOrPath);
  const cache = new RunCache(opts.cacheDir);
  const signal = runSignal(opts);
  const version = codeVersion();
  const specs = expandGrid(grid);
  const modules = grid.module ? [grid.module] : [];
  // On a queue the workers run the runs: this side needs only the built-in runs' once-per-grid
  // preparation (a grid's own module is loaded by the workers, given --module).
  await loadRunModules(opts.queue ? [] : modules);
  const run = getRun(grid.run);
  if (!run && !opts.queue)
    throw new GridError(
      `grid "${grid.name}": no run function named "${grid.run}" (registered: ${registeredRuns().join(", ") || "none"})`,
    );
  // Once per grid, before any run: shared resources (the grid's tokenizer) and the blind baselines.
  const prepare = getGridPrepare(grid.run);
  const resources: GridResources = prepare
    ? await prepare(specs, { cacheDir: cache.root, signal, onProgress: opts.onProgress })
    : { runs: [] };
  const keyed = specs.map((spec, i) => ({
    spec,
    key: runKey(spec, version, resources.runs[i]?.key),
    res: resources.runs[i],
  }));
  const results = new Map<string, RunResult>();
  const todo: typeof keyed = [];
  for (const k of keyed) {
    const cached = opts.force ? undefined : cache.get(k.key);
    if (cached) {
      results.set(k.key, cached);
      opts.onRun?.(cached, true);
    } else todo.push(k);
  }
  const progress = startProgress(`ablation ${grid.name}`, keyed.length, opts);
  let done = keyed.length - todo.length;
  progress.update({
    step: done,
    total: keyed.length,
    message: `${done} cached, ${todo.length} to run`,
  });
  if (opts.queue) {
    // Workers train the grid's tokenizer from the same spec (its content hash is in the run key);
    // the blind baselines were fitted here, once, and join the table as rows.
    const { runOnQueue } = await import("./queue/submit.ts");
    const failed = await runOnQueue(
      {
        queue: opts.queue,
        retries: opts.retries,
        queueName: opts.queueName,
        onEvent: opts.onQueueEvent,
      },
      {
        grid,
        todo,
        cache,
        version,
        force: opts.force,
        signal,
        progress,
        total: keyed.length,
        cached: done,
        display: opts.progress !== false,
        onResult: (r) => {
          results.set(r.key, r);
          opts.onRun?.(r, false);
          done++;
        },
      },
    ).finally(() => progress.done(`${done}/${keyed.length} runs done`));
    return new RunsTable(
      keyed.map((k) => results.get(k.key)).filter((r): r is RunResult => !!r),
      grid.base ?? {},
      resources.baselines ?? [],
      undefined,
      failed,
    );
  }

  const resourceKeys = new Map(keyed.map((k) => [k.key, k.res?.key]));
  const finish = (spec: RunSpec, key: string, out: RunOutput, started: Date) => {
    const finished = new Date();
    const res = resourceKeys.get(key);
    const r: RunResult = {
      key,
      run: spec.run,
      label: spec.label,
      params: spec.params,
      diff: spec.diff,
      seed: spec.seed,
      codeVersion: version,
      metrics: out.metrics,
      ...(out.na ? { na: out.na } : {}),
      ...(out.items ? { items: out.items } : {}),
      ...(res && Object.keys(res).length ? { resources: res } : {}),
      extra: out.extra,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      grid: grid.name,
    };
    cache.finish(r);
    results.set(key, r);
    opts.onRun?.(r, false);
    done++;
    progress.update({
      step: done,
      total: keyed.length,
      message: `${spec.label} seed ${spec.seed}: ${fmtMetrics(out.metrics)}`,
    });
  };

  /** A run's own progress: to the caller's per-run sink, and as the grid bar's message. */
  const runProgress = (spec: RunSpec, p: Progress) => {
    opts.onRunProgress?.(spec, p);
    progress.update({
      step: done,
      total: keyed.length,
      message: `${spec.label} seed ${spec.seed}: step ${p.step}/${p.total ?? "?"} ${p.message ?? ""}`,
    });
  };

  const workers = Math.min(opts.workers ?? 0, todo.length);
  try {
    if (workers <= 0) {
      for (const { spec, key, res } of todo) {
        throwIfAborted(signal, "ablation");
        const started = new Date();
        const dir = cache.begin(key, spec);
        const out = await run!(spec.params, {
          seed: spec.seed,
          dir,
          label: spec.label,
          signal,
          ...(res ? { shared: res.shared } : {}),
          onProgress: (p) => runProgress(spec, p),
        });
        finish(spec, key, out, started);
      }
    } else {
      await runInWorkers(todo, workers, modules, cache, signal, finish, runProgress);
    }
  } finally {
    progress.done(`${done}/${keyed.length} runs done`);
  }
  return new RunsTable(
    keyed.map((k) => results.get(k.key)).filter((r): r is RunResult => !!r),
    grid.base ?? {},
    resources.baselines ?? [],
  );
}

function fmtMetrics(m: Record<string, number>): string {
  return Object.entries(m)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(", ");
}

type Finish = (spec: RunSpec, key: string, out: RunOutput, started: Date) => void;

async function runInWorkers(
  todo: { spec: RunSpec; key: string; res?: { shared: Record<string, unknown> } }[],
  n: number,
  modules: string[],
  cache: RunCache,
  signal: AbortSignal | undefined,
  finish: Finish,
  onProgress: (spec: RunSpec, p: Progress) => void,
): Promise<void> {
  const workerPath = fileURLToPath(new URL("./worker.ts", import.meta.url));
  const queue = [...todo];
  const children = new Set<ChildProcess>();
  let failure: Error | undefined;
  // A worker busy in a training step never reads its IPC messages, so an interrupt also leaves a
  // marker file that the worker's synchronous interrupt check (worker.ts) looks for at every step.
  const markerDir = mkdtempSync(join(tmpdir(), "simvlm-grid-"));
  const interruptFile = join(markerDir, "interrupt");
  const onAbort = () => {
    try {
      writeFileSync(interruptFile, "");
    } catch {
      /* the IPC message below still goes */
    }
    for (const c of children) c.send?.({ type: "abort" });
  };
  signal?.addEventListener("abort", onAbort);
  const lane = async () => {
    while (queue.length && !failure && !isInterrupted(signal)) {
      const { spec, key, res: resources } = queue.shift()!;
      const dir = cache.begin(key, spec);
      const started = new Date();
      const child = fork(workerPath, [], {
        execArgv: ["--import", import.meta.resolve("tsx")],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, SIMVLM_WORKER: "1", SIMVLM_INTERRUPT_FILE: interruptFile },
      });
      children.add(child);
      try {
        const out = await new Promise<RunOutput>((res, rej) => {
          child.on(
            "message",
            (m: {
              type: string;
              output?: RunOutput;
              error?: string;
              progress?: Progress;
              aborted?: boolean;
            }) => {
              if (m.type === "progress" && m.progress) onProgress(spec, m.progress);
              else if (m.type === "done") res(m.output!);
              else if (m.type === "error")
                rej(
                  m.aborted
                    ? new AbortedError("ablation interrupted")
                    : new Error(`run ${spec.label} seed ${spec.seed} (${key}) failed: ${m.error}`),
                );
            },
          );
          child.on("exit", (code) =>
            rej(
              new Error(
                `worker for run ${spec.label} seed ${spec.seed} exited with code ${code} before finishing`,
              ),
            ),
          );
          child.send({
            type: "run",
            modules,
            run: spec.run,
            params: spec.params,
            info: {
              seed: spec.seed,
              dir,
              label: spec.label,
              ...(resources ? { shared: resources.shared } : {}),
            },
          });
        });
        finish(spec, key, out, started);
      } catch (e) {
        failure ??= e as Error;
      } finally {
        children.delete(child);
        if (child.connected) child.disconnect();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: n }, lane));
  } finally {
    signal?.removeEventListener("abort", onAbort);
    rmSync(markerDir, { recursive: true, force: true });
  }
  if (failure) throw failure;
  throwIfAborted(signal, "ablation");
}
