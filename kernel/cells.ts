/**
 * The main thread's side of the protocol: execute requests one at a time, in order, and `input()`
 * over stdin. The wire worker hands over each execute_request (already read and defaulted) and
 * turns what comes back — begin, iopub output, input requests, end — into Jupyter messages.
 *
 * Which iopub messages an execution publishes (ipykernel's behaviour, checked against it):
 *
 * | request                 | execute_input | execute_result | stream, display_data, update_display_data, clear_output, error | counter, history |
 * |-------------------------|---------------|----------------|----------------------------------------------------------------|------------------|
 * | plain                   | yes           | yes            | yes                                                            | +1, stored       |
 * | store_history: false    | yes           | yes            | yes                                                            | unchanged, none  |
 * | silent: true            | no            | no             | yes                                                            | unchanged, none  |
 *
 * (busy/idle status always.) A silent request's failure does not abort the queue (as in ipykernel).
 */
import { bundleFor, CellApiError, completeBundle, plotlyLoaderBundle } from "./display.ts";
import {
  abort,
  beginExecution,
  endExecution,
  InterruptError,
  newExecution,
  runCell,
  unlessInterrupted,
  type Execution,
} from "./executor.ts";
import type { ErrorContent, ExecuteReply, ExecuteRequest } from "./jupyter-messages.ts";
import type { CellOutput } from "./output.ts";
import type { Diagnostic, LanguageClient, MainToWire } from "./thread-messages.ts";
import { formatError } from "./traceback.ts";

/** `?name` or `name?`: show the type and doc comment of `name` in the pager. */
const PAGE_REQUEST = [/^\s*\?\s*([\w$.]+)\s*$/, /^\s*([\w$.]+)\s*\?\s*$/];

/** One macrotask: unhandled rejections of a cell are reported (process "unhandledRejection") before its end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export class CellRunner {
  private executionCount = 0;
  private readonly queue: { executionId: number; request: ExecuteRequest }[] = [];
  private draining = false;

  constructor(
    private readonly toWire: (m: MainToWire) => void,
    private readonly language: LanguageClient,
    private readonly output: CellOutput,
    private readonly stdin: StdinRequests,
  ) {}

  enqueue(executionId: number, request: ExecuteRequest): void {
    this.queue.push({ executionId, request });
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    while (this.queue.length) {
      const { executionId, request } = this.queue.shift()!;
      const ok = await this.execute(executionId, request);
      if (!ok && request.stop_on_error && !request.silent) {
        // Requests already waiting when a cell fails are aborted (as ipykernel does); later ones run.
        for (const q of this.queue.splice(0))
          this.toWire({
            type: "abort",
            executionId: q.executionId,
            executionCount: this.executionCount,
          });
      }
    }
    this.draining = false;
  }

  /** Run one request; true when it succeeded. */
  private async execute(executionId: number, request: ExecuteRequest): Promise<boolean> {
    if (request.store_history && !request.silent) this.executionCount++;
    const execution = newExecution(executionId, this.executionCount, request.allow_stdin);
    const count = execution.count;
    beginExecution(execution);
    this.toWire({ type: "begin", executionId, executionCount: count });
    let resultText: string | undefined;
    const end = (reply: ExecuteReply) => {
      this.output.finish(executionId);
      this.toWire({ type: "end", executionId, reply, output: resultText });
    };
    const fail = (error: ErrorContent) => {
      // Sent even for an interrupted execution (whose other late output is dropped).
      this.output.flush(executionId);
      this.toWire({ type: "iopub", executionId, message: { msgType: "error", content: error } });
      end({ status: "error", execution_count: count, ...error });
      return false;
    };
    try {
      const page = PAGE_REQUEST.map((re) => re.exec(request.code)).find(Boolean);
      if (page) {
        const name = page[1]!;
        const info = await this.language.ask("inspect", {
          code: name,
          cursor: name.length,
          detail: 1,
        });
        const data = info.found ? info.data : { "text/plain": `no information about ${name}` };
        end({
          status: "ok",
          execution_count: count,
          payload: [{ source: "page", data, start: 0 }],
          user_expressions: {},
        });
        return true;
      }
      const converted = await unlessInterrupted(
        execution,
        this.language.ask("convert", { code: request.code, executionId }),
      );
      if (converted.diagnostics.length)
        return fail(typeErrors(request.code, count, converted.diagnostics));
      void this.language.ask("commit", { executionId }).catch(() => {});
      let result: { value: unknown } | undefined;
      try {
        result = await runCell(execution, converted);
      } finally {
        if (!execution.controller.signal.aborted) await settle();
      }
      if (result && result.value !== undefined && !request.silent) {
        const raw = bundleFor(result.value);
        const data = completeBundle(raw);
        resultText = String(data["text/plain"] ?? "");
        this.output.flush(executionId);
        this.toWire({
          type: "iopub",
          executionId,
          message: {
            msgType: "execute_result",
            content: { execution_count: count, data, metadata: {} },
          },
        });
        const loader = plotlyLoaderBundle(raw);
        if (loader)
          this.toWire({
            type: "iopub",
            executionId,
            message: {
              msgType: "display_data",
              content: { data: loader, metadata: {}, transient: {} },
            },
          });
      }
      end({
        status: "ok",
        execution_count: count,
        payload: [],
        user_expressions: evaluateUserExpressions(request.user_expressions),
      });
      return true;
    } catch (e) {
      if (e instanceof InterruptError) abort(execution);
      // Report, then mark the execution aborted so its leftovers (timers, late output) stay silent.
      const ok = fail(formatError(e));
      abort(execution);
      execution.silenced = true;
      return ok;
    } finally {
      endExecution();
      this.stdin.cancel(execution);
    }
  }
}

