// Starting and stopping a Jupyter server so that nothing outlives it: used by `npm start` and by the
// browser tests (plain JavaScript with no dependencies, like lab/build.mjs).
//
// The server runs in a process group of its own, so a terminal's Ctrl-C reaches `npm start` only,
// which then stops the server the clean way (SIGTERM: jupyter_server shuts its kernels down). Kernels
// run in sessions of their own (jupyter_client starts them so), so they are found as the server's
// child processes before it stops and are killed afterwards if they are still there.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const LAB_SRC = dirname(fileURLToPath(import.meta.url));

/** A TCP port free on 127.0.0.1 right now (the server is started with port_retries=0 on it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Process ids whose parent is `pid` (Linux /proc; an empty list elsewhere). */
export function childPids(pid) {
  if (!existsSync("/proc")) return [];
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid)
        out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
};
const kill = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
};
/** Signal a process group, falling back to the process when it leads none. */
const killGroup = (pid, sig) => {
  try {
    process.kill(-pid, sig);
  } catch {
    kill(pid, sig);
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pids, ms) {
  const end = Date.now() + ms;
  while (pids.some(alive) && Date.now() < end) await sleep(100);
  return !pids.some(alive);
}

/**
 * Start a Jupyter server (`cmd argv`) in its own process group. Returns { proc, stop, stopNow, log }:
 * stop() asks it to shut down (SIGTERM), waits up to `graceMs`, then kills the group and any kernel
 * still running; stopNow() does the killing at once and synchronously (for process 'exit').
 * With `capture`, output is kept for log() instead of going to the terminal.
 */
export function spawnServer(
  cmd,
  argv,
  { cwd, env = process.env, capture = false, graceMs = 10_000 } = {},
) {
  const proc = spawn(cmd, argv, {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
  });
  let log = "";
  if (capture)
    for (const s of [proc.stdout, proc.stderr])
      s.on("data", (d) => {
        log = (log + d).slice(-200_000);
      });
  const exited = new Promise((r) => proc.once("exit", r));
  const seen = new Set(); // kernels and other children, remembered while the server is alive
  const remember = () => {
    if (proc.exitCode === null && proc.pid) for (const c of childPids(proc.pid)) seen.add(c);
  };
  const watch = setInterval(remember, 2000);
  watch.unref();
  proc.once("exit", () => clearInterval(watch));

  const stopNow = () => {
    remember();
    clearInterval(watch);
    if (proc.exitCode === null && proc.signalCode === null) killGroup(proc.pid, "SIGKILL");
    for (const c of seen) killGroup(c, "SIGKILL");
  };
  let stopping;
  const stop = () =>
    (stopping ??= (async () => {
      remember();
      clearInterval(watch);
      if (proc.exitCode === null && proc.signalCode === null) {
        killGroup(proc.pid, "SIGTERM");
        await Promise.race([exited, sleep(graceMs)]);
        if (proc.exitCode === null && proc.signalCode === null) {
          killGroup(proc.pid, "SIGKILL");
          await exited;
        }
      }
      const left = [...seen].filter(alive);
      for (const c of left) killGroup(c, "SIGTERM");
      if (!(await waitGone(left, 3000))) for (const c of left) killGroup(c, "SIGKILL");
      process.off("exit", stopNow);
    })());
  process.on("exit", stopNow);
  return {
    proc,
    stop,
    stopNow,
    log: () => log,
    kernels: () => {
      remember();
      return [...seen].filter(alive);
    },
  };
}

/** Poll `url` until it answers 2xx; rejects when the process exits first or after `ms`. */
export async function waitForHttp(url, proc, ms = 90_000, log = () => "") {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(
        `the server exited (${proc.exitCode ?? proc.signalCode}) before answering ${url}:\n${log()}`,
      );
    if (Date.now() > end)
      throw new Error(`the server did not answer ${url} within ${ms / 1000} s:\n${log()}`);
    await sleep(250);
  }
}

/** argv for lab/server.py serving `buildDir` (jupyter_server options follow it). */
export function labServerArgv(buildDir, options = []) {
  return [join(LAB_SRC, "server.py"), "--build", buildDir, ...options];
}
