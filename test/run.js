#!/usr/bin/env node
// `npm test`: set up what the tests need, type-check, run every test file under test/ with node's
// test runner (through tsx, since tests are TypeScript), and leave nothing running.
//
//   node test/run.js [filter...]        only the test files whose path contains a filter (no type check)
//
// Setup, each step only when needed: `npm ci` (node_modules missing or older than
// package-lock.json); the Debian packages in scripts/prereqs.mjs (as root or with password-less
// sudo: apt-get update + install, non-interactive); the native addon (native/build.mjs). Where a
// package cannot be installed, the tests that need it skip with the command that installs it.
// Every process a test starts is tracked (test/proc-guard.mjs) and killed when its file ends;
// what is still alive when the run ends is reported and killed.
//
// Environment: SIMVLM_TEST_SKIP_TYPECHECK=1 skips tsc and the format check; SIMVLM_TEST_CONCURRENCY (default 2) files
// at once; SIMVLM_NO_INSTALL=1 installs nothing; SIMVLM_PRETEND_MISSING=all|name,… treats those
// prerequisites as missing (to see the skips); SIMVLM_NATIVE=0 runs without the native addon.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OWN_TOKEN, killTree } from "./proc-guard.mjs";
import { ensurePrereqs, installCommand, PREREQS } from "../scripts/prereqs.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);
const say = (m) => console.log(`# ${m}`);

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
if (!files.length) {
  console.error("no test files matched");
  process.exit(1);
}

// 1. npm dependencies (npm ci also builds the native addon in its prepare step).
const lock = join(root, "package-lock.json"),
  installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(lock).mtimeMs > statSync(installed).mtimeMs) {
  if (process.env.SIMVLM_NO_INSTALL === "1") {
    console.error("# node_modules is missing or older than package-lock.json: run npm ci");
    process.exit(1);
  }
  say("npm ci (node_modules is missing or older than package-lock.json)");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit", cwd: root });
  if (r.status !== 0) {
    console.error("# npm ci failed (see above); the tests need the npm packages");
    process.exit(1);
  }
}

// 2. Debian packages: install what is missing when possible; otherwise the dependent tests skip.
const pre = ensurePrereqs({ log: (m) => console.log(m) });
if (pre.installed.length) say(`installed: ${pre.installed.join(", ")}`);
if (pre.missing.length) {
  say(`missing (${pre.note}); these tests will skip:`);
  for (const n of pre.missing) say(`  ${n}: ${PREREQS[n].usedBy}`);
  say(`install them with: ${installCommand(pre.missing)}`);
}

// 3. The native addon, when its build is missing or older than its sources (and its tools are there).
const env = { ...process.env, SIMVLM_TESTING: "1", SIMVLM_PREREQS: JSON.stringify(pre.status) };
if (!pre.status.native) env.SIMVLM_NATIVE = "0";
else if (process.env.SIMVLM_NATIVE !== "0") {
  const build = await import("../native/build.mjs");
  if (!build.addonIsCurrent()) {
    const r = build.buildNativeAddon(false);
    if (!r.ok) say(`native addon not built (${r.reason}): the native kernel tests skip`);
  }
}

// 4. Type check (whole runs only), then the tests, each file in its own process with the guard.
if (!filters.length && process.env.SIMVLM_TEST_SKIP_TYPECHECK !== "1") {
  say("type-checking (tsc --noEmit)…");
  const tsc = spawnSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", root],
    { stdio: "inherit", cwd: root },
  );
  if (tsc.status !== 0) {
    console.error("# type errors: fix them before the tests run");
    process.exit(tsc.status ?? 1);
  }
  // The formatter's check (Prettier, configured in .prettierrc.json): `npm run format` fixes it.
  say("checking the formatting (prettier --check)…");
  const fmt = spawnSync(
    process.execPath,
    [join(root, "node_modules/prettier/bin/prettier.cjs"), "--check", ".", "--log-level", "warn"],
    { stdio: "inherit", cwd: root },
  );
  if (fmt.status !== 0) {
    console.error("# the files above are not formatted: run npm run format");
    process.exit(fmt.status ?? 1);
  }
}

const guard = pathToFileURL(join(root, "test", "proc-guard.mjs")).href;
const args = [
  "--import",
  "tsx",
  "--import",
  guard,
  "--test",
  "--test-reporter=spec",
  `--test-concurrency=${process.env.SIMVLM_TEST_CONCURRENCY ?? 2}`,
  ...files,
];
// Asynchronously, so a SIGTERM or Ctrl-C to this process is handled at once (the guard kills the tree).
const status = await new Promise((resolve) => {
  const child = spawn(process.execPath, args, { stdio: "inherit", cwd: root, env });
  child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  child.on("error", (e) => {
    console.error(`# could not run the tests: ${e.message}`);
    resolve(1);
  });
});

// 5. Nothing a test started may outlive the run (the per-file guard should have stopped it already).
const left = killTree(OWN_TOKEN);
if (left.length) {
  console.error(`# killed ${left.length} process(es) still running after the tests:`);
  for (const p of left) console.error(`#   ${p.pid} ${p.cmd.slice(0, 160)}`);
}
process.exit(status);
