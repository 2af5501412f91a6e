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
 * Tensors are laid out in name order with no gaps, which is what the reference reader expects.
 * Every problem (short file, bad JSON, offsets out of range, a shape that does not match its
 * bytes) is a CheckpointError that names the file and, where it applies, the tensor.
 */
import { CheckpointError } from "./errors.ts";

export type SafetensorDtype = "F32" | "I32";
export interface NamedArray { dtype: SafetensorDtype; shape: number[]; data: Float32Array | Int32Array }
export interface SafetensorsContent { tensors: Map<string, NamedArray>; metadata: Record<string, string> }

const BYTES: Record<SafetensorDtype, number> = { F32: 4, I32: 4 };
// The reference implementation refuses headers above 100 MB; so do we (a corrupt length reads as huge).
const MAX_HEADER = 100_000_000;

const isLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Serialise tensors (and string metadata) to the bytes of a .safetensors file. */
export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  if (!isLittleEndian) throw new Error("safetensors writing needs a little-endian machine");
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") throw new Error(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`safetensors: tensor "${name}" has shape [${t.shape}] but ${t.data.length} values`);
    const bytes = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
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

/** Parse the bytes of a .safetensors file; `file` is only used to name it in errors. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContent {
  const fail = (why: string): never => { throw new CheckpointError(`${file}: ${why}`, file); };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) fail(`truncated or corrupt: header length ${n} but the file has ${bytes.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    return fail(`corrupt header (not JSON: ${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("corrupt header (not a JSON object)");
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, NamedArray>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e?.dtype as SafetensorDtype;
    if (!(dtype in BYTES)) fail(`tensor "${name}": dtype ${JSON.stringify(e?.dtype)} is not supported (F32, I32)`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}": bad shape ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
      fail(`tensor "${name}": bad data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLen) fail(`truncated: tensor "${name}" needs bytes ${begin}..${end} of the data but only ${dataLen} are present`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if ((end - begin) !== count * BYTES[dtype]) fail(`tensor "${name}": shape [${shape}] needs ${count * BYTES[dtype]} bytes, offsets give ${end - begin}`);
    // Copy so the result is aligned and independent of the file buffer.
    // (Buffer.slice would return a view over the whole file; copy into a fresh, aligned buffer.)
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    const data = dtype === "F32" ? new Float32Array(raw.buffer) : new Int32Array(raw.buffer);
    tensors.set(name, { dtype, shape: shape as number[], data });
    spans.push([begin, end, name]);
  }
  // The format requires the tensors to cover the data exactly, with no overlaps or holes.
  spans.sort((a, b) => a[0] - b[0]);
  let pos = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== pos) fail(`tensor "${name}" starts at byte ${begin}, expected ${pos} (overlap or hole in the data)`);
    pos = end;
  }
  if (pos !== dataLen) fail(`${dataLen - pos} bytes after the last tensor (corrupt or wrongly concatenated file)`);
  return { tensors, metadata };
}
