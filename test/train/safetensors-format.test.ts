// The safetensors format's edge cases, each with the value the format's README and its reference
// reader (huggingface/safetensors, Metadata::validate) give: files are built by hand here, byte by
// byte, so the reader is tested on layouts our own writer never produces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeSafetensors } from "../../lib/train/safetensors.ts";
import { CheckpointError } from "../../lib/train/errors.ts";

const FILE = "/ck/w.safetensors";

/** A file from a header (object or raw JSON text), the data bytes, and the header padding. */
function file(
  header: object | string,
  data: number[] | Uint8Array = [],
  opts: { pad?: "spaces" | "none" } = {},
): Uint8Array {
  let json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  if ((opts.pad ?? "spaces") === "spaces" && json.length % 8)
    json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data instanceof Uint8Array ? data : Uint8Array.from(data), 8 + json.length);
  return out;
}
const f32 = (...xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const T = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
});

function values(bytes: Uint8Array): Record<string, { shape: number[]; data: number[] }> {
  const out: Record<string, { shape: number[]; data: number[] }> = {};
  for (const [k, t] of decodeSafetensors(bytes, FILE).tensors)
    out[k] = { shape: t.shape, data: Array.from(t.data) };
  return out;
}
function refused(bytes: Uint8Array, re: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, FILE),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, String(e));
      assert.ok((e as Error).message.startsWith(`${FILE}: `), (e as Error).message);
      assert.match((e as Error).message, re);
      return true;
    },
  );
}

test("tensors are ordered by offsets, whatever the key order; an empty tensor at offset 0 may follow one that starts there", () => {
  // The file: "a" [0,4] listed before the empty "e" [0,0]. Both orders load.
  const want = { a: { shape: [1], data: [1.5] }, e: { shape: [0], data: [] } };
  assert.deepEqual(
    values(file({ a: T("F32", [1], 0, 4), e: T("F32", [0], 0, 0) }, f32(1.5))),
    want,
  );
  assert.deepEqual(
    values(file({ e: T("F32", [0], 0, 0), a: T("F32", [1], 0, 4) }, f32(1.5))),
    want,
  );
  // Keys in reverse offset order.
  assert.deepEqual(
    values(file({ z: T("F32", [2], 4, 12), a: T("F32", [1], 0, 4) }, f32(1, 2, 3))),
    { z: { shape: [2], data: [2, 3] }, a: { shape: [1], data: [1] } },
  );
});

test("zero-size tensors at any position: start, middle, end, several at one offset, any rank", () => {
  const t = values(
    file(
      {
        first: T("F32", [0], 0, 0),
        a: T("F32", [1], 0, 4),
        mid: T("I32", [2, 0, 3], 4, 4),
        mid2: T("F32", [0, 5], 4, 4),
        b: T("F32", [1], 4, 8),
        last: T("F32", [3, 0], 8, 8),
      },
      f32(7, 8),
    ),
  );
  assert.deepEqual(t.a!.data, [7]);
  assert.deepEqual(t.b!.data, [8]);
  for (const k of ["first", "mid", "mid2", "last"]) assert.deepEqual(t[k]!.data, [], k);
  assert.deepEqual(t.mid!.shape, [2, 0, 3]);
  // A file of empty tensors only has no data at all.
  assert.deepEqual(values(file({ e: T("F32", [0], 0, 0) })), { e: { shape: [0], data: [] } });
  // A scalar (shape []) holds one value.
  assert.deepEqual(values(file({ s: T("F32", [], 0, 4) }, f32(42))), {
    s: { shape: [], data: [42] },
  });
  // An empty tensor placed inside another one's bytes is an overlap.
  refused(
    file({ a: T("F32", [2], 0, 8), e: T("F32", [0], 4, 4) }, f32(1, 2)),
    /tensor "e" \(bytes 4\.\.4\) overlaps tensor "a" \(bytes 0\.\.8\)/,
  );
});

