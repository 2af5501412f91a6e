// Public API of lib/viz (re-exported by lib/index.ts). Being written.
export {};
