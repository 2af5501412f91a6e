import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import {
  makeBatch,
  disposeBatch,
  spanSentinelIds,
  SPAN_SENTINELS,
  TRAIN_SPECIALS,
} from "../../lib/train/batch.ts";
import { maskedCrossEntropy, batchLoss, exampleLosses } from "../../lib/train/step.ts";
import { SimVLM } from "../../lib/model/simvlm.ts";
import { Rng } from "../../lib/util/rng.ts";
import { wordTokenizer, tiny, mixedExamples } from "./helpers.ts";

before(async () => {
  await initBackend();
});

test("prefixlm batch: tensors match the description; mask covers exactly suffix + eos; text-only rows have hasImage 0", () => {
  const cfg = tiny();
  const tok = wordTokenizer(cfg.vocabSize - SPAN_SENTINELS);
  const exs = mixedExamples(5, 3);
  const t0 = tf.memory().numTensors;
  const b = makeBatch(exs, tok, cfg, { objective: "prefixlm", rng: new Rng(1) });
  const B = exs.length,
    { encWidth: Te, decWidth: Td } = b.info;
  assert.deepEqual(b.inputs.images!.shape, [B, cfg.imageSize, cfg.imageSize, 3]);
  assert.deepEqual(Array.from(b.inputs.hasImage!.dataSync()), [1, 1, 1, 1, 1, 0, 0, 0]);
  assert.equal(b.info.withImage, 5);
  assert.equal(b.info.textOnly, 3);
  const enc = b.inputs.encIds.arraySync(),
    dec = b.inputs.decIn.arraySync(),
    tgt = b.targets.arraySync(),
    mask = b.lossMask.arraySync();
  assert.deepEqual(b.inputs.encIds.shape, [B, Te]);
  assert.deepEqual(b.targets.shape, [B, Td]);
  let lossTokens = 0;
  b.info.examples.forEach((e, i) => {
    const words = tok.encode(exs[i]!.text).slice(0, cfg.maxTextLen - 1);
    assert.equal(e.textLen, words.length);
    assert.equal(e.hasImage, exs[i]!.image !== undefined);
    assert.deepEqual(enc[i]!.slice(0, e.k), words.slice(0, e.k), "encoder row = prefix");
    assert.ok(
      enc[i]!.slice(e.k).every((x) => x === 0),
      "then padding",
    );
    const suffix = [...words.slice(e.k), TRAIN_SPECIALS.eos];
    assert.deepEqual(tgt[i]!.slice(0, suffix.length), suffix, "target = suffix + eos");
    assert.deepEqual(
      dec[i]!.slice(0, suffix.length),
      [TRAIN_SPECIALS.bos, ...suffix.slice(0, -1)],
      "decoder input = bos + target shifted",
    );
    assert.deepEqual(
      mask[i],
      Array.from({ length: Td }, (_, j) => (j < suffix.length ? 1 : 0)),
      "loss only on suffix positions",
    );
    if (!e.hasImage)
      assert.ok(e.k >= 1 && e.k <= words.length - 1, "text-only split leaves a token on each side");
    lossTokens += suffix.length;
  });
  assert.equal(b.info.lossTokens, lossTokens);
  disposeBatch(b);
  assert.equal(tf.memory().numTensors, t0, "disposeBatch frees every tensor");
});

