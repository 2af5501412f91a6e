/**
 * The kernel process: the main thread runs cells (executor.ts); a wire worker owns the zeromq
 * sockets (server.ts); a language worker owns TypeScript (language-worker.ts). This file wires them
 * together, captures stdout/stderr per execution and sequences execute requests.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import { abort, FLAG_SLOTS, beginExecution, endExecution, formatError, installRuntime, interruptCurrent, InterruptError, owner, runCell, setAmbientSinks, unlessInterrupted, type Exec } from "./executor.ts";
import { bundleFor, completeBundle, makeDisplay, makeProgress, plotlyLoaderBundle, type IopubSend } from "./display.ts";
import { startLanguageWorker, startWorker } from "./worker-bundles.mjs";
import type { Converted, LangCall, LangReply, MainToWire, WireToMain } from "./protocol.ts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const pkgVersion = (p: string) => (JSON.parse(readFileSync(p, "utf8")) as { version: string }).version;

export interface KernelOptions { typecheck?: boolean }

export async function runKernel(connectionFile: string, opts: KernelOptions = {}): Promise<void> {
  const version = pkgVersion(here("../package.json"));
  const tsVersion = pkgVersion(here("../node_modules/typescript/package.json"));
  const flag = new Int32Array(new SharedArrayBuffer(4 * FLAG_SLOTS));
  // Usually started already by bin/simvlm.js, before the rest of the kernel loaded (worker-bundles.mjs).
  const lang = await startLanguageWorker({ cwd: process.cwd(), typecheck: opts.typecheck !== false });
  // Last before the listeners: from here to them no event-loop turn passes, so no message is missed.
  const wire = await startWorker("server", { connectionFile, flag: flag.buffer, version, tsVersion });
  const channel = new MessageChannel();
  wire.postMessage({ t: "lang", port: channel.port1 } satisfies MainToWire, [channel.port1]);
  lang.postMessage({ t: "wire-port", port: channel.port2 }, [channel.port2]);
  lang.unref();

  const toWire = (m: MainToWire) => wire.postMessage(m);
  let langId = 1;
  const langWaiters = new Map<number, (r: LangReply) => void>();
  lang.on("message", (r: LangReply) => { const w = langWaiters.get(r.id); langWaiters.delete(r.id); w?.(r); });
  const ask = <T>(req: LangCall): Promise<T> => {
    const id = langId++;
    return new Promise((resolve, reject) => {
      langWaiters.set(id, (r) => r.ok ? resolve(r.value as T) : reject(new Error(r.error)));
      lang.postMessage({ ...req, id });
    });
  };

  // ---- output: streams are buffered per execution and flushed before any other message ----
  const streams = new Map<number, { stdout: string; stderr: string; at: number }>();
  const flushStreams = (req: number) => {
    const s = streams.get(req);
    if (!s) return;
    streams.delete(req);
    for (const name of ["stdout", "stderr"] as const) if (s[name]) toWire({ t: "iopub", req, msgType: "stream", content: { name, text: s[name] } });
  };
  const lastFlush = new Map<number, number>();
  let flushScheduled = false;
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => { flushScheduled = false; for (const req of [...streams.keys()]) flushStreams(req); });
  };
  const sendFor = (ex: Exec | undefined): IopubSend => (msgType, content) => {
    if (!ex) throw new Error("display: no cell is running (output after a cell finished has nowhere to go)");
    if (ex.controller.signal.aborted) return; // an interrupted cell's late output is dropped
    flushStreams(ex.req);
    toWire({ t: "iopub", req: ex.req, msgType, content });
  };
  for (const name of ["stdout", "stderr"] as const) {
    const stream = process[name];
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
      const ex = owner();
      if (!ex) return original(chunk as never, enc as never, cb as never);
      if (!ex.controller.signal.aborted) {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof enc === "string" ? (enc as BufferEncoding) : "utf8");
        const s = streams.get(ex.req) ?? (streams.set(ex.req, { stdout: "", stderr: "", at: Date.now() }).get(ex.req)!);
        // Keep stdout/stderr order: switching streams flushes what the other one holds.
        const other = name === "stdout" ? "stderr" : "stdout";
        if (s[other]) flushStreams(ex.req);
        const cur = streams.get(ex.req) ?? (streams.set(ex.req, { stdout: "", stderr: "", at: Date.now() }).get(ex.req)!);
        cur[name] += text;
        // A busy cell never yields to setImmediate: the first write after a quiet spell goes out at
        // once, later ones are coalesced and flushed by size and age as the cell writes.
        const now = Date.now();
        if (cur[name].length > 65536 || now - cur.at > 50 || now - (lastFlush.get(ex.req) ?? 0) > 50) { lastFlush.set(ex.req, now); flushStreams(ex.req); } else scheduleFlush();
      }
      const done = typeof enc === "function" ? enc : cb;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    }) as typeof stream.write;
  }

  // ---- the display API and the ambient run context ----
  const display = makeDisplay(() => sendFor(owner()));
  const progress = makeProgress(display);
  const clearOutput = (wait = false) => sendFor(owner())("clear_output", { wait: !!wait });
  const inputWaiters = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  const allowStdin = new Map<number, boolean>();
  const input = (prompt = "", o: { password?: boolean } = {}): Promise<string> => {
    const ex = owner();
    if (!ex) return Promise.reject(new Error("input(): no cell is running"));
    if (!allowStdin.get(ex.req)) return Promise.reject(new Error("input(): this frontend does not accept input (the request has allow_stdin: false)"));
    flushStreams(ex.req);
    return new Promise((resolve, reject) => {
      inputWaiters.set(ex.req, { resolve, reject });
      ex.controller.signal.addEventListener("abort", () => { inputWaiters.delete(ex.req); reject(new InterruptError()); }, { once: true });
      toWire({ t: "input", req: ex.req, prompt: String(prompt), password: !!o.password });
    });
  };
  let displayCounter = 0;
  const tslab = {
    display, clearOutput, input, progress,
    newDisplay: () => makeDisplay(() => sendFor(owner()), { displayId: `simvlm-display-${++displayCounter}` }),
    versions: { tslab: version, typescript: tsVersion, node: process.version },
  };
  installRuntime(flag, { display, clearOutput, input, tslab });
  setAmbientSinks(progress, (bundle, o) => display.mime(bundle, o));
  process.on("SIGINT", () => interruptCurrent());
  // Unhandled rejections from abandoned (interrupted) cells must not kill the kernel.
  process.on("unhandledRejection", (e) => { if (!(e instanceof InterruptError)) process.stderr.write(`[simvlm kernel] unhandled rejection: ${(e as Error)?.stack ?? e}\n`); });
  process.on("uncaughtException", (e) => {
    const ex = owner();
    if (ex && !ex.controller.signal.aborted) sendFor(ex)("stream", { name: "stderr", text: `Uncaught ${formatError(e).traceback.join("\n")}\n` });
    else process.stderr.write(`[simvlm kernel] uncaught exception: ${e.stack ?? e}\n`);
  });

  // ---- executions, one at a time ----
  let count = 0;
  const queue: Extract<WireToMain, { t: "execute" }>[] = [];
  let running = false;
  const drain = async () => {
    if (running) return;
    running = true;
    while (queue.length) {
      const m = queue.shift()!;
      const ok = await execute(m);
      if (!ok && m.stopOnError) {
        // Requests already waiting when a cell fails are aborted (as ipykernel does); later ones run.
        for (const q of queue.splice(0)) {
          toWire({ t: "begin", req: q.req, count, code: q.code });
          toWire({ t: "end", req: q.req, count, storeHistory: false, code: q.code, content: { status: "aborted", execution_count: count } });
        }
      }
    }
    running = false;
  };

  const execute = async (m: Extract<WireToMain, { t: "execute" }>): Promise<boolean> => {
    if (m.storeHistory) count++;
    const ex: Exec = { req: m.req, controller: new AbortController(), timeouts: new Map(), intervals: new Set() };
    allowStdin.set(m.req, m.allowStdin);
    beginExecution(ex);
    toWire({ t: "begin", req: m.req, count, code: m.code });
    let output: string | undefined;
    const end = (content: Record<string, unknown>) => {
      flushStreams(m.req);
      allowStdin.delete(m.req);
      lastFlush.delete(m.req);
      toWire({ t: "end", req: m.req, count, storeHistory: m.storeHistory, code: m.code, output, content: { execution_count: count, ...content } });
    };
    const fail = (err: { ename: string; evalue: string; traceback: string[] }) => {
      flushStreams(m.req);
      toWire({ t: "iopub", req: m.req, msgType: "error", content: err });
      end({ status: "error", ...err });
      return false;
    };
    try {
      const page = /^\s*\?\s*([\w$.]+)\s*$/.exec(m.code) ?? /^\s*([\w$.]+)\s*\?\s*$/.exec(m.code);
      if (page) {
        const name = page[1]!;
        const r = await ask<{ found: boolean; data: Record<string, string> }>({ t: "inspect", code: name, cursor: name.length, detail: 1 });
        const data = r.found ? r.data : { "text/plain": `no information about ${name}` };
        end({ status: "ok", payload: [{ source: "page", data, start: 0 }], user_expressions: {} });
        return true;
      }
      const conv = await unlessInterrupted(ex, ask<Converted & { sourceMap: unknown }>({ t: "convert", code: m.code, cell: count }));
      if (conv.diagnostics.length) {
        const lines = m.code.split("\n");
        const tb = conv.diagnostics.flatMap((d) => [
          `\x1b[31mcell[${count}]:${d.line + 1}:${d.column + 1} - error TS${d.code}\x1b[0m: ${d.message}`,
          `  ${lines[d.line] ?? ""}`, `  ${" ".repeat(d.column)}\x1b[31m^\x1b[0m`,
        ]);
        const first = conv.diagnostics[0]!;
        return fail({ ename: "TypeScriptError", evalue: `cell[${count}]:${first.line + 1}:${first.column + 1} ${first.message}`, traceback: tb });
      }
      void ask({ t: "commit", cell: count }).catch(() => {});
      const result = await runCell(ex, count, conv);
      if (result && result.value !== undefined && !m.silent) {
        const raw = bundleFor(result.value);
        const bundle = completeBundle(raw);
        output = String(bundle["text/plain"] ?? "");
        flushStreams(m.req);
        toWire({ t: "iopub", req: m.req, msgType: "execute_result", content: { execution_count: count, data: bundle, metadata: {} } });
        const loader = plotlyLoaderBundle(raw);
        if (loader) toWire({ t: "iopub", req: m.req, msgType: "display_data", content: { data: loader, metadata: {}, transient: {} } });
      }
      end({ status: "ok", payload: [], user_expressions: evaluateUserExpressions(m.userExpressions) });
      return true;
    } catch (e) {
      if (e instanceof InterruptError || ex.controller.signal.aborted) abort(ex);
      const err = formatError(e);
      // After the error is reported, mark the execution aborted so its leftovers stay silent.
      const r = fail(err);
      abort(ex);
      return r;
    } finally {
      endExecution();
      inputWaiters.delete(m.req);
    }
  };

  wire.on("message", (m: WireToMain) => {
    switch (m.t) {
      case "execute": queue.push(m); void drain(); break;
      case "input_reply": {
        const w = inputWaiters.get(m.req);
        inputWaiters.delete(m.req);
        if (w) (m.error ? w.reject(new Error(m.error)) : w.resolve(m.value ?? ""));
        break;
      }
      case "shutdown": process.exit(0);
      case "ready": break; // the language worker warms up on its own from the start
    }
  });
}

function evaluateUserExpressions(exprs: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, code] of Object.entries(exprs ?? {})) {
    try {
      // eslint-disable-next-line no-eval
      const v = (0, eval)(String(code));
      out[k] = { status: "ok", data: bundleFor(v), metadata: {} };
    } catch (e) { out[k] = { status: "error", ...formatError(e) }; }
  }
  return out;
}
