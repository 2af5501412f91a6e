// The Debian side of the JupyterLab that `npm start` builds: which Python has Jupyter, and installing
// Debian's packages with apt when we may (as root, or with password-less sudo). Plain JavaScript
// with no dependencies (npm start runs it before anything is installed); the tests use it too.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** What lab/server.py imports, and the Debian packages that provide it. */
export const LAB_PYTHON_MODULES = ["jupyter_server", "jupyterlab_server"];
export const LAB_DEBIAN_PACKAGES = ["python3-jupyter-server", "python3-jupyterlab-server"];

export function which(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* keep looking */ }
  }
  return undefined;
}

/**
 * Python interpreters that may carry Jupyter: $SIMVLM_JUPYTER_PYTHON if set, then Debian's (its
 * packages live there), then the first python3 on PATH (often a pyenv or venv without Jupyter).
 */
export function pythons() {
  return [...new Set([process.env.SIMVLM_JUPYTER_PYTHON, "/usr/bin/python3", which("python3")].filter((p) => p && existsSync(p)))];
}

export function hasModules(py, mods) {
  return spawnSync(py, ["-c", mods.map((m) => `import ${m}`).join("; ")], { stdio: "ignore" }).status === 0;
}

/** The first interpreter that imports every module, or undefined. */
export function findPython(mods) {
  return pythons().find((py) => hasModules(py, mods));
}

/** How apt can be run here: [] as root, ["sudo", "-n"] with password-less sudo, else undefined. */
export function aptPrefix() {
  if (!which("apt-get")) return undefined;
  if (process.getuid?.() === 0) return [];
  if (which("sudo") && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0) return ["sudo", "-n"];
  return undefined;
}

/** The command a person would type to install `pkgs`. */
export const aptCommand = (pkgs) => `sudo apt-get install -y ${pkgs.join(" ")}`;

/**
 * Install Debian packages when we may. Returns { ok: true } or { ok: false, why }; `run(cmd, argv, opts)`
 * executes (npm start passes its own, which honours --dry-run and echoes the command).
 */
export function aptInstall(pkgs, { run, log = () => {} } = {}) {
  const pre = aptPrefix();
  if (!pre) return { ok: false, why: `installing needs root or password-less sudo. Run:\n  ${aptCommand(pkgs)}` };
  const exec = run ?? ((cmd, argv, opts) => spawnSync(cmd, argv, { stdio: "inherit", ...opts }).status ?? 1);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const [cmd, ...args] = [...pre, "apt-get"];
  log(`installing Debian's ${pkgs.join(", ")}`);
  if (exec(cmd, [...args, "update", "-q"], { env }) !== 0 || exec(cmd, [...args, "install", "-y", "-q", "--no-install-recommends", ...pkgs], { env }) !== 0) {
    return { ok: false, why: `apt-get failed (see above). Run:\n  ${aptCommand(pkgs)}` };
  }
  return { ok: true };
}
