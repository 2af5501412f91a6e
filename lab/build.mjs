#!/usr/bin/env node
// Installs and bundles the JupyterLab front end of lab/ once, and caches it (plain JavaScript with no
// dependencies: `npm start` imports it before anything else is installed).
//
//   node lab/build.mjs [--mode production|development] [--status] [--quiet]
//
// Cache layout, under $SIMVLM_CACHE_DIR/lab, else $XDG_CACHE_HOME/simvlm/lab, else ~/.cache/simvlm/lab
// (outside the repository, so every clone and worktree of this project shares one ~500 MB install):
//   <install key>/              package.json + package-lock.json + node_modules (`npm ci`)
//   <install key>/app-<src key>/ a copy of lab/'s sources, bundled from there
//   <install key>/app-<src key>/build-<mode>/  what lab/server.py serves (bundle.js, schemas, themes)
// The install key hashes lab/package.json and lab/package-lock.json, so a changed lock reinstalls;
// the source key adds the bundled sources, so a changed renderer rebuilds without reinstalling.
// Both steps write into a temporary folder that is renamed when complete: a half-done install or
// build is never used, and a lock folder keeps two processes from doing the same work at once.
import { spawnSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const LAB_SRC = dirname(fileURLToPath(import.meta.url));
/** Files of lab/ that the bundle is made from (lab/server.py, templates/ and settings/ are used in place). */
const BUNDLED = [
  "package.json",
  "package-lock.json",
  "index.js",
  "plotly-renderer.js",
  "bundle.cjs",
];
/**
 * Files from elsewhere in the repository that the bundle includes, by their name in the app folder:
 * how a figure's static picture is drawn and stored, shared with the kernel (lib/display/plotly.ts).
 */
const SHARED = { "plotly-picture.cjs": "../lib/display/plotly-picture.cjs" };
/** `npm start` serves the production build (minified, 16 MB); see docs/jupyterlab.md for the numbers. */
export const DEFAULT_MODE = "production";

export class LabBuildError extends Error {
  /** step: "install" (npm ci: usually no network) or "bundle" (a real build failure). */
  constructor(step, message, command) {
    super(message);
    this.step = step;
    this.command = command;
  }
}

export function labCacheRoot(env = process.env) {
  if (env.SIMVLM_LAB_CACHE) return env.SIMVLM_LAB_CACHE;
  return join(
    env.SIMVLM_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "simvlm"),
    "lab",
  );
}

const hash = (files) => {
  const h = createHash("sha256");
  for (const f of files)
    h.update(f)
      .update("\0")
      .update(readFileSync(join(LAB_SRC, f)))
      .update("\0");
  return h.digest("hex").slice(0, 16);
};

/** Where the install and the build for `mode` are (or would be), and whether they are done. */
export function labPlan(mode = DEFAULT_MODE, env = process.env) {
  if (!["production", "development"].includes(mode))
    throw new LabBuildError(
      "bundle",
      `unknown lab build mode "${mode}" (production or development)`,
    );
  const root = labCacheRoot(env);
  const installDir = join(root, hash(["package.json", "package-lock.json"]));
  const appDir = join(installDir, `app-${hash([...BUNDLED, ...Object.values(SHARED)])}`);
  const buildDir = join(appDir, `build-${mode}`);
  return {
    mode,
    root,
    installDir,
    appDir,
    buildDir,
    installed: existsSync(join(installDir, "node_modules", ".package-lock.json")),
    built: existsSync(join(buildDir, "build-info.json")),
    command: `node ${join(LAB_SRC, "build.mjs")} --mode ${mode}`,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
};

/** A lock folder next to `dir`: waits while another live process holds it; a dead holder's lock is taken over. */
async function withLock(dir, log, fn) {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    let pid = 0;
    try {
      pid = Number(readFileSync(join(lock, "pid"), "utf8"));
    } catch {
      /* being written */
    }
    if (pid && !alive(pid)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (waited === 0)
      log(`waiting for another process (pid ${pid || "?"}) that is preparing ${dir}`);
    await sleep(1000);
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Run a command; its output goes to the terminal (`inherit`) or is kept for the error message. */
function runStep(cmd, argv, { cwd, quiet, env }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, {
      cwd,
      env: { ...process.env, ...env },
      stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit",
    });
    let out = "";
    child.stdout?.on("data", (d) => {
      out = (out + d).slice(-20_000);
    });
    child.stderr?.on("data", (d) => {
      out = (out + d).slice(-20_000);
    });
    // Stopping us (Ctrl-C in npm start, a test's teardown) stops the install or build too.
    const stop = () => child.kill("SIGTERM");
    process.once("exit", stop);
    child.on("error", (e) => {
      process.off("exit", stop);
      resolve({ status: 1, out: `${out}\n${e.message}` });
    });
    child.on("close", (status, signal) => {
      process.off("exit", stop);
      resolve({ status: status ?? (signal ? 1 : 0), out });
    });
  });
}

const tail = (s, n = 15) =>
  s
    .trim()
    .split("\n")
    .slice(-n)
    .map((l) => `    ${l}`)
    .join("\n");
const du = (dir) => {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += statSync(join(e.parentPath ?? e.path, e.name)).size;
  return n;
};

