#!/usr/bin/env node
// Launcher: the project is TypeScript run in place through tsx (no build step), so
// `npx simvlm …`, the kernel and the tests all execute the same sources.
// A kernel's first cell waits for the type-checker: start its worker (plain JavaScript) first.
const [command, sub] = process.argv.slice(2);
if (command === "kernel" && sub === "run") {
  const { startLanguageWorker } = await import("../kernel/worker-bundles.mjs");
  void startLanguageWorker({
    cwd: process.cwd(),
    typecheck: !process.argv.includes("--no-typecheck"),
  });
}
const { register } = await import("tsx/esm/api");
register();
await import("../cli/main.ts");
