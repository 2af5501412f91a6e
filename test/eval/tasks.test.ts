// Downstream tasks on a tiny checkpoint pretrained in the test: pair batches and scores, validation
// loss (checked against lib/train's loss), loss by T_p, captioning/VQA/entailment evaluation,
// finetuning, compositional split, and the label log-likelihood path on a stand-in model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, initBackend } from "../../lib/backend/index.ts";
import { makeWorld } from "../../lib/data/index.ts";
import type { AnnotatedImage, Example } from "../../lib/data/types.ts";
import {
  pretrain,
  makeBatch,
  batchLoss,
  disposeBatch,
  type TrainResult,
} from "../../lib/train/index.ts";
import { Rng } from "../../lib/util/rng.ts";
import {
  scorePairs,
  validationLoss,
  lossByPrefixLength,
  evalCaptioning,
  evalVqa,
  zeroShotCaptioning,
  evalCompositional,
  evalEntailment,
  entailmentFit,
  entailmentPairs,
  labelLogLikelihoods,
  fitTextPremise,
  ENTAILMENT_LABELS,
  taskPairs,
  majorityAnswer,
  EvalInputError,
} from "../../lib/eval/index.ts";
import { pairBatch, finetuneModel, type TaskPair } from "../../lib/train/index.ts";
import type { ModelInputs } from "../../lib/model/types.ts";
import { SimVLM } from "../../lib/model/index.ts";

let dir: string;
let run: TrainResult;
let test8: AnnotatedImage[];
let val: Example[];

