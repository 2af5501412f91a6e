/**
 * Streaming byte helpers for loaders: line splitting and exact-length reads over a file read
 * stream, so a file far larger than memory is read with a bounded buffer.
 */
import { createReadStream } from "node:fs";

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Strict UTF-8 decode: null when the bytes are not valid UTF-8 (never silent replacement chars). */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    return null;
  }
}

/** Lines of a file as raw bytes (without \n or \r\n), with 1-based line numbers. */
export async function* readLines(
  path: string,
  opts: { maxLineBytes?: number } = {},
): AsyncGenerator<{ line: number; bytes: Buffer }> {
  const max = opts.maxLineBytes ?? 64 * 1024 * 1024;
  let pending: Buffer[] = [],
    pendingLen = 0,
    line = 0;
  for await (const chunk of createReadStream(path, {
    highWaterMark: 1 << 16,
  }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, i));
      yield { line: ++line, bytes: stripCr(Buffer.concat(pending)) };
      pending = [];
      pendingLen = 0;
      start = i + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingLen += chunk.length - start;
      if (pendingLen > max)
        throw new Error(`${path}: line ${line + 1} is longer than ${max} bytes`);
    }
  }
  if (pendingLen > 0) yield { line: ++line, bytes: stripCr(Buffer.concat(pending)) };
}

function stripCr(b: Buffer): Buffer {
  return b.length && b[b.length - 1] === 13 ? b.subarray(0, b.length - 1) : b;
}

/** Reads exact byte counts from a chunk stream (used by the tar reader). */
export class ByteReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private done = false;
  offset = 0;
  constructor(private it: AsyncIterator<Buffer>) {}
  static ofFile(path: string): ByteReader {
    return new ByteReader(
      (createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)[
        Symbol.asyncIterator
      ](),
    );
  }
  private async fill(n: number): Promise<void> {
    while (this.have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.chunks.push(r.value);
        this.have += r.value.length;
      }
    }
  }
  /** Exactly n bytes, or fewer only at end of stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length ? [rest] : [];
    this.have = rest.length;
    this.offset += out.length;
    return out;
  }
  /** Skip n bytes without keeping them. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const b = await this.read(Math.min(left, 1 << 20));
      if (b.length === 0) break;
      left -= b.length;
    }
    return n - left;
  }
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
