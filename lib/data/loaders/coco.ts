/**
 * COCO captions: captions_*.json ({ images: [{ id, file_name }], annotations: [{ image_id,
 * caption }] }) plus a folder of images. One record per caption; meta carries the image id and all
 * captions of that image (for captioning evaluation). The JSON is read whole (it is metadata only).
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { DataError } from "../errors.ts";
import { decodeUtf8 } from "../io.ts";
import { describe } from "./fields.ts";

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export function cocoSource(path: string, opts: { images?: string } = {}): RecordSource {
  return {
    name: path,
    async *records(): AsyncGenerator<RawRecord> {
      let raw: Buffer;
      try {
        raw = await readFile(path);
      } catch (e) {
        throw new DataError(`cannot read: ${(e as Error).message}`, { file: path });
      }
      const text = decodeUtf8(raw);
      if (text === null) throw new DataError("not valid UTF-8", { file: path });
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new DataError(`invalid JSON: ${(e as Error).message}`, { file: path });
      }
      const d = doc as { images?: unknown; annotations?: unknown };
      if (
        typeof doc !== "object" ||
        doc === null ||
        !Array.isArray(d.images) ||
        !Array.isArray(d.annotations)
      ) {
        throw new DataError(
          `expected a COCO captions object with "images" and "annotations" lists, got ${describe(doc)}`,
          { file: path },
        );
      }
      const dir = opts.images
        ? resolve(opts.images)
        : (await isDir(join(dirname(path), "images")))
          ? join(dirname(path), "images")
          : dirname(path);
      const files = new Map<unknown, string>();
      const captions = new Map<unknown, string[]>();
      for (const im of d.images as unknown[]) {
        const o = im as { id?: unknown; file_name?: unknown };
        if (
          o &&
          (typeof o.id === "number" || typeof o.id === "string") &&
          typeof o.file_name === "string"
        )
          files.set(o.id, o.file_name);
      }
      for (const a of d.annotations as unknown[]) {
        const o = a as { image_id?: unknown; caption?: unknown };
        if (o && typeof o.caption === "string")
          (captions.get(o.image_id) ?? captions.set(o.image_id, []).get(o.image_id)!).push(
            o.caption,
          );
      }
      const anns = d.annotations as unknown[];
      for (let i = 0; i < anns.length; i++) {
        const a = anns[i] as { id?: unknown; image_id?: unknown; caption?: unknown } | null;
        const rec = `annotation ${i}${a && a.id !== undefined ? ` (id ${String(a.id)})` : ""}`;
        const id = `${path}#${i}`;
        if (!a || typeof a !== "object") {
          yield { id, file: path, record: rec, problem: `expected an object, got ${describe(a)}` };
          continue;
        }
        if (typeof a.caption !== "string") {
          yield {
            id,
            file: path,
            record: rec,
            problem: `"caption" must be a string, got ${describe(a.caption)}`,
          };
          continue;
        }
        const fname = files.get(a.image_id);
        if (!fname) {
          yield {
            id,
            file: path,
            record: rec,
            problem: `image_id ${String(a.image_id)} is not in "images"`,
          };
          continue;
        }
        yield {
          id,
          file: path,
          record: rec,
          imagePath: join(dir, fname),
          text: a.caption,
          meta: { image_id: a.image_id, captions: captions.get(a.image_id) ?? [] },
        };
      }
    },
  };
}
