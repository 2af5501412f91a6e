/**
 * Messages between the kernel's three threads: the main thread (runs cells and owns their state),
 * the wire worker (zeromq sockets; answers even while a cell is busy) and the language worker
 * (TypeScript: conversion, type checks, completion, inspection).
 *
 * One execute_request is one *execution*, named everywhere by its `executionId` (a number the wire
 * gives it, unique in the kernel's life). Its `executionCount` is Jupyter's execution_count, the
 * N of In [N] and of `cell[N]` in tracebacks; executions that store no history share the count.
 */
import type { SourceMapPayload } from "node:module";
import type { MessagePort } from "node:worker_threads";
import type {
  CompleteResult,
  ExecuteReply,
  ExecuteRequest,
  InspectResult,
  IopubMessage,
  IsCompleteResult,
} from "./jupyter-messages.ts";

/** wire → main */
export type WireToMain =
  | { type: "execute"; executionId: number; request: ExecuteRequest }
  /** The answer to input request `inputId` (see MainToWire "input_request"). */
  | { type: "input_reply"; inputId: number; value: string }
  | { type: "shutdown"; restart: boolean }
  /** An interrupt no guard took within 50 ms (interrupt-flag.ts): stop the execution it names, if it still runs. */
  | { type: "interrupt" };

/** main → wire */
export type MainToWire =
  /** The execution starts: busy, and execute_input unless it is silent. */
  | { type: "begin"; executionId: number; executionCount: number }
  | { type: "iopub"; executionId: number; message: IopubMessage }
  | {
      type: "input_request";
      executionId: number;
      inputId: number;
      prompt: string;
      password: boolean;
    }
  /** The execution is over: its reply, and the text of its result for the history's output. */
  | { type: "end"; executionId: number; reply: ExecuteReply; output?: string }
  /** Never run (an earlier request failed with stop_on_error): an "aborted" reply between busy and idle. */
  | { type: "abort"; executionId: number; executionCount: number }
  | { type: "language_port"; port: MessagePort };

/** main → language worker, once: the port on which the wire worker asks its questions. */
export interface WirePortMessage {
  type: "wire_port";
  port: MessagePort;
}

export interface Diagnostic {
  line: number;
  column: number;
  message: string;
  code: number;
}

/** A cell made ready to run: JavaScript for vm, and what is needed to map its positions back. */
export interface Converted {
  /** JavaScript to run with vm (declarations become globals, wrapped in an async function). */
  js: string;
  /** Lines of `js` before the cell's first line. */
  lineOffset: number;
  /** Source map from the body of `js` (after lineOffset) to the transpiled JavaScript (the converter's edits). */
  editMap: SourceMapPayload;
  /** Source map from the transpiled JavaScript to the TypeScript cell. */
  sourceMap: SourceMapPayload | undefined;
  /** Syntax and type errors; the cell runs only when there are none. */
  diagnostics: Diagnostic[];
}

/** The language worker's calls: what each takes and what it answers. */
export interface LanguageCalls {
  /** Transpile and type-check a cell against the executions committed before it. */
  convert: { request: { code: string; executionId: number }; result: Converted };
  /** The converted cell ran: later cells see its declarations. */
  commit: { request: { executionId: number }; result: boolean };
  complete: { request: { code: string; cursor: number }; result: CompleteResult };
  inspect: { request: { code: string; cursor: number; detail: number }; result: InspectResult };
  is_complete: { request: { code: string }; result: IsCompleteResult };
}
export type LanguageCallType = keyof LanguageCalls;
export type LanguageRequest = {
  [K in LanguageCallType]: { id: number; type: K } & LanguageCalls[K]["request"];
}[LanguageCallType];
export type LanguageReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

interface Port {
  postMessage(message: unknown): void;
  on(event: "message", listener: (message: LanguageReply) => void): unknown;
}

/** Asks the language worker over a port (the worker itself, or a MessagePort to it) and matches replies by id. */
export class LanguageClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: LanguageReply) => void>();

  constructor(private readonly port: Port) {
    port.on("message", (reply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply);
    });
  }

  ask<K extends LanguageCallType>(
    type: K,
    request: LanguageCalls[K]["request"],
  ): Promise<LanguageCalls[K]["result"]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) =>
        r.ok ? resolve(r.value as LanguageCalls[K]["result"]) : reject(new Error(r.error)),
      );
      this.port.postMessage({ ...request, type, id });
    });
  }
}
