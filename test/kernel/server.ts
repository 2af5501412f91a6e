/**
 * Start Debian's jupyter_server or classic Notebook on a free port for a test. It always stops:
 * `stop()` in the caller's finally, on a failed start here, at the deadline, and — whatever the
 * test does — through test/procs.ts and test/proc-guard.mjs, which also reach the kernels the
 * server started in their own sessions.
 */
import { type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { freePorts, PYTHON } from "./client.ts";
import { spawnTracked } from "../procs.ts";

export interface RunningServer {
  url: string;
  token: string;
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

export async function startJupyter(
  kind: "jupyter_server" | "notebook",
  rootDir: string,
  jupyterPath: string,
  opts: { deadlineMs?: number } = {},
): Promise<RunningServer> {
  const [port] = await freePorts(1);
  const token = randomBytes(12).toString("hex");
  const app = kind === "jupyter_server" ? "ServerApp" : "NotebookApp";
  const args = [
    "-m",
    kind,
    "--no-browser",
    `--port=${port}`,
    "--ip=127.0.0.1",
    `--${app}.token=${token}`,
    `--${app}.${kind === "jupyter_server" ? "root_dir" : "notebook_dir"}=${rootDir}`,
    "--allow-root",
    `--${app}.port_retries=0`,
  ];
  const server = spawnTracked(PYTHON, args, {
    name: kind,
    deadlineMs: opts.deadlineMs ?? 600_000,
    cwd: rootDir,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      JUPYTER_PATH: jupyterPath,
      JUPYTER_CONFIG_DIR: `${rootDir}/.jupyter-config`,
      JUPYTER_RUNTIME_DIR: `${rootDir}/.jupyter-runtime`,
      JUPYTER_DATA_DIR: `${rootDir}/.jupyter-data`,
    },
  });
  const proc = server.proc;
  let log = "";
  proc.stdout!.on("data", (d) => {
    log += d;
  });
  proc.stderr!.on("data", (d) => {
    log += d;
  });
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 90_000;
  try {
    for (;;) {
      try {
        const r = await fetch(`${url}api/kernelspecs?token=${token}`);
        if (r.ok) break;
      } catch {
        /* not up yet */
      }
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`${kind} did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  return { url, token, proc, log: () => log, stop: () => server.stop() };
}