test("metadata: strings are returned; null means none; anything else is refused naming the key", () => {
  const d = decodeSafetensors(
    file({ __metadata__: { format: "pt", note: "" }, a: T("F32", [1], 0, 4) }, f32(1)),
    FILE,
  );
  assert.deepEqual(d.metadata, { format: "pt", note: "" });
  assert.deepEqual(
    decodeSafetensors(file({ __metadata__: null, a: T("F32", [1], 0, 4) }, f32(1)), FILE).metadata,
    {},
  );
  assert.deepEqual(decodeSafetensors(file({ __metadata__: { format: "pt" } }), FILE).metadata, {
    format: "pt",
  });
  refused(file({ __metadata__: { step: 3 } }), /__metadata__\.step is not a string \(3\)/);
  refused(file({ __metadata__: ["pt"] }), /__metadata__ must be an object of strings/);
});

test("header padding: trailing spaces (as the reference writer pads) or none; it must start with '{'", () => {
  const h = { a: T("F32", [1], 0, 4) };
  assert.deepEqual(values(file(h, f32(2), { pad: "spaces" })), { a: { shape: [1], data: [2] } });
  assert.deepEqual(values(file(h, f32(2), { pad: "none" })), { a: { shape: [1], data: [2] } });
  assert.deepEqual(values(file(JSON.stringify(h) + "        ", f32(2), { pad: "none" })), {
    a: { shape: [1], data: [2] },
  });
  assert.deepEqual(values(file("{}", [])), {});
  refused(file(" " + JSON.stringify(h), f32(2)), /must start with "\{"/);
  refused(file(JSON.stringify(h) + "\0\0\0", f32(2), { pad: "none" }), /corrupt header \(not JSON/);
});

test("truncated data, trailing bytes, holes, overlaps and out-of-range offsets name the tensor", () => {
  const h = { a: T("F32", [1], 0, 4), b: T("F32", [1], 4, 8) };
  refused(
    file(h, f32(1, 2).subarray(0, 6)),
    /truncated: tensor "b" ends at data byte 8 but the file holds only 6 data bytes/,
  );
  refused(
    file({ a: T("F32", [1], 0, 4), b: T("F32", [1], 4, 8) }, f32(1)),
    /truncated: tensor "b"/,
  );
  refused(
    file(h, cat(f32(1, 2), Uint8Array.from([0, 0]))),
    /2 bytes after the last tensor \("b"\)/,
  );
  refused(
    file({ a: T("F32", [1], 0, 4), b: T("F32", [1], 8, 12) }, f32(1, 2, 3)),
    /tensor "b" starts at byte 8, expected 4: a hole of 4 bytes after tensor "a"/,
  );
  refused(
    file({ a: T("F32", [1], 4, 8) }, f32(1, 2)),
    /tensor "a" starts at byte 4, expected 0: a hole of 4 bytes at the start of the data/,
  );
  refused(
    file({ a: T("F32", [2], 0, 8), b: T("F32", [1], 4, 8) }, f32(1, 2)),
    /tensor "b" \(bytes 4\.\.8\) overlaps tensor "a" \(bytes 0\.\.8\)/,
  );
  refused(
    file({ a: T("F32", [1], 0, 4), b: T("F32", [1], 0, 4) }, f32(1)),
    /tensor "b" \(bytes 0\.\.4\) overlaps tensor "a"/,
  );
  refused(
    file({ a: T("F32", [1], 0, 4), b: T("F32", [1], 4, 2 ** 40) }, f32(1, 2)),
    /tensor "b": F32 × shape \[1\] is 4 bytes, but data_offsets \[4, 1099511627776\] hold 1099511627772/,
  );
  refused(
    file({ a: T("F32", [1], 8, 4) }, f32(1)),
    /tensor "a": data_offsets \[8, 4\] end before they begin/,
  );
  refused(
    file({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, f32(1)),
    /tensor "a": bad data_offsets \[0\]/,
  );
  refused(
    file({ a: { dtype: "F32", shape: [1], data_offsets: [-4, 0] } }, f32(1)),
    /tensor "a": bad data_offsets/,
  );
  refused(
    file({ a: { dtype: "F32", shape: [1] } }, f32(1)),
    /tensor "a": bad data_offsets undefined/,
  );
});

test("dtype × shape must equal the byte length; every format dtype is sized, ours (F32, I32) are loaded", () => {
  refused(
    file({ a: T("F32", [2, 3], 0, 20) }, new Uint8Array(20)),
    /tensor "a": F32 × shape \[2,3\] is 24 bytes, but data_offsets \[0, 20\] hold 20/,
  );
  refused(file({ a: T("F32", [-1], 0, 4) }, f32(1)), /tensor "a": bad shape \[-1\]/);
  refused(file({ a: T("F32", [1.5], 0, 4) }, f32(1)), /tensor "a": bad shape \[1\.5\]/);
  refused(
    file({ a: T("F32", [2 ** 30, 2 ** 30, 2 ** 30], 0, 4) }, f32(1)),
    /tensor "a": shape .* too large/,
  );
  refused(file({ a: T("F17", [1], 0, 4) }, f32(1)), /tensor "a": unknown dtype "F17"/);
  // A valid F16 layout (2 bytes per value) passes validation, then is refused as a dtype we do not load.
  refused(
    file({ a: T("F32", [1], 0, 4), h: T("F16", [3], 4, 10) }, new Uint8Array(10)),
    /tensor "h" is F16; this reader loads F32 and I32 only/,
  );
  // …whereas the same layout with F32 sizes is a size mismatch.
  refused(
    file({ h: T("F16", [3], 0, 8) }, new Uint8Array(8)),
    /tensor "h": F16 × shape \[3\] is 6 bytes/,
  );
  assert.deepEqual(
    values(
      file({ i: T("I32", [2], 0, 8) }, new Uint8Array(Int32Array.from([-1, 2 ** 31 - 1]).buffer)),
    ),
    { i: { shape: [2], data: [-1, 2 ** 31 - 1] } },
  );
});

test("header size: under 8 bytes, over the 100 MB limit, longer than the file", () => {
  refused(new Uint8Array(5), /truncated: 5 bytes, too short for the 8-byte header length/);
  const huge = file({});
  new DataView(huge.buffer).setBigUint64(0, 100_000_001n, true);
  refused(huge, /header length 100000001 is over the format's limit of 100000000 bytes/);
  const max = file({});
  new DataView(max.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  refused(max, /header length 18446744073709551615 is over the format's limit/);
  const long = file({});
  new DataView(long.buffer).setBigUint64(0, 64n, true);
  refused(long, /truncated: the header length is 64 bytes but only 8 follow/);
});

test("duplicate keys are refused (JSON.parse would keep the last silently), at every level, however spelled", () => {
  const a = '"dtype":"F32","shape":[1],"data_offsets":[0,4]';
  refused(file(`{"a":{${a}},"a":{${a}}}`, f32(1)), /duplicate key "a" in the header/);
  refused(file(`{"a":{${a}},"\\u0061":{${a}}}`, f32(1)), /duplicate key "a" in the header/);
  refused(file(`{"a":{${a},"dtype":"I32"}}`, f32(1)), /tensor "a": duplicate field "dtype"/);
  refused(file(`{"__metadata__":{"k":"1","k":"2"}}`), /duplicate key "k" in __metadata__/);
  // Same names in different objects are fine, and so are quotes and braces inside strings.
  assert.deepEqual(
    Object.keys(
      values(
        file(
          `{"__metadata__":{"a":"{\\"a\\":1,\\"a\\":2}"},"a":{${a}},"b}":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`,
          f32(1),
        ),
      ),
    ),
    ["a", "b}"],
  );
});

test("a header that is not UTF-8, not JSON or not an object is one error naming the file", () => {
  refused(file(Buffer.from([0x7b, 0xff, 0x7d]).toString("latin1")), /corrupt header/);
  const bad = file("{}");
  bad[9] = 0xff; // "{\xff" — invalid UTF-8
  refused(bad, /corrupt header \(not valid UTF-8\)/);
  refused(file('{"a":'), /corrupt header \(not JSON/);
  refused(file("[1,2]"), /must start with "\{"/);
  refused(file({ a: 3 }), /tensor "a": entry is not an object \(3\)/);
});
