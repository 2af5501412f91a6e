// The attention figure in a real notebook: executed with the simvlm kernel (nbclient), saved, signed,
// and opened in the classic Notebook in headless Chromium; the saved figure output stays under 300 KB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { launchChromium } from "../kernel/browser.ts";
import { spawnTracked, type Tracked } from "../procs.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

const PYTHON = "/usr/bin/python3";
const repo = fileURLToPath(new URL("../..", import.meta.url));

/** `simvlm kernel install --prefix TMP`: the kernelspec Jupyter finds through JUPYTER_PATH. */
function installTempKernelspec(): { jupyterPath: string; cleanup: () => void } {
  const prefix = mkdtempSync(join(tmpdir(), "simvlm-viz-ks-"));
  const r = spawnSync(
    process.execPath,
    [join(repo, "bin", "simvlm.js"), "kernel", "install", "--prefix", prefix],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`kernel install failed: ${r.stderr}`);
  return {
    jupyterPath: join(prefix, "share", "jupyter"),
    cleanup: () => rmSync(prefix, { recursive: true, force: true }),
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const CELL = `import { attentionFigure, syntheticAttentionCapture } from "simvlm";
const capture = syntheticAttentionCapture({ grid: { h: 8, w: 8 }, heads: 2, focus: { token: 2, patch: 9 } });
const image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).map((_, i) => (i % 3 === 0 ? 200 : 60)) };
await attentionFigure({ image, capture });`;

// The live plot through the kernel's display sink: nbclient applies update_display_data to the
// stored output, so the saved notebook holds one output with the final state.
const LIVE = `import { liveTrainingPlot } from "simvlm";
const plot = liveTrainingPlot({ title: "demo", maxUpdatesPerSecond: 50 });
for (let s = 1; s <= 30; s++) { plot.onStep({ step: s, loss: 3 / s, lr: 1e-3, examples_per_s: 50 }); await new Promise((r) => setTimeout(r, 5)); }
plot.finish();`;

const EXECUTE = `import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="simvlm", timeout=180, startup_timeout=90).execute()
nbformat.write(nb, sys.argv[1])`;

async function waitHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test(
  "attention figure and live plot in a notebook executed by the simvlm kernel, shown by the classic Notebook",
  { skip: skipUnless("chromium", "nbclient", "notebook"), timeout: 300_000 },
  async () => {
    const ks = installTempKernelspec();
    const dir = mkdtempSync(join(tmpdir(), "simvlm-viz-nb-"));
    const env = {
      ...process.env,
      JUPYTER_PATH: ks.jupyterPath,
      JUPYTER_DATA_DIR: join(dir, "data"),
      JUPYTER_CONFIG_DIR: join(dir, "config"),
      JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
    };
    let server: Tracked | undefined, browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const nbFile = join(dir, "attention.ipynb");
      writeFileSync(
        nbFile,
        JSON.stringify({
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {
            kernelspec: {
              name: "simvlm",
              display_name: "SimVLM (TypeScript)",
              language: "typescript",
            },
          },
          cells: [
            {
              cell_type: "code",
              id: "att",
              metadata: {},
              execution_count: null,
              outputs: [],
              source: CELL,
            },
            {
              cell_type: "code",
              id: "live",
              metadata: {},
              execution_count: null,
              outputs: [],
              source: LIVE,
            },
          ],
        }),
      );
      const ex = spawnSync(PYTHON, ["-c", EXECUTE, nbFile], {
        env,
        encoding: "utf8",
        timeout: 240_000,
      });
      assert.equal(ex.status, 0, ex.stderr);
      const nb = JSON.parse(readFileSync(nbFile, "utf8")) as {
        cells: { outputs: { output_type: string; data?: Record<string, unknown> }[] }[];
      };
      const fig = nb.cells[0]!.outputs.find((o) => o.data?.["application/vnd.plotly.v1+json"]);
      assert.ok(fig, `no Plotly output: ${JSON.stringify(nb.cells[0]!.outputs).slice(0, 500)}`);
      assert.ok(fig.data!["image/png"], "the PNG travels with the figure");
      const bytes = JSON.stringify(fig).length;
      assert.ok(bytes < 300_000, `figure output is ${bytes} bytes`);
      const live = nb.cells[1]!.outputs.filter((o) => o.data?.["application/vnd.plotly.v1+json"]);
      assert.equal(live.length, 1, "the live plot updated one output in place");
      const lf = live[0]!.data!["application/vnd.plotly.v1+json"] as { data: { x: number[] }[] };
      assert.equal(lf.data[0]!.x.length, 30, "the stored live plot shows every step");
      assert.match(String(live[0]!.data!["text/plain"]), /step 30.*\(done\)/);

      // Saved outputs run their scripts only in a trusted notebook: sign it with this test's key.
      const sign = spawnSync(PYTHON, ["-m", "nbformat.sign", nbFile], { env, encoding: "utf8" });
      assert.equal(sign.status, 0, sign.stderr);
      const port = await freePort();
      // Opening the notebook starts its kernel in a new session: spawnTracked stops that too.
      server = spawnTracked(
        PYTHON,
        [
          "-m",
          "notebook",
          "--allow-root",
          "--no-browser",
          `--port=${port}`,
          "--ip=127.0.0.1",
          "--NotebookApp.token=",
          "--NotebookApp.password=",
          `--notebook-dir=${dir}`,
        ],
        { name: "classic Notebook", deadlineMs: 300_000, env, stdio: "ignore" },
      );
      const url = `http://127.0.0.1:${port}/notebooks/attention.ipynb`;
      await waitHttp(url, 60_000);
      const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
      await page.goto(url);
      await page.waitForSelector(".output_area .simvlm-plotly .main-svg", { timeout: 90_000 });
      const heatmaps = await page.evaluate(
        () => document.querySelectorAll(".simvlm-plotly .hm image").length,
      );
      assert.ok(heatmaps >= 2, `heatmap layers drawn: ${heatmaps}`);
      const shot = await page.locator(".simvlm-plotly").first().screenshot();
      const st = await sharp(shot).stats();
      assert.ok(
        st.channels.slice(0, 3).every((ch) => ch.stdev > 5),
        "the notebook's plot is blank",
      );
    } finally {
      await browser?.close().catch(() => {});
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
      ks.cleanup();
    }
  },
);
