import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { skipUnless } from "../../scripts/prereqs.mjs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  encodeSafetensors,
  decodeSafetensors,
  type NamedArray,
} from "../../lib/train/safetensors.ts";
import { CheckpointError } from "../../lib/train/errors.ts";

const PY = "/usr/bin/python3";

function sample(): Map<string, NamedArray> {
  return new Map<string, NamedArray>([
    [
      "enc.0.attn.qkv.kernel",
      { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, -0, 7]) },
    ],
    ["tok.embedding", { dtype: "F32", shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) }],
    ["scalar", { dtype: "F32", shape: [], data: Float32Array.from([42]) }],
    ["ids", { dtype: "I32", shape: [2, 2], data: Int32Array.from([1, -1, 2147483647, 0]) }],
  ]);
}

test("encode → decode round-trips tensors and metadata; header follows the format", () => {
  const bytes = encodeSafetensors(sample(), { format: "pt", note: "x" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0, "header padded to 8 bytes");
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8"));
  assert.deepEqual(header.__metadata__, { format: "pt", note: "x" });
  assert.deepEqual(header["tok.embedding"], {
    dtype: "F32",
    shape: [3],
    data_offsets: [
      header["tok.embedding"].data_offsets[0],
      header["tok.embedding"].data_offsets[0] + 12,
    ],
  });
  const back = decodeSafetensors(bytes, "x.safetensors");
  assert.deepEqual(back.metadata, { format: "pt", note: "x" });
  for (const [name, t] of sample()) {
    const b = back.tensors.get(name)!;
    assert.equal(b.dtype, t.dtype);
    assert.deepEqual(b.shape, t.shape);
    assert.deepEqual(Array.from(b.data), Array.from(t.data));
  }
});

test("truncated or corrupted files → one CheckpointError that names the file and the problem", () => {
  const bytes = encodeSafetensors(sample());
  const fails = (b: Uint8Array, re: RegExp) =>
    assert.throws(
      () => decodeSafetensors(b, "/ck/weights.safetensors"),
      (e: unknown) => {
        assert.ok(e instanceof CheckpointError);
        assert.match((e as Error).message, /\/ck\/weights\.safetensors/);
        assert.match((e as Error).message, re);
        return true;
      },
    );
  fails(bytes.subarray(0, 5), /truncated/);
  fails(bytes.subarray(0, 40), /truncated/);
  fails(bytes.subarray(0, bytes.length - 4), /truncated|bytes/);
  const badJson = bytes.slice();
  badJson[8] = 0x5d; // "]" where "{" was
  fails(badJson, /header/);
  const extra = new Uint8Array(bytes.length + 8);
  extra.set(bytes);
  fails(extra, /after the last tensor/);
  const huge = bytes.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  fails(huge, /header length/);
});

test(
  "a reader written from the format spec in Python (torch.frombuffer) reads our file, and we read its file",
  { skip: skipUnless("torch") },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "simvlm-st-"));
    try {
      const ours = path.join(dir, "ours.safetensors"),
        theirs = path.join(dir, "theirs.safetensors");
      fs.writeFileSync(ours, encodeSafetensors(sample(), { format: "pt" }));
      const script = `
import json, struct, sys, torch
DT = {"F32": torch.float32, "I32": torch.int32}
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); meta = h.pop("__metadata__", {})
    out = {}
    for k, v in h.items():
        s, e = v["data_offsets"]
        out[k] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=DT[v["dtype"]]).reshape(v["shape"])
    return out, meta
t, meta = load(sys.argv[1])
print(json.dumps({"meta": meta, "t": {k: [list(v.shape), v.flatten().tolist()] for k, v in t.items()}}))
# Write a file the way the reference writer does (sorted names, offsets from 0, space padding).
ws = {"w.a": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4, "w.b": torch.tensor([-1.5], dtype=torch.float32)}
hdr, off, blobs = {}, 0, []
for k in sorted(ws):
    d = ws[k].numpy().tobytes(); hdr[k] = {"dtype": "F32", "shape": list(ws[k].shape), "data_offsets": [off, off + len(d)]}; off += len(d); blobs.append(d)
hb = json.dumps(hdr, separators=(",", ":")).encode(); hb += b" " * ((8 - len(hb) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
`;
      const r = spawnSync(PY, ["-c", script, ours, theirs], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as {
        meta: Record<string, string>;
        t: Record<string, [number[], number[]]>;
      };
      assert.deepEqual(got.meta, { format: "pt" });
      for (const [name, t] of sample()) {
        assert.deepEqual(got.t[name]![0], t.shape, name);
        assert.deepEqual(
          got.t[name]![1].map((x) => (t.dtype === "F32" ? Math.fround(x) : x)),
          Array.from(t.data),
          name,
        );
      }
      const back = decodeSafetensors(fs.readFileSync(theirs), theirs);
      assert.deepEqual(Array.from(back.tensors.get("w.a")!.data), [0, 0.25, 0.5, 0.75, 1, 1.25]);
      assert.deepEqual(back.tensors.get("w.a")!.shape, [2, 3]);
      assert.deepEqual(Array.from(back.tensors.get("w.b")!.data), [-1.5]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
