/**
 * Execute notebooks headless with nbclient through the simvlm kernel (installed into a temporary
 * Jupyter prefix, so nothing in the user's Jupyter setup changes).
 *
 *   node --import tsx scripts/notebooks/run.ts [--quick] [--out DIR] [--cache DIR] [--timeout S] [NAME…]
 *
 * NAME is a notebook name or prefix ("01", "02-prefix-length-ablation"); default: all, in order.
 * Without --out the notebooks are saved in place with their outputs (what gets committed).
 * --quick sets SIMVLM_QUICK=1 (tiny configs, few steps); --cache sets SIMVLM_CACHE_DIR (where the
 * notebooks keep checkpoints and the run cache; default .simvlm-cache in the repo); --results sets
 * SIMVLM_RESULTS_DIR (where notebooks write results/<notebook>.json; default notebooks/results, or
 * OUT/results with --out, so a quick run elsewhere never overwrites the committed results).
 * Each executed notebook then gets a static picture for every figure (static-figures.ts: plotly.js
 * in Chromium), what viewers that run no scripts show; without Chromium the run fails, naming it.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NOTEBOOK_DIR, REPO, notebookSpecs } from "./build.ts";
import { addStaticFigures } from "./static-figures.ts";

export const PYTHON = process.env.SIMVLM_JUPYTER_PYTHON ?? "/usr/bin/python3";

export interface NotebookRunSummary {
  notebook: string; out: string; wall_s: number; bytes: number; failed: string | null;
  errors: { cell: number; ename: string; evalue: string }[]; plotly: number; png: number; outputs: number;
  /** Figures given a static picture after the run (drawn by plotly.js in Chromium). */
  pictures?: number;
}

export interface RunNotebooksOptions {
  names?: string[];
  quick?: boolean;
  /** Folder for the executed copies (default: in place). */
  outDir?: string;
  cacheDir?: string;
  /** Folder for the results files (default: <outDir>/results with outDir, else the notebooks' own results/). */
  resultsDir?: string;
  /** Seconds per cell. */
  timeout?: number;
  /** Forward the kernel's and nbclient's stderr (default true). */
  stderr?: boolean;
  /** Draw static pictures of the figures (default true; needs Chromium, else the run fails). */
  pictures?: boolean;
}

/** Install the simvlm kernelspec into a fresh temporary prefix; returns its share/jupyter folder. */
export function tempKernelspec(): { jupyterPath: string; cleanup: () => void } {
  const prefix = mkdtempSync(join(tmpdir(), "simvlm-kernelspec-"));
  // The same command a user runs: `simvlm kernel install --prefix DIR`.
  const r = spawnSync(process.execPath, [join(REPO, "bin", "simvlm.js"), "kernel", "install", "--prefix", prefix], { encoding: "utf8" });
  if (r.status !== 0) { rmSync(prefix, { recursive: true, force: true }); throw new Error(`simvlm kernel install --prefix ${prefix} failed: ${r.stderr || r.stdout}`); }
  return { jupyterPath: join(prefix, "share", "jupyter"), cleanup: () => rmSync(prefix, { recursive: true, force: true }) };
}

function selected(names: string[] | undefined) {
  const all = notebookSpecs();
  if (!names?.length) return all;
  return names.map((n) => {
    const hit = all.filter((s) => s.name === n || s.name.startsWith(n));
    if (hit.length !== 1) throw new Error(`notebook "${n}": ${hit.length ? "ambiguous" : "not found"} (have ${all.map((s) => s.name).join(", ")})`);
    return hit[0]!;
  });
}

export async function runNotebooks(opts: RunNotebooksOptions = {}): Promise<NotebookRunSummary[]> {
  const specs = selected(opts.names);
  for (const s of specs) if (!existsSync(s.ipynb)) throw new Error(`${s.ipynb} is missing: run scripts/notebooks/build.ts first`);
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const ks = tempKernelspec();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: [ks.jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(":"),
    SIMVLM_QUICK: opts.quick ? "1" : "0",
    // One BLAS thread per process: notebooks run several training processes at once (ablation
    // workers, notebooks side by side), and at these matrix sizes a multi-threaded OpenBLAS took
    // twice the CPU for no gain in wall time (measured: tiny pretrainEval run, 41 vs 73 CPU-s).
    OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? "1",
    ...(opts.cacheDir ? { SIMVLM_CACHE_DIR: resolve(opts.cacheDir) } : {}),
  };
  const resultsDir = opts.resultsDir ?? (opts.outDir ? join(opts.outDir, "results") : undefined);
  if (resultsDir) env.SIMVLM_RESULTS_DIR = resolve(resultsDir);
  const out: NotebookRunSummary[] = [];
  try {
    for (const s of specs) {
      const dest = opts.outDir ? join(opts.outDir, `${s.name}.ipynb`) : s.ipynb;
      const args = [join(REPO, "scripts", "notebooks", "execute.py"), s.ipynb, dest, "--timeout", String(opts.timeout ?? 1800), "--cwd", NOTEBOOK_DIR];
      const summary = await new Promise<NotebookRunSummary>((res, rej) => {
        const child = spawn(PYTHON, args, { env, stdio: ["ignore", "pipe", opts.stderr === false ? "ignore" : "inherit"] });
        let stdout = "";
        child.stdout.on("data", (d) => { stdout += d; });
        child.on("error", (e) => rej(new Error(`cannot run ${PYTHON} (Jupyter's Python with nbclient): ${e.message}`)));
        child.on("close", (code) => {
          const line = stdout.trim().split("\n").pop() ?? "";
          try { res(JSON.parse(line) as NotebookRunSummary); } catch {
            rej(new Error(`executing ${s.name} failed (exit ${code}) without a summary; output: ${stdout.slice(-2000)}`));
          }
        });
      });
      if (opts.pictures !== false && existsSync(dest)) {
        const [pics] = await addStaticFigures([dest]);
        summary.pictures = pics!.rendered;
        summary.png += pics!.rendered;
        summary.bytes = statSync(dest).size;
      }
      out.push(summary);
    }
  } finally { ks.cleanup(); }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const flag = (name: string) => { const i = argv.indexOf(name); if (i < 0) return undefined; const v = argv[i + 1]; argv.splice(i, 2); return v; };
  const quick = argv.includes("--quick");
  argv = argv.filter((a) => a !== "--quick");
  const outDir = flag("--out"), cacheDir = flag("--cache"), resultsDir = flag("--results"), timeout = flag("--timeout");
  const results = await runNotebooks({ names: argv, quick, outDir, cacheDir, resultsDir, timeout: timeout ? Number(timeout) : undefined });
  let bad = 0;
  for (const r of results) {
    const ok = !r.failed && !r.errors.length;
    if (!ok) bad++;
    console.log(`${ok ? "ok  " : "FAIL"} ${r.out}: ${r.wall_s}s, ${(r.bytes / 1e6).toFixed(2)} MB, ${r.plotly} Plotly figures, ${r.png} PNGs (${r.pictures ?? 0} drawn in Chromium)` +
      (ok ? "" : ` — ${r.failed ?? ""} ${r.errors.map((e) => `cell ${e.cell}: ${e.ename}: ${e.evalue}`).join("; ")}`));
  }
  return bad ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => { console.error(String(e?.message ?? e)); process.exitCode = 2; });
}
