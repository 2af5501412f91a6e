/**
 * `npm start` (scripts/start.mjs) end to end, with Jupyter's per-user folders in a temporary place:
 * it marks the committed notebooks trusted, serves the npm-built JupyterLab, and Ctrl-C (SIGINT)
 * stops the server and the kernels it started. When JupyterLab cannot be built (npm offline here), it says why and falls back to the
 * classic Notebook.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { exitWhenDone, repo } from "../kernel/client.ts";
import { childPids, freePort } from "../../lab/server.mjs";
import { findPython } from "../../lab/prereqs.mjs";
import { LAB_MODE, labPrerequisites } from "./lab.ts";

exitWhenDone();

const pre = await labPrerequisites();
const START = join(repo, "scripts", "start.mjs");
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempJupyter() {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-start-test-"));
  const env = {
    ...process.env,
    JUPYTER_CONFIG_DIR: join(dir, "config"),
    JUPYTER_DATA_DIR: join(dir, "data"),
    JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
    DISPLAY: "",
  };
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** npm start said it trusted the committed notebooks, and Jupyter's notary (in `env`'s data folder) agrees for each. */
function assertTrusted(out: string, env: NodeJS.ProcessEnv): void {
  assert.match(out, /marked the project's notebooks trusted for you/);
  const check =
    "import glob, nbformat\nfrom nbformat.sign import NotebookNotary\nn = NotebookNotary()\n" +
    "print(' '.join('%s=%s' % (f, n.check_signature(nbformat.read(f, 4))) for f in sorted(glob.glob('notebooks/*.ipynb'))))";
  const r = spawnSync(findPython(["nbformat"]) ?? "/usr/bin/python3", ["-c", check], {
    cwd: repo,
    env,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const verdicts = r.stdout.trim().split(" ");
  assert.ok(
    verdicts.length >= 3 && verdicts.every((v) => v.endsWith("=True")),
    `every committed notebook is trusted: ${r.stdout}`,
  );
}

it(
  "npm start serves the npm-built JupyterLab; Ctrl-C stops the server and its kernels",
  { skip: "skip" in pre && pre.skip, timeout: 300_000 },
  async () => {
    const j = tempJupyter();
    const port = await freePort();
    const token = randomBytes(12).toString("hex");
    const start = spawn(
      process.execPath,
      [
        START,
        "--no-browser",
        `--lab-mode=${LAB_MODE}`,
        `--ServerApp.port=${port}`,
        "--ServerApp.port_retries=0",
        `--ServerApp.token=${token}`,
        "--ServerApp.ip=127.0.0.1",
      ],
      { cwd: repo, env: j.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    start.stdout!.on("data", (d) => {
      out += d;
    });
    start.stderr!.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => start.once("exit", (code) => r(code)));
    let serverPid = 0,
      kernelPid = 0;
    try {
      const url = `http://127.0.0.1:${port}/`;
      for (let i = 0; ; i++) {
        try {
          if ((await fetch(`${url}api/status?token=${token}`)).ok) break;
        } catch {
          /* starting */
        }
        if (start.exitCode !== null || i > 600)
          assert.fail(`npm start did not serve Jupyter:\n${out}`);
        await sleep(250);
      }
      assert.match(out, /opening notebooks\/ in JupyterLab/);
      assertTrusted(out, j.env);
      const page = await (await fetch(`${url}lab?token=${token}`)).text();
      assert.match(page, /bundle\.js/, "the JupyterLab page of the npm build");
      // A kernel, as a notebook would start it.
      const r = await fetch(`${url}api/kernels?token=${token}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: "simvlm" }),
      });
      assert.equal(r.status, 201, await r.text());
      serverPid = childPids(start.pid!)[0]!;
      for (let i = 0; i < 200 && !kernelPid; i++) {
        kernelPid = childPids(serverPid)[0] ?? 0;
        await sleep(100);
      }
      assert.ok(kernelPid, "the kernel process runs under the server");

      start.kill("SIGINT");
      const code = await Promise.race([exited, sleep(60_000).then(() => "timeout")]);
      assert.equal(code, 0, `npm start exits after Ctrl-C:\n${out}`);
      assert.match(out, /stopping Jupyter and its kernels/);
      assert.ok(!alive(serverPid), "the server stopped");
      for (let i = 0; i < 50 && alive(kernelPid); i++) await sleep(100);
      assert.ok(!alive(kernelPid), "the kernel stopped");
    } finally {
      if (start.exitCode === null) {
        start.kill("SIGKILL");
      }
      for (const pid of [kernelPid, serverPid])
        if (pid && alive(pid)) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            process.kill(pid, "SIGKILL");
          }
        }
      j.cleanup();
    }
  },
);

it(
  "npm start falls back to the classic Notebook, saying why, when JupyterLab cannot be built",
  {
    skip:
      !findPython(["notebook"]) &&
      "the classic Notebook is not installed (apt-get install -y jupyter-notebook)",
    timeout: 120_000,
  },
  () => {
    const j = tempJupyter();
    try {
      // An empty lab cache and npm offline with an empty npm cache: `npm ci` of lab/ fails at once.
      const r = spawnSync(process.execPath, [START, "--no-open"], {
        cwd: repo,
        encoding: "utf8",
        timeout: 110_000,
        env: {
          ...j.env,
          SIMVLM_LAB_CACHE: join(j.dir, "lab"),
          npm_config_offline: "true",
          npm_config_cache: join(j.dir, "npm-cache"),
        },
      });
      const out = r.stdout + r.stderr;
      assertTrusted(out, j.env);
      if (findPython(["jupyterlab"])) {
        assert.match(out, /JupyterLab \(installed\)|set up/);
        return;
      } // the user's own JupyterLab wins
      assert.equal(r.status, 0, out);
      assert.match(
        out,
        /JupyterLab could not be set up: installing JupyterLab's npm packages failed/,
      );
      assert.match(out, /To retry: node .*lab\/build\.mjs --mode production/);
      assert.match(out, /falling back to the classic Notebook/);
      assert.match(out, /Open the notebooks with: \S+ -m notebook/);
    } finally {
      j.cleanup();
    }
  },
);
