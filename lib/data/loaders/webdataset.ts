/**
 * WebDataset shards as img2dataset writes them: a tar whose consecutive files share a key
 * (`00000/000000012.jpg`, `.txt`, `.json`). Each key is one record: the image plus the caption
 * from .txt (or "caption"/"text" in .json, whose fields also go to meta). Shards are streamed,
 * never loaded whole; a corrupt shard is one bad record and the next shard goes on.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { ByteReader, decodeUtf8 } from "../io.ts";
import { readTar, TarFormatError, type TarEntry } from "../tar.ts";
import { DataError } from "../errors.ts";

const IMAGE_EXT = new Set(["jpg", "jpeg", "png", "webp", "gif", "tif", "tiff", "bmp", "svg"]);

/** The shard files of a path: a .tar, a folder of them, or a comma-separated list. */
export async function listShards(path: string): Promise<string[]> {
  if (path.includes(",")) return path.split(",").map((p) => p.trim()).filter(Boolean);
  let st;
  try { st = await stat(path); } catch { throw new DataError("no such file or folder", { file: path }); }
  if (!st.isDirectory()) return [path];
  const shards = (await readdir(path)).filter((f) => f.endsWith(".tar")).sort().map((f) => join(path, f));
  if (!shards.length) throw new DataError("folder has no .tar shards", { file: path });
  return shards;
}

function splitKey(name: string): { key: string; ext: string } {
  const slash = name.lastIndexOf("/");
  const dot = name.indexOf(".", slash + 1);
  return dot === -1 ? { key: name, ext: "" } : { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

function toRecord(shard: string, key: string, files: Map<string, TarEntry>): RawRecord {
  const base: RawRecord = { id: `${shard}:${key}`, file: shard, record: key };
  const imgExt = [...files.keys()].find((e) => IMAGE_EXT.has(e));
  let text: string | Buffer | undefined = files.get("txt")?.data;
  let meta: Record<string, unknown> | undefined;
  const json = files.get("json");
  if (json) {
    const s = decodeUtf8(json.data);
    let parsed: unknown;
    try { parsed = s === null ? undefined : JSON.parse(s); } catch { /* reported below */ }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { ...base, problem: `${key}.json is not a JSON object` };
    meta = parsed as Record<string, unknown>;
    if (text === undefined) {
      const c = meta.caption ?? meta.text;
      if (c !== undefined && typeof c !== "string") return { ...base, problem: `${key}.json "caption" must be a string` };
      text = c as string | undefined;
    }
  }
  if (text === undefined) return { ...base, problem: `no caption (${key}.txt or "caption" in ${key}.json)` };
  if (!imgExt) return { ...base, text, meta };
  return { ...base, imageBytes: files.get(imgExt)!.data, imageName: `${key}.${imgExt}`, text, meta };
}

export function webdatasetSource(path: string): RecordSource {
  return {
    name: path,
    async *records(): AsyncGenerator<RawRecord> {
      for (const shard of await listShards(path)) {
        let key: string | undefined;
        let group = new Map<string, TarEntry>();
        try {
          for await (const e of readTar(ByteReader.ofFile(shard))) {
            const k = splitKey(e.name);
            if (k.key !== key) {
              if (key !== undefined && group.size) yield toRecord(shard, key, group);
              key = k.key; group = new Map();
            }
            group.set(k.ext, e);
          }
          if (key !== undefined && group.size) yield toRecord(shard, key, group);
        } catch (e) {
          if (!(e instanceof TarFormatError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
          const where = e instanceof TarFormatError ? `byte ${e.offset}` : "open";
          yield { id: `${shard}@${where}`, file: shard, record: where, problem: `unreadable tar shard (${(e as Error).message}); rest of the shard skipped` };
        }
      }
    },
  };
}
