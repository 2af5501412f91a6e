import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import {
  expandGrid,
  runGrid,
  registerRun,
  runKey,
  RunCache,
  GridError,
  readGridFile,
} from "../../lib/experiments/index.ts";
import { DISPLAY } from "../../lib/display/index.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "simvlm-exp-"));

test("expandGrid: product of axes × seeds, with what differs from base", () => {
  const runs = expandGrid({
    name: "g",
    run: "echo",
    base: { x: 1, prefix: { mode: "random", kMax: 8 } },
    axes: { "prefix.mode": ["random", "none"], x: [1, 2] },
    seeds: [0, 1],
  });
  assert.equal(runs.length, 8);
  assert.deepEqual(runs[0]!.diff, {});
  assert.equal(runs[0]!.label, "base");
  const none2 = runs.find(
    (r) => r.params.x === 2 && (r.params.prefix as { mode: string }).mode === "none",
  )!;
  assert.deepEqual(none2.diff, { "prefix.mode": "none", x: 2 });
  assert.equal(
    (none2.params.prefix as { kMax: number }).kMax,
    8,
    "axes merge into base, not replace it",
  );
  const keys = new Set(runs.map((r) => runKey(r)));
  assert.equal(keys.size, 8, "every run has its own key");
});

test("a rerun with nothing changed runs nothing; a changed parameter runs only the new runs", async () => {
  const dir = tmp();
  try {
    let calls = 0;
    registerRun("counted", async (p, info) => {
      calls++;
      return { metrics: { v: Number(p.x) + info.seed } };
    });
    const grid = {
      name: "c",
      run: "counted",
      base: { x: 1 },
      axes: { x: [1, 2] },
      seeds: [0, 1, 2],
    };
    const t1 = await runGrid(grid, { cacheDir: dir, progress: false });
    assert.equal(calls, 6);
    assert.equal(t1.length, 6);
    const t2 = await runGrid(grid, { cacheDir: dir, progress: false });
    assert.equal(calls, 6, "cached runs are not run again");
    assert.deepEqual(
      t2.rows.map((r) => r.metrics.v),
      t1.rows.map((r) => r.metrics.v),
    );
    await runGrid({ ...grid, axes: { x: [1, 2, 3] } }, { cacheDir: dir, progress: false });
    assert.equal(calls, 9, "only the three runs with x=3 are new");
    const s = t1.summary().find((r) => r.label === "x=2")!;
    assert.equal(s.seeds, 3);
    assert.equal(s.metrics.v!.mean, 3);
    assert.ok(Math.abs(s.metrics.v!.std - 1) < 1e-12);
    const bundle = t1[DISPLAY]();
    assert.match(String(bundle["text/html"]), /<table/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an interrupted grid resumes where it stopped", async () => {
  const dir = tmp();
  try {
    let calls = 0;
    const ac = new AbortController();
    registerRun("stoppable", async (p, info) => {
      calls++;
      if (calls === 2) ac.abort();
      if (info.signal?.aborted) throw new Error("interrupted");
      return { metrics: { v: Number(p.x) } };
    });
    const grid = { name: "s", run: "stoppable", axes: { x: [1, 2, 3, 4] } };
    await assert.rejects(
      runGrid(grid, { cacheDir: dir, signal: ac.signal, progress: false }),
      /interrupted/,
    );
    assert.equal(calls, 2);
    const cache = new RunCache(dir);
    assert.equal(cache.all().length, 1, "the finished run was kept");
    await runGrid(grid, { cacheDir: dir, progress: false });
    assert.equal(calls, 5, "the rerun ran only the three missing runs");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("runs execute in parallel worker processes with the same results", async () => {
  const dir = tmp();
  try {
    const grid = {
      name: "w",
      run: "echo",
      axes: { x: [1, 2, 3] },
      seeds: [0, 1],
      base: { steps: 2 },
    };
    const t = await runGrid(grid, { cacheDir: dir, workers: 2, progress: false });
    assert.equal(t.length, 6);
    for (const r of t.rows) assert.equal(r.metrics.value, Number(r.params.x) * 10 + r.seed);
    const pids = new Set(t.rows.map((r) => r.key));
    assert.equal(pids.size, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "an interrupt stops a worker's run that never yields, at its next step check",
  { timeout: 120_000 },
  async () => {
    const dir = tmp();
    try {
      // A run that spins synchronously (as a training step does): the parent's IPC message could not
      // reach it; its throwIfAborted check must see the interrupt without the event loop turning.
      const lib = new URL("../../lib/", import.meta.url).pathname;
      // .mts: an ES module, so it shares the registry with the runner.
      const mod = join(dir, "spin.mts"),
        started = join(dir, "started");
      writeFileSync(
        mod,
        [
          `import { writeFileSync } from "node:fs";`,
          `import { registerRun } from ${JSON.stringify(lib + "experiments/registry.ts")};`,
          `import { throwIfAborted } from ${JSON.stringify(lib + "runtime.ts")};`,
          `registerRun("spin", async (p, info) => {`,
          `  const end = Date.now() + 60_000;`,
          `  for (let step = 1; Date.now() < end; step++) {`,
          `    throwIfAborted(info.signal, "spin");`,
          `    if (step === 1) writeFileSync(${JSON.stringify(started)}, "");`,
          `    const t = Date.now(); while (Date.now() - t < 20) {}`,
          `  }`,
          `  return { metrics: { v: 1 } };`,
          `});`,
        ].join("\n"),
      );
      const ac = new AbortController();
      const run = runGrid(
        { name: "spin", run: "spin", module: mod, axes: { x: [1] } },
        { cacheDir: join(dir, "cache"), workers: 1, signal: ac.signal, progress: false },
      );
      run.catch(() => {});
      for (let i = 0; i < 1200 && !existsSync(started); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(started), "the worker started the run");
      const t0 = Date.now();
      ac.abort();
      await assert.rejects(run, /interrupted/);
      console.log(
        `# the worker's run stopped ${Date.now() - t0} ms after the interrupt (it would spin 60 s)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("bad grid files give one clear error naming the file and field", () => {
  const dir = tmp();
  try {
    const p = join(dir, "g.json");
    writeFileSync(p, JSON.stringify({ name: "x", run: "echo", axes: { x: [] } }));
    assert.throws(
      () => readGridFile(p),
      (e: unknown) =>
        e instanceof GridError &&
        /g\.json/.test((e as Error).message) &&
        /axes\.x/.test((e as Error).message),
    );
    writeFileSync(p, "{ not json");
    assert.throws(() => readGridFile(p), /not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("simvlm ablate GRID.json runs, then reruns from the cache", () => {
  const dir = tmp();
  try {
    const p = join(dir, "grid.json");
    writeFileSync(
      p,
      JSON.stringify({ name: "cli", run: "echo", axes: { x: [1, 2] }, seeds: [0, 1] }),
    );
    const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;
    const run = () =>
      spawnSync(process.execPath, [bin, "ablate", p, "--cache", join(dir, "cache"), "--json"], {
        encoding: "utf8",
      });
    const a = run();
    assert.equal(a.status, 0, a.stderr);
    const ja = JSON.parse(a.stdout);
    assert.equal(ja.ran, 4);
    assert.equal(ja.cached, 0);
    const b = run();
    assert.equal(b.status, 0, b.stderr);
    const jb = JSON.parse(b.stdout);
    assert.equal(jb.ran, 0);
    assert.equal(jb.cached, 4);
    assert.deepEqual(
      jb.runs.map((r: { metrics: unknown }) => r.metrics),
      ja.runs.map((r: { metrics: unknown }) => r.metrics),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("simvlm ablate --workers N works from any folder (worker processes find tsx from the checkout)", () => {
  const dir = tmp();
  try {
    writeFileSync(
      join(dir, "grid.json"),
      JSON.stringify({ name: "cwd", run: "echo", axes: { x: [1, 2] } }),
    );
    const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [bin, "ablate", "grid.json", "--workers", "2", "--cache", "cache", "--json"],
      { encoding: "utf8", cwd: dir },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).runs.map((x: { metrics: { value: number } }) => x.metrics.value),
      [10, 20],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
