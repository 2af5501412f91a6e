// Public API of lib/eval (re-exported by lib/index.ts).
export * from "./metrics/index.ts";
export * from "./tasks/index.ts";
