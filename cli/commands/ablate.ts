/** `simvlm ablate GRID.json`: run an ablation grid with the run cache (only missing runs execute). */
import { parseArgs, bool, num, str, UsageError } from "../args.ts";
import { readGridFile, runGrid, RunCache } from "../../lib/experiments/index.ts";
import { setRunContext } from "../../lib/runtime.ts";

const HELP = `usage: simvlm ablate GRID.json [--workers N] [--cache DIR] [--force] [--json] [--list]
Runs every run of the grid that is not already in the cache (default cache: ./.simvlm-cache,
or $SIMVLM_CACHE_DIR). A rerun with nothing changed trains nothing; an interrupted grid resumes.
  --workers N  run N runs in parallel worker processes (default 0: in this process)
  --force      rerun even cached runs
  --list       list the cached runs of this cache and exit
  --json       print the runs as JSON (ran, cached, runs[])`;

export default async function ablate(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: { workers: "number", cache: "string" }, booleans: ["force", "json", "help", "list"] });
  if (bool(args, "help")) { console.log(HELP); return 0; }
  const cacheDir = args.flags.cache === undefined ? undefined : str(args, "cache");
  if (bool(args, "list")) {
    const rows = new RunCache(cacheDir).all();
    console.log(JSON.stringify(rows.map((r) => ({ key: r.key, grid: r.grid, label: r.label, seed: r.seed, metrics: r.metrics, seconds: r.seconds })), null, 2));
    return 0;
  }
  const [path] = args.positionals;
  if (!path) throw new UsageError(`a grid file is required\n${HELP}`);
  const grid = readGridFile(path);
  const ac = new AbortController();
  process.once("SIGINT", () => { console.error("\nsimvlm: interrupting — finished runs stay cached; rerun to resume"); ac.abort(); });
  setRunContext({ signal: ac.signal });
  let ran = 0, cached = 0;
  const table = await runGrid(grid, { cacheDir, workers: num(args, "workers", 0), force: bool(args, "force"), signal: ac.signal,
    onRun: (_r, wasCached) => { if (wasCached) cached++; else ran++; } });
  if (bool(args, "json")) {
    console.log(JSON.stringify({ grid: grid.name, ran, cached, runs: table.rows }, null, 2));
  } else {
    console.log(`${grid.name}: ${ran} run, ${cached} from cache\n`);
    console.log(table.toMarkdown());
  }
  return 0;
}
