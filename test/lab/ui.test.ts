/**
 * Working in the JupyterLab that `npm start` builds (lab/), through its UI in Chromium, on a copy of
 * notebook 01 with the simvlm kernel in quick mode (SIMVLM_QUICK=1 in the server's environment):
 * Run All draws every figure and updates the live training plot in place; completion after
 * `simvlm.`; inspection (Shift+Tab) on a name and inside a call; Kernel > Interrupt Kernel stops a
 * training loop written in a cell and the next cell continues training the same model, and stops a
 * running pretrain() at a step boundary, which the next cell resumes; Kernel > Restart Kernel gives
 * a new kernel process.
 */
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { exitWhenDone } from "../kernel/client.ts";
import { launchChromium } from "../kernel/browser.ts";
import {
  appendCell,
  cellDone,
  drawnFigures,
  labPrerequisites,
  menu,
  notebookState,
  openInLab,
  outputText,
  runCell,
  startLab,
  waitForKernel,
  type RunningLab,
} from "./lab.ts";

exitWhenDone();

const NB = "01-prefixlm-pretraining.ipynb";
const pre = await labPrerequisites();

/** One step of PrefixLM training on the notebook's tokenizer and config, written in a cell (so the cell's loop guard applies). */
const STEP = `{
  const batch = makeBatch(await loopStream.next(4), tokenizer, cfg, { objective: "prefixlm", prefix: { mode: "random" }, rng: loopRng });
  try { const r = await trainStepAsync(loopModel, loopOpt, batch, { lr: 1e-3 }); loopStep++; loopPlot.onStep({ step: loopStep, loss: r.loss }); } finally { disposeBatch(batch); }
}`;

