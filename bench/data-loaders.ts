/**
 * Data throughput: images/s for generate-or-decode + resize + batch (pack a [B, S, S, 3] float32
 * array scaled to [0,1], what imagesToTensor does before upload) for every loader, on fixtures
 * written to a temp folder. Also the peak RSS while streaming a tar shard (bounded memory).
 *   node --import tsx bench/data-loaders.ts [--n 400] [--size 64] [--batch 32] [--json]
 */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  makeWorld,
  encodePng,
  openStream,
  type DataSpec,
  TUXPAINT_DIR,
  OPENMOJI_INSTALL,
} from "../lib/data/index.ts";
import { tarBytes } from "../test/data/fixtures.ts";

export interface DataBenchRow {
  loader: string;
  images: number;
  seconds: number;
  images_per_s: number;
  peak_rss_mb: number;
  note?: string;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function pack(batch: { image?: { data: Uint8Array } }[], size: number): Float32Array {
  const out = new Float32Array(batch.length * size * size * 3);
  batch.forEach((x, b) => {
    const d = x.image!.data;
    for (let i = 0; i < d.length; i++) out[b * d.length + i] = d[i]! / 255;
  });
  return out;
}

async function timeStream(
  loader: string,
  spec: DataSpec,
  n: number,
  size: number,
  batch: number,
  note?: string,
): Promise<DataBenchRow> {
  const s = await openStream({ shuffleBuffer: 64, ...spec }, { seed: 0, imageSize: size });
  await s.next(batch); // warm-up: sharp's thread pool, file cache
  let peak = process.memoryUsage().rss,
    done = 0;
  const t0 = performance.now();
  while (done < n) {
    const xs = (await s.next(batch)).filter((x) => x.image);
    pack(xs, size);
    done += xs.length;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - t0) / 1000;
  await s.close?.();
  return {
    loader,
    images: done,
    seconds,
    images_per_s: done / seconds,
    peak_rss_mb: peak / 2 ** 20,
    note,
  };
}

export async function benchDataLoaders(o: {
  n: number;
  size: number;
  batch: number;
  log?: (s: string) => void;
}): Promise<DataBenchRow[]> {
  const { n, size, batch } = o;
  const rows: DataBenchRow[] = [];
  const push = (r: DataBenchRow) => {
    rows.push(r);
    o.log?.(
      `${r.loader.padEnd(22)} ${r.images_per_s.toFixed(0).padStart(7)} img/s  (${r.images} in ${r.seconds.toFixed(2)}s, rss ${r.peak_rss_mb.toFixed(0)} MB)${r.note ? `  ${r.note}` : ""}`,
    );
  };

  makeWorld({ seed: 9, split: "train", n: 50, size }); // JIT warm-up
  const t0 = performance.now();
  const world = makeWorld({ seed: 1, split: "train", n, size });
  pack(world, size);
  const sec = (performance.now() - t0) / 1000;
  push({
    loader: "shapes makeWorld",
    images: n,
    seconds: sec,
    images_per_s: n / sec,
    peak_rss_mb: process.memoryUsage().rss / 2 ** 20,
  });
  push(await timeStream("shapes stream", { source: "shapes" }, n, size, batch));

  // Fixtures: 128-px PNGs (so every loader decodes and downsizes), written once for all formats.
  const dir = mkdtempSync(join(tmpdir(), "simvlm-bench-"));
  try {
    mkdirSync(join(dir, "img"));
    const files = makeWorld({ seed: 2, split: "train", n: Math.min(n, 200), size: 128 }).map(
      (r, i) => {
        const png = encodePng(r.image);
        writeFileSync(join(dir, "img", `${i}.png`), png);
        return { name: `${i}.png`, png, text: r.altText };
      },
    );
    writeFileSync(
      join(dir, "set.jsonl"),
      files.map((f) => JSON.stringify({ image: `img/${f.name}`, text: f.text })).join("\n"),
    );
    writeFileSync(
      join(dir, "set.csv"),
      "image,text\n" + files.map((f) => `img/${f.name},"${f.text}"`).join("\n"),
    );
    writeFileSync(
      join(dir, "captions.json"),
      JSON.stringify({
        images: files.map((f, i) => ({ id: i, file_name: f.name })),
        annotations: files.map((f, i) => ({ id: i, image_id: i, caption: f.text })),
      }),
    );
    mkdirSync(join(dir, "shards"));
    // One shard with 10× the records (repeats), streamed: RSS should not grow with shard size.
    const entries: Array<[string, Buffer | string]> = [];
    for (let k = 0; k < 10; k++)
      files.forEach((f, i) => {
        const key = `s/${String(k * files.length + i).padStart(6, "0")}`;
        entries.push([`${key}.png`, f.png], [`${key}.txt`, f.text]);
      });
    const tar = tarBytes(entries);
    writeFileSync(join(dir, "shards", "00000.tar"), tar);
    push(await timeStream("jsonl", { source: join(dir, "set.jsonl") }, n, size, batch));
    push(await timeStream("csv", { source: join(dir, "set.csv") }, n, size, batch));
    push(
      await timeStream(
        "coco",
        { source: join(dir, "captions.json"), images: join(dir, "img") },
        n,
        size,
        batch,
      ),
    );
    push(
      await timeStream(
        "webdataset",
        { source: join(dir, "shards") },
        n,
        size,
        batch,
        `shard ${(tar.length / 2 ** 20).toFixed(1)} MB`,
      ),
    );
    if (existsSync(TUXPAINT_DIR))
      push(
        await timeStream(
          "tuxpaint (png/svg)",
          { source: "tuxpaint", install: false },
          Math.min(n, 200),
          size,
          batch,
        ),
      );
    try {
      push(
        await timeStream(
          "openmoji (svg)",
          { source: "openmoji", install: false },
          Math.min(n, 200),
          size,
          batch,
        ),
      );
    } catch {
      o.log?.(`openmoji skipped (not installed: ${OPENMOJI_INSTALL})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const json = process.argv.includes("--json");
  const rows = await benchDataLoaders({
    n: flag("n", 400),
    size: flag("size", 64),
    batch: flag("batch", 32),
    log: json ? undefined : (s) => console.log(s),
  });
  if (json) console.log(JSON.stringify(rows));
}
