// Public API of lib/tokenizer (re-exported by lib/index.ts).
export {
  SimTokenizer,
  trainTokenizer,
  SPECIAL_IDS,
  SPECIAL_TOKENS,
  TokenizerError,
} from "./tokenizer.ts";
