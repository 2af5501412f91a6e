/**
 * The JupyterLab that `npm start` builds (lab/), for browser tests: prerequisites (skip with the
 * command that sets them up when they are missing), a server on a free port with Jupyter state in a
 * temporary folder, and page helpers. Every server and kernel started here is stopped on failure,
 * on timeout and on exit (lab/server.mjs: process groups, kernels found as the server's children).
 */
import { mkdtempSync, rmSync, cpSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { DEFAULT_MODE, ensureLab, LabBuildError, type LabMode } from "../../lab/build.mjs";
import { findPython, LAB_PYTHON_MODULES } from "../../lab/prereqs.mjs";
import { skipUnless } from "../../scripts/prereqs.mjs";
import {
  freePort,
  labServerArgv,
  spawnServer,
  waitForHttp,
  type ServerHandle,
} from "../../lab/server.mjs";
import { installTempKernelspec, repo } from "../kernel/client.ts";

export { CHROMIUM } from "../../scripts/prereqs.mjs";
/**
 * The tests use the build `npm start` serves (production: 40 s with rspack, cached by the lab lock
 * hash, so it is built once per machine and shared with `npm start`); SIMVLM_LAB_MODE=development
 * gives a faster, unminified build when working on lab/ itself.
 */
export const LAB_MODE = (process.env.SIMVLM_LAB_MODE ?? DEFAULT_MODE) as LabMode;

let prepared: Promise<{ python: string; buildDir: string } | { skip: string }> | undefined;

/** Python with jupyter_server + jupyterlab_server, Chromium and the lab build, or why the tests skip. */
export function labPrerequisites(): Promise<
  { python: string; buildDir: string } | { skip: string }
> {
  return (prepared ??= (async () => {
    // npm test installs both from the one prerequisite list (scripts/prereqs.mjs) when it may.
    const skip = skipUnless("chromium", "jupyterlab");
    if (skip) return { skip };
    const python = findPython(LAB_PYTHON_MODULES);
    if (!python) return { skip: `no Python here imports ${LAB_PYTHON_MODULES.join(" and ")}` };
    try {
      const plan = await ensureLab({ mode: LAB_MODE, quiet: true });
      return { python, buildDir: plan.buildDir };
    } catch (e) {
      // No network for npm: skip with the command. A bundling failure is a real fault: fail.
      if (e instanceof LabBuildError && e.step === "install") {
        const npmSays = e.message
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l.startsWith("npm error"))
          .slice(0, 2)
          .join(" / ");
        return {
          skip: `npm ci of lab/ failed${npmSays ? ` (${npmSays})` : ""}; set it up with: ${e.command}`,
        };
      }
      throw e;
    }
  })());
}

export interface RunningLab {
  url: string;
  token: string;
  /** The folder the server serves (notebooks are copied here, never served from the repository). */
  root: string;
  server: ServerHandle;
  stop(): Promise<void>;
}

/**
 * Start lab/server.py on a free port. Jupyter's config, data and runtime folders and the kernelspec
 * are temporary (nothing per user is read or written); `env` reaches the kernels (SIMVLM_QUICK=1).
 */
