/**
 * The public API that notebooks import as "simvlm" (`import { … } from "simvlm"`).
 * Each area keeps its own index; names must be unique across areas.
 */
export {
  tf,
  initBackend,
  availableBackends,
  requestedBackend,
  BACKEND_NAMES,
  BackendError,
} from "./backend/index.ts";
export type { BackendInfo, BackendName } from "./backend/index.ts";
export { UserError } from "./errors.ts";
export * from "./display/index.ts";
export * from "./runtime.ts";
export { Rng } from "./util/rng.ts";
export type { RngState } from "./util/rng.ts";
export * from "./tokenizer/index.ts";
export * from "./data/index.ts";
export * from "./model/index.ts";
export * from "./train/index.ts";
export * from "./decode/index.ts";
export * from "./eval/index.ts";
export * from "./viz/index.ts";
export * from "./experiments/index.ts";
