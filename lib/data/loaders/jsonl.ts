/**
 * JSONL: one JSON object per line with an image path (relative to the file) and a text; a line
 * without an image field is a text-only document. Extra fields travel in `meta` (so `data export`
 * output reads back with its captions and annotations). `spec.split` filters on a "split" field.
 */
import { dirname } from "node:path";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { readLines, decodeUtf8 } from "../io.ts";
import { pickImage, pickText, describe } from "./fields.ts";

export interface JsonlOptions {
  textField?: string;
  imageField?: string;
  split?: string;
}

export function jsonlSource(path: string, opts: JsonlOptions = {}): RecordSource {
  const base = dirname(path);
  return {
    name: path,
    async *records(): AsyncGenerator<RawRecord> {
      for await (const { line, bytes } of readLines(path)) {
        const id = `${path}:${line}`;
        const s = decodeUtf8(bytes);
        if (s === null) {
          yield { id, file: path, record: `line ${line}`, problem: "line is not valid UTF-8" };
          continue;
        }
        if (!s.trim()) continue;
        let obj: unknown;
        try {
          obj = JSON.parse(s);
        } catch (e) {
          yield {
            id,
            file: path,
            record: `line ${line}`,
            problem: `invalid JSON: ${(e as Error).message}`,
          };
          continue;
        }
        if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
          yield {
            id,
            file: path,
            record: `line ${line}`,
            problem: `expected a JSON object, got ${describe(obj)}`,
          };
          continue;
        }
        const o = obj as Record<string, unknown>;
        if (opts.split && typeof o.split === "string" && o.split !== opts.split) continue;
        const img = pickImage(o, base, opts.imageField);
        const txt = pickText(o, opts.textField);
        const problem = img.problem ?? txt.problem;
        const meta: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(o)) if (k !== img.field && k !== txt.field) meta[k] = v;
        const rid = typeof o.id === "string" || typeof o.id === "number" ? String(o.id) : id;
        yield {
          id: rid,
          file: path,
          record: `line ${line}`,
          imagePath: img.path,
          text: txt.text,
          meta,
          ...(problem ? { problem } : {}),
        };
      }
    },
  };
}

/** Plain text: every non-empty line is one text-only document. */
export function textSource(path: string): RecordSource {
  return {
    name: path,
    async *records(): AsyncGenerator<RawRecord> {
      for await (const { line, bytes } of readLines(path)) {
        const s = decodeUtf8(bytes);
        if (s === null) {
          yield {
            id: `${path}:${line}`,
            file: path,
            record: `line ${line}`,
            problem: "line is not valid UTF-8",
          };
          continue;
        }
        if (!s.trim()) continue;
        yield { id: `${path}:${line}`, file: path, record: `line ${line}`, text: s };
      }
    },
  };
}
