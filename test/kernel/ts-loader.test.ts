// The kernel's TypeScript loader: a V8 code cache written after the first warm-up and used after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTypeScript } from "../../kernel/ts-loader.ts";

test("TypeScript loads through a code cache: written once, then used; off and unwritable are harmless", () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-tscache-"));
  const saved = { dir: process.env.SIMVLM_CACHE_DIR, off: process.env.SIMVLM_TS_CACHE };
  try {
    process.env.SIMVLM_CACHE_DIR = dir;
    delete process.env.SIMVLM_TS_CACHE;
    const first = loadTypeScript();
    assert.equal(first.cacheState(), "none yet");
    assert.match(first.ts.transpileModule("const x: number = 1", {}).outputText, /var x = 1/);
    first.saveCache();
    assert.equal(first.cacheState(), "written");
    const files = readdirSync(join(dir, "kernel"));
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^typescript-[\d.]+-node[\d.]+-v8-.*\.cache$/);
    const second = loadTypeScript();
    assert.equal(second.cacheState(), "used");
    assert.equal(second.ts.version, first.ts.version);
    second.saveCache(); // nothing to do
    assert.equal(second.cacheState(), "used");

    process.env.SIMVLM_TS_CACHE = "0";
    assert.equal(loadTypeScript().cacheState(), "off");
    delete process.env.SIMVLM_TS_CACHE;

    if (process.getuid?.() !== 0) {
      // root ignores permissions
      const ro = join(dir, "ro");
      process.env.SIMVLM_CACHE_DIR = ro;
      rmSync(ro, { recursive: true, force: true });
      chmodSync(dir, 0o500);
      const third = loadTypeScript();
      third.saveCache();
      assert.match(third.cacheState(), /^not written: /);
      chmodSync(dir, 0o700);
    }
  } finally {
    if (saved.dir === undefined) delete process.env.SIMVLM_CACHE_DIR;
    else process.env.SIMVLM_CACHE_DIR = saved.dir;
    if (saved.off === undefined) delete process.env.SIMVLM_TS_CACHE;
    else process.env.SIMVLM_TS_CACHE = saved.off;
    rmSync(dir, { recursive: true, force: true });
  }
});
