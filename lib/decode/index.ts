// Public API of lib/decode (re-exported by lib/index.ts). Being written.
export {};
