/**
 * Content addressing for runs: a run's key is the SHA-256 of the canonical JSON of everything it
 * depends on (config, data spec, seed, the run function's name) plus the code version, a hash of the
 * library sources that can change a result. Editing a visualizer does not invalidate runs; editing
 * the model or the training loop does.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

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
const RESULT_CODE = ["backend", "data", "decode", "eval", "experiments", "model", "tokenizer", "train", "util"];

let cachedVersion: string | undefined;

/** A short hash of the result-affecting library sources (file paths and contents). */
export function codeVersion(): string {
  if (cachedVersion) return cachedVersion;
  const libDir = fileURLToPath(new URL("..", import.meta.url));
  const h = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts")) { h.update(relative(libDir, p)); h.update("\0"); h.update(readFileSync(p)); h.update("\0"); }
    }
  };
  for (const d of RESULT_CODE) { try { walk(join(libDir, d)); } catch { /* folder absent */ } }
  cachedVersion = h.digest("hex").slice(0, 16);
  return cachedVersion;
}
