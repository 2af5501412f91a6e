/**
 * A streaming tar reader (ustar, GNU long names, pax path headers): yields one regular file at a
 * time from a read stream, so shards of any size stream through a small buffer. With
 * `headersOnly` it yields the members' names without reading their bodies: over `FileBlocks`
 * (positioned reads) that costs one 512-byte read per member, whatever the shard's size.
 */
import { open, type FileHandle } from "node:fs/promises";
import { UserError } from "../errors.ts";

export interface TarEntry {
  name: string;
  /** The member's bytes (empty with `headersOnly`). */
  data: Buffer;
  /** Byte offset of the member's header in the archive. */
  offset: number;
  size: number;
}

/** Where readTar gets its bytes: ByteReader (a read stream) or FileBlocks (positioned reads). */
export interface TarSource {
  readonly offset: number;
  /** Exactly n bytes, or fewer only at the end. */
  read(n: number): Promise<Buffer>;
  /** Skip n bytes; returns how many there were. */
  skip(n: number): Promise<number>;
  close(): Promise<void>;
}

export class TarFormatError extends UserError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** A file read by position: skipping a member's body costs nothing. */
export class FileBlocks implements TarSource {
  offset = 0;
  private constructor(
    private fh: FileHandle,
    private size: number,
  ) {}
  static async open(path: string): Promise<FileBlocks> {
    const fh = await open(path, "r");
    try {
      return new FileBlocks(fh, (await fh.stat()).size);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }
  async read(n: number): Promise<Buffer> {
    const buf = Buffer.alloc(Math.max(0, Math.min(n, this.size - this.offset)));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, this.offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.offset += got;
    return buf.subarray(0, got);
  }
  async skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.size - this.offset));
    this.offset += k;
    return k;
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

function field(h: Buffer, start: number, len: number): string {
  const s = h.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul === -1 ? len : nul).toString("utf8");
}

function octal(h: Buffer, start: number, len: number): number {
  // GNU base-256 for big sizes: high bit set on the first byte.
  if (h[start]! & 0x80) {
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + h[i]!;
    return v;
  }
  const s = field(h, start, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === octal(h, 148, 8);
}

/** Regular files of a tar, in order. maxEntryBytes guards memory against a bogus size field. */
export async function* readTar(
  reader: TarSource,
  opts: { maxEntryBytes?: number; headersOnly?: boolean } = {},
): AsyncGenerator<TarEntry> {
  const maxEntry = opts.maxEntryBytes ?? 256 * 1024 * 1024;
  let longName: string | undefined;
  try {
    for (;;) {
      const offset = reader.offset;
      const h = await reader.read(512);
      if (h.length === 0) return;
      if (h.length < 512) throw new TarFormatError("truncated header", offset);
      if (h.every((b) => b === 0)) return; // end-of-archive marker
      if (!checksumOk(h))
        throw new TarFormatError("bad header checksum (not a tar file, or corrupt)", offset);
      const size = octal(h, 124, 12);
      const type = String.fromCharCode(h[156]! || 48);
      const padded = Math.ceil(size / 512) * 512;
      if (type === "L" || type === "x") {
        if (size > 1 << 20) throw new TarFormatError(`${type} header too large`, offset);
        const body = await reader.read(padded);
        if (body.length < padded)
          throw new TarFormatError("truncated long-name/pax header", offset);
        const text = body.subarray(0, size).toString("utf8");
        if (type === "L") longName = text.replace(/\0+$/, "");
        else {
          const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
          if (m) longName = m[1];
        }
        continue;
      }
      const prefix = field(h, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      longName = undefined;
      if (type !== "0" && type !== "7") {
        if ((await reader.skip(padded)) < padded)
          throw new TarFormatError("truncated entry", offset);
        continue;
      }
      if (opts.headersOnly) {
        if ((await reader.skip(padded)) < padded)
          throw new TarFormatError(`truncated entry ${name}`, offset);
        yield { name, data: Buffer.alloc(0), offset, size };
        continue;
      }
      if (size > maxEntry)
        throw new TarFormatError(`entry ${name} is ${size} bytes (limit ${maxEntry})`, offset);
      const body = await reader.read(padded);
      if (body.length < padded) throw new TarFormatError(`truncated entry ${name}`, offset);
      yield { name, data: Buffer.from(body.subarray(0, size)), offset, size };
    }
  } finally {
    await reader.close();
  }
}
