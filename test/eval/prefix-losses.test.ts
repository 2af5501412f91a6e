// Losses at the same prefix lengths for every system: the random-T_p support against lib/train's
// sampler, the summaries by hand, the Kneser-Ney baseline by hand, and the model's prefixLosses
// against validationLoss on single examples at each fixed T_p.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import { drawPrefixLength } from "../../lib/train/objectives.ts";
import { SimVLM, resolveConfig } from "../../lib/model/index.ts";
import { makeWorld, worldTextCorpus } from "../../lib/data/index.ts";
import type { Example } from "../../lib/data/types.ts";
import { Rng } from "../../lib/util/rng.ts";
import {
  prefixLengthSupport,
  summarizePrefixLosses,
  suffixChars,
  fitNgramLm,
  fitNgramBaseline,
  ngramPrefixLosses,
  prefixLosses,
  validationLoss,
  EvalInputError,
} from "../../lib/eval/index.ts";

const near = (a: number | undefined, b: number, what: string, tol = 1e-9) =>
  assert.ok(
    a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)),
    `${what}: ${a} vs ${b}`,
  );

/** Word-level tokenizer with decode: ids from 4 upwards in order of first appearance. */
function words(vocabSize = 300) {
  const ids = new Map<string, number>(),
    back = new Map<number, string>();
  return {
    vocabSize,
    encode(text: string) {
      return text
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => {
          if (!ids.has(w)) {
            ids.set(w, 4 + ids.size);
            back.set(ids.get(w)!, w);
          }
          return ids.get(w)!;
        });
    },
    decode(xs: number[]) {
      return xs
        .filter((i) => i > 3)
        .map((i) => back.get(i)!)
        .join(" ");
    },
  };
}

