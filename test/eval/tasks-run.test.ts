// The "pretrainEval" ablation run through runGrid with a quick config: metrics in range, loss by
// T_p in extra, a rerun is served from the cache, and an interrupted run resumes its checkpoint.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGrid } from "../../lib/experiments/index.ts";
import { pretrainEvalRun } from "../../lib/experiments/index.ts";

const dir = mkdtempSync(join(tmpdir(), "simvlm-pretrain-eval-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = { config: "tiny", steps: 4, batch: 4, evalN: 3, maxK: 2, captionMaxLen: 4, objective: "prefixlm", prefix: { mode: "random" }, textOnly: true, patchEmbed: "conv" };

test("pretrainEval runs in a grid; a rerun trains nothing", async () => {
  const grid = { name: "quick", run: "pretrainEval", base, axes: { patchEmbed: ["conv", "linear"] }, seeds: [0] };
  const ran: boolean[] = [];
  const t = await runGrid(grid, { cacheDir: join(dir, "cache"), progress: false, onRun: (_r, cached) => ran.push(cached) });
  assert.deepEqual(ran, [false, false]);
  for (const r of t.rows) {
    const m = r.metrics;
    assert.deepEqual(Object.keys(m).sort(), ["bleu4", "cider", "val_loss", "vqa"]);
    assert.ok(m.cider! >= 0 && m.bleu4! >= 0 && m.bleu4! <= 1 && m.vqa! >= 0 && m.vqa! <= 1);
    assert.ok(Number.isFinite(m.val_loss) && m.val_loss! > 0);
    const extra = r.extra as { lossByTp: { tp: number; loss: number }[]; steps: number; patchEmbed: string };
    assert.deepEqual(extra.lossByTp.map((x) => x.tp), [0, 1, 2]);
    assert.equal(extra.steps, 4);
    assert.equal(extra.patchEmbed, r.params.patchEmbed);
  }
  const again: boolean[] = [];
  await runGrid(grid, { cacheDir: join(dir, "cache"), progress: false, onRun: (_r, cached) => again.push(cached) });
  assert.deepEqual(again, [true, true]);
});

test("pretrainEval resumes the checkpoint in its folder and rejects bad params by name", async () => {
  const runDir = join(dir, "run");
  const ac = new AbortController();
  await assert.rejects(pretrainEvalRun({ ...base, steps: 6 }, { seed: 1, dir: runDir, signal: ac.signal, onProgress: (p) => { if (p.step === 3) ac.abort(); } }), /interrupted/);
  assert.ok(existsSync(join(runDir, "ckpt", "state.json")), "a checkpoint was saved on interrupt");
  const r = await pretrainEvalRun({ ...base, steps: 6, vqaFinetuneSteps: 2 }, { seed: 1, dir: runDir });
  assert.equal((r.extra as { resumed: boolean }).resumed, true);
  assert.equal((r.extra as { vqa_finetune_steps: number }).vqa_finetune_steps, 2);
  assert.ok(r.metrics.vqa! >= 0 && r.metrics.vqa! <= 1);
  assert.equal((r.extra as { steps: number }).steps, 6);
  await assert.rejects(pretrainEvalRun({ ...base, objective: "mlm" }, { seed: 0, dir: join(dir, "bad") }), /param "objective" must be one of prefixlm, lm, span, got "mlm"/);
  await assert.rejects(pretrainEvalRun({ ...base, evalN: 0 }, { seed: 0, dir: join(dir, "bad") }), /param "evalN" must be an integer ≥ 1/);
});
