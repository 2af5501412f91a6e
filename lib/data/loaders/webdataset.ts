/**
 * WebDataset shards as img2dataset writes them: a tar whose consecutive files share a key
 * (`00000/000000012.jpg`, `.txt`, `.json`). Each key is one record: the image plus the caption
 * from .txt (or "caption"/"text" in .json, whose fields also go to meta); a key with text and no
 * image is a text-only document. Shards are streamed, never loaded whole.
 *
 * Keys follow the webdataset library (tariterators.base_plus_ext / group_by_keys): the key is the
 * member's path up to the first dot of its file name, the extension the rest, lower-cased, and a
 * sample is a run of consecutive members with one key. A shard whose key reappears after its run
 * ended (plain `tar cf` order: all .png, then all .txt) is refused whole — "shard not sorted by
 * key" — by a header-only pass before any of its records is read, so no half of a split sample
 * (a caption alone would pass for a text-only document) ever reaches training. Every other way a
 * sample can be malformed is one bad record with its reason (see docs/data.md).
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { ByteReader, decodeUtf8 } from "../io.ts";
import { FileBlocks, readTar, TarFormatError, type TarEntry } from "../tar.ts";
import { DataError } from "../errors.ts";

const IMAGE_EXT = new Set(["jpg", "jpeg", "png", "webp", "gif", "tif", "tiff", "bmp", "svg"]);
const TEXT_EXT = new Set(["txt", "json"]);

/** The shard files of a path: a .tar, a folder of them, or a comma-separated list. */
export async function listShards(path: string): Promise<string[]> {
  if (path.includes(","))
    return path
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new DataError("no such file or folder", { file: path });
  }
  if (!st.isDirectory()) return [path];
  const shards = (await readdir(path))
    .filter((f) => f.endsWith(".tar"))
    .sort()
    .map((f) => join(path, f));
  if (!shards.length) throw new DataError("folder has no .tar shards", { file: path });
  return shards;
}

/**
 * A member name → its sample key and extension, or why it belongs to no sample. A leading "./"
 * (what `tar cf x.tar .` writes) is dropped so it cannot split a key.
 */
export function splitKey(name: string): { key: string; ext: string } | { stray: string } {
  const path = name.replace(/^(\.\/)+/, "");
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  if (base.startsWith("."))
    return { stray: `${name}: a hidden file (name starts with a dot), not part of any sample` };
  const dot = base.indexOf(".");
  if (dot === -1) return { stray: `${name}: no extension, so not part of any sample` };
  return { key: path.slice(0, slash + 1 + dot), ext: base.slice(dot + 1).toLowerCase() };
}

