// What a pretrainEval grid prepares once: one tokenizer file shared by every arm and seed (its hash
// in every run key; another tokenizer spec changes every key), and the blind baselines computed once
// per grid (not per run), cached in the run cache. No model is trained here.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, statSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import {
  expandGrid,
  preparePretrainEvalGrid,
  runKey,
  type GridSpec,
  type GridTokenizer,
} from "../../lib/experiments/index.ts";

const dir = mkdtempSync(join(tmpdir(), "simvlm-protocol-grid-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  config: "tiny",
  evalN: 3,
  valN: 3,
  maxK: 2,
  tokenizerImages: 40,
  baselineTrainN: 30,
  ngramTexts: 60,
};
const grid = (over: Record<string, unknown> = {}): GridSpec => ({
  name: "g",
  run: "pretrainEval",
  base: { ...base, ...over },
  variants: [
    { label: "random", params: {} },
    { label: "span", params: { objective: "span" } },
    { label: "linear", params: { patchEmbed: "linear" } },
  ],
  seeds: [0, 1],
});

test("one tokenizer per grid: every arm and seed gets the same file, its hash in every key; trained once", async () => {
  const specs = expandGrid(grid());
  const r = await preparePretrainEvalGrid(specs, { cacheDir: dir });
  assert.equal(r.runs.length, 6);
  const toks = r.runs.map((x) => x.shared.tokenizer as GridTokenizer);
  assert.equal(new Set(toks.map((t) => t.path)).size, 1, "one tokenizer file");
  const file = toks[0]!.path;
  assert.equal(
    toks[0]!.hash,
    createHash("sha256").update(readFileSync(file, "utf8")).digest("hex"),
  );
  for (const x of r.runs) assert.deepEqual(x.key, { tokenizer: toks[0]!.hash });
  assert.deepEqual(readdirSync(join(dir, "tokenizers")).length, 1);
  assert.equal(readFileSync(join(file, "..", "sha256"), "utf8").trim(), toks[0]!.hash);
  const mtime = statSync(file).mtimeMs;
  const again = await preparePretrainEvalGrid(specs, { cacheDir: dir });
  assert.equal(statSync(file).mtimeMs, mtime, "a second preparation reuses the stored tokenizer");
  assert.deepEqual(
    again.runs.map((x) => x.key),
    r.runs.map((x) => x.key),
  );
});

test("baselines once per grid: one cached set for all runs, as rows with the run metrics' names", async () => {
  const r = await preparePretrainEvalGrid(expandGrid(grid()), { cacheDir: dir });
  assert.equal(readdirSync(join(dir, "baselines")).length, 1, "one baseline file for the 6 runs");
  const labels = r.baselines!.map((b) => b.label);
  assert.deepEqual(labels, [
    "baseline: best constant caption",
    "baseline: most frequent train caption",
    "baseline: VQA question-type prior",
    "baseline: entailment majority",
    "baseline: hypothesis-only",
    "baseline: image-blind 3-gram LM",
  ]);
  const best = r.baselines![0]!;
  assert.ok(best.metrics.zs_cider! >= 0 && best.metrics.ft_cider === best.metrics.zs_cider);
  assert.deepEqual(
    Object.keys(best.items!.zs_cider!).length,
    3,
    "per-image scores on the 3 test images",
  );
  assert.ok(r.baselines![5]!.metrics.loss_tp0_token! > 0);
});

test("a changed tokenizer spec changes every run key; bad params fail before any work, naming run and param", async () => {
  const specsA = expandGrid(grid()),
    specsB = expandGrid(grid({ tokenizerImages: 41 }));
  const a = await preparePretrainEvalGrid(specsA, { cacheDir: dir });
  const b = await preparePretrainEvalGrid(specsB, { cacheDir: dir });
  const hashA = a.runs[0]!.key.tokenizer,
    hashB = b.runs[0]!.key.tokenizer;
  assert.notEqual(hashA, hashB);
  const keysA = specsA.map((s, i) => runKey(s, "v", a.runs[i]!.key));
  // Same params except the tokenizer: compare each run with its A-spec twin measured with tokenizer B.
  const keysB = specsA.map((s, i) => runKey(s, "v", b.runs[i]!.key));
  for (let i = 0; i < keysA.length; i++) assert.notEqual(keysA[i], keysB[i]);
  assert.notEqual(runKey(specsA[0]!, "v"), keysA[0], "the tokenizer hash is part of the key");
  await assert.rejects(
    preparePretrainEvalGrid(expandGrid(grid({ finetuneSteps: 0 })), { cacheDir: dir }),
    /run "random" seed 0: pretrainEval: param "finetuneSteps" must be an integer ≥ 1/,
  );
  await assert.rejects(
    preparePretrainEvalGrid(expandGrid(grid({ vqaFinetuneSteps: 5 })), { cacheDir: dir }),
    /"vqaFinetuneSteps" was replaced by "finetuneSteps"/,
  );
  await assert.rejects(
    preparePretrainEvalGrid(expandGrid(grid({ finetunSteps: 5 })), { cacheDir: dir }),
    /unknown param "finetunSteps"/,
  );
});

test("the grid's evalPrefix sets the n-gram baseline's random-T_p distribution, and keys its baselines", async () => {
  const ngram = (r: Awaited<ReturnType<typeof preparePretrainEvalGrid>>) =>
    r.baselines!.find((b) => b.label === "baseline: image-blind 3-gram LM")!.metrics;
  const dflt = ngram(await preparePretrainEvalGrid(expandGrid(grid()), { cacheDir: dir }));
  const files = readdirSync(join(dir, "baselines")).length;
  const k0 = ngram(
    await preparePretrainEvalGrid(expandGrid(grid({ evalPrefix: { mode: "random", kMax: 0 } })), {
      cacheDir: dir,
    }),
  );
  assert.equal(readdirSync(join(dir, "baselines")).length, files + 1, "its own cached baselines");
  assert.equal(k0.loss_rtp_token, k0.loss_tp0_token, "kMax 0: the average is the T_p = 0 loss");
  assert.equal(k0.loss_tp0_token, dflt.loss_tp0_token);
  assert.notEqual(dflt.loss_rtp_token, dflt.loss_tp0_token);
});
