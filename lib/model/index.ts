// Public API of lib/model (re-exported by lib/index.ts). See docs/model.md.
export {
  SimVLM,
  disposeEncoderState,
  disposeDecoderCache,
  reorderDecoderCache,
  selectEncoderRows,
} from "./simvlm.ts";
export type { ApplyOptions, ModelOutput, EncoderState, DecoderCache } from "./simvlm.ts";
export { MODEL_CONFIGS, resolveConfig, validateConfig, gridSide, ConfigError } from "./configs.ts";
export type { ModelConfig, ModelConfigName } from "./configs.ts";
export { imagesToTensor, blankImage } from "./image.ts";
export type { ModelInputs, AttentionCapture, AttentionMap } from "./types.ts";
