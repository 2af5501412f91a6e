// Public API of lib/data (re-exported by lib/index.ts).
export type * from "./types.ts";
export { DataError, type OnError, type BadRecord } from "./errors.ts";
export { makeWorld, worldTextCorpus, worldRecord, worldSplitOf, worldDocument, worldHeldOutPairs, type WorldOptions, type WorldSplit } from "./world/index.ts";
export { WORLD_SHAPES, WORLD_COLORS, WORLD_SIZES, HELD_OUT_PAIRS, isHeldOutPair, positionPhrase } from "./world/vocab.ts";
export { openStream, type OpenStreamOptions } from "./open.ts";
export { resizeImage } from "./resize.ts";
export { encodePng } from "./png.ts";
