// The tools the tests need beyond npm packages, in one list: `npm test` (test/run.js) installs
// what is missing when it can, the tests skip with the exact install command when it could not,
// and `.ci/run` simply runs `npm test`. Plain JavaScript with no dependencies: it runs before
// `npm ci`. Add a tool by adding an entry to PREREQS; a test asks for it with
// `skipUnless("name")` as its `skip` option.
//
// Environment:
//   SIMVLM_PRETEND_MISSING=all | name,name   treat these as missing and install nothing (to see the
//                                            skips and their commands on a machine that has them)
//   SIMVLM_NO_INSTALL=1                      install nothing (check only)
//   SIMVLM_PREREQS                           set by test/run.js for the test processes: the check's
//                                            result as JSON, so each file does not check again
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Debian's interpreter: the python3-* packages below install there (another python3 may come first on PATH). */
export const PYTHON = "/usr/bin/python3";
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * name → { apt: Debian packages that provide it, python / file / command: how to tell it is
 * there, usedBy: what needs it }. The check is what the tests use (a module, a path, a program), so
 * a tool installed another way (pip, a custom CHROMIUM_PATH) counts too.
 */
export const PREREQS = {
  jupyter_kernel_test: {
    apt: ["python3-jupyter-kernel-test", "python3-jupyter-client"],
    python: ["jupyter_kernel_test", "jupyter_client"],
    usedBy: "the Jupyter kernel conformance suite (test/kernel/conformance)",
  },
  jupyter_server: {
    apt: ["python3-jupyter-server"],
    python: ["jupyter_server"],
    usedBy: "the JupyterLab path: jupyter_server + @jupyterlab/services (test/kernel/jupyterlab)",
  },
  notebook: {
    apt: ["jupyter-notebook"],
    python: ["notebook"],
    usedBy:
      "the classic Notebook in a browser (test/kernel/classic-notebook, test/viz/notebook, test/notebooks/untrusted)",
  },
  nbclient: {
    apt: ["python3-nbclient", "python3-nbformat", "python3-ipykernel"],
    python: ["nbclient", "nbformat"],
    usedBy: "headless notebook runs (test/notebooks, test/kernel/notebook, test/viz/notebook)",
  },
  nbconvert: {
    apt: ["python3-nbconvert"],
    python: ["nbconvert"],
    usedBy: "the HTML export tests (test/kernel/notebook, test/notebooks/untrusted)",
  },
  chromium: {
    apt: ["chromium"],
    file: CHROMIUM,
    usedBy:
      "browser tests (test/kernel/classic-notebook, test/kernel/notebook, test/viz/browser, test/viz/notebook)",
  },
  torch: {
    apt: ["python3-torch"],
    python: ["torch"],
    usedBy:
      "PyTorch reference checks (test/train/optimizer, test/train/safetensors) and the benchmark",
  },
  tuxpaint: {
    apt: ["tuxpaint-stamps-default"],
    file: "/usr/share/tuxpaint/stamps",
    usedBy: "the Tux Paint image-text set (test/data/cli-real)",
  },
  native: {
    apt: ["libopenblas-dev", "gcc", "libc6-dev"],
    file: `/usr/include/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/cblas.h|/usr/include/openblas/cblas.h|/usr/include/cblas.h`,
    command: "cc",
    usedBy:
      "the native BLAS/fused kernels (test/perf/native-*; without them the pure-wasm path is used)",
  },
  redis: {
    apt: ["redis-server"],
    command: "redis-server",
    usedBy: "the Redis-backed queue (its tests)",
  },
  jupyterlab: {
    apt: ["python3-jupyter-server", "python3-jupyterlab-server"],
    python: ["jupyter_server", "jupyterlab_server"],
    usedBy: "the JupyterLab that npm start builds (lab/; test/lab)",
  },
};

/** @typedef {keyof typeof PREREQS} PrereqName */

/** The path of program `name` on PATH, or undefined. */
export function which(name) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

function pretendMissing() {
  const v = (process.env.SIMVLM_PRETEND_MISSING ?? "").trim();
  if (!v) return new Set();
  return new Set(
    v === "all"
      ? Object.keys(PREREQS)
      : v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
  );
}

/** Check every prerequisite now: { name: true | false }. One Python run covers all modules. */
export function checkPrereqs() {
  const mods = [...new Set(Object.values(PREREQS).flatMap((p) => p.python ?? []))];
  let found = {};
  if (existsSync(PYTHON)) {
    const code =
      "import importlib.util, json, sys\nprint(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))";
    const r = spawnSync(PYTHON, ["-c", code, ...mods], { encoding: "utf8", timeout: 60_000 });
    try {
      found = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
    } catch {
      /* python broken: all missing */
    }
  }
  const pretend = pretendMissing();
  const out = {};
  for (const [name, p] of Object.entries(PREREQS)) {
    out[name] =
      !pretend.has(name) &&
      (p.python ?? []).every((m) => found[m] === true) &&
      (!p.file || p.file.split("|").some((f) => existsSync(f))) &&
      (!p.command || !!which(p.command));
  }
  return out;
}

