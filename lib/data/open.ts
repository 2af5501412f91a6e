/**
 * openStream: one entry point for every source. "shapes" is the built-in world; "openmoji" and
 * "tuxpaint" are the offline real sets; anything else is a path in a known format (see
 * detectFormat). File sources can mix in a text-only source with `textOnly` + `textOnlyEvery`.
 */
import { stat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { DataCursor, DataSpec, Example, ExampleStream } from "./types.ts";
import { DataError, type BadRecord, type OnError } from "./errors.ts";
import { openShapesStream } from "./shapes-stream.ts";
import { openRecordStream, type RecordSource, type RecordStream } from "./records.ts";
import { jsonlSource, textSource } from "./loaders/jsonl.ts";
import { csvSource } from "./loaders/csv.ts";
import { cocoSource } from "./loaders/coco.ts";
import { webdatasetSource } from "./loaders/webdataset.ts";
import { openmojiSource } from "./real/openmoji.ts";
import { tuxpaintSource } from "./real/tuxpaint.ts";
import { checkSplit } from "./real/common.ts";

export interface OpenStreamOptions {
  /**
   * The run seed: fixes the order in which records are visited (shuffle), never which records exist.
   * For the built-in world the world itself comes from `spec.dataSeed` (default WORLD_DATA_SEED).
   */
  seed: number;
  cursor?: DataCursor;
  /** Side of the square images produced (default 64). */
  imageSize?: number;
  /** Bad records: "skip" (count them, default) or "fail" (throw one DataError naming file and record). */
  onError?: OnError;
  signal?: AbortSignal;
}

export const DATA_FORMATS = ["jsonl", "csv", "coco", "webdataset", "text"] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** Format of a path from its extension or contents: .jsonl .csv/.tsv .json(COCO) .tar/folder of .tar .txt, or a folder with data.jsonl. */
export async function detectFormat(path: string): Promise<{ format: DataFormat; path: string }> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new DataError("no such file or folder", { file: path });
  }
  if (st.isDirectory()) {
    const names = await readdir(path);
    if (names.some((n) => n.endsWith(".tar"))) return { format: "webdataset", path };
    if (names.includes("data.jsonl")) return { format: "jsonl", path: join(path, "data.jsonl") };
    throw new DataError(
      "folder has neither .tar shards nor a data.jsonl; pass a file or --format",
      { file: path },
    );
  }
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  const byExt: Record<string, DataFormat> = {
    jsonl: "jsonl",
    ndjson: "jsonl",
    csv: "csv",
    tsv: "csv",
    json: "coco",
    tar: "webdataset",
    txt: "text",
  };
  const f = ext ? byExt[ext] : undefined;
  if (!f)
    throw new DataError(
      `cannot tell the format from the name; pass format (${DATA_FORMATS.join(", ")})`,
      { file: path },
    );
  return { format: f, path };
}

/** The record source for a non-"shapes" spec. */
export async function recordSourceFor(spec: DataSpec): Promise<RecordSource> {
  const split = checkSplit(spec.split, spec.source);
  if (spec.source === "openmoji")
    return openmojiSource({
      split,
      text: spec.text,
      skintones: spec.skintones === true,
      install: spec.install !== false,
    });
  if (spec.source === "tuxpaint")
    return tuxpaintSource({
      split,
      lang: typeof spec.lang === "string" ? spec.lang : undefined,
      dir: typeof spec.dir === "string" ? spec.dir : undefined,
      install: spec.install !== false,
    });
  let format = spec.format,
    path = spec.source;
  if (format === "text-jsonl") format = "jsonl";
  if (!format) ({ format, path } = await detectFormat(spec.source));
  else if (format === "jsonl") {
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) path = join(path, "data.jsonl");
  }
  const textField = typeof spec.text === "string" ? spec.text : undefined;
  const imageField = typeof spec.imageField === "string" ? spec.imageField : undefined;
  switch (format) {
    case "jsonl":
      return jsonlSource(path, { textField, imageField, split });
    case "csv":
      return csvSource(path, { textField, imageField });
    case "coco":
      return cocoSource(path, {
        images: typeof spec.images === "string" ? spec.images : undefined,
      });
    case "webdataset":
      return webdatasetSource(path);
    case "text":
      return textSource(path);
    default:
      throw new DataError(`unknown format "${format}" (${DATA_FORMATS.join(", ")})`, {
        file: spec.source,
      });
  }
}