before(async () => {
  await initBackend();
  dir = mkdtempSync(join(tmpdir(), "simvlm-tasks-"));
  run = await pretrain({
    config: { base: "tiny", dropout: 0 },
    steps: 6,
    batchSize: 6,
    seed: 3,
    outDir: join(dir, "ck"),
    progress: false,
    tokenizerExamples: 300,
  });
  test8 = makeWorld({ seed: 3, split: "test", n: 8, size: 32 });
  val = makeWorld({ seed: 3, split: "val", n: 10, size: 32 }).map((r) => ({
    id: r.id,
    image: r.image,
    text: r.altText,
  }));
});
after(() => {
  run?.model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const noLeak = async (f: () => unknown) => {
  const n0 = tf.memory().numTensors;
  await f();
  assert.equal(tf.memory().numTensors, n0, "tensors leaked");
};

test("pairBatch with continuing decoder positions: prefix + target fit maxTextLen, the target's end is cut, never the prefix by the target", () => {
  const words = (t: string) =>
    t
      .split(" ")
      .filter(Boolean)
      .map((w) => 10 + w.length);
  const tok = { encode: words };
  const cfg = { imageSize: 32, maxTextLen: 8, decoderPositions: "continue" as const };
  const pairs: TaskPair[] = [
    { id: "short", prefix: "a b", target: "cc dd" },
    { id: "long", prefix: "a b c d e", target: "w x y z zz" },
    { id: "huge", prefix: "a b c d e f g h i j", target: "q" },
  ];
  const b = pairBatch(pairs, tok, cfg);
  try {
    const enc = b.inputs.encIds.arraySync() as number[][],
      tgt = b.targets.arraySync() as number[][];
    const len = (r: number[]) => r.filter((x) => x !== 0).length;
    for (let i = 0; i < 3; i++)
      assert.ok(
        len(enc[i]!) + len(tgt[i]!) <= 8,
        `${pairs[i]!.id}: ${len(enc[i]!)} + ${len(tgt[i]!)}`,
      );
    assert.deepEqual(enc[0]!.slice(0, 2), [11, 11], "a short pair is untouched");
    assert.deepEqual(tgt[0]!.slice(0, 3), [12, 12, 2]);
    assert.equal(len(enc[1]!), 5, "the prefix keeps priority");
    assert.deepEqual(tgt[1]!.slice(0, 3), [11, 11, 2], "the target's end is cut, eos kept");
    assert.equal(len(enc[2]!), 7, "a prefix keeps at most maxTextLen − 1 tokens");
    assert.deepEqual(tgt[2]!.slice(0, 1), [2]);
  } finally {
    tf.dispose([b.inputs.encIds, b.inputs.decIn, b.targets, b.lossMask, b.inputs.hasImage!]);
  }
});

test("pairBatch: prefix in the encoder, target + eos in the decoder, mask on target positions only", () => {
  const pairs: TaskPair[] = [
    { id: "a", image: test8[0]!.image, prefix: "what color is it?", target: "red" },
    { id: "b", prefix: "", target: "a small red circle on the left" },
  ];
  const b = pairBatch(pairs, run.tokenizer, run.config);
  try {
    const enc = run.tokenizer.encode("what color is it?"),
      tgt = run.tokenizer.encode("a small red circle on the left");
    assert.deepEqual(b.inputs.encIds.shape, [2, enc.length]);
    assert.deepEqual(b.targets.shape, [2, tgt.length + 1]);
    const t = b.targets.arraySync() as number[][],
      d = b.inputs.decIn.arraySync() as number[][],
      m = b.lossMask.arraySync() as number[][];
    assert.deepEqual(t[1], [...tgt, 2]);
    assert.deepEqual(d[1], [1, ...tgt]);
    assert.deepEqual(t[0]!.slice(0, run.tokenizer.encode("red").length + 1), [
      ...run.tokenizer.encode("red"),
      2,
    ]);
    assert.equal(
      m[0]!.reduce((a, x) => a + x, 0),
      run.tokenizer.encode("red").length + 1,
    );
    assert.deepEqual(Array.from(b.inputs.hasImage!.dataSync()), [1, 0]);
  } finally {
    disposeBatch(b);
  }
});

test("validationLoss equals lib/train's batch loss for the same batch; scores are log-likelihoods", async () => {
  await noLeak(() => {
    const v = validationLoss(
      run.model,
      run.tokenizer,
      val,
      { objective: "prefixlm", prefix: { mode: "random" } },
      { seed: 7, batchSize: 64 },
    );
    const b = makeBatch(val, run.tokenizer, run.config, {
      objective: "prefixlm",
      prefix: { mode: "random" },
      rng: new Rng(7),
    });
    const l = batchLoss(run.model, b, { training: false });
    const ref = l.dataSync()[0]!;
    l.dispose();
    disposeBatch(b);
    assert.ok(Math.abs(v.loss - ref) < 1e-4, `${v.loss} vs ${ref}`);
    assert.ok(v.accuracy >= 0 && v.accuracy <= 1);
    assert.equal(v.examples, val.length);
    const pairs: TaskPair[] = val
      .slice(0, 4)
      .map((e) => ({ id: e.id, image: e.image, prefix: "", target: e.text }));
    const s = scorePairs(run.model, run.tokenizer, pairs, { batchSize: 3 });
    assert.equal(s.logLik.length, 4);
    for (const x of s.logLik) assert.ok(x < 0 && Number.isFinite(x));
    // Same numbers whatever the batching (padding never counts).
    const s1 = scorePairs(run.model, run.tokenizer, pairs, { batchSize: 1 });
    s.logLik.forEach((x, i) =>
      assert.ok(Math.abs(x - s1.logLik[i]!) < 1e-3, `${x} vs ${s1.logLik[i]}`),
    );
  });
});

test("lossByPrefixLength: one row per T_p, only examples long enough, T_p = 0 is the captioning loss", async () => {
  await noLeak(() => {
    const rows = lossByPrefixLength(run.model, run.tokenizer, val, { maxK: 3, series: "s" });
    assert.deepEqual(
      rows.map((r) => r.tp),
      [0, 1, 2, 3],
    );
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.examples <= rows[i - 1]!.examples);
    for (const r of rows) {
      assert.ok(Number.isFinite(r.loss) && r.loss > 0);
      assert.equal(r.series, "s");
    }
    const v0 = validationLoss(run.model, run.tokenizer, val, {
      objective: "prefixlm",
      prefix: { mode: "none" },
    });
    assert.ok(Math.abs(rows[0]!.loss - v0.loss) < 1e-6);
    assert.throws(() => lossByPrefixLength(run.model, run.tokenizer, [], {}), EvalInputError);
  });
});

test("captioning, zero-shot prompts and VQA: metrics in range, one output per item", async () => {
  await noLeak(async () => {
    const cap = await evalCaptioning(run.model, run.tokenizer, test8, {
      maxLen: 6,
      progress: false,
      samples: 2,
    });
    assert.equal(cap.n, 8);
    assert.deepEqual(Object.keys(cap.captions).sort(), test8.map((t) => t.id).sort());
    for (const k of ["bleu1", "bleu2", "bleu3", "bleu4"] as const)
      assert.ok(cap.metrics[k] >= 0 && cap.metrics[k] <= 1);
    assert.ok(cap.metrics.cider >= 0);
    assert.equal(cap.samples.length, 2);
    assert.equal(cap.samples[0]!.refs.length, 5);
    const zs = await zeroShotCaptioning(run.model, run.tokenizer, test8.slice(0, 3), {
      maxLen: 4,
      progress: false,
    });
    assert.deepEqual(
      zs.map((z) => z.prompt),
      ["", "a picture of"],
    );
    assert.equal(zs[1]!.result.prompt, "a picture of");
    const vqa = await evalVqa(run.model, run.tokenizer, test8.slice(0, 3), {
      maxLen: 3,
      progress: false,
    });
    assert.equal(
      vqa.n,
      test8.slice(0, 3).reduce((a, t) => a + t.vqa.length, 0),
    );
    assert.ok(vqa.metrics.accuracy >= 0 && vqa.metrics.accuracy <= 1);
    assert.equal(Object.keys(vqa.answers).length, vqa.n);
  });
  await assert.rejects(evalCaptioning(run.model, run.tokenizer, [], {}), /no images/);
  await assert.rejects(
    evalCaptioning(run.model, run.tokenizer, [test8[0]!, test8[0]!], { progress: false }),
    /appears twice/,
  );
});

test("compositional split: held-out scenes against seen ones", async () => {
  const items = makeWorld({ seed: 3, split: "test", n: 30, size: 32 });
  const held = items.filter((i) => i.heldOut).slice(0, 3),
    seen = items.filter((i) => !i.heldOut).slice(0, 3);
  assert.ok(held.length > 0, "the test split has held-out scenes");
  const r = await evalCompositional(run.model, run.tokenizer, [...held, ...seen], "caption", {
    maxLen: 4,
    progress: false,
  });
  assert.equal(r.heldOutImages, held.length);
  assert.equal(r.seenImages, seen.length);
  assert.equal(r.heldOut!.n, held.length);
  await assert.rejects(
    evalCompositional(
      run.model,
      run.tokenizer,
      makeWorld({ seed: 3, split: "train", n: 3, size: 32 }),
      "vqa",
      {},
    ),
    /held-out/,
  );
});

test("label log-likelihood ranks the label the model favours (stand-in model), on padded batches", () => {
  // A stand-in whose logits favour every token id that occurs in the encoder prefix: the label
  // written into the prefix must win, whatever the batch composition and padding.
  const V = run.config.vocabSize;
  const stand = {
    // Its logits ignore positions; "restart" lets this test's long prefixes (its tokenizer spells a
    // label in ~9 tokens) keep the whole maxTextLen for the prefix.
    config: { ...run.config, decoderPositions: "restart" },
    apply(inputs: ModelInputs) {
      return {
        logits: tf.tidy(() => {
          const enc = inputs.encIds as tf.Tensor2D;
          const present = tf.minimum(tf.sum(tf.oneHot(tf.cast(enc, "int32"), V), 1), 1); // [B, V]
          const Td = inputs.decIn.shape[1];
          return tf.tile(tf.expandDims(tf.mul(present, 8), 1), [1, Td, 1]) as tf.Tensor3D;
        }),
      };
    },
  };
  const pairs = ENTAILMENT_LABELS.map((l, i) => ({ id: String(i), prefix: `hypothesis: ${l}` }));
  pairs.push({ id: "x", prefix: "hypothesis: contradiction" });
  const ll = labelLogLikelihoods(stand as never, run.tokenizer, pairs, ENTAILMENT_LABELS, {
    batchSize: 2,
  });
  assert.equal(ll.length, 3);
  const pred = ll.map((r) => r.indexOf(Math.max(...r)));
  assert.deepEqual(pred, [0, 1, 1]);
  for (const r of ll) for (const x of r) assert.ok(x <= 0);
  const perToken = labelLogLikelihoods(
    stand as never,
    run.tokenizer,
    pairs.slice(0, 1),
    ENTAILMENT_LABELS,
    { perToken: true },
  );
  const counts = ENTAILMENT_LABELS.map((l) => run.tokenizer.encode(l).length + 1);
  perToken[0]!.forEach((x, j) => assert.ok(Math.abs(x - ll[0]![j]! / counts[j]!) < 1e-6));
});

test("entailment: text premise fits the encoder with the hypothesis kept; evaluation reports both scorings", async () => {
  const long =
    "a medium purple triangle on the left and a small green hexagon in the center and a large red circle on the right";
  const fitted = fitTextPremise(long, "there are two shapes", {
    tokenizer: run.tokenizer,
    maxTextLen: run.config.maxTextLen,
  });
  assert.ok(run.tokenizer.encode(fitted).length <= run.config.maxTextLen);
  assert.ok(fitted.startsWith("there are two shapes. a medium"), fitted);
  const img = entailmentPairs(test8.slice(0, 2), "image");
  assert.equal(img.length, 4);
  assert.ok(
    img.every(
      (p, i) =>
        p.image && p.prefix === `${test8[Math.floor(i / 2)]!.entailment[i % 2]!.hypothesis}.`,
    ),
  );
  await noLeak(async () => {
    const ev = await evalEntailment(run.model, run.tokenizer, test8.slice(0, 3), {
      progress: false,
    });
    assert.equal(ev.n, 6);
    assert.equal(ev.metrics.chance, 1 / 2);
    for (const k of ["accuracy", "accuracy_per_token", "generation_accuracy", "majority"] as const)
      assert.ok(ev.metrics[k] >= 0 && ev.metrics[k] <= 1, k);
    assert.equal(
      ev.confusion.flat().reduce((a, x) => a + x, 0),
      6,
    );
    assert.deepEqual(Object.keys(ev.samples[0]!.logLik), [...ENTAILMENT_LABELS]);
  });
});

test("finetuning continues training with lib/train's step: the loss on the pairs falls, no leaks", async () => {
  const train = makeWorld({ seed: 3, split: "train", n: 2, size: 32 });
  const pairs = taskPairs("caption", train).slice(0, 4);
  assert.equal(pairs[0]!.prefix, "");
  const before = scorePairs(run.model, run.tokenizer, pairs).logLik.reduce((a, x) => a + x, 0);
  await noLeak(async () => {
    const r = await finetuneModel(run.model, run.tokenizer, pairs, {
      steps: 25,
      batchSize: 4,
      lr: 3e-3,
      progress: false,
      seed: 1,
    });
    r.optimizer.dispose();
    assert.equal(r.rows.length, 25);
  });
  const afterLL = scorePairs(run.model, run.tokenizer, pairs).logLik.reduce((a, x) => a + x, 0);
  assert.ok(afterLL > before + 5, `log-likelihood ${before} → ${afterLL}`);
});

test("task pairs: few-shot fraction, VQA majority answer, bad options name the input", async () => {
  const items = makeWorld({ seed: 3, split: "train", n: 10, size: 32 });
  const all = taskPairs("caption", items),
    few = taskPairs("caption", items, { fraction: 0.3, seed: 2 });
  assert.equal(all.length, 50);
  assert.equal(few.length, 15);
  const vqa = taskPairs("vqa", items.slice(0, 1));
  assert.equal(vqa[0]!.prefix, items[0]!.vqa[0]!.question);
  assert.equal(vqa[0]!.target, majorityAnswer(items[0]!.vqa[0]!));
  assert.equal(
    majorityAnswer({ question: "q", kind: "count", answers: ["2", "1", "1", "2", "1"] }),
    "1",
  );
  const text = taskPairs("entailment", items.slice(0, 1), { textOnly: true });
  assert.ok(
    text.every(
      (p, j) =>
        !p.image &&
        p.prefix === `${items[0]!.entailment[j]!.hypothesis}. ${items[0]!.entailment[j]!.premise}`,
    ),
  );
  assert.throws(
    () => taskPairs("caption", items, { textOnly: true }),
    /text-only finetuning is for the entailment task/,
  );
  assert.throws(
    () => taskPairs("caption", items, { fraction: 0 }),
    /fraction must be in \(0, 1\], got 0/,
  );
  assert.throws(
    () => taskPairs("bogus" as never, items),
    /task must be one of caption, vqa, entailment/,
  );
  await assert.rejects(
    finetuneModel(run.model, run.tokenizer, [], { steps: 1 }),
    /no training pairs/,
  );
});

test("entailment: a model finetuned on two text-only items generates and ranks their labels", async () => {
  const model = new SimVLM({ ...run.config, dropout: 0 }, 5);
  try {
    const items = makeWorld({ seed: 3, split: "train", n: 1, size: 32 });
    const pairs = taskPairs("entailment", items, {
      textOnly: true,
      fit: entailmentFit(run.config, run.tokenizer),
    });
    assert.deepEqual(pairs.map((p) => p.target).sort(), ["contradiction", "entailment"]);
    const ft = await finetuneModel(model, run.tokenizer, pairs, {
      steps: 300,
      batchSize: 2,
      lr: 5e-3,
      progress: false,
    });
    ft.optimizer.dispose();
    const ev = await evalEntailment(model, run.tokenizer, items, {
      premise: "text",
      progress: false,
    });
    assert.equal(ev.metrics.generation_accuracy, 1, JSON.stringify(ev.samples));
    assert.ok(ev.metrics.accuracy_per_token >= 1 / 2, JSON.stringify(ev.samples));
  } finally {
    model.dispose();
  }
});