let cached;
/** The availability map: test/run.js's result when it passed one down, else a fresh check (cached). */
export function prereqStatus() {
  if (cached) return cached;
  try {
    if (process.env.SIMVLM_PREREQS) return (cached = JSON.parse(process.env.SIMVLM_PREREQS));
  } catch {
    /* check below */
  }
  return (cached = checkPrereqs());
}

const isRoot = () => process.getuid?.() === 0;
const canSudo = () =>
  !isRoot() &&
  !!which("sudo") &&
  spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;

/** How apt can be run here: [] as root, ["sudo", "-n"] with password-less sudo, else undefined. */
export function aptPrefix() {
  if (!which("apt-get")) return undefined;
  return isRoot() ? [] : canSudo() ? ["sudo", "-n"] : undefined;
}

/** The command a person would type to install Debian packages `pkgs` on this machine. */
export function aptCommand(pkgs) {
  const sudo = isRoot() ? "" : "sudo ";
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
}

/**
 * apt-get update + install of `pkgs`, non-interactive, when this machine allows it. `run(cmd, argv,
 * opts)` executes and returns the exit status (npm start passes its own, which honours --dry-run).
 * Returns { ok: true } or { ok: false, why } with the command to run by hand.
 */
export function aptInstall(pkgs, { run, log = () => {} } = {}) {
  const pre = aptPrefix();
  if (!pre)
    return {
      ok: false,
      why: `installing needs root or password-less sudo. Run:\n  ${aptCommand(pkgs)}`,
    };
  const exec =
    run ??
    ((cmd, argv, opts) =>
      spawnSync(cmd, argv, { stdio: ["ignore", "inherit", "inherit"], ...opts }).status ?? 1);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const [cmd, ...args] = [...pre, "apt-get"];
  log(`# $ ${[cmd, ...args].join(" ")} install ${pkgs.join(" ")}`);
  if (
    exec(cmd, [...args, "update", "-q"], { env }) !== 0 ||
    exec(cmd, [...args, "install", "-y", "-q", "--no-install-recommends", ...pkgs], { env }) !== 0
  ) {
    return { ok: false, why: `apt-get failed (see above). Run:\n  ${aptCommand(pkgs)}` };
  }
  return { ok: true };
}

/** The exact shell command that installs these prerequisites on this machine. */
export function installCommand(names) {
  return aptCommand([...new Set(names.flatMap((n) => PREREQS[n]?.apt ?? []))]);
}

/**
 * For a test's `skip` option: false when every named prerequisite is there, else the reason with
 * the command that installs them, e.g. `{ skip: skipUnless("chromium", "notebook") }`.
 * @param {...PrereqName} names
 */
export function skipUnless(...names) {
  const status = prereqStatus();
  const missing = names.filter((n) => !status[n]);
  return missing.length
    ? `needs ${missing.join(", ")}, not installed here; install with: ${installCommand(missing)}`
    : false;
}

/** "" when `name` is there, else "; install with: COMMAND" (to append to a skip reason). */
export function installHint(name) {
  return prereqStatus()[name] ? "" : `; install with: ${installCommand([name])}`;
}

/**
 * Install what is missing when this machine allows it (root or password-less sudo, apt-get, not
 * forbidden), non-interactively. Returns { status, installed: [...], missing: [...], note }.
 * Never throws: a failed install (no network, say) leaves the tests to skip.
 */
export function ensurePrereqs({ log = (m) => console.log(m) } = {}) {
  let status = checkPrereqs();
  const missing = Object.keys(status).filter((n) => !status[n]);
  if (!missing.length) return { status, installed: [], missing: [], note: "all present" };
  const why = pretendMissing().size
    ? "SIMVLM_PRETEND_MISSING is set"
    : process.env.SIMVLM_NO_INSTALL === "1"
      ? "SIMVLM_NO_INSTALL=1"
      : !which("apt-get")
        ? "no apt-get here"
        : !(isRoot() || canSudo())
          ? "not root and no password-less sudo"
          : undefined;
  if (why) return { status, installed: [], missing, note: `not installing (${why})` };
  const { ok } = aptInstall([...new Set(missing.flatMap((n) => PREREQS[n].apt))], { log });
  status = checkPrereqs();
  const still = Object.keys(status).filter((n) => !status[n]);
  return {
    status,
    installed: missing.filter((n) => status[n]),
    missing: still,
    note: ok ? "installed" : "apt-get failed (see above)",
  };
}
