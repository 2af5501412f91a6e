/**
 * `exportDataset`: write a source as PNG images plus data.jsonl (one record per image: id, image
 * path, text, captions and annotations), readable back by the JSONL loader. Pure encoders and no
 * timestamps, so the same seed gives byte-identical files.
 */
import { mkdir, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import { DataError } from "./errors.ts";
import { worldRecord, worldSplitOf } from "./world/index.ts";
import { HELD_OUT_PAIRS, WORLD_COLORS, WORLD_SHAPES, WORLD_SIZES } from "./world/vocab.ts";
import { encodePng } from "./png.ts";
import { openRecordStream } from "./records.ts";
import { recordSourceFor } from "./open.ts";
import type { LongRunOptions } from "../runtime.ts";
import { runSignal, startProgress, throwIfAborted } from "../runtime.ts";

export interface ExportOptions extends LongRunOptions {
  source: string;
  split: "train" | "val" | "test";
  n: number;
  seed: number;
  out: string;
  imageSize?: number;
  /** Extra spec fields for real sets (e.g. lang for tuxpaint). */
  spec?: Record<string, unknown>;
}

export interface ExportResult {
  out: string;
  records: number;
  skipped: number;
  files: string[];
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, "_");
}

export async function exportDataset(o: ExportOptions): Promise<ExportResult> {
  if (!Number.isInteger(o.n) || o.n < 1)
    throw new DataError(`n must be a positive integer, got ${o.n}`, { option: "n" });
  if (!["shapes", "openmoji", "tuxpaint"].includes(o.source))
    throw new DataError(
      `source must be shapes, openmoji or tuxpaint (the sets export writes), got "${o.source}"`,
      { option: "source" },
    );
  if (!["train", "val", "test"].includes(o.split))
    throw new DataError(`split must be train, val or test, got "${o.split}"`, { option: "split" });
  const signal = runSignal(o);
  await mkdir(join(o.out, "images"), { recursive: true });
  // Records go straight to disk one by one, so exports larger than memory work.
  const jsonl = await open(join(o.out, "data.jsonl"), "w");
  let records = 0;
  const files: string[] = [];
  let skipped = 0;
  const progress = startProgress(`export ${o.source}`, o.n, o);
  const write = async (id: string, png: Buffer, record: Record<string, unknown>) => {
    const rel = `images/${safeName(id)}.png`;
    await writeFile(join(o.out, rel), png);
    files.push(rel);
    await jsonl.write(JSON.stringify({ id, image: rel, ...record }) + "\n");
    progress.update({ step: ++records });
  };
  try {
    if (o.source === "shapes") {
      for (let j = 0; records < o.n; j++) {
        if (worldSplitOf(o.seed, j) !== o.split) continue;
        throwIfAborted(signal, "data export");
        const r = worldRecord(o.seed, j, o.imageSize ?? 64);
        await write(r.id, encodePng(r.image), {
          text: r.altText,
          captions: r.captions,
          vqa: r.vqa,
          entailment: r.entailment,
          objects: r.objects,
          split: r.split,
          heldOut: r.heldOut ?? false,
        });
      }
      await writeFile(
        join(o.out, "world.json"),
        JSON.stringify(
          {
            source: "shapes",
            seed: o.seed,
            split: o.split,
            n: o.n,
            imageSize: o.imageSize ?? 64,
            vocabulary: { shapes: WORLD_SHAPES, colors: WORLD_COLORS, sizes: WORLD_SIZES },
            heldOutPairs: HELD_OUT_PAIRS,
          },
          null,
          2,
        ) + "\n",
      );
      files.push("world.json");
    } else if (o.source === "openmoji" || o.source === "tuxpaint") {
      const src = await recordSourceFor({ source: o.source, split: o.split, ...o.spec });
      const stream = await openRecordStream(src, {
        seed: o.seed,
        imageSize: o.imageSize ?? 64,
        onError: "skip",
        shuffleBuffer: 100000,
        repeat: false,
      });
      while (records < o.n) {
        throwIfAborted(signal, "data export");
        const xs = await stream.next(Math.min(64, o.n - records));
        if (!xs.length) break;
        for (const x of xs) await write(x.id, encodePng(x.image!), { text: x.text, ...x.meta });
      }
      skipped = stream.skipped();
      await stream.close?.();
    }
  } finally {
    await jsonl.close();
  }
  files.push("data.jsonl");
  progress.done();
  return { out: o.out, records, skipped, files };
}
