/**
 * Messages between the kernel's three threads: the main thread (executor: runs cells, owns their
 * state), the wire worker (zeromq sockets; answers even while a cell is busy) and the language
 * worker (TypeScript: conversion, type checks, completion, inspection).
 */

/** wire → main */
export type WireToMain =
  | { t: "execute"; req: number; code: string; silent: boolean; storeHistory: boolean; allowStdin: boolean; stopOnError: boolean; userExpressions: Record<string, string> }
  | { t: "input_reply"; req: number; value: string | null; error?: string }
  | { t: "shutdown"; restart: boolean }
  | { t: "ready" };

/** main → wire */
export type MainToWire =
  | { t: "begin"; req: number; count: number; code: string }
  | { t: "iopub"; req: number; msgType: string; content: Record<string, unknown>; metadata?: Record<string, unknown> }
  | { t: "end"; req: number; content: Record<string, unknown>; count: number; storeHistory: boolean; code: string; output?: string }
  | { t: "input"; req: number; prompt: string; password: boolean }
  | { t: "lang"; port: MessagePort };

import type { MessagePort } from "node:worker_threads";

/** Requests to the language worker (a reply carries the same id). */
export type LangRequest =
  | { id: number; t: "convert"; code: string; cell: number }
  | { id: number; t: "commit"; cell: number }
  | { id: number; t: "complete"; code: string; cursor: number }
  | { id: number; t: "inspect"; code: string; cursor: number; detail: number }
  | { id: number; t: "is_complete"; code: string };

/** A request before the caller numbers it. */
export type LangCall = LangRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface Diagnostic { line: number; column: number; message: string; code: number }

export interface Converted {
  /** JavaScript to run with vm (declarations become globals, wrapped in an async function). */
  js: string;
  /** Lines of `js` before the cell's first line. */
  lineOffset: number;
  /** generated (0-based line in the cell body) → source position, for tracebacks. */
  lineMap: number[];
  names: string[];
  diagnostics: Diagnostic[];
  /** True when the cell ends with an expression whose value is the result. */
  hasResult: boolean;
}

export type LangReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: string };