/** Where a shard's keys stop being grouped: the member whose key came back, and why; or undefined. */
async function unsortedAt(shard: string): Promise<{ member: string; reason: string } | undefined> {
  const ended = new Map<string, number>();
  let key: string | undefined,
    index = 0,
    last = 0;
  try {
    for await (const e of readTar(await FileBlocks.open(shard), { headersOnly: true })) {
      index++;
      const k = splitKey(e.name);
      if ("stray" in k) continue;
      if (k.key !== key) {
        if (key !== undefined) ended.set(key, last);
        const endedAt = ended.get(k.key);
        if (endedAt !== undefined) {
          return {
            member: e.name,
            reason:
              `shard not sorted by key: key "${k.key}" reappears at member ${index} (${e.name}) after its group ended at member ${endedAt}; ` +
              "WebDataset readers group consecutive members only, so the whole shard is skipped (write it grouped, e.g. tar --sort=name -cf fixed.tar -C DIR .)",
          };
        }
        key = k.key;
      }
      last = index;
    }
  } catch (e) {
    // Unreadable or truncated: the streaming pass reports it where it happens.
    if (!(e instanceof TarFormatError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
  }
  return undefined;
}

interface Group {
  key: string;
  files: Map<string, TarEntry>;
  problem?: string;
}

function toRecord(shard: string, g: Group): RawRecord {
  const { key, files } = g;
  const base: RawRecord = { id: `${shard}:${key}`, file: shard, record: key };
  if (g.problem) return { ...base, problem: g.problem };
  const exts = [...files.keys()];
  const images = exts.filter((e) => IMAGE_EXT.has(e));
  if (images.length > 1)
    return {
      ...base,
      problem: `two images in one sample (${images.map((e) => `${key}.${e}`).join(", ")})`,
    };
  if (!images.length && !exts.some((e) => TEXT_EXT.has(e))) {
    const dotted = exts.filter(
      (e) =>
        e.includes(".") &&
        (IMAGE_EXT.has(e.slice(e.lastIndexOf(".") + 1)) ||
          TEXT_EXT.has(e.slice(e.lastIndexOf(".") + 1))),
    );
    if (dotted.length) {
      return {
        ...base,
        problem: `no image or text: ${dotted.map((e) => `${key}.${e}`).join(", ")} ${dotted.length > 1 ? "have" : "has"} a dot in the key (a WebDataset key ends at the first dot of the file name, so the key is "${key}" and the extension "${dotted[0]}"); rename without dots in the key`,
      };
    }
    return {
      ...base,
      problem: `no image or text in the sample (only ${exts.map((e) => `.${e}`).join(", ")})`,
    };
  }
  let text: string | Buffer | undefined = files.get("txt")?.data;
  let meta: Record<string, unknown> | undefined;
  const json = files.get("json");
  if (json) {
    const s = decodeUtf8(json.data);
    let parsed: unknown;
    try {
      parsed = s === null ? undefined : JSON.parse(s);
    } catch {
      /* reported below */
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      return { ...base, problem: `${key}.json is not a JSON object` };
    meta = parsed as Record<string, unknown>;
    if (text === undefined) {
      const c = meta.caption ?? meta.text;
      if (c !== undefined && typeof c !== "string")
        return { ...base, problem: `${key}.json "caption" must be a string` };
      text = c as string | undefined;
    }
  }
  if (text === undefined)
    return { ...base, problem: `no caption (${key}.txt or "caption" in ${key}.json)` };
  if (!images.length) return { ...base, text, meta };
  return {
    ...base,
    imageBytes: files.get(images[0]!)!.data,
    imageName: `${key}.${images[0]}`,
    text,
    meta,
  };
}

export function webdatasetSource(path: string): RecordSource {
  return {
    name: path,
    async *records(): AsyncGenerator<RawRecord> {
      for (const shard of await listShards(path)) {
        const unsorted = await unsortedAt(shard);
        if (unsorted) {
          yield {
            id: `${shard}:${unsorted.member}`,
            file: shard,
            record: unsorted.member,
            problem: unsorted.reason,
          };
          continue;
        }
        let group: Group | undefined;
        try {
          for await (const e of readTar(ByteReader.ofFile(shard))) {
            const k = splitKey(e.name);
            if ("stray" in k) {
              yield { id: `${shard}:${e.name}`, file: shard, record: e.name, problem: k.stray };
              continue;
            }
            if (k.key !== group?.key) {
              if (group) yield toRecord(shard, group);
              group = { key: k.key, files: new Map() };
            }
            // The webdataset library stops on this ("duplicate file name in tar file"); here it is one bad sample.
            if (group.files.has(k.ext))
              group.problem ??= `duplicate member ${k.key}.${k.ext} in one sample`;
            else group.files.set(k.ext, e);
          }
          if (group) yield toRecord(shard, group);
        } catch (e) {
          if (!(e instanceof TarFormatError) && (e as NodeJS.ErrnoException).code === undefined)
            throw e;
          const where = e instanceof TarFormatError ? `byte ${e.offset}` : "open";
          yield {
            id: `${shard}@${where}`,
            file: shard,
            record: where,
            problem: `unreadable tar shard (${(e as Error).message}); rest of the shard skipped`,
          };
        }
      }
    },
  };
}
