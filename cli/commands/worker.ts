/** `simvlm worker --queue URL`: take runs of ablation grids from a Redis queue (docs/queue.md). */
import { parseArgs, bool, optNum, optStr, str, UsageError, flagNames } from "../args.ts";
// The queue alone, not the index: the index also loads pretrainEval and the model, which only the runs' processes need.
import { startQueueWorker } from "../../lib/experiments/queue/index.ts";

const HELP = `usage: simvlm worker --queue URL [--concurrency N] [--store DIR] [--module FILE]... [--name NAME] [--lock-timeout S]
Takes runs that \`simvlm ablate GRID --queue URL\` (or runGrid(grid, { queue: URL })) put on the queue,
runs each in its own process and sends its results back. Start one on every machine, or one per GPU
(CUDA_VISIBLE_DEVICES=0 simvlm worker …, CUDA_VISIBLE_DEVICES=1 simvlm worker …).
  --queue URL        redis://[user:pass@]HOST:PORT[/DB], or rediss://… for TLS
  --concurrency N    runs at once (default 1)
  --store DIR        a folder the submitter can read too (e.g. NFS): run folders and checkpoints stay
                     there, and a run taken over after a crash resumes from them. Without it only the
                     results go back and checkpoints are discarded.
  --module FILE      a module that registers run functions (registerRun); may repeat. Only these and
                     the built-in runs ever run here: a job names a run function, it carries no code.
  --name NAME        how this worker is shown (default host:pid)
  --lock-timeout S   seconds after which a run of a worker that died goes to another (default 30)
Ctrl-C or SIGTERM: take no new runs, finish the running ones, then exit. Ctrl-C again: stop them
now (at a step boundary) and put them back on the queue for another worker.`;

const FLAGS = { concurrency: "concurrency", store: "store" };

export default async function worker(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: {
      queue: "string",
      concurrency: "number",
      store: "string",
      module: "string",
      name: "string",
      "lock-timeout": "number",
    },
    booleans: ["help"],
    repeatable: ["module"],
  });
  if (bool(a, "help")) {
    console.log(HELP);
    return 0;
  }
  if (a.positionals.length)
    throw new UsageError(`unexpected argument "${a.positionals[0]}"\n${HELP}`);
  const queue = str(a, "queue");
  const lockS = optNum(a, "lock-timeout");
  if (lockS !== undefined && !(lockS >= 1))
    throw new UsageError(`--lock-timeout must be at least 1 (seconds), got ${lockS}`);
  const say = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const w = await flagNames(FLAGS, () =>
    startQueueWorker({
      queue,
      concurrency: optNum(a, "concurrency"),
      store: optStr(a, "store"),
      modules: (a.flags.module as string[] | undefined) ?? [],
      name: optStr(a, "name"),
      lockMs: lockS === undefined ? undefined : lockS * 1000,
      log: say,
    }),
  );

  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        const running = w.running();
        say(
          `${sig}: taking no new runs${running.length ? `; finishing ${running.map((r) => `${r.label} seed ${r.seed}`).join(", ")} (Ctrl-C again to stop now and put them back on the queue)` : ""}`,
        );
        void w.close().then(() => resolve(signals > 1 ? 130 : 0));
      } else if (signals === 2) {
        say(
          `${sig} again: stopping the running runs at a step boundary; they go back on the queue`,
        );
        void w.close(true).then(() => resolve(130));
        setTimeout(() => resolve(130), 30_000).unref();
      } else process.exit(130);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const rc = await stopped;
  say("worker stopped");
  // BullMQ's sockets may keep the loop alive a moment after close: nothing is left to do.
  process.exit(rc);
}
