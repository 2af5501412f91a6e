// Public API of lib/data (re-exported by lib/index.ts). Being written.
export {};
