/** A worker process for runGrid: runs one run function and reports progress and the result over IPC. */
import { existsSync } from "node:fs";
import { initBackend } from "../backend/index.ts";
import { setRunContext } from "../runtime.ts";
import { loadRunModules } from "./runner.ts";
import { getRun, registeredRuns } from "./registry.ts";
import type { Params } from "./grid.ts";

const controller = new AbortController();
// The parent is gone (killed, or done with this run): nobody waits for the run any more.
process.on("disconnect", () => process.exit());
const interruptFile = process.env.SIMVLM_INTERRUPT_FILE;
const parentPid = process.ppid;
// A training step never yields to the event loop, so neither the parent's "abort" message nor a
// SIGINT handler would run in time: the run's loops call this check at every step (lib/runtime.ts).
// The parent writes the marker file on interrupt; a parent that died stops the run too.
setRunContext({
  signal: controller.signal,
  pollInterrupt: () => {
    if (
      !controller.signal.aborted &&
      ((interruptFile !== undefined && existsSync(interruptFile)) || process.ppid !== parentPid)
    )
      controller.abort();
    return controller.signal.aborted;
  },
});
// Ctrl-C in a terminal and Jupyter's signal-mode interrupt reach the whole process group. While a run
// trains, this handler cannot run (see above): the parent's marker file stops it at the next step
// boundary, with its checkpoint saved. The handler keeps the signal from killing the worker
// mid-write, and aborts a run that is waiting on the event loop (between runs, or in an await).
process.on("SIGINT", () => controller.abort());

process.on(
  "message",
  async (m: {
    type: string;
    modules?: string[];
    run?: string;
    params?: Params;
    info?: { seed: number; dir: string; label: string; shared?: Record<string, unknown> };
  }) => {
    if (m.type === "abort") {
      controller.abort();
      return;
    }
    if (m.type !== "run") return;
    try {
      // A worker is a fresh process: every run function gets an initialized backend, whatever path
      // it takes to its first tensor.
      await initBackend();
      await loadRunModules(m.modules ?? []);
      const fn = getRun(m.run!);
      if (!fn)
        throw new Error(
          `no run function named "${m.run}" in the worker (registered: ${registeredRuns().join(", ")})`,
        );
      const output = await fn(m.params!, {
        ...m.info!,
        signal: controller.signal,
        onProgress: (p) => process.send?.({ type: "progress", progress: p }),
      });
      process.send?.({ type: "done", output }, () => process.exit(0));
    } catch (e) {
      if (!process.connected) process.exit(1);
      process.send?.(
        {
          type: "error",
          error: (e as Error).stack ?? String(e),
          aborted: controller.signal.aborted,
        },
        () => process.exit(1),
      );
    }
  },
);
