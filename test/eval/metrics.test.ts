// Hand-checked cases for the caption metrics (pycocoevalcap's BLEU and CIDEr-D) and the COCO tokenizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  captionScores,
  corpusBleu,
  ciderD,
  cocoTokenize,
  EvalInputError,
} from "../../lib/eval/index.ts";

const close = (a: number, b: number, tol = 1e-9, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} expected ${b}, got ${a}`);

test("BLEU: identical candidate scores 1 for every order", () => {
  const b = corpusBleu(["a man rides a horse"], [["a man rides a horse", "someone on a horse"]]);
  for (const x of b) close(x, 1, 1e-8, "bleu");
});

test("BLEU: disjoint candidate scores (almost exactly) 0, as the 1e-15 smoothing gives", () => {
  const b = corpusBleu(["x y z w"], [["a b c d"]]);
  close(b[0]!, 1e-15 / (4 + 1e-9), 1e-20, "bleu1");
  for (const x of b) assert.ok(x < 1e-3);
});

test("BLEU: brevity penalty exp(1 - r/c) from the closest reference length", () => {
  const b = corpusBleu(["a b c"], [["a b c d e f"]]);
  close(b[0]!, Math.exp(1 - 6 / 3), 1e-8, "bleu1");
  close(b[1]!, Math.exp(1 - 6 / 3), 1e-8, "bleu2"); // 2/2 bigrams matched
  // equal distance to lengths 2 and 4: the shorter reference counts, so no penalty
  const t = corpusBleu(["a b c"], [["a b c d", "a b"]]);
  close(t[0]!, 1, 1e-8, "tie -> shorter");
  // closest is 4 (distance 1) rather than 1 (distance 2)
  const u = corpusBleu(["a b c"], [["a", "a b c d"]]);
  close(u[0]!, Math.exp(1 - 4 / 3), 1e-8, "closest");
});

test("BLEU: candidate counts are clipped by the max count in any single reference", () => {
  const b = corpusBleu(["the the the"], [["the cat", "the dog"]]);
  close(b[0]!, 1 / 3, 1e-8, "bleu1"); // max count of "the" in one reference is 1
  const c = corpusBleu(["the the the"], [["the cat", "the the dog"]]);
  close(c[0]!, 2 / 3, 1e-8, "bleu1 clipped at 2");
});

test("BLEU: matches and totals are summed over the corpus before the geometric mean", () => {
  const b = corpusBleu(["a b", "c d e f"], [["a b"], ["c x y z"]]);
  // unigrams: (2 + 1) / (2 + 4); bigrams: (1 + 0) / (1 + 3); lengths 6 vs 6 -> no penalty
  close(b[0]!, 3 / 6, 1e-8, "bleu1");
  close(b[1]!, Math.sqrt((3 / 6) * (1 / 4)), 1e-8, "bleu2");
});

test("CIDEr-D: a single image scores 0 (idf from one image is log(1) = 0), as in pycocoevalcap", () => {
  const r = ciderD(["a man rides a horse"], [["a man rides a horse"]]);
  assert.equal(r.score, 0);
});

test("CIDEr-D: identical candidates with image-unique n-grams score 10", () => {
  const r = ciderD(["a b c d", "e f g h"], [["a b c d"], ["e f g h"]]);
  close(r.perImage[0]!, 10, 1e-9);
  close(r.perImage[1]!, 10, 1e-9);
  close(r.score, 10, 1e-9);
});

test("CIDEr-D: per-image score by hand (missing orders, bigram-count length penalty)", () => {
  const r = ciderD(["a b", "d e f"], [["a b c"], ["d e f"]]);
  // image 1: order 1 = 2/sqrt(6), order 2 = 1/sqrt(2), orders 3-4 have an empty candidate vector -> 0;
  // the length used for the penalty is the number of bigrams (1 vs 2) -> exp(-1/72).
  close(
    r.perImage[0]!,
    ((2 / Math.sqrt(6) + 1 / Math.sqrt(2)) / 4) * Math.exp(-1 / 72) * 10,
    1e-12,
    "img1",
  );
  close(r.perImage[1]!, 7.5, 1e-12, "img2: three words have no 4-gram");
  close(r.score, (r.perImage[0]! + r.perImage[1]!) / 2, 1e-12, "mean");
});

test("CIDEr-D: document frequency comes from the refs being scored; averaged over references", () => {
  // "a" is in both images' references -> idf log(2) - log(2) = 0, so it carries no weight.
  const r = ciderD(["a b", "a c"], [["a b"], ["a c"]]);
  close(r.perImage[0]!, 5, 1e-12); // order 1 -> 1 (only "b" counts), order 2 -> 1, orders 3-4 -> 0
  // a second, disjoint reference halves the score (mean over references)
  const s = ciderD(["a b", "a c"], [["a b", "x y"], ["a c"]]);
  close(s.perImage[0]!, 2.5, 1e-12);
  // clipping: repeating a matched word cannot push the similarity above the reference's weight
  const t = ciderD(["b b b", "c"], [["b"], ["c"]]);
  assert.ok(t.perImage[0]! < 10 && t.perImage[0]! > 0);
});

test("captionScores: COCO tokenization first, per-image CIDEr keyed by id", () => {
  const refs = {
    "1": ["A man riding a horse.", "A person on a horse!"],
    "2": ["A cat, on a mat.", "The cat sits on the mat."],
  };
  const same = captionScores(refs, { "1": "a man riding a horse", "2": "a cat on a mat" });
  const punct = captionScores(refs, { "1": "A man, riding a horse...", "2": "A cat -- on a mat?" });
  assert.deepEqual(punct, same);
  close(same.bleu[0], 1, 1e-8);
  assert.deepEqual(Object.keys(same.ciderPerImage).sort(), ["1", "2"]);
  const empty = captionScores(refs, { "1": "", "2": "a cat on a mat" });
  assert.equal(empty.ciderPerImage["1"], 0);
  assert.ok(empty.bleu[0] < same.bleu[0]);
});

test("captionScores: mismatched ids give one error listing both sides", () => {
  assert.throws(
    () => captionScores({ a: ["x"], b: ["y"] }, { a: "x", zz: "y" }),
    (e: unknown) => {
      assert.ok(e instanceof EvalInputError);
      assert.match((e as Error).message, /candidate ids not in refs: "zz"/);
      assert.match((e as Error).message, /refs ids without a candidate: "b"/);
      return true;
    },
  );
  assert.throws(
    () => captionScores({ a: [] }, { a: "x" }),
    /refs\["a"\] must be a non-empty array/,
  );
  assert.throws(
    () => captionScores({ a: ["x"] }, { a: 3 as unknown as string }),
    /cands\["a"\] is number/,
  );
});

test("COCO tokenizer: PTB rules for caption text, lower-cased, punctuation tokens removed", () => {
  const cases: Array<[string, string]> = [
    ["A man riding a horse.", "a man riding a horse"],
    ["It's a dog's life, isn't it?", "it 's a dog 's life is n't it"],
    ["They can't; we cannot. You don't!", "they ca n't we can not you do n't"],
    ["Two people (a man and a woman)", "two people -lrb- a man and a woman -rrb-"], // -LRB- is lower-cased, so it stays
    ["A black-and-white photo of a t-shirt...", "a black-and-white photo of a t-shirt"],
    ["a \"quoted\" word and 'single' ones", "a quoted word and single ones"],
    ["A sign that says \u201cSTOP\u201d \u2014 in red", "a sign that says stop in red"],
    ["1,000 people at 10:30 and 3.5 miles", "1,000 people at 10:30 and 3.5 miles"],
    ["a grey cat with colourful toys", "a gray cat with colorful toys"],
    ["the u.s. flag at 5 o'clock e.g. here", "the u.s. flag at 5 o'clock e.g. here"],
    ["mr. smith on st. patrick's day", "mr. smith on st. patrick 's day"],
    ["50% off, $5 and/or more", "50 % off $ 5 and\\/or more"],
    ["a 10-year-old boy's toys", "a 10-year-old boy 's toys"],
    ["a man\u2019s hat, the dogs' bowls", "a man 's hat the dogs bowls"], // curly apostrophe normalised
    [
      "a [red] {hat} <b>bold</b> and 3 > 2",
      "a -lrb- red -rrb- -lcb- hat -rcb- <b> bold </b> and 3 -rrb- 2",
    ], // 2014 lexer: [ ] < > are -LRB- -RRB-; tags stay whole
    ["I'm sure we're fine, y'all", "i 'm sure we 're fine y' all"],
    ["a sign reading no. 5 and #1 #hashtag", "a sign reading no. 5 and # 1 #hashtag"],
    ["AT&T and at&t", "at&t and at & t"],
    ["wow!! really?! ok.. fine....", "wow !! really ?! ok fine"],
    ["   ", ""],
  ];
  for (const [input, want] of cases)
    assert.equal(cocoTokenize(input), want, `tokenize(${JSON.stringify(input)})`);
});
