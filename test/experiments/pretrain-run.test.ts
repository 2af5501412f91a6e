import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { runGrid, RunCache, pretrainCheckpoint } from "../../lib/experiments/index.ts";
import {
  initBackend,
  loadModel,
  readCheckpointMeta,
  trainTokenizer,
  openStream,
} from "../../lib/index.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const tmp = () => mkdtempSync(join(tmpdir(), "simvlm-pretrain-run-"));

test('run "pretrain": each seed trains in a worker process into its cache folder with the shared tokenizer, reports its log, and a second grid loads instead of training', async () => {
  await initBackend();
  const dir = tmp();
  const s = await openStream({ source: "shapes" }, { seed: 0, imageSize: 32 });
  const tok = await trainTokenizer(
    (await s.next(60)).map((e) => e.text),
    { vocabSize: 100 },
  );
  const tokFile = join(dir, "tokenizer.json");
  writeFileSync(tokFile, tok.toJSON());
  const grid = {
    name: "seeds",
    run: "pretrain",
    base: {
      config: { base: "tiny" },
      data: { source: "shapes" },
      steps: 3,
      batchSize: 2,
      lr: 1e-3,
      textOnlyEvery: 2,
      tokenizerFile: tokFile,
      tokenizerSha256: sha256(tok.toJSON()),
    },
    seeds: [0, 1],
  };
  const progress: string[] = [];
  const t = await runGrid(grid, {
    cacheDir: join(dir, "cache"),
    workers: 2,
    onRunProgress: (spec, p) =>
      void progress.push(`${spec.seed}:${p.step}:${typeof p.metrics?.loss}`),
  });
  assert.equal(t.rows.length, 2);
  const cache = new RunCache(join(dir, "cache"));
  for (const r of t.rows) {
    assert.equal(r.metrics.steps, 3);
    assert.equal(r.metrics.logged_steps, 3);
    assert.ok(Number.isFinite(r.metrics.last_tenth_loss));
    const ckpt = pretrainCheckpoint(cache.runDir(r.key));
    assert.equal(readCheckpointMeta(ckpt).step, 3);
    const m = await loadModel(ckpt);
    assert.equal(m.tokenizer.toJSON(), tok.toJSON(), "every seed uses the shared tokenizer");
    m.model.dispose();
  }
  assert.ok(
    progress.includes("1:3:number") && progress.includes("0:3:number"),
    `every step reports its log row: ${progress.join(" ")}`,
  );
  let trained = 0;
  await runGrid(grid, {
    cacheDir: join(dir, "cache"),
    onRun: (_r, cached) => void (cached || trained++),
  });
  assert.equal(trained, 0, "the same grid again is read from the cache");

  writeFileSync(tokFile, readFileSync(tokFile, "utf8").replace("}", " }"));
  await assert.rejects(
    runGrid({ ...grid, seeds: [2] }, { cacheDir: join(dir, "cache") }),
    /tokenizer\.json changed since the grid was made/,
  );
  await assert.rejects(
    runGrid(
      { ...grid, base: { ...grid.base, outDir: "x" }, seeds: [3] },
      { cacheDir: join(dir, "cache") },
    ),
    /"outDir" cannot be a param/,
  );
});
