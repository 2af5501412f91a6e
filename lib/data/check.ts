/**
 * `checkData`: read a whole data set once, in file order, and report counts and every bad record
 * (file, record, reason). Images are fully decoded (at a small size) so corrupt files are caught.
 */
import type { DataSpec } from "./types.ts";
import type { BadRecord } from "./errors.ts";
import { openRecordStream } from "./records.ts";
import { recordSourceFor } from "./open.ts";
import type { LongRunOptions } from "../runtime.ts";
import { runSignal, startProgress, throwIfAborted } from "../runtime.ts";

export interface DataCheckReport {
  source: string;
  format?: string;
  records: number;
  good: number;
  imageText: number;
  textOnly: number;
  bad: BadRecord[];
}

export async function checkData(
  spec: DataSpec,
  opts: LongRunOptions & { imageSize?: number } = {},
): Promise<DataCheckReport> {
  const src = await recordSourceFor(spec);
  const stream = await openRecordStream(src, {
    seed: 0,
    imageSize: opts.imageSize ?? 32,
    onError: "skip",
    shuffleBuffer: 0,
    repeat: false,
    keepBad: Infinity,
  });
  const signal = runSignal(opts);
  const progress = startProgress(`check ${spec.source}`, undefined, opts);
  let imageText = 0,
    textOnly = 0;
  try {
    for (;;) {
      throwIfAborted(signal, "data check");
      const xs = await stream.next(64);
      for (const x of xs) x.image ? imageText++ : textOnly++;
      progress.update({
        step: imageText + textOnly + stream.skipped(),
        message: `${stream.skipped()} bad`,
      });
      if (xs.length < 64) break;
    }
  } finally {
    await stream.close?.();
  }
  progress.done();
  const bad = stream.badRecords();
  return {
    source: spec.source,
    format: spec.format,
    records: imageText + textOnly + bad.length,
    good: imageText + textOnly,
    imageText,
    textOnly,
    bad,
  };
}