test("lm and span batches are well-formed; a batch without images keeps one (padding) encoder column", () => {
  const cfg = tiny();
  const tok = wordTokenizer(cfg.vocabSize - SPAN_SENTINELS);
  const lm = makeBatch(mixedExamples(2, 2), tok, cfg, { objective: "lm", rng: new Rng(2) });
  assert.equal(lm.info.encWidth, 0, "lm: no encoder text (the images are the whole encoder input)");
  assert.ok(lm.info.examples.every((e) => e.k === 0 && e.encLen === 0));
  disposeBatch(lm);
  const textOnly = makeBatch(mixedExamples(0, 3), tok, cfg, { objective: "lm", rng: new Rng(2) });
  assert.equal(textOnly.inputs.images, null);
  assert.deepEqual(textOnly.inputs.encIds.shape, [3, 1]);
  assert.ok(textOnly.inputs.encIds.dataSync().every((x) => x === 0));
  disposeBatch(textOnly);
  const span = makeBatch(mixedExamples(3, 1), tok, cfg, { objective: "span", rng: new Rng(3) });
  const sentinels = new Set(spanSentinelIds(cfg.vocabSize));
  for (const e of span.info.examples) {
    assert.ok(e.spans!.length >= 1);
    assert.equal(e.enc.filter((x) => sentinels.has(x)).length, e.spans!.length);
    assert.ok(sentinels.has(e.target[0]!), "target starts with sentinel 0");
    assert.ok(Math.max(...e.enc, ...e.target) < cfg.vocabSize);
  }
  disposeBatch(span);
  // A tokenizer using the sentinel rows is refused, naming the sizes.
  assert.throws(
    () =>
      makeBatch(mixedExamples(1, 0), wordTokenizer(cfg.vocabSize), cfg, {
        objective: "span",
        rng: new Rng(1),
      }),
    /span.*sentinels.*300/,
  );
});

test("masked cross-entropy averages exactly over mask positions: padding and masked targets never matter", () => {
  const rng = new Rng(4);
  const B = 2,
    T = 4,
    V = 7;
  const logitsArr = Array.from({ length: B * T * V }, () => rng.normal() * 2);
  const targets = [
      [3, 1, 5, 0],
      [2, 6, 0, 0],
    ],
    mask = [
      [1, 1, 1, 0],
      [1, 1, 0, 0],
    ];
  let sum = 0,
    n = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      if (!mask[b]![t]) continue;
      const row = logitsArr.slice((b * T + t) * V, (b * T + t + 1) * V);
      const mx = Math.max(...row),
        lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      sum += lse - row[targets[b]![t]!]!;
      n++;
    }
  const loss = tf.tidy(
    () =>
      maskedCrossEntropy(
        tf.tensor3d(logitsArr, [B, T, V]),
        tf.tensor2d(targets, [B, T], "int32"),
        tf.tensor2d(mask, [B, T]),
      ).dataSync()[0]!,
  );
  assert.ok(Math.abs(loss - sum / n) < 1e-5, `${loss} vs ${sum / n}`);
  const other = tf.tidy(
    () =>
      maskedCrossEntropy(
        tf.tensor3d(logitsArr, [B, T, V]),
        tf.tensor2d(
          [
            [3, 1, 5, 4],
            [2, 6, 1, 5],
          ],
          [B, T],
          "int32",
        ),
        tf.tensor2d(mask, [B, T]),
      ).dataSync()[0]!,
  );
  assert.equal(other, loss, "targets under mask 0 do not count");
});

test("with the real model, the loss ignores padding rows' content and per-example losses average to the batch loss", () => {
  const cfg = tiny({ dropout: 0 });
  const tok = wordTokenizer(cfg.vocabSize - SPAN_SENTINELS);
  const m = new SimVLM(cfg, 1);
  try {
    const exs = mixedExamples(3, 1);
    const b = makeBatch(exs, tok, cfg, {
      objective: "prefixlm",
      prefix: { mode: "fixed", k: 2 },
      rng: new Rng(5),
    });
    const loss = tf.tidy(() => batchLoss(m, b, { training: false }).dataSync()[0]!);
    const per = exampleLosses(m, b);
    const weights = b.info.examples.map((e) => e.decLen);
    const avg =
      per.reduce((a, l, i) => a + l * weights[i]!, 0) / weights.reduce((a, w) => a + w, 0);
    assert.ok(Math.abs(avg - loss) < 1e-4, `${avg} vs ${loss}`);
    // Corrupting the targets under the padding changes nothing.
    const t2 = tf.tidy(() =>
      tf.cast(tf.add(b.targets, tf.mul(tf.sub(1, b.lossMask), 5)), "int32"),
    ) as tf.Tensor2D;
    const loss2 = tf.tidy(
      () => batchLoss(m, { ...b, targets: t2 }, { training: false }).dataSync()[0]!,
    );
    assert.equal(loss2, loss);
    t2.dispose();
    disposeBatch(b);
  } finally {
    m.dispose();
  }
});
