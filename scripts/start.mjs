#!/usr/bin/env node
// `npm start`: the first quick-start command. Plain JavaScript with no dependencies, because it runs
// before `npm ci` has installed anything. Steps: check Node → install npm dependencies if missing or
// stale → choose the front end → register the "simvlm" Jupyter kernel → trust the project's own
// notebooks → open notebooks/.
//
// The front end, first that works: the user's own JupyterLab; else JupyterLab built from its npm
// packages (lab/, built once and cached) and served by Debian's jupyter_server + jupyterlab_server
// (installed with apt when we may); else, as a last resort and saying why, the classic Notebook.
//
// Flags: --dry-run (say what would happen, change nothing), --no-open (set up only), --no-browser,
// --classic (use the classic Notebook), --lab-mode=development (a faster, unminified lab build).
// Arguments like --ServerApp.port=9999 or --MappingKernelManager.cull_idle_timeout=0 go to the server.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_MODE, ensureLab, labPlan } from "../lab/build.mjs";
import {
  aptCommand,
  aptInstall,
  aptPrefix,
  findPython,
  LAB_DEBIAN_PACKAGES,
  LAB_PYTHON_MODULES,
} from "../lab/prereqs.mjs";
import { labServerArgv, spawnServer } from "../lab/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const argv = process.argv.slice(2);
const args = new Set(argv);
const dryRun = args.has("--dry-run");
const labMode = argv.find((a) => a.startsWith("--lab-mode="))?.split("=")[1] ?? DEFAULT_MODE;
const serverOptions = argv.filter((a) => /^--[A-Z]\w*\.\w+=/.test(a));
const log = (m) => console.log(`[simvlm start] ${m}`);
const fail = (m) => {
  console.error(`[simvlm start] ${m}`);
  process.exit(1);
};

