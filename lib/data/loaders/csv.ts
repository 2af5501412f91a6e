/**
 * CSV/TSV with a header row naming an image column and a text column (same names as JSONL).
 * RFC 4180 quoting, including newlines inside quoted fields; streamed line by line.
 */
import { dirname } from "node:path";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { readLines, decodeUtf8 } from "../io.ts";
import { pickImage, pickText } from "./fields.ts";
import { DataError } from "../errors.ts";

/** Split one logical CSV record; returns null while a quoted field is still open. */
function splitCsv(s: string, sep: string): string[] | null {
  const out: string[] = [];
  let cur = "",
    q = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (q) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          cur += '"';
          i++;
        } else q = false;
      } else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === sep) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (q) return null;
  out.push(cur);
  return out;
}

export function csvSource(
  path: string,
  opts: { textField?: string; imageField?: string } = {},
): RecordSource {
  const sep = /\.tsv$/i.test(path) ? "\t" : ",";
  const base = dirname(path);
  return {
    name: path,
    async *records(): AsyncGenerator<RawRecord> {
      let header: string[] | undefined;
      let pending = "",
        startLine = 0;
      for await (const { line, bytes } of readLines(path)) {
        const s = decodeUtf8(bytes);
        if (s === null) {
          if (!header)
            throw new DataError("header is not valid UTF-8", {
              file: path,
              record: `line ${line}`,
            });
          pending = "";
          yield {
            id: `${path}:${line}`,
            file: path,
            record: `line ${line}`,
            problem: "line is not valid UTF-8",
          };
          continue;
        }
        if (!pending) startLine = line;
        pending = pending ? `${pending}\n${s}` : s;
        const cells = splitCsv(pending, sep);
        if (!cells) continue;
        pending = "";
        if (!header) {
          header = cells.map((c) => c.trim().toLowerCase());
          const probe = Object.fromEntries(header.map((h) => [h, ""]));
          if (pickText(probe, opts.textField).problem?.startsWith("no "))
            throw new DataError(`header has no text column (${header.join(", ")})`, {
              file: path,
              record: "line 1",
            });
          continue;
        }
        if (cells.length === 1 && !cells[0]!.trim()) continue;
        const rec = `line ${startLine}`,
          id = `${path}:${startLine}`;
        if (cells.length !== header.length) {
          yield {
            id,
            file: path,
            record: rec,
            problem: `has ${cells.length} columns, header has ${header.length}`,
          };
          continue;
        }
        const o = Object.fromEntries(header.map((h, i) => [h, cells[i]!]));
        const img = pickImage(o, base, opts.imageField),
          txt = pickText(o, opts.textField);
        const problem = img.problem ?? txt.problem;
        yield {
          id,
          file: path,
          record: rec,
          imagePath: img.path,
          text: txt.text,
          ...(problem ? { problem } : {}),
        };
      }
      if (pending)
        yield {
          id: `${path}:${startLine}`,
          file: path,
          record: `line ${startLine}`,
          problem: "unterminated quoted field",
        };
    },
  };
}
