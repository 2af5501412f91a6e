/**
 * Loads the `typescript` package with a V8 code cache, for a faster kernel start.
 *
 * typescript.js is ~9 MB of JavaScript: compiling it, and lazily compiling the checker's functions
 * during the first type-check, is a good part of the time to a kernel's first result. After the
 * first warm-up this writes V8's cached data (which then includes those lazily compiled functions)
 * to `~/.cache/simvlm/kernel` (or `$SIMVLM_CACHE_DIR/kernel`); later starts hand it back to V8 and
 * skip the compilation, as Node 22's module compile cache does. The cache is keyed by the TypeScript, Node and V8 versions and the
 * CPU architecture; a cache V8 rejects, or a folder that cannot be written, just means a plain load.
 * SIMVLM_TS_CACHE=0 turns it off.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";
import type * as TS from "typescript";

const require = createRequire(import.meta.url);

export interface LoadedTypeScript {
  ts: typeof TS;
  /** Writes the code cache if this load did not use one (call once the compiler has warmed up). */
  saveCache(): void;
  /** "used", "written", "off", or why it could not be used. */
  cacheState(): string;
}

function cacheDir(): string {
  return join(
    process.env.SIMVLM_CACHE_DIR ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "simvlm"),
    "kernel",
  );
}

export function loadTypeScript(): LoadedTypeScript {
  const file = require.resolve("typescript");
  if (process.env.SIMVLM_TS_CACHE === "0") {
    return { ts: require(file) as typeof TS, saveCache() {}, cacheState: () => "off" };
  }
  const version = (
    JSON.parse(readFileSync(join(dirname(file), "..", "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const cacheFile = join(
    cacheDir(),
    `typescript-${version}-node${process.versions.node}-v8-${process.versions.v8}-${process.arch}.cache`,
  );
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    /* first start */
  }
  // The CommonJS wrapper Node itself puts around a module, so the code runs exactly as require() would.
  const source = readFileSync(file, "utf8");
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: file, cachedData },
  );
  let state = !cachedData ? "none yet" : script.cachedDataRejected ? "rejected by V8" : "used";
  const mod = { exports: {} as unknown };
  (script.runInThisContext() as (...a: unknown[]) => void).call(
    mod.exports,
    mod.exports,
    createRequire(file),
    mod,
    file,
    dirname(file),
  );
  return {
    ts: mod.exports as typeof TS,
    cacheState: () => state,
    saveCache() {
      if (state === "used" || state === "written") return;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        mkdirSync(dirname(cacheFile), { recursive: true });
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile); // atomic: a parallel kernel never reads half a file
        state = "written";
      } catch (e) {
        rmSync(tmp, { force: true });
        state = `not written: ${(e as Error).message.split("\n")[0]}`;
      }
    },
  };
}
