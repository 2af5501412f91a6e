/**
 * The `simvlm` kernelspec: where Jupyter looks for it, what it contains, install and remove.
 * No Python is needed except to find a Python environment's prefix for --sys-prefix outside a
 * virtualenv/conda env (then the Jupyter Python is asked for its sys.prefix).
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { plotlyJsPath } from "../lib/display/plotly.ts";
import { UserError } from "../lib/errors.ts";

export const KERNEL_NAME = "simvlm";
const repo = fileURLToPath(new URL("..", import.meta.url));

/** A kernelspec that cannot be installed where the user asked (no prefix found, folder not writable). */
export class KernelspecError extends UserError {}

export type Scope = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string };

/** Jupyter's per-user data directory (JUPYTER_DATA_DIR wins, as in jupyter_core). */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return join(homedir(), "Library", "Jupyter");
  if (process.platform === "win32")
    return join(process.env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "jupyter");
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "jupyter");
}

/** The prefix of the Python environment Jupyter runs in. */
export function sysPrefix(): string {
  const env = process.env.CONDA_PREFIX ?? process.env.VIRTUAL_ENV;
  if (env) return env;
  const candidates = [process.env.SIMVLM_PYTHON, "/usr/bin/python3", "python3", "python"].filter(
    Boolean,
  ) as string[];
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import sys, jupyter_core; print(sys.prefix)"], {
      encoding: "utf8",
    });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new KernelspecError(
    "--sys-prefix: no Python with Jupyter found (tried $CONDA_PREFIX, $VIRTUAL_ENV, " +
      `${candidates.join(", ")}); use --user (the default) or --prefix DIR instead`,
  );
}

export function kernelsDir(scope: Scope): string {
  const base =
    scope.kind === "user"
      ? userDataDir()
      : join(scope.kind === "prefix" ? scope.dir : sysPrefix(), "share", "jupyter");
  return join(base, "kernels");
}

export function kernelJson(): Record<string, unknown> {
  return {
    argv: [process.execPath, join(repo, "bin", "simvlm.js"), "kernel", "run", "{connection_file}"],
    display_name: "SimVLM (TypeScript)",
    language: "typescript",
    interrupt_mode: "message",
    env: {},
    metadata: { simvlm: { repo } },
  };
}

function logoSvg(): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
<rect width="64" height="64" rx="12" fill="#2f5f9e"/>
<rect x="8" y="10" width="22" height="22" rx="3" fill="#f2b134"/><rect x="34" y="10" width="22" height="22" rx="3" fill="#8cc6ff"/>
<rect x="8" y="36" width="48" height="6" rx="3" fill="#fff"/><rect x="8" y="46" width="34" height="6" rx="3" fill="#fff" opacity=".8"/>
</svg>`;
}

/** Install (or overwrite) the kernelspec; returns its directory. */
export async function installKernelspec(scope: Scope): Promise<string> {
  const dir = join(kernelsDir(scope), KERNEL_NAME);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new KernelspecError(
      `cannot create ${dir}: ${(e as Error).message}${scope.kind === "sys-prefix" ? " (try --user)" : ""}`,
    );
  }
  writeFileSync(join(dir, "kernel.json"), JSON.stringify(kernelJson(), null, 2) + "\n");
  const { default: sharp } = await import("sharp");
  const svg = Buffer.from(logoSvg());
  for (const size of [32, 64])
    await sharp(svg, { density: ((72 * size) / 64) * 4 })
      .resize(size, size)
      .png()
      .toFile(join(dir, `logo-${size}x${size}.png`));
  writeFileSync(join(dir, "logo-svg.svg"), logoSvg());
  // Served by jupyter_server at {base_url}kernelspecs/simvlm/plotly.min.js: live figures load it once per page.
  copyFileSync(plotlyJsPath(), join(dir, "plotly.min.js"));
  return dir;
}

/** Remove the kernelspec; returns the directory removed, or undefined when it was not there. */
export function removeKernelspec(scope: Scope): string | undefined {
  const dir = join(kernelsDir(scope), KERNEL_NAME);
  if (!existsSync(dir)) return undefined;
  rmSync(dir, { recursive: true, force: true });
  return dir;
}
