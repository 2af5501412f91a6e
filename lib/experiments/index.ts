// Public API of lib/experiments (re-exported by lib/index.ts). Being written.
export {};