/** Newest first: the entries of `dir` whose names match `re`, with their last-use time. */
const byAge = (dir, re) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && re.test(e.name))
    .map((e) => ({ dir: join(dir, e.name), t: statSync(join(dir, e.name)).mtimeMs }))
    .sort((a, b) => b.t - a.t);

/**
 * Keep the two most recently used installs (~520 MB each) and builds of sources (16–27 MB each),
 * and remove what a killed process left half-done (`*.tmp-<pid>` of a pid that is gone).
 */
function prune(root, current) {
  for (const { dir } of byAge(root, /^[0-9a-f]{16}$/)
    .filter((d) => d.dir !== current.installDir)
    .slice(1))
    if (!existsSync(`${dir}.lock`)) rmSync(dir, { recursive: true, force: true });
  for (const { dir } of byAge(current.installDir, /^app-[0-9a-f]{16}$/)
    .filter((d) => d.dir !== current.appDir)
    .slice(1))
    rmSync(dir, { recursive: true, force: true });
  for (const parent of [root, current.installDir, current.appDir]) {
    for (const { dir } of byAge(parent, /\.tmp-\d+$/))
      if (!alive(Number(dir.slice(dir.lastIndexOf("-") + 1))))
        rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Make sure the build for `mode` exists: `npm ci` into the cache (first time, or after the lock
 * changed), then bundle. Resolves to the plan (plan.buildDir is ready); throws LabBuildError.
 * log: progress lines; quiet: keep npm's and rspack's output out of the terminal.
 */
export async function ensureLab({
  mode = DEFAULT_MODE,
  log = () => {},
  quiet = false,
  env = process.env,
} = {}) {
  let plan = labPlan(mode, env);
  if (plan.built) {
    // mark as used, for prune()
    const now = new Date();
    for (const d of [plan.installDir, plan.appDir]) utimesSync(d, now, now);
    return plan;
  }
  await withLock(plan.installDir, log, async () => {
    if (labPlan(mode, env).installed) return;
    const tmp = `${plan.installDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const f of ["package.json", "package-lock.json"]) cpSync(join(LAB_SRC, f), join(tmp, f));
    log(
      `installing JupyterLab's npm packages into ${plan.installDir} (once: ~520 MB, 1–4 minutes)`,
    );
    const t0 = Date.now();
    // Short network timeouts: offline, this fails in seconds instead of npm's default five minutes.
    const r = await runStep(
      "npm",
      [
        "ci",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--fetch-timeout=60000",
        "--fetch-retries=1",
      ],
      { cwd: tmp, quiet },
    );
    if (r.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new LabBuildError(
        "install",
        `installing JupyterLab's npm packages failed (npm ci in ${tmp})${r.out ? `:\n${tail(r.out)}` : ""}`,
        plan.command,
      );
    }
    rmSync(plan.installDir, { recursive: true, force: true }); // an install someone broke (we hold the lock)
    renameSync(tmp, plan.installDir);
    log(`installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });
  await withLock(plan.buildDir, log, async () => {
    if (labPlan(mode, env).built) return;
    mkdirSync(plan.appDir, { recursive: true });
    for (const f of BUNDLED) cpSync(join(LAB_SRC, f), join(plan.appDir, f));
    for (const [name, src] of Object.entries(SHARED))
      cpSync(join(LAB_SRC, src), join(plan.appDir, name));
    const tmp = `${plan.buildDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    log(`bundling JupyterLab (${mode} build) into ${plan.buildDir}`);
    const t0 = Date.now();
    const r = await runStep(process.execPath, ["bundle.cjs", "--mode", mode, "--out", tmp], {
      cwd: plan.appDir,
      quiet,
    });
    if (r.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new LabBuildError(
        "bundle",
        `bundling JupyterLab failed${r.out ? `:\n${tail(r.out, 30)}` : " (see above)"}`,
        plan.command,
      );
    }
    const version = (name) =>
      JSON.parse(readFileSync(join(plan.installDir, "node_modules", name, "package.json"), "utf8"))
        .version;
    const info = {
      mode,
      jupyterlab: version("@jupyterlab/application"),
      plotly: version("plotly.js-cartesian-dist-min"),
      seconds: (Date.now() - t0) / 1000,
      bytes: du(tmp),
      built: new Date().toISOString(),
    };
    writeFileSync(join(tmp, "build-info.json"), JSON.stringify(info, null, 2));
    rmSync(plan.buildDir, { recursive: true, force: true });
    renameSync(tmp, plan.buildDir);
    log(`bundled in ${info.seconds.toFixed(0)} s (${(info.bytes / 1e6).toFixed(0)} MB)`);
    try {
      prune(plan.root, plan);
    } catch {
      /* another process may be pruning too */
    }
  });
  plan = labPlan(mode, env);
  return plan;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf("--mode");
  const mode = i >= 0 ? argv[i + 1] : DEFAULT_MODE;
  const log = (m) => console.log(`[simvlm lab] ${m}`);
  if (argv.includes("--status")) {
    const p = labPlan(mode);
    console.log(JSON.stringify({ ...p, command: undefined }, null, 2));
    process.exit(p.built ? 0 : 1);
  }
  ensureLab({ mode, log, quiet: argv.includes("--quiet") })
    .then((p) => {
      log(`ready: ${p.buildDir}`);
    })
    .catch((e) => {
      console.error(`[simvlm lab] ${e.message}`);
      process.exit(1);
    });
}
