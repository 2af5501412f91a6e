/**
 * `simvlm` command line. Each command lives in cli/commands/<name>.ts and is loaded only when
 * called, so `simvlm info` does not pay for TypeScript tooling or the kernel.
 */
import { UserError } from "../lib/errors.ts";
import { AbortedError } from "../lib/runtime.ts";
import { TrainDivergedError } from "../lib/train/errors.ts";

// Loaded by name at call time: a command whose file is absent reports that instead of breaking the CLI.
const load = (name: string) =>
  import(`./commands/${name}.ts`) as Promise<{
    default: (argv: string[]) => Promise<number | void>;
  }>;

type Command = {
  summary: string;
  load: () => Promise<{ default: (argv: string[]) => Promise<number | void> }>;
};

const commands: Record<string, Command> = {
  start: {
    summary: "set up and open the notebooks in Jupyter (the quick start)",
    load: () => load("start"),
  },
  info: {
    summary: "show the tensor backend, threads, versions [--json]",
    load: () => load("info"),
  },
  kernel: {
    summary: "kernel install [--user|--sys-prefix|--prefix DIR] | remove | run CONNECTION_FILE",
    load: () => load("kernel"),
  },
  data: {
    summary: "data export | data check: built-in and real datasets",
    load: () => load("data"),
  },
  pretrain: {
    summary: "PrefixLM pretraining with resumable checkpoints",
    load: () => load("pretrain"),
  },
  caption: { summary: "caption an image with a checkpoint", load: () => load("caption") },
  score: { summary: "BLEU-1..4 and CIDEr-D of candidate captions", load: () => load("score") },
  eval: { summary: "evaluate a checkpoint on caption|vqa|entailment", load: () => load("eval") },
  finetune: { summary: "finetune a checkpoint on a task", load: () => load("finetune") },
  viz: {
    summary: "viz attention | viz prefix-mask: figures as PNG or HTML",
    load: () => load("viz"),
  },
  ablate: {
    summary: "run an ablation grid with a run cache (here, or on a Redis queue with --queue)",
    load: () => load("ablate"),
  },
  worker: {
    summary: "take ablation runs from a Redis queue (--queue URL): one per machine or GPU",
    load: () => load("worker"),
  },
  bench: { summary: "benchmarks: train-step, decode, ...", load: () => load("bench") },
};

/**
 * Printed as one line, without a stack trace: errors about the user's input (UserError: the message
 * names the flag, file or field), an interrupted run, and a diverged training (the message says what
 * to change). Anything else is a bug and keeps its stack.
 */
const isReported = (e: unknown): e is Error =>
  e instanceof UserError || e instanceof AbortedError || e instanceof TrainDivergedError;

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  return [
    "usage: simvlm <command> [flags]",
    "",
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`),
    "",
    "Run `simvlm <command> --help` for a command's flags.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (name === "--version") {
    console.log((await import("../package.json", { with: { type: "json" } })).default.version);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`simvlm: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let mod;
  try {
    mod = await cmd.load();
  } catch (e) {
    if (
      (e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
      String(e).includes(`commands/${name}.ts`)
    ) {
      console.error(`simvlm: the "${name}" command is not available in this build`);
      return 2;
    }
    throw e;
  }
  const rc = await mod.default(rest);
  return typeof rc === "number" ? rc : 0;
}

// `simvlm … | head` closes the pipe early: that is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  else throw e;
});

main(process.argv.slice(2)).then(
  (rc) => {
    process.exitCode = rc;
  },
  (e: unknown) => {
    if (isReported(e)) console.error(`simvlm: ${e.message}`);
    else console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
  },
);
