/** Start Debian's jupyter_server or classic Notebook on a free port for a test; always stop it. */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { freePorts, PYTHON } from "./client.ts";

export interface RunningServer { url: string; token: string; proc: ChildProcess; log: () => string; stop: () => Promise<void> }

export async function startJupyter(kind: "jupyter_server" | "notebook", rootDir: string, jupyterPath: string): Promise<RunningServer> {
  const [port] = await freePorts(1);
  const token = randomBytes(12).toString("hex");
  const app = kind === "jupyter_server" ? "ServerApp" : "NotebookApp";
  const args = ["-m", kind, "--no-browser", `--port=${port}`, "--ip=127.0.0.1", `--${app}.token=${token}`,
    `--${app}.${kind === "jupyter_server" ? "root_dir" : "notebook_dir"}=${rootDir}`, "--allow-root", `--${app}.port_retries=0`];
  const proc = spawn(PYTHON, args, {
    cwd: rootDir, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, JUPYTER_PATH: jupyterPath, JUPYTER_CONFIG_DIR: `${rootDir}/.jupyter-config`, JUPYTER_RUNTIME_DIR: `${rootDir}/.jupyter-runtime`, JUPYTER_DATA_DIR: `${rootDir}/.jupyter-data` },
  });
  let log = "";
  proc.stdout!.on("data", (d) => { log += d; });
  proc.stderr!.on("data", (d) => { log += d; });
  const url = `http://127.0.0.1:${port}/`;
  const stop = async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (proc.exitCode === null) proc.kill("SIGKILL");
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const r = await fetch(`${url}api/kernelspecs?token=${token}`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (proc.exitCode !== null || Date.now() > deadline) { await stop(); throw new Error(`${kind} did not start:\n${log}`); }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, token, proc, log: () => log, stop };
}
