/** `simvlm ablate GRID.json`: run an ablation grid with the run cache (only missing runs execute). */
import { parseArgs, bool, num, optNum, optStr, str, UsageError, flagNames } from "../args.ts";
// runner.ts and cache.ts, not the index: the index also loads pretrainEval and the model, which a grid may never use.
import { readGridFile, runGrid } from "../../lib/experiments/runner.ts";
import { RunCache } from "../../lib/experiments/cache.ts";
import { setRunContext } from "../../lib/runtime.ts";

const HELP = `usage: simvlm ablate GRID.json [--workers N | --queue URL [--retries N]] [--cache DIR] [--force] [--json] [--list]
Runs every run of the grid that is not already in the cache (default cache: ./.simvlm-cache,
or $SIMVLM_CACHE_DIR). A rerun with nothing changed trains nothing; an interrupted grid resumes.
  --workers N    run N runs in parallel worker processes (default 0: in this process)
  --queue URL    put the runs on a Redis queue instead, for \`simvlm worker --queue URL\` on any
                 machine: redis://[user:pass@]HOST:PORT[/DB] or rediss://… (TLS). Waits, shows the
                 runs done / running on which worker / failed, writes results into this cache and
                 prints the same table. Ctrl-C stops waiting only: queued runs go on, and the same
                 command later collects them. Exit status 1 when a run failed for good.
  --retries N    with --queue: retries of a run that throws before it counts as failed (default 2)
  --force        rerun even cached runs
  --list         list the cached runs of this cache and exit
  --json         print the runs as JSON (ran, cached, runs[], failed[])`;

export default async function ablate(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: { workers: "number", cache: "string", queue: "string", retries: "number" },
    booleans: ["force", "json", "help", "list"],
  });
  if (bool(args, "help")) {
    console.log(HELP);
    return 0;
  }
  const cacheDir = args.flags.cache === undefined ? undefined : str(args, "cache");
  if (bool(args, "list")) {
    const rows = new RunCache(cacheDir).all();
    console.log(
      JSON.stringify(
        rows.map((r) => ({
          key: r.key,
          grid: r.grid,
          label: r.label,
          seed: r.seed,
          metrics: r.metrics,
          seconds: r.seconds,
        })),
        null,
        2,
      ),
    );
    return 0;
  }
  const [path] = args.positionals;
  if (!path) throw new UsageError(`a grid file is required\n${HELP}`);
  const queue = optStr(args, "queue");
  if (queue !== undefined && args.flags.workers !== undefined)
    throw new UsageError(
      "--workers and --queue do not go together: with --queue, runs go to `simvlm worker` processes",
    );
  if (queue === undefined && args.flags.retries !== undefined)
    throw new UsageError("--retries needs --queue");
  const grid = readGridFile(path);
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    console.error(
      queue
        ? "\nsimvlm: stopped waiting — queued runs keep running on the workers; rerun the same command to collect them"
        : "\nsimvlm: interrupting — finished runs stay cached; rerun to resume",
    );
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  setRunContext({ signal: ac.signal });
  // Lines about the queue go to stderr, clear of the progress bar; stdout keeps the table (or JSON).
  const say = (line: string) =>
    process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}${line}\n`);
  let ran = 0,
    cached = 0;
  try {
    const table = await flagNames({ retries: "retries" }, () =>
      runGrid(grid, {
        cacheDir,
        workers: num(args, "workers", 0),
        force: bool(args, "force"),
        signal: ac.signal,
        queue,
        retries: optNum(args, "retries"),
        onQueueEvent: (e) => say(e.message),
        onRun: (_r, wasCached) => {
          if (wasCached) cached++;
          else ran++;
        },
      }),
    );
    if (bool(args, "json")) {
      console.log(
        JSON.stringify(
          { grid: grid.name, ran, cached, runs: table.rows, failed: table.failed },
          null,
          2,
        ),
      );
    } else {
      console.log(
        `${grid.name}: ${ran} run, ${cached} from cache${table.failed.length ? `, ${table.failed.length} failed` : ""}\n`,
      );
      console.log(table.toMarkdown());
    }
    return table.failed.length ? 1 : 0;
  } finally {
    process.off("SIGINT", onSigint);
  }
}
