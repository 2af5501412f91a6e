// The kernel's workers run as esbuild bundles of their TypeScript sources (kernel/worker-bundles.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleInputs, workerBundle } from "../../kernel/worker-bundles.mjs";

const kernelDir = fileURLToPath(new URL("../../kernel/", import.meta.url));

test("worker bundles: built beside the sources, newer than all of them, plain JavaScript; off with SIMVLM_KERNEL_BUNDLE=0", async () => {
  const saved = process.env.SIMVLM_KERNEL_BUNDLE;
  delete process.env.SIMVLM_KERNEL_BUNDLE; // the suite may run with it set
  for (const entry of ["language-worker", "server"]) {
    const bundle = await workerBundle(entry);
    assert.ok(bundle, `${entry}: bundled`);
    assert.equal(bundle, join(kernelDir, `.${entry}.bundle.mjs`));
    const built = statSync(bundle).mtimeMs;
    for (const f of readdirSync(kernelDir).filter((f) => f.endsWith(".ts")))
      assert.ok(statSync(join(kernelDir, f)).mtimeMs <= built, `${f} is newer than ${bundle}`);
    // Every file it was built from is recorded (lib/ ones too), so a change to any of them rebuilds it.
    const inputs = bundleInputs(bundle)!;
    assert.ok(inputs.includes(join(kernelDir, `${entry}.ts`)), `${entry}: inputs ${inputs}`);
    for (const f of inputs) assert.ok(statSync(f).mtimeMs <= built, `${f} is newer than ${bundle}`);
    if (entry === "server")
      assert.ok(
        inputs.includes(join(kernelDir, "..", "lib", "errors.ts")),
        "the wire bundle includes lib/errors.ts",
      );
    // Plain JavaScript: node checks its syntax without the TypeScript loader.
    const r = spawnSync(process.execPath, ["--check", bundle], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  }
  process.env.SIMVLM_KERNEL_BUNDLE = "0";
  try {
    assert.equal(await workerBundle("server"), undefined);
  } finally {
    if (saved === undefined) delete process.env.SIMVLM_KERNEL_BUNDLE;
    else process.env.SIMVLM_KERNEL_BUNDLE = saved;
  }
});
