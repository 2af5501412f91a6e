// Public API of lib/tokenizer (re-exported by lib/index.ts). Being written.
export {};
