#!/usr/bin/env node
// Launcher: the project is TypeScript run in place through tsx (no build step), so
// `npx simvlm …`, the kernel and the tests all execute the same sources.
import { register } from "tsx/esm/api";
register();
await import("../cli/main.ts");