function run(cmd, argv, opts = {}) {
  log(`$ ${[cmd, ...argv].join(" ")}`);
  if (dryRun) return 0;
  const r = spawnSync(cmd, argv, { stdio: "inherit", cwd: root, ...opts });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
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

// 3. The front end. Each step returns a launcher, or says why not (the reason is printed if we fall back).
const notebookDir = join(root, "notebooks");

function usersJupyterLab() {
  const py = findPython(["jupyterlab"]);
  return (
    py && {
      kind: "JupyterLab (installed)",
      cmd: py,
      argv: ["-m", "jupyterlab", `--notebook-dir=${notebookDir}`],
    }
  );
}

/** Debian's servers (installed when we may) and the npm-built front end (built when missing). */
async function npmJupyterLab() {
  let py = findPython(LAB_PYTHON_MODULES);
  if (!py) {
    if (dryRun) {
      log(
        `would install Debian's ${LAB_DEBIAN_PACKAGES.join(" ")} (${aptPrefix() ? "with apt-get" : `needs: ${aptCommand(LAB_DEBIAN_PACKAGES)}`})`,
      );
      py = "/usr/bin/python3";
    } else {
      const r = aptInstall(LAB_DEBIAN_PACKAGES, { run, log });
      py = r.ok ? findPython(LAB_PYTHON_MODULES) : undefined;
      if (!py)
        return {
          why: `Debian's jupyter_server and jupyterlab_server are missing and ${r.ok ? "still not importable after apt-get" : r.why}`,
        };
    }
  }
  const plan = labPlan(labMode);
  if (dryRun) {
    log(
      plan.built
        ? `JupyterLab (${labMode} build) is cached in ${plan.buildDir}`
        : `would ${plan.installed ? "" : `install JupyterLab's npm packages into ${plan.installDir} (npm ci, ~500 MB) and `}bundle it (${labMode}) into ${plan.buildDir}`,
    );
  } else {
    try {
      await ensureLab({ mode: labMode, log });
    } catch (e) {
      return {
        why: `${e.message}\nTo retry: ${e.command ?? `node lab/build.mjs --mode ${labMode}`}`,
      };
    }
  }
  return {
    kind: "JupyterLab",
    cmd: py,
    argv: labServerArgv(plan.buildDir, [`--ServerApp.root_dir=${notebookDir}`]),
    lab: true,
  };
}

function classicNotebook() {
  const py = findPython(["notebook"]);
  return (
    py && {
      kind: "classic Notebook",
      cmd: py,
      argv: ["-m", "notebook", `--notebook-dir=${notebookDir}`],
    }
  );
}

async function chooseFrontEnd() {
  if (args.has("--classic"))
    return (
      classicNotebook() ??
      fail(`the classic Notebook is not installed: ${aptCommand(["jupyter-notebook"])}`)
    );
  const own = usersJupyterLab();
  if (own) return own;
  const lab = await npmJupyterLab();
  if (!lab.why) return lab;
  // Last resort: the classic Notebook (end of life), saying why JupyterLab could not be set up.
  console.error(`[simvlm start] JupyterLab could not be set up: ${lab.why}`);
  let classic = classicNotebook();
  if (!classic && !dryRun && aptInstall(["jupyter-notebook"], { run, log }).ok)
    classic = classicNotebook();
  if (!classic)
    fail(
      `no Jupyter front end could be installed here. Run:\n  ${aptCommand([...LAB_DEBIAN_PACKAGES, "jupyter-notebook"])}\nthen npm start again.`,
    );
  log("falling back to the classic Notebook (see above for why JupyterLab could not be used)");
  return classic;
}

const jupyter = await chooseFrontEnd();

// 4. The kernel
if (run(process.execPath, [join(root, "bin", "simvlm.js"), "kernel", "install", "--user"]) !== 0)
  fail("kernel install failed (see above)");

// 5. Trust the project's own notebooks for this user: Jupyter shows an untrusted notebook's saved
// outputs only in part (no scripts, so no figures in the classic Notebook; raw markdown for tables),
// and nothing tells the user why. Signing them (nbformat's notary: a signature per notebook in the
// user's Jupyter data folder, as `jupyter trust` does) is what File > Trust would do.
const notebooks = readdirSync(notebookDir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();
if (
  run(jupyter.cmd, ["-m", "nbformat.sign", ...notebooks], {
    cwd: notebookDir,
    stdio: ["ignore", "ignore", "inherit"],
  }) === 0
) {
  log(
    `${dryRun ? "would mark" : "marked"} the project's notebooks trusted for you (${notebooks.join(", ")}): their saved figures and tables show before you run them (see "Trusted notebooks" in README.md)`,
  );
} else
  log(
    "could not mark the project's notebooks trusted (see above): use File > Trust Notebook in Jupyter to see their saved figures",
  );

// 6. Open the notebooks
const openArgs = [...jupyter.argv, ...serverOptions];
if (args.has("--no-open")) {
  log(`set up. Open the notebooks with: ${jupyter.cmd} ${openArgs.join(" ")}`);
  process.exit(0);
}
log(`opening notebooks/ in ${jupyter.kind}`);
if (args.has("--no-browser") || (!process.env.DISPLAY && process.platform === "linux"))
  openArgs.push("--no-browser");
if (process.getuid?.() === 0) openArgs.push("--allow-root");
log(`$ ${jupyter.cmd} ${openArgs.join(" ")}`);
if (!dryRun) {
  // The server gets a process group of its own: Ctrl-C reaches us, and we stop it the clean way
  // (SIGTERM: it shuts its kernels down), then kill whatever it left (see lab/server.mjs).
  const server = spawnServer(jupyter.cmd, openArgs, { cwd: root });
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log("stopping Jupyter and its kernels");
      server.stop().then(() => process.exit(0));
    });
  server.proc.on("exit", (code, signal) => {
    if (!stopping) server.stop().then(() => process.exit(code ?? (signal ? 1 : 0)));
  });
}
