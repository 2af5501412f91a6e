/**
 * Write notebooks/*.ipynb from their sources in scripts/notebooks/src/*.nb.ts.
 *
 *   node --import tsx scripts/notebooks/build.ts            # (re)write notebooks whose cells changed
 *   node --import tsx scripts/notebooks/build.ts --force    # rewrite all (drops executed outputs)
 *   node --import tsx scripts/notebooks/build.ts --check    # exit 1 if a notebook differs from its source
 *
 * A notebook whose cells already equal its source is left alone, so its executed outputs survive
 * a rebuild; one whose cells changed is written fresh, unexecuted (run scripts/notebooks/run.ts).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CODE_CELL_METADATA, notebookSources, parseCells, sourcesToNotebook, type CellSource, type NotebookJson } from "./cells.ts";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const SRC_DIR = join(REPO, "scripts", "notebooks", "src");
export const NOTEBOOK_DIR = join(REPO, "notebooks");

export interface NotebookSpec { name: string; src: string; ipynb: string }

/** Every notebook source, in name order. */
export function notebookSpecs(): NotebookSpec[] {
  return readdirSync(SRC_DIR).filter((f) => f.endsWith(".nb.ts")).sort().map((f) => {
    const name = basename(f, ".nb.ts");
    return { name, src: join(SRC_DIR, f), ipynb: join(NOTEBOOK_DIR, `${name}.ipynb`) };
  });
}

export function readSources(spec: NotebookSpec): CellSource[] {
  return parseCells(readFileSync(spec.src, "utf8"), spec.src);
}

export function sameCells(a: CellSource[], b: CellSource[]): boolean {
  return a.length === b.length && a.every((c, i) => c.kind === b[i]!.kind && c.source === b[i]!.source);
}

/** Give every code cell the metadata a fresh build writes (CODE_CELL_METADATA); returns how many changed. */
export function syncCellMetadata(nb: NotebookJson): number {
  let changed = 0;
  for (const c of nb.cells) {
    if (c.cell_type !== "code") continue;
    const m = (c.metadata ??= {}) as Record<string, unknown>;
    const missing = Object.entries(CODE_CELL_METADATA).filter(([k, v]) => m[k] !== v);
    for (const [k, v] of missing) m[k] = v;
    if (missing.length) changed++;
  }
  return changed;
}

/** Cells of the notebook file, or undefined when it is missing or not JSON. */
export function readNotebookCells(path: string): CellSource[] | undefined {
  if (!existsSync(path)) return undefined;
  try { return notebookSources(JSON.parse(readFileSync(path, "utf8")) as NotebookJson); } catch { return undefined; }
}

function main(argv: string[]): number {
  const force = argv.includes("--force"), check = argv.includes("--check");
  let stale = 0;
  for (const spec of notebookSpecs()) {
    const cells = readSources(spec);
    const same = sameCells(cells, readNotebookCells(spec.ipynb) ?? []);
    if (check) {
      const drift = same ? syncCellMetadata(JSON.parse(readFileSync(spec.ipynb, "utf8")) as NotebookJson) : 0;
      if (!same) { stale++; console.log(`${spec.ipynb}: differs from ${spec.src} (run scripts/notebooks/build.ts)`); }
      else if (drift) { stale++; console.log(`${spec.ipynb}: ${drift} code cells lack the built metadata (run scripts/notebooks/build.ts)`); }
      continue;
    }
    if (same && !force) {
      // Same sources: keep the outputs, but bring the code cells' metadata up to what a fresh build
      // writes (a notebook built before `scrolled: false` existed kept its scroll boxes).
      const nb = JSON.parse(readFileSync(spec.ipynb, "utf8")) as NotebookJson;
      const drift = syncCellMetadata(nb);
      if (drift) writeFileSync(spec.ipynb, JSON.stringify(nb, null, 1) + "\n");
      console.log(`${spec.name}: unchanged (outputs kept)${drift ? `; metadata of ${drift} code cells updated` : ""}`);
      continue;
    }
    writeFileSync(spec.ipynb, JSON.stringify(sourcesToNotebook(cells, `nb${spec.name.split("-")[0]}`), null, 1) + "\n");
    console.log(`${spec.name}: written (${cells.length} cells, not executed)`);
  }
  if (check && !stale) console.log("all notebooks match their sources");
  return stale ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
