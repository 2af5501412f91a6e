// The attention figure drawn by plotly.js in headless Chromium: the plot and its heatmaps exist,
// the screenshot is not blank, and the token slider and view menu work in the page alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { Browser } from "playwright-core";
import { attentionFigure, syntheticAttentionCapture, vizStandaloneHtml } from "../../lib/index.ts";
import { launchChromium } from "../kernel/browser.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

test(
  "attention figure renders in headless Chromium and its selectors work",
  { skip: skipUnless("chromium"), timeout: 120_000 },
  async () => {
    const c = syntheticAttentionCapture({
      grid: { h: 8, w: 8 },
      heads: 2,
      focus: { token: 2, patch: 9 },
    });
    const img = {
      width: 64,
      height: 64,
      data: new Uint8Array(64 * 64 * 3).map((_, i) => (i % 3 === 0 ? 200 : 60)),
    };
    const f = await attentionFigure({ image: img, capture: c });
    const dir = mkdtempSync(join(tmpdir(), "simvlm-viz-"));
    const file = join(dir, "attention.html");
    writeFileSync(file, vizStandaloneHtml(f.figure, { title: "attention" }));
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`file://${file}`);
      await page.waitForSelector(".simvlm-plotly .main-svg", { timeout: 60_000 });
      assert.deepEqual(errors, []);
      const counts = await page.evaluate(() => ({
        heatmaps: document.querySelectorAll(".simvlm-plotly .hm image").length,
        images: document.querySelectorAll(
          ".simvlm-plotly .imagelayer image, .simvlm-plotly .im image",
        ).length,
        slider: document.querySelectorAll(".simvlm-plotly .slider-container").length,
        menu: document.querySelectorAll(".simvlm-plotly .updatemenu-header-group").length,
      }));
      assert.ok(counts.heatmaps >= 2, `heatmap layers drawn: ${JSON.stringify(counts)}`); // patches + prefix strip
      assert.equal(counts.slider, 1);
      assert.equal(counts.menu, 1);
      const shot = await page.locator(".simvlm-plotly").screenshot();
      const st = await sharp(shot).stats();
      assert.ok(
        st.channels.slice(0, 3).every((ch) => ch.stdev > 5),
        "plot screenshot is not blank",
      );

      // Slider: click the last position → the visible heatmap holds the last token's map.
      const visibleZ = () =>
        page.evaluate(() => {
          const gd = document.querySelector(".simvlm-plotly") as unknown as {
            data: { z?: number[][]; visible?: boolean; type: string }[];
          };
          const i = gd.data.findIndex((t) => t.type === "heatmap" && t.visible !== false);
          return { i, z: gd.data[i]!.z };
        });
      const before = await visibleZ();
      const rail = page.locator(".simvlm-plotly .slider-rail-touch-rect");
      const box = (await rail.boundingBox())!;
      await page.mouse.click(box.x + box.width - 3, box.y + box.height / 2);
      await page.waitForTimeout(300);
      const after = await visibleZ();
      const steps = (f.figure.layout!.sliders as { steps: { args: [{ z: number[][][] }] }[] }[])[0]!
        .steps;
      assert.deepEqual(after.z, steps[steps.length - 1]!.args[0].z[0]);
      assert.notDeepEqual(after.z, before.z);
      // Menu: open it and choose the rollout view → another trace becomes the visible one.
      await page.locator(".simvlm-plotly .updatemenu-header-group").click();
      await page
        .locator(".simvlm-plotly .updatemenu-dropdown-button", { hasText: "rollout" })
        .click();
      await page.waitForTimeout(300);
      const rolled = await visibleZ();
      assert.equal(rolled.i, 1 + 2 * f.views.indexOf("all layers · rollout"));
    } finally {
      await browser?.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
