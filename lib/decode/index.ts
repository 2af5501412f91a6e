// Public API of lib/decode (re-exported by lib/index.ts).
export { generate, DecodeError } from "./generate.ts";
export type { GenerateOptions, GenerateResult } from "./generate.ts";