describe(
  "JupyterLab (npm build) UI with the simvlm kernel",
  { skip: "skip" in pre && pre.skip, timeout: 900_000 },
  () => {
    let lab: RunningLab;
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];
    before(async () => {
      if ("skip" in pre) return;
      lab = await startLab(pre, { notebooks: [NB], env: { SIMVLM_QUICK: "1" } });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("pageerror", (e) => errors.push(e.message));
      await openInLab(page, lab, NB);
      await waitForKernel(page, "idle");
    });
    after(async () => {
      await browser?.close();
      await lab?.stop();
    });

    it("Run All runs notebook 01 in quick mode; every figure is drawn; the training plot updates in place", async () => {
      // Watch the training plot while it runs: its title carries the step; the node must stay the same.
      // (Quick mode trains the tiny config: "PrefixLM pretraining (tiny, seed 0)".)
      await page.evaluate(() => {
        const w = window as any;
        w.__trainTitles = new Set<string>();
        w.__trainNodes = new Set<Element>();
        // The saved outputs' figures are not this run's (a saved quick-mode run would carry the same title).
        const saved = new Set(Array.from(document.querySelectorAll(".simvlm-PlotlyRenderer")));
        w.__watch = setInterval(() => {
          for (const p of Array.from(document.querySelectorAll(".simvlm-PlotlyRenderer"))) {
            if (saved.has(p)) continue;
            const t = p.querySelector(".gtitle")?.textContent ?? "";
            if (/^PrefixLM pretraining \(tiny[,)]/.test(t)) {
              w.__trainTitles.add(t);
              w.__trainNodes.add(p);
            }
          }
        }, 50);
      });
      await menu(page, "Run", "Run All Cells");
      const n = (await notebookState(page))!.cells.length;
      await cellDone(page, n - 1, 600_000);
      const state = (await notebookState(page))!;
      assert.equal(state.kernel, "simvlm");
      const code = state.cells.filter((c) => c.type === "code");
      assert.ok(
        code.every((c) => c.count !== null),
        "every code cell ran",
      );
      const failed = code.flatMap((c) => c.outputs.filter((o) => o.type === "error"));
      assert.deepEqual(failed, [], "no cell failed");
      assert.match(
        outputText(code[0]!) + JSON.stringify(code[0]!.outputs),
        /quick/i,
        "the kernel ran in quick mode (SIMVLM_QUICK=1 from the server's environment)",
      );

      const figures = await drawnFigures(page);
      const want = code
        .flatMap((c) => c.outputs)
        .filter((o) => o.mimes.includes("application/vnd.plotly.v1+json")).length;
      assert.ok(want >= 3, `the run made figures: mask, training plot, attention (${want})`);
      assert.equal(figures.length, want, "every figure of the run is drawn");
      for (const f of figures)
        assert.ok(f.w > 100 && f.h > 100, `figure in cell ${f.cell} has a visible size`);

      const watched = await page.evaluate(() => {
        const w = window as any;
        clearInterval(w.__watch);
        return { titles: [...w.__trainTitles] as string[], nodes: w.__trainNodes.size as number };
      });
      const steps = new Set(watched.titles.map((t) => /step (\d+)/.exec(t)?.[1]).filter(Boolean));
      assert.ok(
        steps.size >= 2,
        `the training plot was redrawn while training: ${JSON.stringify(watched.titles)}`,
      );
      assert.ok(
        watched.titles.some((t) => t.endsWith("(done)")),
        "it ends in its final state",
      );
      assert.equal(
        watched.nodes,
        1,
        "updates replaced the figure in place (update_display_data), no second figure",
      );
      assert.deepEqual(errors, []);
    });

    it("completion after `simvlm.` lists the library's exports", async () => {
      const setup = await appendCell(
        page,
        'import * as simvlm from "simvlm";\nconst pid0 = process.pid;\npid0',
      );
      await runCell(page, setup);
      await appendCell(page);
      await page.keyboard.type("simvlm.pre");
      await page.keyboard.press("Tab");
      const completer = page.locator(".jp-Completer:not(.lm-mod-hidden)");
      await completer.waitFor({ timeout: 60_000 });
      const items = await completer
        .locator(".jp-Completer-item .jp-Completer-match")
        .allTextContents();
      assert.ok(items.includes("pretrain"), `pretrain offered: ${items.join(", ")}`);
      assert.ok(
        items.every((i) => i.startsWith("pre")),
        `only names starting with "pre": ${items.join(", ")}`,
      );
      await page.keyboard.press("Escape");
    });

    it("inspection (Shift+Tab) shows the type and doc comment of a library function", async () => {
      await appendCell(page);
      await page.keyboard.type("simvlm.pretrain");
      await page.keyboard.press("Shift+Tab");
      const tooltip = page.locator(".jp-Tooltip");
      await tooltip.waitFor({ timeout: 60_000 });
      assert.match(await tooltip.innerText(), /pretrain/);
      await page.keyboard.press("Escape");
    });

    it("inspection (Shift+Tab) inside a call's parentheses shows the called function and its options", async () => {
      await appendCell(page);
      await page.keyboard.type("simvlm.pretrain({ steps: 1, ");
      await page.keyboard.press("Shift+Tab");
      const tooltip = page.locator(".jp-Tooltip");
      await tooltip.waitFor({ timeout: 30_000 });
      const help = await tooltip.innerText();
      assert.match(help, /pretrain/);
      assert.match(help, /batchSize/, `the documented options are listed: ${help}`);
      await page.keyboard.press("Escape");
    });

    it("Kernel > Interrupt Kernel stops a training loop written in a cell; the next cell continues it", async () => {
      const setup = await appendCell(
        page,
        [
          'import { AdamW, makeBatch, disposeBatch, trainStepAsync } from "simvlm";',
          "const loopModel = new SimVLM(cfg, 1);",
          "const loopOpt = new AdamW(loopModel.weights());",
          'const loopStream = await openStream({ source: "shapes", split: "train", textOnlyEvery: 8 }, { seed: 1, imageSize: cfg.imageSize });',
          "const loopRng = new Rng(1);",
          'const loopPlot = liveTrainingPlot({ title: "cell loop" });',
          "let loopStep = 0;",
        ].join("\n"),
      );
      let cell = await runCell(page, setup);
      assert.deepEqual(
        cell.outputs.filter((o) => o.type === "error"),
        [],
      );

      const loop = await appendCell(page, `for (;;) ${STEP}`);
      await runCell(page, loop, { wait: false });
      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll(".simvlm-PlotlyRenderer .gtitle")).some(
            (t) => Number(/^cell loop — step (\d+)/.exec(t.textContent ?? "")?.[1] ?? 0) >= 3,
          ),
        undefined,
        { timeout: 180_000, polling: 200 },
      );
      const t0 = Date.now();
      await menu(page, "Kernel", "Interrupt Kernel");
      await cellDone(page, loop, 60_000);
      const stoppedIn = Date.now() - t0;
      cell = (await notebookState(page))!.cells[loop]!;
      const err = cell.outputs.find((o) => o.type === "error");
      assert.equal(
        err?.ename,
        "InterruptError",
        `the loop cell ended with an interrupt: ${outputText(cell)}`,
      );
      console.log(
        `# interrupt from the Kernel menu: the cell loop stopped ${stoppedIn} ms after the click`,
      );

      const next = await appendCell(
        page,
        `const before = loopStep;\nfor (let i = 0; i < 2; i++) ${STEP}\n\`\${before} -> \${loopStep}\``,
      );
      cell = await runCell(page, next);
      const m = /(\d+) -> (\d+)/.exec(outputText(cell));
      assert.ok(m, `the next cell ran: ${outputText(cell)}`);
      assert.ok(
        Number(m[1]) >= 3 && Number(m[2]) === Number(m[1]) + 2,
        `training continued from step ${m[1]} to ${m[2]}`,
      );
    });

    it("Kernel > Interrupt Kernel stops a running pretrain() at a step boundary; the next cell resumes it", async () => {
      const opts =
        'config: "tiny", data: { source: "shapes", split: "train" }, tokenizer, steps: 3000, batchSize: 8, seed: 0, outDir: bigDir';
      const run = await appendCell(
        page,
        [
          'import { mkdtempSync as mkdtempBig, rmSync as rmBig } from "node:fs";',
          // Notebook 01 trains through runGrid and no longer imports pretrain: the cell brings its own.
          'import { readCheckpointMeta, pretrain } from "simvlm";',
          'const bigDir = mkdtempBig("/tmp/simvlm-lab-interrupt-") + "/run";',
          `const big = await pretrain({ ${opts} });`,
          "big.stopped",
        ].join("\n"),
      );
      await runCell(page, run, { wait: false });
      await page.waitForFunction(
        (k) =>
          /\b([3-9]|\d\d+)\/3000\b/.test(
            (window as any).simvlmLab.shell.currentWidget.content.widgets[k].node.textContent ?? "",
          ),
        run,
        { timeout: 180_000, polling: 200 },
      );
      const t0 = Date.now();
      await menu(page, "Kernel", "Interrupt Kernel");
      await cellDone(page, run, 20_000);
      console.log(
        `# interrupt from the Kernel menu: pretrain stopped ${Date.now() - t0} ms after the click`,
      );
      const cell = (await notebookState(page))!.cells[run]!;
      assert.equal(
        cell.outputs.find((o) => o.type === "error")?.ename,
        "InterruptError",
        outputText(cell),
      );
      const text = await page.evaluate(
        (k) =>
          (window as any).simvlmLab.shell.currentWidget.content.widgets[k].node
            .textContent as string,
        run,
      );
      const at = Number(/interrupted at step (\d+)/.exec(text)?.[1] ?? 3000);
      assert.ok(at < 3000, `training stopped early and said where: ${text}`);

      const next = await appendCell(
        page,
        [
          `const again = await pretrain({ ${opts}, resume: true, until: readCheckpointMeta(bigDir).step + 2 });`,
          'rmBig(bigDir.replace(/\\/run$/, ""), { recursive: true, force: true });',
          "`${again.step} ${again.stopped}`",
        ].join("\n"),
      );
      const resumed = outputText(await runCell(page, next));
      assert.match(
        resumed,
        new RegExp(`${at + 2} until`),
        `the next cell resumed training from step ${at}: ${resumed}`,
      );
    });

    it("Kernel > Restart Kernel starts a new kernel process", async () => {
      const probe = await appendCell(page, "process.pid");
      const pidBefore = outputText(await runCell(page, probe));
      await menu(page, "Kernel", "Restart Kernel…");
      await page.locator(".jp-Dialog .jp-Dialog-button", { hasText: /^Restart$/ }).click();
      await page
        .waitForFunction(
          () =>
            (window as any).simvlmLab.shell.currentWidget.sessionContext.session?.kernel?.status ===
              "restarting" ||
            (window as any).simvlmLab.shell.currentWidget.sessionContext.session?.kernel?.status ===
              "starting",
          undefined,
          { timeout: 30_000, polling: 50 },
        )
        .catch(() => {});
      await waitForKernel(page, "idle");
      const again = await appendCell(page, "process.pid");
      const pidAfter = outputText(await runCell(page, again));
      assert.match(pidAfter, /^\d+$/);
      assert.notEqual(pidAfter, pidBefore, "a new kernel process answers");
      assert.deepEqual(errors, []);
    });
  },
);
