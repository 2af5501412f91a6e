// Public API of lib/data (re-exported by lib/index.ts).
export type * from "./types.ts";
export { DataError, type OnError, type BadRecord } from "./errors.ts";
export {
  makeWorld,
  worldTextCorpus,
  worldRecord,
  worldSplitOf,
  worldDocument,
  worldHeldOutPairs,
  worldDataSeed,
  splitHash,
  recordsHash,
  WORLD_DATA_SEED,
  type WorldOptions,
  type WorldSplit,
} from "./world/index.ts";
export { ORDER_BLOCK } from "./shapes-stream.ts";
export {
  WORLD_SHAPES,
  WORLD_COLORS,
  WORLD_SIZES,
  HELD_OUT_PAIRS,
  isHeldOutPair,
  positionPhrase,
} from "./world/vocab.ts";
export { openStream, type OpenStreamOptions } from "./open.ts";
export { resizeImage } from "./resize.ts";
export { encodePng } from "./png.ts";
export { detectFormat, recordSourceFor, DATA_FORMATS, type DataFormat } from "./open.ts";
export { checkData, type DataCheckReport } from "./check.ts";
export { exportDataset, type ExportOptions, type ExportResult } from "./export.ts";
export { decodeImageBytes, type RawRecord } from "./decode.ts";
export { openRecordStream, type RecordSource, type RecordStream } from "./records.ts";
export { readTar, type TarEntry } from "./tar.ts";
export { ensureOpenmoji, OPENMOJI_INSTALL } from "./real/openmoji.ts";
export { ensureTuxpaint, parseStampText, TUXPAINT_DIR, TUXPAINT_INSTALL } from "./real/tuxpaint.ts";
