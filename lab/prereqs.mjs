// The Debian side of the JupyterLab that `npm start` builds: which Python has Jupyter. Installing
// Debian's packages is the one prerequisite mechanism of scripts/prereqs.mjs (its `jupyterlab`
// entry lists the packages); this file only adds the interpreter search. Plain JavaScript with no
// dependencies (npm start runs it before anything is installed); the tests use it too.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { PREREQS, which } from "../scripts/prereqs.mjs";

export { aptCommand, aptInstall, aptPrefix, which } from "../scripts/prereqs.mjs";

/** What lab/server.py imports, and the Debian packages that provide it. */
export const LAB_PYTHON_MODULES = PREREQS.jupyterlab.python;
export const LAB_DEBIAN_PACKAGES = PREREQS.jupyterlab.apt;

/**
 * Python interpreters that may carry Jupyter: $SIMVLM_JUPYTER_PYTHON if set, then Debian's (its
 * packages live there), then the first python3 on PATH (often a pyenv or venv without Jupyter).
 */
export function pythons() {
  return [
    ...new Set(
      [process.env.SIMVLM_JUPYTER_PYTHON, "/usr/bin/python3", which("python3")].filter(
        (p) => p && existsSync(p),
      ),
    ),
  ];
}

export function hasModules(py, mods) {
  return (
    spawnSync(py, ["-c", mods.map((m) => `import ${m}`).join("; ")], { stdio: "ignore" }).status ===
    0
  );
}

/** The first interpreter that imports every module, or undefined. */
export function findPython(mods) {
  return pythons().find((py) => hasModules(py, mods));
}
