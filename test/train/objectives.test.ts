import { test } from "node:test";
import assert from "node:assert/strict";
import {
  arrangeExample,
  corruptSpans,
  drawPrefixLength,
  type ArrangeOptions,
} from "../../lib/train/objectives.ts";
import { spanSentinelIds, TRAIN_SPECIALS } from "../../lib/train/batch.ts";
import { Rng } from "../../lib/util/rng.ts";

const BOS = TRAIN_SPECIALS.bos,
  EOS = TRAIN_SPECIALS.eos;
const text = (n: number) => Array.from({ length: n }, (_, i) => 10 + i);
const base: Omit<ArrangeOptions, "objective"> = {
  maxTextLen: 32,
  specials: TRAIN_SPECIALS,
  sentinels: spanSentinelIds(300),
};

test("prefixlm, image-text pair: encoder gets the first k tokens, decoder the rest + eos; k uniform over [0, kMax]", () => {
  const rng = new Rng(1);
  const seen = new Map<number, number>();
  for (let i = 0; i < 2000; i++) {
    const t = text(10);
    const a = arrangeExample(
      t,
      true,
      { ...base, objective: "prefixlm", prefix: { mode: "random", kMax: 6 } },
      rng,
    );
    assert.deepEqual(a.enc, t.slice(0, a.k));
    assert.deepEqual(a.target, [...t.slice(a.k), EOS]);
    assert.deepEqual(a.decIn, [BOS, ...a.target.slice(0, -1)]);
    assert.equal(a.textLen, 10);
    seen.set(a.k, (seen.get(a.k) ?? 0) + 1);
  }
  assert.deepEqual(
    [...seen.keys()].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6],
  );
  for (const c of seen.values())
    assert.ok(c > (2000 / 7) * 0.8 && c < (2000 / 7) * 1.2, `k counts ${[...seen]}`);
  // Default kMax: half the text; never the whole text (there is always a suffix).
  for (let i = 0; i < 300; i++) assert.ok(drawPrefixLength(10, true, { mode: "random" }, rng) <= 5);
  for (let i = 0; i < 300; i++)
    assert.ok(drawPrefixLength(3, true, { mode: "random", kMax: 50 }, rng) <= 2);
});

test("prefixlm, text-only document: T_p in [1, n-1] (a token on each side); fixed and none modes", () => {
  const rng = new Rng(2);
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) {
    const a = arrangeExample(text(6), false, { ...base, objective: "prefixlm" }, rng);
    assert.ok(a.k >= 1 && a.k <= 5);
    assert.ok(a.enc.length >= 1 && a.target.length >= 2);
    seen.add(a.k);
  }
  assert.equal(seen.size, 5);
  assert.equal(
    arrangeExample(
      text(6),
      true,
      { ...base, objective: "prefixlm", prefix: { mode: "fixed", k: 4 } },
      rng,
    ).k,
    4,
  );
  assert.equal(
    arrangeExample(
      text(3),
      true,
      { ...base, objective: "prefixlm", prefix: { mode: "fixed", k: 4 } },
      rng,
    ).k,
    2,
    "clamped to n-1",
  );
  const none = arrangeExample(
    text(6),
    false,
    { ...base, objective: "prefixlm", prefix: { mode: "none" } },
    rng,
  );
  assert.equal(none.k, 0);
  assert.deepEqual(none.enc, []);
  // Degenerate texts still give a well-formed target.
  assert.deepEqual(arrangeExample([], true, { ...base, objective: "prefixlm" }, rng).target, [EOS]);
  assert.deepEqual(arrangeExample([7], false, { ...base, objective: "prefixlm" }, rng).target, [
    7,
    EOS,
  ]);
});

test("long texts are cut to maxTextLen - 1 tokens so target + eos fits the decoder", () => {
  const a = arrangeExample(
    text(40),
    true,
    { ...base, maxTextLen: 12, objective: "lm" },
    new Rng(3),
  );
  assert.equal(a.textLen, 11);
  assert.equal(a.truncated, 29);
  assert.equal(a.target.length, 12);
  assert.equal(a.decIn.length, 12);
});

test("lm: no text in the encoder; the decoder predicts the whole text", () => {
  const a = arrangeExample(text(5), true, { ...base, objective: "lm" }, new Rng(4));
  assert.deepEqual(a.enc, []);
  assert.deepEqual(a.target, [...text(5), EOS]);
  assert.deepEqual(a.decIn, [BOS, ...text(5)]);
  assert.equal(a.k, 0);
});

test("span corruption: sentinels replace spans in the encoder; the target lists them; ~15% corrupted, spans of mean ~3", () => {
  const rng = new Rng(5);
  const sentinels = spanSentinelIds(300);
  let corrupted = 0,
    total = 0,
    spans = 0;
  for (let i = 0; i < 300; i++) {
    const t = text(20 + (i % 11));
    const a = arrangeExample(t, i % 2 === 0, { ...base, objective: "span" }, rng);
    // Rebuild the original text from the encoder input and the target.
    const body = a.target.slice(0, -1);
    assert.equal(a.target.at(-1), EOS);
    const fill = new Map<number, number[]>();
    let cur = -1;
    for (const id of body) {
      if (sentinels.includes(id)) {
        cur = id;
        fill.set(id, []);
      } else fill.get(cur)!.push(id);
    }
    const rebuilt = a.enc.flatMap((id) => (sentinels.includes(id) ? fill.get(id)! : [id]));
    assert.deepEqual(rebuilt, t);
    assert.equal(body.filter((id) => sentinels.includes(id)).length, a.spans!.length);
    assert.deepEqual(
      a.enc.filter((id) => sentinels.includes(id)),
      sentinels.slice(0, a.spans!.length),
      "sentinels in order",
    );
    for (const [s, len] of a.spans!)
      assert.deepEqual(
        fill.get(sentinels[a.spans!.findIndex((x) => x[0] === s)]!),
        t.slice(s, s + len),
      );
    corrupted += a.k;
    total += t.length;
    spans += a.spans!.length;
  }
  assert.ok(Math.abs(corrupted / total - 0.15) < 0.02, `density ${corrupted / total}`);
  assert.ok(corrupted / spans > 2.2 && corrupted / spans < 4, `mean span ${corrupted / spans}`);
  // Tiny texts.
  assert.deepEqual(corruptSpans([9], {}, sentinels, rng).enc, [sentinels[0]]);
  assert.deepEqual(corruptSpans([], {}, sentinels, rng).enc, []);
});

test("span corruption never overflows the decoder, even at the highest density", () => {
  const rng = new Rng(6);
  for (let n = 1; n < 24; n++) {
    const a = arrangeExample(
      text(n),
      true,
      { ...base, maxTextLen: 24, objective: "span", span: { density: 0.5, meanSpan: 1 } },
      rng,
    );
    assert.ok(a.target.length <= 24, `n=${n}: target ${a.target.length}`);
  }
});
