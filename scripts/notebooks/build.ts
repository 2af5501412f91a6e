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
import { notebookSources, parseCells, sourcesToNotebook, type CellSource, type NotebookJson } from "./cells.ts";

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
      if (!same) { stale++; console.log(`${spec.ipynb}: differs from ${spec.src} (run scripts/notebooks/build.ts)`); }
      continue;
    }
    if (same && !force) { console.log(`${spec.name}: unchanged (outputs kept)`); continue; }
    writeFileSync(spec.ipynb, JSON.stringify(sourcesToNotebook(cells, `nb${spec.name.split("-")[0]}`), null, 1) + "\n");
    console.log(`${spec.name}: written (${cells.length} cells, not executed)`);
  }
  if (check && !stale) console.log("all notebooks match their sources");
  return stale ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2));