export async function openStream(
  spec: DataSpec,
  opts: OpenStreamOptions,
): Promise<ExampleStream & { badRecords?(): BadRecord[] }> {
  if (!spec || typeof spec.source !== "string" || !spec.source)
    throw new DataError('DataSpec needs a source ("shapes", "openmoji", "tuxpaint" or a path)');
  if (!Number.isInteger(opts.seed))
    throw new DataError(`seed must be an integer, got ${opts.seed}`, { file: spec.source });
  const size = opts.imageSize ?? 64;
  if (!Number.isInteger(size) || size < 1)
    throw new DataError(`imageSize must be a positive integer, got ${size}`, { file: spec.source });
  if (opts.onError !== undefined && opts.onError !== "skip" && opts.onError !== "fail")
    throw new DataError(`onError must be "skip" or "fail", got "${String(opts.onError)}"`, {
      file: spec.source,
    });
  if (spec.source === "shapes") return openShapesStream(spec, opts);
  const every = spec.textOnlyEvery ?? 0;
  const c = opts.cursor as
    { mixed?: boolean; pos?: number; image?: DataCursor; text?: DataCursor } | undefined;
  const mixed = every > 0 && spec.textOnly !== undefined;
  const open = async (cursor?: DataCursor) =>
    openRecordStream(await recordSourceFor(spec), {
      seed: opts.seed,
      imageSize: size,
      onError: opts.onError ?? "skip",
      shuffleBuffer: spec.shuffleBuffer ?? 256,
      repeat: spec.repeat !== false,
      cursor,
      signal: opts.signal,
      fit: spec.fit === "contain" || spec.fit === "cover" ? spec.fit : undefined,
    });
  if (!mixed) return open(c);
  const textSpec: DataSpec =
    typeof spec.textOnly === "string" ? { source: spec.textOnly } : spec.textOnly!;
  const images = await open(c?.image);
  const texts = await openStream(textSpec, { ...opts, seed: opts.seed + 1, cursor: c?.text });
  return mixStreams(images, texts, every, c?.pos ?? 0);
}

/** Every `every` examples of `a`, one of `b`; the cursor holds both sub-cursors. */
function mixStreams(
  a: RecordStream,
  b: ExampleStream,
  every: number,
  pos0: number,
): ExampleStream & { badRecords(): BadRecord[] } {
  let pos = pos0;
  return {
    async next(n: number): Promise<Example[]> {
      // Fetch each side in bulk (so image decoding runs concurrently), then interleave by position.
      let nb = 0;
      for (let p = pos; p < pos + n; p++) if ((p + 1) % (every + 1) === 0) nb++;
      const xa = await a.next(n - nb),
        xb = nb ? await b.next(nb) : [];
      const out: Example[] = [];
      let ia = 0,
        ib = 0;
      while (out.length < n) {
        const fromB = (pos + 1) % (every + 1) === 0;
        const x = fromB ? xb[ib++] : xa[ia++];
        if (!x) break; // a finite side ran out: the stream ends here
        out.push(x);
        pos++;
      }
      return out;
    },
    cursor: () => ({ mixed: true, pos, image: a.cursor(), text: b.cursor() }),
    skipped: () => a.skipped() + b.skipped(),
    badRecords: () => a.badRecords(),
    async close() {
      await a.close?.();
      await b.close?.();
    },
  };
}
