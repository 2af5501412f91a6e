/**
 * openStream: one entry point for every source. "shapes" is the built-in world; "openmoji" and
 * "tuxpaint" are the offline real sets; anything else is a path in a known format.
 */
import type { DataCursor, DataSpec, ExampleStream } from "./types.ts";
import type { OnError } from "./errors.ts";
import { DataError } from "./errors.ts";
import { openShapesStream } from "./shapes-stream.ts";

export interface OpenStreamOptions {
  seed: number;
  cursor?: DataCursor;
  /** Side of the square images produced (default 64). */
  imageSize?: number;
  /** Bad records: "skip" (count them, default) or "fail" (throw one DataError naming file and record). */
  onError?: OnError;
  signal?: AbortSignal;
}

export async function openStream(spec: DataSpec, opts: OpenStreamOptions): Promise<ExampleStream> {
  if (!spec || typeof spec.source !== "string" || !spec.source) throw new DataError("DataSpec needs a source (\"shapes\", \"openmoji\", \"tuxpaint\" or a path)");
  if (!Number.isInteger(opts.seed)) throw new DataError(`seed must be an integer, got ${opts.seed}`, { file: spec.source });
  if (spec.source === "shapes") return openShapesStream(spec, opts);
  throw new DataError(`unknown source "${spec.source}"`, { file: spec.source });
}