export async function startLab(
  pre: { python: string; buildDir: string },
  opts: { env?: Record<string, string>; notebooks?: string[]; serverArgs?: string[] } = {},
): Promise<RunningLab> {
  const base = mkdtempSync(join(tmpdir(), "simvlm-lab-test-"));
  const root = join(base, "root");
  mkdirSync(root);
  for (const nb of opts.notebooks ?? []) cpSync(join(repo, "notebooks", nb), join(root, nb));
  const ks = installTempKernelspec();
  const port = await freePort();
  const token = randomBytes(12).toString("hex");
  const env = {
    ...process.env,
    ...opts.env,
    JUPYTER_PATH: ks.jupyterPath,
    JUPYTER_CONFIG_DIR: join(base, "config"),
    JUPYTER_DATA_DIR: join(base, "data"),
    JUPYTER_RUNTIME_DIR: join(base, "runtime"),
    SIMVLM_CACHE_DIR: join(base, "simvlm-cache"),
  };
  const server = spawnServer(
    pre.python,
    labServerArgv(pre.buildDir, [
      `--ServerApp.port=${port}`,
      "--ServerApp.port_retries=0",
      "--ServerApp.ip=127.0.0.1",
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${root}`,
      "--ServerApp.open_browser=False",
      "--ServerApp.allow_root=True",
      ...(opts.serverArgs ?? []),
    ]),
    { cwd: root, env, capture: true, graceMs: 8000 },
  );
  const url = `http://127.0.0.1:${port}/`;
  // On exit, and when a test runner stops this process (its timeout, Ctrl-C), nothing is left behind.
  const cleanupNow = () => {
    server.stopNow();
    ks.cleanup();
    rmSync(base, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanupNow();
    process.exit(130);
  };
  process.on("exit", cleanupNow);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, onSignal);
  const stop = async () => {
    await server.stop();
    ks.cleanup();
    rmSync(base, { recursive: true, force: true });
    process.off("exit", cleanupNow);
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onSignal);
  };
  try {
    await waitForHttp(`${url}api/status?token=${token}`, server.proc, 60_000, server.log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, token, root, server, stop };
}

/** Open `path` (a notebook, relative to the root) in JupyterLab; resolves when the app has restored. */
export async function openInLab(page: Page, lab: RunningLab, path = ""): Promise<void> {
  await page.goto(`${lab.url}lab${path ? `/tree/${path}` : ""}?token=${lab.token}&reset`);
  await page.waitForSelector("body[data-simvlm-lab=ready]", {
    state: "attached",
    timeout: 120_000,
  });
  if (path)
    await page.waitForFunction(
      (p) => {
        const w = (window as any).simvlmLab.shell.currentWidget;
        return w?.context?.path === p && w.context.isReady && w.content?.model;
      },
      path,
      { timeout: 60_000 },
    );
}

/** Open a file in the running app (no page load) and wait until its notebook is current and ready. */
export async function openDocument(page: Page, path: string): Promise<void> {
  await page.evaluate((p) => {
    void (window as any).simvlmLab.commands.execute("docmanager:open", { path: p });
  }, path);
  await page.waitForFunction(
    (p) => {
      const w = (window as any).simvlmLab.shell.currentWidget;
      return w?.context?.path === p && w.context.isReady && w.content?.model;
    },
    path,
    { timeout: 60_000 },
  );
}

/**
 * Bring each cell with Plotly outputs to the middle of the view (the notebook attaches and lays out
 * cells near the viewport only) and wait until each of its figures is drawn; returns their sizes.
 */
export async function drawnFigures(
  page: Page,
  timeout = 60_000,
): Promise<{ cell: number; w: number; h: number; svg: boolean }[]> {
  const cells: number[] = await page.evaluate((mime) => {
    const model = (window as any).simvlmLab.shell.currentWidget.content.model;
    const out: number[] = [];
    for (let i = 0; i < model.cells.length; i++) {
      const c = model.cells.get(i);
      if (c.type === "code")
        for (let j = 0; j < c.outputs.length; j++)
          if (mime in (c.outputs.get(j).data ?? {})) out.push(i);
    }
    return out;
  }, "application/vnd.plotly.v1+json");
  const figures: { cell: number; w: number; h: number; svg: boolean }[] = [];
  for (const i of [...new Set(cells)]) {
    const want = cells.filter((c) => c === i).length;
    await page.evaluate(
      (k) => (window as any).simvlmLab.shell.currentWidget.content.scrollToItem(k, "center"),
      i,
    );
    const handle = await page.waitForFunction(
      ({ k, n }) => {
        const node = (window as any).simvlmLab.shell.currentWidget.content.widgets[k]
          .node as HTMLElement;
        const plots = Array.from(node.querySelectorAll(".simvlm-PlotlyRenderer"));
        if (plots.length < n || plots.some((p) => !p.querySelector(".main-svg"))) return false;
        return plots.map((p) => {
          const r = p.getBoundingClientRect();
          return { w: r.width, h: r.height, svg: true };
        });
      },
      { k: i, n: want },
      { timeout, polling: 250 },
    );
    for (const f of (await handle.jsonValue()) as { w: number; h: number; svg: boolean }[])
      figures.push({ cell: i, ...f });
  }
  return figures;
}

/** The current notebook as the app sees it: kernel state and each cell's count and output types. */
export function notebookState(page: Page) {
  return page.evaluate(() => {
    const app = (window as any).simvlmLab;
    const panel = app.shell.currentWidget;
    const nb = panel?.content;
    if (!nb?.model) return undefined;
    const cells = [];
    for (let i = 0; i < nb.model.cells.length; i++) {
      const c = nb.model.cells.get(i);
      const outputs = [];
      if (c.type === "code")
        for (let j = 0; j < c.outputs.length; j++) {
          const o = c.outputs.get(j).toJSON();
          outputs.push({
            type: o.output_type as string,
            mimes: Object.keys(o.data ?? {}),
            ename: o.ename as string | undefined,
            text: [o.text ?? o.evalue ?? o.data?.["text/plain"] ?? ""].flat().join("") as string,
          });
        }
      cells.push({
        type: c.type as string,
        count: c.type === "code" ? (c.executionCount as number | null) : null,
        outputs,
      });
    }
    const kernel = panel.sessionContext?.session?.kernel;
    return {
      path: panel.context.path as string,
      kernel: kernel?.name as string | undefined,
      status: kernel?.status as string | undefined,
      cells,
    };
  });
}

/** Wait until the notebook's kernel is `status` (idle after a run, for example). */
export async function waitForKernel(page: Page, status = "idle", timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (s) =>
      (window as any).simvlmLab?.shell.currentWidget?.sessionContext?.session?.kernel?.status === s,
    status,
    { timeout, polling: 200 },
  );
}

/** Add a code cell at the end of the current notebook, select it and enter edit mode; returns its index. */
export async function appendCell(page: Page, source = ""): Promise<number> {
  const index = await page.evaluate(async (src) => {
    const app = (window as any).simvlmLab;
    const nb = app.shell.currentWidget.content;
    nb.activeCellIndex = nb.widgets.length - 1;
    await app.commands.execute("notebook:insert-cell-below");
    await app.commands.execute("notebook:change-cell-to-code");
    nb.activeCell.model.sharedModel.setSource(src);
    await app.commands.execute("notebook:enter-edit-mode");
    return nb.activeCellIndex as number;
  }, source);
  await page
    .locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active .cm-content")
    .click();
  await page.keyboard.press("Control+End");
  return index;
}

/** Run the active cell as a user does (Shift+Enter); with `wait`, until it has finished. */
export async function runCell(page: Page, index: number, { wait = true, timeout = 120_000 } = {}) {
  await page.evaluate((k) => {
    (window as any).simvlmLab.shell.currentWidget.content.activeCellIndex = k;
  }, index);
  await page.keyboard.press("Shift+Enter");
  if (wait) await cellDone(page, index, timeout);
  return (await notebookState(page))!.cells[index]!;
}

/** Wait until cell `index` has an execution count and the kernel is idle again. */
export async function cellDone(page: Page, index: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (k) => {
      const panel = (window as any).simvlmLab.shell.currentWidget;
      const c = panel.content.model.cells.get(k);
      return (
        c.executionCount !== null &&
        panel.sessionContext.session?.kernel?.status === "idle" &&
        !panel.content.widgets[k].node
          .querySelector(".jp-InputArea-prompt")
          ?.textContent?.includes("*")
      );
    },
    index,
    { timeout, polling: 200 },
  );
}

/** The text of cell `index`'s outputs (stream text, plain-text results, error name and value). */
export function outputText(cell: {
  outputs: { type: string; text: string; ename?: string }[];
}): string {
  return cell.outputs
    .map((o) => (o.type === "error" ? `${o.ename}: ${o.text}` : o.text))
    .join("\n");
}

/** Click a main-menu entry: menu("Kernel", "Interrupt Kernel"). */
export async function menu(page: Page, top: string, item: string): Promise<void> {
  await page.locator(".lm-MenuBar-itemLabel", { hasText: new RegExp(`^${top}$`) }).click();
  await page
    .locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", {
      hasText: new RegExp(`^${item.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
    })
    .first()
    .click();
}
