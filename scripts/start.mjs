#!/usr/bin/env node
// `npm start`: the first quick-start command. Plain JavaScript with no dependencies, because it runs
// before `npm ci` has installed anything. Steps: check Node → install npm dependencies if missing or
// stale → register the "simvlm" Jupyter kernel → find Jupyter (JupyterLab, else the classic Notebook;
// install Debian's jupyter-notebook when it can, else print the exact command) → open notebooks/.
//
// Flags: --dry-run (say what would happen, change nothing), --no-open (set up only), --no-browser.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, statSync, accessSync, constants } from "node:fs";
import { join, delimiter } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = new Set(process.argv.slice(2));
const dryRun = args.has("--dry-run");
const log = (m) => console.log(`[simvlm start] ${m}`);
const fail = (m) => { console.error(`[simvlm start] ${m}`); process.exit(1); };

function run(cmd, argv, opts = {}) {
  log(`$ ${[cmd, ...argv].join(" ")}`);
  if (dryRun) return 0;
  const r = spawnSync(cmd, argv, { stdio: "inherit", cwd: root, ...opts });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

function which(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* keep looking */ }
  }
  return undefined;
}

/** Python interpreters that may carry Jupyter: Debian's first (its packages live there), then PATH's. */
function pythons() {
  return [...new Set(["/usr/bin/python3", which("python3")].filter((p) => p && existsSync(p)))];
}

function hasModule(py, mod) {
  return spawnSync(py, ["-c", `import ${mod}`], { stdio: "ignore" }).status === 0;
}

function findJupyter() {
  for (const py of pythons()) {
    if (hasModule(py, "jupyterlab")) return { kind: "JupyterLab", cmd: py, argv: ["-m", "jupyterlab"] };
  }
  for (const py of pythons()) {
    if (hasModule(py, "notebook")) return { kind: "classic Notebook", cmd: py, argv: ["-m", "notebook"] };
  }
  return undefined;
}

// 1. Node
const major = Number(process.versions.node.split(".")[0]);
if (major < 20) fail(`Node ${process.versions.node} is too old: install Node 20 or newer.`);

// 2. npm dependencies
const lock = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(lock).mtimeMs > statSync(installed).mtimeMs) {
  log("installing npm dependencies");
  if (run("npm", ["ci", "--no-audit", "--no-fund"]) !== 0) fail("npm ci failed (see above)");
} else log("npm dependencies are up to date");

// 3. Jupyter (before the kernel, so --sys-prefix style installs could use it; --user needs nothing)
let jupyter = findJupyter();
if (!jupyter) {
  const aptGet = which("apt-get");
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && which("sudo") && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
  const cmd = "sudo apt-get install -y jupyter-notebook";
  if (aptGet && (isRoot || sudo)) {
    log("Jupyter is not installed: installing Debian's jupyter-notebook");
    const pre = isRoot ? [] : ["sudo"];
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const c = pre.length ? "sudo" : "apt-get";
    const base = pre.length ? ["apt-get"] : [];
    if (run(c, [...base, "update", "-q"], { env }) !== 0 || run(c, [...base, "install", "-y", "-q", "jupyter-notebook"], { env }) !== 0) {
      fail(`installing Jupyter failed. Run this yourself, then npm start again:\n  ${cmd}`);
    }
    jupyter = dryRun ? { kind: "classic Notebook", cmd: "/usr/bin/python3", argv: ["-m", "notebook"] } : findJupyter();
  }
  if (!jupyter) fail(`Jupyter is not installed and cannot be installed automatically here. Run:\n  ${cmd}\n` +
    `(or, with pip: python3 -m pip install jupyterlab), then npm start again.`);
}

// 4. The kernel
if (run(process.execPath, [join(root, "bin", "simvlm.js"), "kernel", "install", "--user"]) !== 0) fail("kernel install failed (see above)");

// 5. Open the notebooks
if (args.has("--no-open")) { log(`set up. Open the notebooks with: ${jupyter.cmd} ${jupyter.argv.join(" ")} ${join(root, "notebooks")}`); process.exit(0); }
log(`opening notebooks/ in the ${jupyter.kind}`);
const openArgs = [...jupyter.argv, `--notebook-dir=${join(root, "notebooks")}`];
if (args.has("--no-browser") || (!process.env.DISPLAY && process.platform === "linux")) openArgs.push("--no-browser");
if (process.getuid?.() === 0) openArgs.push("--allow-root");
log(`$ ${jupyter.cmd} ${openArgs.join(" ")}`);
if (!dryRun) {
  const child = spawn(jupyter.cmd, openArgs, { stdio: "inherit", cwd: root });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code) => process.exit(code ?? 0));
}
