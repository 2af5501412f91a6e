#!/usr/bin/env node
// `npm test`: type-check the project, then run every test file under test/ with node's built-in
// test runner (through tsx, since tests are TypeScript). Usage: node test/run.js [filter...]
// SIMVLM_TEST_SKIP_TYPECHECK=1 skips tsc (for quick local loops).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === "fixtures" || name === "node_modules") continue;
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

let files = walk(join(root, "test")).map((p) => relative(root, p));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (!files.length) { console.error("no test files matched"); process.exit(1); }

if (!filters.length && process.env.SIMVLM_TEST_SKIP_TYPECHECK !== "1") {
  console.log("# type-checking (tsc --noEmit)…");
  const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root], { stdio: "inherit", cwd: root });
  if (tsc.status !== 0) { console.error("# type errors: fix them before the tests run"); process.exit(tsc.status ?? 1); }
}

const args = ["--import", "tsx", "--test", "--test-reporter=spec", `--test-concurrency=${process.env.SIMVLM_TEST_CONCURRENCY ?? 2}`, ...files];
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: root, env: { ...process.env, SIMVLM_TESTING: "1" } });
process.exit(r.status ?? 1);
