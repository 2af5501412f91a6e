/** A worker process for runGrid: runs one run function and reports progress and the result over IPC. */
import { loadRunModules } from "./runner.ts";
import { getRun, registeredRuns } from "./registry.ts";
import type { Params } from "./grid.ts";

const controller = new AbortController();
// The parent is gone (killed, or done with this run): nobody waits for the run any more.
process.on("disconnect", () => process.exit());

process.on("message", async (m: { type: string; modules?: string[]; run?: string; params?: Params; info?: { seed: number; dir: string; label: string; shared?: Record<string, unknown> } }) => {
  if (m.type === "abort") { controller.abort(); return; }
  if (m.type !== "run") return;
  try {
    await loadRunModules(m.modules ?? []);
    const fn = getRun(m.run!);
    if (!fn) throw new Error(`no run function named "${m.run}" in the worker (registered: ${registeredRuns().join(", ")})`);
    const output = await fn(m.params!, { ...m.info!, signal: controller.signal,
      onProgress: (p) => process.send?.({ type: "progress", progress: p }) });
    process.send?.({ type: "done", output }, () => process.exit(0));
  } catch (e) {
    process.send?.({ type: "error", error: (e as Error).stack ?? String(e), aborted: controller.signal.aborted }, () => process.exit(1));
  }
});
