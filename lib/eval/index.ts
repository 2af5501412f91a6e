// Public API of lib/eval (re-exported by lib/index.ts). Being written.
export {};
