/**
 * The kernel's two workers — the wire (server.ts: zeromq sockets) and the language worker
 * (language-worker.ts: TypeScript type checks, completion, inspection) — each run as one plain
 * JavaScript file bundled by esbuild (kernel/.<entry>.bundle.mjs, rebuilt when a kernel source or
 * another file it was built from is newer), so they start without the TypeScript loader; and the
 * language worker starts first.
 *
 * The first cell waits for the type-checker, and building it (~0.6 s of parsing declaration files)
 * is the longest single step of a kernel's start. Through the loader, that work only began ~0.3 s
 * after the process started; now bin/simvlm.js starts it before loading anything else. This file
 * is plain JavaScript so the launcher can import it before the loader is registered. Without
 * esbuild (or with SIMVLM_KERNEL_BUNDLE=0) the workers run from their TypeScript sources.
 */
import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const here = dirname(fileURLToPath(import.meta.url));
const KEY = Symbol.for("simvlm.kernel.languageWorker");

/** The source files a bundle was built from, listed beside it (`<bundle>.inputs.json`) when it was built. */
export function bundleInputs(bundle) {
  try {
    return JSON.parse(readFileSync(`${bundle}.inputs.json`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Stale when missing, or when a kernel source or any other file it was built from (lib/ ones too) is newer. */
function bundleIsStale(bundle) {
  if (!existsSync(bundle)) return true;
  const built = statSync(bundle).mtimeMs;
  const inputs = bundleInputs(bundle);
  if (!inputs) return true;
  const newer = (f) => {
    try {
      return statSync(f).mtimeMs > built;
    } catch {
      return true;
    }
  };
  return (
    readdirSync(here).some((f) => f.endsWith(".ts") && newer(join(here, f))) || inputs.some(newer)
  );
}

/** kernel/<entry>.ts as one bundle (built or rebuilt now if needed), or undefined when it cannot be had. */
export async function workerBundle(entry) {
  if (process.env.SIMVLM_KERNEL_BUNDLE === "0") return undefined;
  const bundle = join(here, `.${entry}.bundle.mjs`);
  try {
    if (bundleIsStale(bundle)) {
      const { buildSync } = await import("esbuild");
      const tmp = `${bundle}.${process.pid}.tmp`;
      try {
        // The bundle sits beside its sources, so their import.meta.url-relative paths still hold.
        const { metafile } = buildSync({
          entryPoints: [join(here, `${entry}.ts`)],
          outfile: tmp,
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          packages: "external",
          logLevel: "silent",
          metafile: true,
          absWorkingDir: here,
        });
        writeFileSync(
          `${tmp}.inputs.json`,
          JSON.stringify(Object.keys(metafile.inputs).map((f) => resolve(here, f))),
        );
        // Atomic renames, list first: kernels starting together never load half a file.
        renameSync(`${tmp}.inputs.json`, `${bundle}.inputs.json`);
        renameSync(tmp, bundle);
      } finally {
        rmSync(tmp, { force: true });
        rmSync(`${tmp}.inputs.json`, { force: true });
      }
    }
    return bundle;
  } catch {
    return undefined;
  }
}

/** A worker running kernel/<entry>.ts: its bundle, else the source through the loader (worker-boot.mjs). */
export async function startWorker(entry, workerData) {
  const bundle = await workerBundle(entry);
  const w = bundle
    ? new Worker(bundle, { workerData })
    : new Worker(join(here, "worker-boot.mjs"), {
        workerData: { ...workerData, entry: pathToFileURL(join(here, `${entry}.ts`)).href },
      });
  // A dead worker means a dead kernel: say why and exit (Jupyter shows the kernel died).
  w.on("error", (e) => {
    process.stderr.write(`[simvlm kernel] ${entry} worker failed: ${e.stack ?? e}\n`);
    process.exit(1);
  });
  return w;
}

/**
 * The language worker for these options ({ cwd, typecheck }): the one already started in this
 * process, else a new one.
 */
export function startLanguageWorker(opts) {
  const prev = globalThis[KEY];
  if (prev && prev.cwd === opts.cwd && prev.typecheck === opts.typecheck) return prev.worker;
  const worker = startWorker("language-worker", { cwd: opts.cwd, typecheck: opts.typecheck });
  globalThis[KEY] = { cwd: opts.cwd, typecheck: opts.typecheck, worker };
  return worker;
}
