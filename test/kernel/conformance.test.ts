/**
 * Jupyter's own kernel conformance suite (Debian's python3-jupyter-kernel-test) against the
 * kernelspec that `simvlm kernel install --prefix TMP` writes; every test must pass, none skipped.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec, PYTHON, repo } from "./client.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

exitWhenDone();

it(
  "passes jupyter_kernel_test with every attribute filled",
  { skip: skipUnless("jupyter_kernel_test"), timeout: 300_000 },
  () => {
    const ks = installTempKernelspec();
    try {
      const r = spawnSync(PYTHON, ["-m", "unittest", "-v", "test_conformance"], {
        cwd: join(repo, "test", "kernel", "py"),
        encoding: "utf8",
        timeout: 280_000,
        env: {
          ...process.env,
          JUPYTER_PATH: ks.jupyterPath,
          JUPYTER_PLATFORM_DIRS: "1",
          PYTHONDONTWRITEBYTECODE: "1",
        },
      });
      const out = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, out);
      assert.match(out, /Ran \d+ tests/);
      assert.doesNotMatch(out, /skipped/i, out);
      assert.match(out, /\nOK\s*$/, out);
    } finally {
      ks.cleanup();
    }
  },
);