/** Type and syntax errors as the cell's error, with `cell[N]:line:col` positions and a caret under each. */
function typeErrors(code: string, count: number, diagnostics: Diagnostic[]): ErrorContent {
  const lines = code.split("\n");
  const traceback = diagnostics.flatMap((d) => [
    `\x1b[31mcell[${count}]:${d.line + 1}:${d.column + 1} - error TS${d.code}\x1b[0m: ${d.message}`,
    `  ${lines[d.line] ?? ""}`,
    `  ${" ".repeat(d.column)}\x1b[31m^\x1b[0m`,
  ]);
  const first = diagnostics[0]!;
  return {
    ename: "TypeScriptError",
    evalue: `cell[${count}]:${first.line + 1}:${first.column + 1} ${first.message}`,
    traceback,
  };
}

function evaluateUserExpressions(expressions: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, code] of Object.entries(expressions)) {
    try {
      // eslint-disable-next-line no-eval
      const value = (0, eval)(String(code));
      out[name] = { status: "ok", data: completeBundle(bundleFor(value)), metadata: {} };
    } catch (e) {
      out[name] = { status: "error", ...formatError(e) };
    }
  }
  return out;
}

/**
 * `await input(prompt)` over the stdin channel. One input_request is outstanding at a time (a
 * second `input()` waits for the first answer, as a terminal would), so an input_reply always has
 * one request it can answer — which is how a reply with an empty parent header (jupyter_client's
 * `KernelClient.input()`) is matched (see handler.ts).
 */
export class StdinRequests {
  private nextInputId = 1;
  private turn: Promise<unknown> = Promise.resolve();
  private readonly waiting = new Map<
    number,
    { execution: Execution; resolve: (value: string) => void; reject: (e: Error) => void }
  >();

  constructor(
    private readonly toWire: (m: MainToWire) => void,
    private readonly output: CellOutput,
  ) {}

  /** The `input()` cells call, for the current execution. */
  input(
    execution: Execution | undefined,
    prompt = "",
    opts: { password?: boolean } = {},
  ): Promise<string> {
    if (!execution) return Promise.reject(new CellApiError("input(): no cell is running"));
    if (!execution.allowStdin)
      return Promise.reject(
        new CellApiError(
          "input(): this frontend does not accept input (the request has allow_stdin: false)",
        ),
      );
    const asked = this.turn.then(() => this.ask(execution, String(prompt), !!opts.password));
    this.turn = asked.catch(() => {});
    return asked;
  }

  private ask(execution: Execution, prompt: string, password: boolean): Promise<string> {
    if (execution.controller.signal.aborted) return Promise.reject(new InterruptError());
    const inputId = this.nextInputId++;
    this.output.flush(execution.id);
    return new Promise((resolve, reject) => {
      this.waiting.set(inputId, { execution, resolve, reject });
      execution.controller.signal.addEventListener(
        "abort",
        () => {
          this.waiting.delete(inputId);
          reject(new InterruptError());
        },
        { once: true },
      );
      this.toWire({ type: "input_request", executionId: execution.id, inputId, prompt, password });
    });
  }

  reply(inputId: number, value: string): void {
    const w = this.waiting.get(inputId);
    this.waiting.delete(inputId);
    w?.resolve(value);
  }

  /** The execution ended: requests it left unanswered are dropped. */
  cancel(execution: Execution): void {
    for (const [id, w] of this.waiting)
      if (w.execution === execution) {
        this.waiting.delete(id);
        w.reject(new CellApiError("input(): the cell ended before the answer came"));
      }
  }
}
