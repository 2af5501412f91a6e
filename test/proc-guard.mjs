// Nothing a test starts outlives it. Loaded into every test process by test/run.js
// (`node --import test/proc-guard.mjs`), plain JavaScript so it loads before anything else.
//
// Every process a test starts inherits the environment variable SIMVLM_TEST_TREE, a list of tokens:
// test/run.js puts the run's token there, this module appends one per test process, and
// test/procs.ts one per server or kernel it starts. A process keeps its tokens whatever it does
// later — a new process group, a new session (Jupyter starts kernels that way), a double fork — so
// `killTree(token)` finds all of them by reading /proc/PID/environ (Linux). Process groups alone
// would miss the kernels a Jupyter server starts.
//
// This module: kills what is left of this test process's tree when it exits (normally, on an
// uncaught error, on SIGINT/SIGTERM/SIGHUP); and once the file's tests are done, gives the file
// GRACE_MS to exit on its own, then reports and kills what is left and exits, so a test that timed
// out while a server kept its pipes open cannot hang the run.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeSync } from "node:fs";

export const TREE_VAR = "SIMVLM_TEST_TREE";
// How long a file may take to exit after its tests are done (a test of this module shortens it).
const GRACE_MS = Number(process.env.SIMVLM_TEST_GUARD_GRACE_MS ?? 10_000);

/** A fresh token, and the environment (based on `env`) that carries it to a child and its descendants. */
export function newToken(prefix = "t") {
  return `${prefix}${process.pid}-${randomBytes(4).toString("hex")}`;
}
export function envWithToken(token, env = process.env) {
  return { ...env, [TREE_VAR]: `${env[TREE_VAR] ?? ""} ${token}`.trim() };
}

/** Processes (other than this one) whose environment carries `token`: [{ pid, cmd }]. */
export function processesWithToken(token) {
  const out = [];
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    let env;
    try {
      env = readFileSync(`/proc/${p}/environ`, "latin1");
    } catch {
      continue;
    } // gone, or not ours
    const line = env.split("\0").find((l) => l.startsWith(`${TREE_VAR}=`));
    if (
      !line ||
      !line
        .slice(TREE_VAR.length + 1)
        .split(" ")
        .includes(token)
    )
      continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, "latin1").split("\0").join(" ").trim();
    } catch {
      /* gone */
    }
    // A zombie has an empty cmdline and is only waiting for its parent: nothing to kill.
    try {
      if (/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${p}/stat`, "latin1"))) continue;
    } catch {
      continue;
    }
    out.push({ pid, cmd });
  }
  return out;
}

/** Send `signal` to every process carrying `token`; returns them. Synchronous (usable on exit). */
export function killTree(token, signal = "SIGKILL") {
  const found = processesWithToken(token);
  for (const { pid } of found) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  return found;
}

// This process's own token: everything it starts from now on carries it.
export const OWN_TOKEN = newToken("p");
process.env[TREE_VAR] = `${process.env[TREE_VAR] ?? ""} ${OWN_TOKEN}`.trim();

// tsx's esbuild service lives as long as the process that uses it: killed with the rest, not reported.
const NOT_A_LEAK = /\/esbuild(\.exe)? --service=/;

function sweep(why) {
  const left = killTree(OWN_TOKEN).filter((p) => !NOT_A_LEAK.test(p.cmd));
  if (left.length) {
    // Synchronous: this runs on exit and in signal handlers, where a write to a pipe could be lost.
    writeSync(
      2,
      `# test guard (${why}): killed ${left.length} process(es) a test left running:\n` +
        left.map((p) => `#   ${p.pid} ${p.cmd.slice(0, 160)}\n`).join(""),
    );
  }
}

process.on("exit", () => sweep("exit"));
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  // Other listeners (node's test runner has some) would keep the process alive: drop them, then die
  // of the signal as if nobody had handled it.
  process.once(sig, () => {
    sweep(sig);
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  });
}

// In a test file's process (node --test runs each file in its own): once its tests are done.
if (process.env.NODE_TEST_CONTEXT) {
  const { after } = await import("node:test");
  after(() => {
    setTimeout(() => {
      sweep(`tests done ${GRACE_MS / 1000} s ago, the file had not exited`);
      process.exit();
    }, GRACE_MS).unref();
  });
}
