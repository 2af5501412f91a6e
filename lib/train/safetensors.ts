/**
 * The safetensors file format (the one PyTorch/Hugging Face use), read and written without
 * dependencies:
 *
 *   8 bytes   little-endian u64 N = header length
 *   N bytes   UTF-8 JSON: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
 *                           "__metadata__": { "<key>": "<string value>" } }
 *             (padded with spaces to a multiple of 8 so the data stays aligned)
 *   rest      the tensors' bytes, little-endian, row-major; offsets are relative to the data start
 *
 * The writer lays tensors out in name order with no gaps. The reader accepts any file the format
 * allows and refuses everything else (see decodeSafetensors): each problem is one CheckpointError
 * that names the file and, where it applies, the tensor.
 */
import { CheckpointError } from "./errors.ts";

export type SafetensorDtype = "F32" | "I32";
export interface NamedArray {
  dtype: SafetensorDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}
export interface SafetensorsContent {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorDtype, number> = { F32: 4, I32: 4 };
// Every dtype the format defines, with its size, so a file's layout is validated in full before
// this reader says which dtypes it loads.
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};
const UTF8 = new TextDecoder("utf-8", { fatal: true });
// The reference implementation refuses headers above 100 MB; so do we (a corrupt length reads as huge).
const MAX_HEADER = 100_000_000;

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Serialise tensors (and string metadata) to the bytes of a .safetensors file. */
export function encodeSafetensors(
  tensors: Map<string, NamedArray>,
  metadata: Record<string, string> = {},
): Uint8Array {
  if (!isLittleEndian) throw new Error("safetensors writing needs a little-endian machine");
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__")
      throw new Error(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(
        `safetensors: tensor "${name}" has shape [${t.shape}] but ${t.data.length} values`,
      );
    const bytes = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length)
    json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Parse the bytes of a .safetensors file; `file` is only used to name it in errors.
 *
 * Validation follows the format's README and its reference reader (huggingface/safetensors,
 * `Metadata::validate`): the header is UTF-8 JSON starting with "{" (trailing whitespace allowed,
 * as the writer pads with spaces); no key may repeat; `__metadata__` maps strings to strings; the
 * tensors, sorted by (begin, end) whatever the key order, tile the data exactly — no overlap, no
 * hole, nothing after the last one — so zero-size tensors may sit at any position; and each
 * tensor's byte length equals dtype size × its element count. Any violation is one CheckpointError
 * naming the file and, where one is to blame, the tensor.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContent {
  const fail = (why: string): never => {
    throw new CheckpointError(`${file}: ${why}`, file);
  };
  if (bytes.length < 8)
    fail(`truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER))
    fail(`header length ${n64} is over the format's limit of ${MAX_HEADER} bytes (corrupt file?)`);
  const n = Number(n64);
  if (8 + n > bytes.length)
    fail(`truncated: the header length is ${n} bytes but only ${bytes.length - 8} follow`);
  let text: string;
  try {
    text = UTF8.decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail("corrupt header (not valid UTF-8)");
  }
  if (!text.startsWith("{"))
    fail(`corrupt header (must start with "{", starts with ${JSON.stringify(text.slice(0, 8))})`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    return fail(`corrupt header (not JSON: ${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    fail("corrupt header (not a JSON object)");
  const dup = duplicateKey(text);
  if (dup) {
    fail(
      dup.length === 1
        ? `duplicate key "${dup[0]}" in the header`
        : dup[0] === "__metadata__"
          ? `duplicate key "${dup.at(-1)}" in __metadata__`
          : `tensor "${dup[0]}": duplicate field "${dup.at(-1)}"`,
    );
  }

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] =
    [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (entry === null) continue; // the reference reader takes null as "no metadata"
      if (typeof entry !== "object" || Array.isArray(entry))
        fail(`__metadata__ must be an object of strings, got ${JSON.stringify(entry)}`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string (${JSON.stringify(v)})`);
        metadata[k] = v as string;
      }
      continue;
    }
    const bad = (why: string): never => fail(`tensor "${name}": ${why}`);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      bad(`entry is not an object (${JSON.stringify(entry)})`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== "string" || !(e.dtype in DTYPE_BYTES))
      bad(`unknown dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      bad(`bad shape ${JSON.stringify(shape)} (a list of integers ≥ 0)`);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && d >= 0)
    )
      bad(`bad data_offsets ${JSON.stringify(off)} (two integers ≥ 0)`);
    const [begin, end] = off as [number, number];
    if (end < begin) bad(`data_offsets [${begin}, ${end}] end before they begin`);
    entries.push({ name, dtype: e.dtype as string, shape: shape as number[], begin, end });
  }

  // The reference reader's order: by (begin, end), so an empty tensor at offset p sorts before the
  // tensor that starts at p, wherever either is listed in the header.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + n,
    dataLen = bytes.length - dataStart;
  let pos = 0,
    prev: (typeof entries)[number] | undefined;
  for (const t of entries) {
    if (t.begin < pos)
      fail(
        `tensor "${t.name}" (bytes ${t.begin}..${t.end}) overlaps tensor "${prev!.name}" (bytes ${prev!.begin}..${prev!.end})`,
      );
    if (t.begin > pos)
      fail(
        `tensor "${t.name}" starts at byte ${t.begin}, expected ${pos}: a hole of ${t.begin - pos} bytes${prev ? ` after tensor "${prev.name}"` : " at the start of the data"}`,
      );
    const count = t.shape.reduce((a, b) => a * b, 1);
    const need = count * DTYPE_BYTES[t.dtype]!;
    if (!Number.isSafeInteger(need))
      fail(`tensor "${t.name}": shape [${t.shape}] is too large (overflow)`);
    if (t.end - t.begin !== need)
      fail(
        `tensor "${t.name}": ${t.dtype} × shape [${t.shape}] is ${need} bytes, but data_offsets [${t.begin}, ${t.end}] hold ${t.end - t.begin}`,
      );
    pos = t.end;
    prev = t;
  }
  if (pos > dataLen)
    fail(
      `truncated: tensor "${prev!.name}" ends at data byte ${pos} but the file holds only ${dataLen} data bytes`,
    );
  if (pos < dataLen)
    fail(
      `${dataLen - pos} bytes after the last tensor${prev ? ` ("${prev.name}")` : ""} (corrupt or wrongly concatenated file)`,
    );

  const tensors = new Map<string, NamedArray>();
  for (const t of entries) {
    if (!(t.dtype in BYTES))
      fail(
        `tensor "${t.name}" is ${t.dtype}; this reader loads ${Object.keys(BYTES).join(" and ")} only`,
      );
    // Copy into a fresh, aligned buffer independent of the file's bytes.
    const raw = new Uint8Array(t.end - t.begin);
    raw.set(bytes.subarray(dataStart + t.begin, dataStart + t.end));
    const data = t.dtype === "F32" ? new Float32Array(raw.buffer) : new Int32Array(raw.buffer);
    tensors.set(t.name, { dtype: t.dtype as SafetensorDtype, shape: t.shape, data });
  }
  return { tensors, metadata };
}

/**
 * The first key that repeats within one JSON object of `json` (valid JSON), as its path
 * ([key] at the top level, [tensor, field] inside an entry), or undefined. JSON.parse keeps the
 * last of repeated keys silently; the format forbids them (an aliasing trick otherwise).
 */
function duplicateKey(json: string): string[] | undefined {
  const stack: { keys?: Set<string>; path: string[]; expectKey: boolean }[] = [];
  let lastKey: string | undefined;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === "{" || c === "[") {
      const top = stack.at(-1);
      stack.push({
        keys: c === "{" ? new Set() : undefined,
        path: top ? [...top.path, ...(lastKey !== undefined && top.keys ? [lastKey] : [])] : [],
        expectKey: c === "{",
      });
    } else if (c === "}" || c === "]") stack.pop();
    else if (c === ",") {
      const top = stack.at(-1)!;
      if (top.keys) top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      const top = stack.at(-1)!;
      if (top.keys && top.expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return [...top.path, key];
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    }
  }
  return undefined;
}
