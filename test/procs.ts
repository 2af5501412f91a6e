/**
 * Start a server, kernel or worker for a test so that it always stops: in its own process group
 * (one signal reaches its children), with its own token in SIMVLM_TEST_TREE (which also reaches
 * what escapes the group, such as the kernels a Jupyter server starts in new sessions), and with a
 * deadline after which it is stopped whatever the test is doing. `stop()` is idempotent: call it
 * in `finally`/`after`. test/proc-guard.mjs is the last line of defence when a test never gets there.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { envWithToken, killTree, newToken, processesWithToken } from "./proc-guard.mjs";

export interface Tracked {
  proc: ChildProcess;
  /** The SIMVLM_TEST_TREE token every process of this tree carries. */
  token: string;
  /** SIGTERM to the group, then (after graceMs) SIGKILL to the group and to every process with the token. */
  stop(graceMs?: number): Promise<void>;
  /** Processes of this tree still alive (pids and command lines). */
  alive(): { pid: number; cmd: string }[];
}

export function spawnTracked(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { deadlineMs?: number; name?: string } = {},
): Tracked {
  const token = newToken("s");
  const { deadlineMs, name, ...spawnOpts } = opts;
  const proc = spawn(cmd, args, {
    ...spawnOpts,
    detached: true,
    env: envWithToken(token, spawnOpts.env ?? process.env),
  });
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) r();
    else proc.once("exit", () => r());
  });
  proc.once("error", () => {
    /* spawn failure: reported by the caller's readiness check; stop() still runs */
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    if (proc.pid) {
      try {
        process.kill(-proc.pid, sig);
      } catch {
        /* group gone */
      }
    }
  };
  const stop = (graceMs = 5000): Promise<void> =>
    (stopping ??= (async () => {
      clearTimeout(deadline);
      signalGroup("SIGTERM");
      // Graceful first: a Jupyter server shuts its kernels down on SIGTERM.
      const end = Date.now() + graceMs;
      await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
      while (Date.now() < end && processesWithToken(token).length)
        await new Promise((r) => setTimeout(r, 100));
      signalGroup("SIGKILL");
      killTree(token, "SIGKILL");
      for (const s of [proc.stdin, proc.stdout, proc.stderr]) s?.destroy();
    })());
  const deadline = deadlineMs
    ? setTimeout(() => {
        process.stderr.write(
          `# ${name ?? cmd}: still running after ${deadlineMs / 1000} s, stopping it\n`,
        );
        void stop(2000);
      }, deadlineMs)
    : undefined;
  deadline?.unref();
  return { proc, token, stop, alive: () => processesWithToken(token) };
}