test("prefixLengthSupport lists exactly the values drawPrefixLength draws, equally often", () => {
  const rng = new Rng(5);
  for (const prefix of [
    { mode: "random" as const },
    { mode: "random" as const, kMax: 2 },
    { mode: "fixed" as const, k: 3 },
    { mode: "none" as const },
  ]) {
    for (let n = 0; n <= 12; n++) {
      for (const hasImage of [true, false]) {
        const support = prefixLengthSupport(n, hasImage, prefix);
        const counts = new Map<number, number>();
        for (let i = 0; i < 600 * support.length; i++) {
          const k = drawPrefixLength(n, hasImage, prefix, rng);
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        assert.deepEqual(
          [...counts.keys()].sort((a, b) => a - b),
          support,
          `${JSON.stringify(prefix)} n=${n} image=${hasImage}`,
        );
        for (const c of counts.values())
          assert.ok(
            Math.abs(c - 600) < 150,
            `${JSON.stringify(prefix)} n=${n}: ${c} draws of one value, expected ~600`,
          );
      }
    }
  }
});

test("summaries: T_p = 0 and the exact random-T_p expectation, per token, per example, per character", () => {
  // Example a (image, 2 tokens): support {0, 1}. Example b (image, 4 tokens): support {0, 1, 2}.
  const r = summarizePrefixLosses([
    {
      id: "a",
      hasImage: true,
      textTokens: 2,
      atTp: [
        { tp: 0, nll: 6, tokens: 3, chars: 10 },
        { tp: 1, nll: 2, tokens: 2, chars: 6 },
      ],
    },
    {
      id: "b",
      hasImage: true,
      textTokens: 4,
      atTp: [
        { tp: 0, nll: 9, tokens: 5, chars: 20 },
        { tp: 1, nll: 6, tokens: 4, chars: 15 },
        { tp: 2, nll: 3, tokens: 3, chars: 9 },
      ],
    },
  ]);
  // T_p = 0: nll 15, tokens 8, chars 30, 2 examples.
  near(r.tp0.perToken, 15 / 8, "tp0 per token");
  near(r.tp0.perExample, 7.5, "tp0 per example");
  near(r.tp0.perChar, 0.5, "tp0 per char");
  // Random: E[a] = (nll 4, tokens 2.5, chars 8), E[b] = (nll 6, tokens 4, chars 44/3).
  near(r.randomTp.perToken, 10 / 6.5, "random per token");
  near(r.randomTp.perExample, 5, "random per example");
  near(r.randomTp.perChar, 10 / (8 + 44 / 3), "random per char");
  assert.deepEqual(
    r.perExample.map((e) => [e.id, e.tp0, e.randomTp]),
    [
      ["a", 6, 4],
      ["b", 9, 6],
    ],
  );
  assert.throws(
    () =>
      summarizePrefixLosses([
        { id: "c", hasImage: true, textTokens: 4, atTp: [{ tp: 0, nll: 1, tokens: 5, chars: 3 }] },
      ]),
    /"c" has no loss at T_p = 1/,
  );
  const t = words();
  assert.deepEqual(
    suffixChars((x) => t.decode(x), t.encode("red circle png")),
    [14, 11, 4, 0],
    "the space before a word belongs to its token",
  );
});

test("Kneser-Ney bigram model: probabilities by hand, and every distribution sums to 1", () => {
  // Texts [4, 5] and [4, 4], V = 6, bos 1, eos 2: bigrams (1,4)×2, (4,5), (5,2), (4,4), (4,2).
  // D2 = n1/(n1 + 2 n2) = 4/6. Continuation counts: 4 ← {1, 4} = 2, 5 ← {4} = 1, 2 ← {5, 4} = 2 (5 types);
  // D1 = 1/(1 + 2·2) = 0.2; P1(w) = (cc − 0.2)/5 + 0.2·3/5·1/6: P1(4) = P1(2) = 0.38, P1(5) = 0.18, others 0.02.
  const lm = fitNgramLm(
    [
      [4, 5],
      [4, 4],
    ],
    { order: 2, vocabSize: 6 },
  );
  near(lm.discounts[1], 2 / 3, "D2");
  near(lm.discounts[0], 0.2, "D1");
  near(Math.exp(lm.logProb([99], 4)), 0.38, "unseen context backs off to P1");
  near(Math.exp(lm.logProb([], 4)), (2 - 2 / 3) / 2 + (2 / 3) * (1 / 2) * 0.38, "P(4 | bos)"); // 0.79333
  near(Math.exp(lm.logProb([4], 5)), (1 - 2 / 3) / 3 + (2 / 3) * (3 / 3) * 0.18, "P(5 | 4)"); // 0.23111
  near(Math.exp(lm.logProb([4, 5], 2)), (1 - 2 / 3) / 1 + (2 / 3) * 1 * 0.38, "P(eos | 5)"); // 0.58667
  near(Math.exp(lm.logProb([], 3)), (2 / 3) * (1 / 2) * 0.02, "P(3 | bos)");
  // Trigram model on world text: each conditional distribution sums to 1 over the V ids.
  const t = words(400);
  const texts = worldTextCorpus({ n: 150 }).concat(
    makeWorld({ split: "train", n: 150, size: 8 }).map((r) => r.altText),
  );
  const lm3 = fitNgramBaseline(texts, t, { order: 3 });
  for (const ctx of [
    [],
    t.encode("the red"),
    t.encode("a large red"),
    [7, 7, 7],
    t.encode("zorp"),
  ]) {
    let s = 0;
    for (let w = 0; w < 400; w++) s += Math.exp(lm3.logProb(ctx, w));
    near(s, 1, `Σ_w P(w | ${ctx})`, 1e-9);
  }
  assert.throws(() => fitNgramLm([[7]], { order: 2, vocabSize: 6 }), /token id 7 is outside/);
});

test("n-gram losses use the model's prefix lengths: context tokens are not predicted", () => {
  const t = words();
  const lm = fitNgramBaseline(["a b", "a a"], t, { order: 2, vocabSize: 6 }); // the fixture above: a = 4, b = 5
  // −log of P(a | bos) = 0.79333, P(b | a) = 0.23111, P(eos | b) = 0.58667 (worked out in the test above).
  const p0 = -Math.log((2 - 2 / 3) / 2 + (1 / 3) * 0.38),
    p1 = -Math.log(1 / 3 / 3 + (2 / 3) * 0.18),
    p2 = -Math.log(1 / 3 + (2 / 3) * 0.38);
  const r = ngramPrefixLosses(
    lm,
    t,
    [{ id: "x", text: "a b", image: { width: 1, height: 1, data: new Uint8Array(3) } }],
    { maxTextLen: 24 },
  );
  // n = 2 tokens with an image: random T_p ∈ {0, 1}. T_p = 0 predicts a, b, eos (3 tokens, "a b" = 3 chars);
  // T_p = 1 predicts b, eos (2 tokens, " b" = 2 chars).
  near(r.tp0.perExample, p0 + p1 + p2, "T_p = 0 nll");
  near(r.tp0.perToken, (p0 + p1 + p2) / 3, "per token");
  near(r.tp0.perChar, (p0 + p1 + p2) / 3, "per char");
  near(r.randomTp.perExample, (p0 + 2 * p1 + 2 * p2) / 2, "random nll");
  near(r.randomTp.perToken, (p0 + 2 * p1 + 2 * p2) / 2 / 2.5, "random per token");
  // Without an image (a text-only document) random T_p is 1..n − 1 = {1}.
  const doc = ngramPrefixLosses(lm, t, [{ id: "d", text: "a b" }], { maxTextLen: 24 });
  near(doc.randomTp.perExample, p1 + p2, "document random nll");
  assert.throws(() => ngramPrefixLosses(lm, t, [], { maxTextLen: 24 }), EvalInputError);
});

test("prefixLosses of a model equal validationLoss at each fixed T_p, averaged exactly; no tensor leaks", async () => {
  await initBackend();
  const config = resolveConfig({ base: "tiny", dropout: 0 });
  const model = new SimVLM(config, 4);
  try {
    const t = words(config.vocabSize);
    const examples: Example[] = [
      ...makeWorld({ split: "val", n: 2, size: 32 }).map((r) => ({
        id: r.id,
        image: r.image,
        text: r.altText,
      })),
      { id: "doc", text: worldTextCorpus({ n: 1 })[0]!.split(" ").slice(0, 9).join(" ") },
    ];
    const n0 = tf.memory().numTensors;
    const r = prefixLosses(model, t, examples, { batchSize: 2 });
    assert.equal(tf.memory().numTensors, n0, "tensors leaked");
    let nll0 = 0,
      tok0 = 0,
      nllR = 0,
      tokR = 0;
    for (const ex of examples) {
      const n = Math.min(t.encode(ex.text).length, config.maxTextLen - 1);
      const at = (k: number) => {
        const v = validationLoss(model, t, [ex], {
          objective: "prefixlm",
          prefix: { mode: "fixed", k },
        });
        return { nll: v.loss * v.tokens, tokens: v.tokens };
      };
      const z = at(0);
      nll0 += z.nll;
      tok0 += z.tokens;
      const support = prefixLengthSupport(n, ex.image !== undefined);
      for (const k of support) {
        const v = at(k);
        nllR += v.nll / support.length;
        tokR += v.tokens / support.length;
      }
    }
    near(r.tp0.perToken, nll0 / tok0, "T_p = 0 per token", 1e-5);
    near(r.tp0.perExample, nll0 / examples.length, "T_p = 0 per example", 1e-5);
    near(r.randomTp.perToken, nllR / tokR, "random T_p per token", 1e-5);
    assert.equal(r.tp0.examples, 3);
    near(
      r.tp0.chars,
      examples.reduce((a, e) => a + e.text.split(/\s+/).filter(Boolean).join(" ").length, 0),
      "T_p = 0 chars",
    );
    // With images only (a text-only row at T_p = 0 has an empty encoder, whose output depends on what
    // else is in the batch), T_p = 0 is the no-prefix validation loss.
    const pairs = examples.filter((e) => e.image);
    near(
      prefixLosses(model, t, pairs).tp0.perToken,
      validationLoss(model, t, pairs, { objective: "prefixlm", prefix: { mode: "none" } }).loss,
      "T_p = 0 is the no-prefix validation loss",
      1e-5,
    );
  } finally {
    model.dispose();
  }
});
