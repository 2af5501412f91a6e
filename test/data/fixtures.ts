/** Small data sets written at test time (good and deliberately broken records). */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeWorld, encodePng } from "../../lib/data/index.ts";

const made: string[] = [];
// Temp folders go when the test process ends (pass or fail).
process.on("exit", () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tmp(prefix = "simvlm-data-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function pngs(n: number, seed = 1, size = 24): Buffer[] {
  return makeWorld({ seed, split: "train", n, size }).map((r) => encodePng(r.image));
}

/** A minimal ustar writer (regular files only), enough to make WebDataset shards. */
export function tarBytes(
  files: Array<[string, Buffer | string]>,
  opts: { end?: boolean } = {},
): Buffer {
  const parts: Buffer[] = [];
  for (const [name, body] of files) {
    const data = typeof body === "string" ? Buffer.from(body) : body;
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, "utf8");
    h.write("0000644\0", 100);
    h.write("0000000\0", 108);
    h.write("0000000\0", 116);
    h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write("        ", 148);
    h.write("0", 156);
    h.write("ustar\0", 257);
    h.write("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A JSONL set of 6 good image records plus one of each kind of bad record. */
export function brokenJsonlSet(): { dir: string; path: string; good: number } {
  const dir = tmp();
  mkdirSync(join(dir, "img"));
  const imgs = pngs(6);
  const lines: string[] = [];
  imgs.forEach((b, i) => {
    writeFileSync(join(dir, "img", `ok${i}.png`), b);
    lines.push(JSON.stringify({ image: `img/ok${i}.png`, text: `good image ${i}` }));
  });
  writeFileSync(
    join(dir, "img", "corrupt.png"),
    Buffer.concat([imgs[0]!.subarray(0, 40), Buffer.from("not really a png")]),
  );
  lines.push(JSON.stringify({ image: "img/corrupt.png", text: "a corrupt image" }));
  lines.push(JSON.stringify({ image: "img/missing.png", text: "a missing image" }));
  lines.push(JSON.stringify({ image: "img/ok0.png", text: "   " }));
  lines.push(JSON.stringify(["wrong", "shape"]));
  lines.push(JSON.stringify({ image: "img/ok1.png", text: 42 }));
  lines.push("{not json");
  const body = Buffer.concat([
    Buffer.from(lines.join("\n") + "\n"),
    Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
    Buffer.from(JSON.stringify({ text: "a text-only document" }) + "\n"),
  ]);
  const path = join(dir, "data.jsonl");
  writeFileSync(path, body);
  return { dir, path, good: 7 };
}
