/**
 * The kernel process. Three threads: the main thread runs cells (cells.ts, executor.ts); a wire
 * worker owns the zeromq sockets and the message handling (server.ts, handler.ts); a language
 * worker owns TypeScript (language-worker.ts). `runKernel` starts the workers and links them;
 * `startMainThread` sets up everything cells see (display API, input, output capture, error
 * reporting) and returns the function that takes the wire's messages — tests call it directly.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import { CellRunner, StdinRequests } from "./cells.ts";
import { makeDisplay, makeProgress } from "./display.ts";
import {
  currentExecution,
  installRuntime,
  interruptCurrent,
  InterruptError,
  type Execution,
} from "./executor.ts";
import { InterruptFlag } from "./interrupt-flag.ts";
import type { IopubMessage } from "./jupyter-messages.ts";
import { CellOutput } from "./output.ts";
import type { WireWorkerData } from "./server.ts";
import {
  LanguageClient,
  type MainToWire,
  type WirePortMessage,
  type WireToMain,
} from "./thread-messages.ts";
import { formatError } from "./traceback.ts";
import { readConnectionFile } from "./wire.ts";
import { startLanguageWorker, startWorker } from "./worker-bundles.mjs";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const pkgVersion = (p: string) =>
  (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version;

export interface KernelOptions {
  typecheck?: boolean;
}

export async function runKernel(connectionFile: string, opts: KernelOptions = {}): Promise<void> {
  const version = pkgVersion(here("../package.json"));
  const tsVersion = pkgVersion(here("../node_modules/typescript/package.json"));
  const connection = readConnectionFile(connectionFile); // a bad file is a WireError (a UserError) here, before any thread starts
  const flag = new InterruptFlag();
  // Usually started already by bin/simvlm.js, before the rest of the kernel loaded (worker-bundles.mjs).
  const language = await startLanguageWorker({
    cwd: process.cwd(),
    typecheck: opts.typecheck !== false,
  });
  // Last before the listeners: from here to them no event-loop turn passes, so no message is missed.
  const wire = await startWorker("server", {
    connection,
    interruptFlag: flag.buffer,
    version,
    tsVersion,
  } satisfies WireWorkerData);
  const channel = new MessageChannel();
  wire.postMessage({ type: "language_port", port: channel.port1 } satisfies MainToWire, [
    channel.port1,
  ]);
  language.postMessage({ type: "wire_port", port: channel.port2 } satisfies WirePortMessage, [
    channel.port2,
  ]);
  language.unref();
  const receive = startMainThread({
    toWire: (m) => wire.postMessage(m),
    language: new LanguageClient(language),
    flag,
    version,
    tsVersion,
    onShutdown: () => process.exit(0),
  });
  wire.on("message", receive);
}

export interface MainThreadOptions {
  toWire: (m: MainToWire) => void;
  language: LanguageClient;
  flag: InterruptFlag;
  version: string;
  tsVersion: string;
  /** The wire closed its sockets after a shutdown_request (the process should exit). */
  onShutdown: (restart: boolean) => void;
  /**
   * Which execution a process.stdout/stderr write belongs to (default: the cell's async context,
   * else the cell running now). A test that shares stdout with its test runner passes
   * `contextExecution`, so the runner's own writes are never taken for a cell's.
   */
  executionForWrites?: () => Execution | undefined;
}

/** Install the cell runtime on this thread; returns the handler for the wire's messages. Once per process. */
export function startMainThread(options: MainThreadOptions): (m: WireToMain) => void {
  const output = new CellOutput(options.toWire);
  output.captureProcessStreams(options.executionForWrites);
  const sendToCurrent = (message: IopubMessage) => output.send(currentExecution(), message);
  const display = makeDisplay(() => sendToCurrent);
  const progress = makeProgress(display);
  const clearOutput = (wait = false) =>
    sendToCurrent({ msgType: "clear_output", content: { wait: !!wait } });
  const stdin = new StdinRequests(options.toWire, output);
  const input = (prompt?: string, opts?: { password?: boolean }) =>
    stdin.input(currentExecution(), prompt, opts);
  let displayCounter = 0;
  installRuntime(options.flag, {
    display,
    clearOutput,
    input,
    progress,
    displaySink: (bundle, opts) => display.mime(bundle, opts),
    tslabModule: {
      display,
      clearOutput,
      input,
      progress,
      newDisplay: () =>
        makeDisplay(() => sendToCurrent, { displayId: `simvlm-display-${++displayCounter}` }),
      versions: { tslab: options.version, typescript: options.tsVersion, node: process.version },
    },
  });
  reportEscapedErrors(output);
  const cells = new CellRunner(options.toWire, options.language, output, stdin);
  return (m) => {
    switch (m.type) {
      case "execute":
        cells.enqueue(m.executionId, m.request);
        break;
      case "input_reply":
        stdin.reply(m.inputId, m.value);
        break;
      case "shutdown":
        options.onShutdown(m.restart);
        break;
      case "interrupt":
        interruptCurrent();
        break;
    }
  };
}

/**
 * Errors that escape a cell outside its own promise — thrown in a timer or an event handler, or a
 * rejection nobody handles — go to that cell's output as stderr (`Uncaught …`, frames mapped to the
 * cell) instead of ending the kernel; the async context says which cell they belong to. A cell
 * waits one macrotask after it settles, so the ones it causes while running show before its end.
 */
function reportEscapedErrors(output: CellOutput): void {
  const kernelLog = (line: string) => process.stderr.write(`[simvlm kernel] ${line}\n`); // no cell current: the real stderr
  const report = (prefix: string, e: unknown) => {
    const execution = currentExecution();
    const text = `${prefix} ${formatError(e).traceback.join("\n")}\n`;
    if (execution && !execution.silenced)
      output.send(execution, { msgType: "stream", content: { name: "stderr", text } });
    else kernelLog(`${prefix.toLowerCase()}: ${e instanceof Error ? e.stack : String(e)}`);
  };
  process.on("SIGINT", () => interruptCurrent());
  // Rejections from abandoned (interrupted) cells must not kill the kernel either.
  process.on("unhandledRejection", (e) => {
    if (!(e instanceof InterruptError)) report("Uncaught (in promise)", e);
  });
  process.on("uncaughtException", (e) => report("Uncaught", e));
}
