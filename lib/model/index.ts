// Public API of lib/model (re-exported by lib/index.ts). Being written.
export {};
