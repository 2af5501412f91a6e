/**
 * Content addressing for runs: a run's key is the SHA-256 of the canonical JSON of everything it
 * depends on (config, data spec, seed, the run function's name) plus the code version, a hash of the
 * library sources that can change a result. Editing a visualizer does not invalidate runs; editing
 * the model or the training loop does.
 */
import { createHash } from "node:crypto";
import { libSourceHash } from "../util/source-hash.ts";

/** JSON with object keys sorted at every level, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Library folders whose code decides a run's numbers. */
const RESULT_CODE = [
  "backend",
  "data",
  "decode",
  "eval",
  "experiments",
  "model",
  "tokenizer",
  "train",
  "util",
];

/** A short hash of the result-affecting library sources (file paths and contents). */
export function codeVersion(): string {
  return libSourceHash(RESULT_CODE).slice(0, 16);
}
