/**
 * The stream every file-based source shares: one pass of raw records in file order → seeded
 * shuffle buffer (per epoch) → decode (concurrently, order kept) → skip-and-count or fail.
 * The cursor is { epoch, taken, skipped }: resuming replays the epoch's shuffle without decoding
 * the first `taken` records, so the continuation is exactly what the original stream would give.
 */
import type { DataCursor, Example, ExampleStream } from "./types.ts";
import { DataError, type BadRecord, type OnError } from "./errors.ts";
import { decodeRecord, type RawRecord, type ImageFit } from "./decode.ts";
import { Rng } from "../util/rng.ts";
import { hashInts } from "./world/hash.ts";

export interface RecordSource {
  /** Names the data in errors and cursors (a path, "openmoji", …). */
  name: string;
  /** How images are squared unless the spec says: "cover" (centre crop) or "contain" (pad). */
  fit?: ImageFit;
  /** One pass over all records in a fixed order. */
  records(): AsyncIterable<RawRecord>;
}

export interface RecordStreamOptions {
  seed: number;
  imageSize: number;
  onError: OnError;
  shuffleBuffer: number;
  repeat: boolean;
  fit?: ImageFit;
  cursor?: DataCursor;
  signal?: AbortSignal;
  /** Keep at most this many bad records for reporting (the count is always exact). */
  keepBad?: number;
}

export interface RecordStream extends ExampleStream {
  /** The bad records seen so far (first `keepBad`), each naming file, record and reason. */
  badRecords(): BadRecord[];
}

interface RecordCursor {
  source: string;
  epoch: number;
  taken: number;
  skipped: number;
}

async function* shuffled<T>(it: AsyncIterable<T>, size: number, rng: Rng): AsyncGenerator<T> {
  if (size <= 1) {
    yield* it;
    return;
  }
  const buf: T[] = [];
  for await (const r of it) {
    if (buf.length < size) {
      buf.push(r);
      continue;
    }
    const i = rng.int(0, size - 1);
    const out = buf[i]!;
    buf[i] = r;
    yield out;
  }
  while (buf.length) {
    const i = rng.int(0, buf.length - 1);
    const out = buf[i]!;
    buf[i] = buf[buf.length - 1]!;
    buf.pop();
    yield out;
  }
}

export async function openRecordStream(
  src: RecordSource,
  o: RecordStreamOptions,
): Promise<RecordStream> {
  const c = o.cursor as Partial<RecordCursor> | undefined;
  if (
    c &&
    (c.source !== src.name ||
      ![c.epoch, c.taken, c.skipped].every((v) => Number.isInteger(v) && (v as number) >= 0))
  ) {
    throw new DataError(`cursor ${JSON.stringify(c)} does not belong to this source`, {
      file: src.name,
    });
  }
  let epoch = c?.epoch ?? 0,
    taken = 0,
    skipped = c?.skipped ?? 0;
  let finished = false;
  // A repeating source whose every record is bad would loop forever: a run of bad records as
  // long as a whole epoch stops it with one error (a single pass just ends, its bad records counted).
  let epochSize = 0,
    badRun = 0;
  const bad: BadRecord[] = [];
  const keepBad = o.keepBad ?? 1000;
  let it: AsyncIterator<RawRecord> | undefined;

  const startEpoch = () => {
    it = shuffled(src.records(), o.shuffleBuffer, new Rng(hashInts(o.seed, epoch, 0x5eed)))[
      Symbol.asyncIterator
    ]();
    taken = 0;
  };

  /** Up to n raw records, crossing into the next epoch when repeating. */
  async function pull(n: number): Promise<RawRecord[]> {
    const out: RawRecord[] = [];
    while (out.length < n && !finished) {
      if (!it) startEpoch();
      const r = await it!.next();
      if (!r.done) {
        out.push(r.value);
        taken++;
        continue;
      }
      it = undefined;
      if (taken === 0) throw new DataError("no records", { file: src.name });
      epochSize = taken;
      if (!o.repeat) {
        finished = true;
        break;
      }
      epoch++;
    }
    return out;
  }

  try {
    if (c) {
      startEpoch();
      for (let i = 0; i < c.taken!; i++) {
        const r = await it!.next();
        if (r.done)
          throw new DataError(`cursor is past the end of epoch ${epoch} (${i} records)`, {
            file: src.name,
          });
        taken++;
      }
    }
  } catch (e) {
    await it?.return?.();
    throw e;
  }

  return {
    async next(n: number): Promise<Example[]> {
      const out: Example[] = [];
      while (out.length < n) {
        if (o.signal?.aborted) throw new DataError("interrupted", { file: src.name });
        const raws = await pull(n - out.length);
        if (raws.length === 0) break;
        const decoded = await Promise.all(
          raws.map((r) => decodeRecord(r, o.imageSize, o.fit ?? src.fit ?? "cover")),
        );
        for (let i = 0; i < raws.length; i++) {
          const d = decoded[i]!,
            r = raws[i]!;
          if (d.ok) {
            out.push(d.example);
            badRun = 0;
            continue;
          }
          if (o.onError === "fail")
            throw new DataError(d.reason, { file: r.file, record: r.record });
          skipped++;
          if (bad.length < keepBad) bad.push({ file: r.file, record: r.record, reason: d.reason });
          if (++badRun >= epochSize && epochSize > 0 && o.repeat)
            throw new DataError(
              `no usable records: every record is bad (${skipped} skipped; first: ${bad[0]?.reason})`,
              { file: src.name },
            );
        }
      }
      return out;
    },
    cursor: () => ({ source: src.name, epoch, taken, skipped }),
    skipped: () => skipped,
    badRecords: () => bad.slice(),
    async close() {
      await it?.return?.();
      it = undefined;
    },
  };
}
