// Blind baselines on small fixtures whose values are worked out by hand in the comments.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bestConstantCaption,
  mostFrequentCaption,
  ciderDScorer,
  cocoTokenize,
  scoreConstantCaption,
  constantCaptionCandidates,
  captionScores,
  questionTemplate,
  fitVqaPrior,
  evalVqaPrior,
  majorityEntailment,
  fitHypothesisOnly,
  evalHypothesisOnly,
  EvalInputError,
  type CaptionRecord,
  type VqaRecord,
  type EntailmentRecord,
} from "../../lib/eval/index.ts";
import { makeWorld } from "../../lib/data/index.ts";
import type { SceneObject } from "../../lib/data/types.ts";

const near = (a: number | null | undefined, b: number, what: string, tol = 1e-9) =>
  assert.ok(a != null && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const obj = (color: string, shape: string): SceneObject => ({
  color,
  shape,
  size: "medium",
  x: 0.5,
  y: 0.5,
});
const rec = (
  id: string,
  captions: string[],
  altText = "png",
  objects: SceneObject[] = [],
): CaptionRecord => ({ id, captions, altText, objects });

test("best constant caption: chosen by val CIDEr-D among train-built candidates, scored on test", () => {
  const train = [
    rec("r1", ["red circle"], "png red circle jpg"),
    rec("r2", ["blue square"]),
    rec("r3", ["red circle"]),
  ];
  const val = [rec("v1", ["red circle"]), rec("v2", ["red circle"]), rec("v3", ["blue square"])];
  const test_ = [
    rec("t1", ["red circle"], "", [obj("red", "circle")]),
    rec("t2", ["blue square"], "", [obj("blue", "square")]),
  ];
  const cands = constantCaptionCandidates(train);
  assert.deepEqual(
    cands.slice(0, 6).map((c) => `${c.source}:${c.caption}`),
    [
      "caption:red circle",
      "caption:blue square",
      "caption:red circle",
      "alt-text:png red circle jpg",
      "alt-text:png",
      "alt-text:png",
    ],
  );
  assert.ok(cands.some((c) => c.source === "n-gram" && c.caption === "red"));
  const best = bestConstantCaption(train, val, test_);
  // Val: every n-gram of "red circle" is in 2 of 3 images. A candidate equal to an image's only
  // reference has cosine 1 at orders 1 and 2 and nothing at orders 3–4 (no trigrams: norms 0), no
  // length penalty: (1 + 1 + 0 + 0) / 4 × 10 = 5 on v1 and v2, 0 on v3 → 10/3. "blue square" gets 5/3;
  // "red" gets (1/√2 · e^{-1/72}) / 4 × 10 on v1, v2 → 1.16. Ties go to the earlier candidate.
  assert.equal(best.caption, "red circle");
  assert.equal(best.source, "caption");
  near(best.valCider, 10 / 3, "val CIDEr-D");
  // Test: each n-gram in 1 of 2 images (idf log 2 throughout): 5 on t1, 0 on t2 → 2.5.
  near(best.test.cider, 2.5, "test CIDEr-D");
  near(best.test.ciderPerImage.t1!, 5, "t1");
  near(best.test.ciderPerImage.t2!, 0, "t2");
  // BLEU: 2 of 4 unigrams and 1 of 2 bigrams match, lengths equal (no brevity penalty) → 0.5, 0.5.
  near(best.test.bleu[0], 0.5, "BLEU-1", 1e-6);
  near(best.test.bleu[1], 0.5, "BLEU-2", 1e-6);
  // Grounded: "red circle" names 1 object per image; right on t1 only → P = R = F1 = 1/2.
  near(best.test.grounded.precision, 0.5, "P");
  near(best.test.grounded.recall, 0.5, "R");
  near(best.test.grounded.f1, 0.5, "F1");
  assert.deepEqual([best.test.grounded.perItem.t1!.f1, best.test.grounded.perItem.t2!.f1], [1, 0]);
  assert.ok(best.candidates >= 6);
  assert.throws(() => bestConstantCaption(train, [], test_), EvalInputError);
});

test("most frequent train caption, scored the same way as any constant caption", () => {
  const train = [
    rec("r1", ["blue square", "red circle"]),
    rec("r2", ["red circle", "blue square"]),
    rec("r3", ["red circle"]),
  ];
  const test_ = [
    rec("t1", ["red circle"], "", [obj("red", "circle")]),
    rec("t2", ["blue square"], "", [obj("blue", "square")]),
  ];
  const m = mostFrequentCaption(train, test_);
  assert.equal(m.caption, "red circle"); // 3 times against 2
  assert.equal(m.count, 3);
  near(m.cider, 2.5, "CIDEr-D");
  const direct = captionScores(
    { t1: ["red circle"], t2: ["blue square"] },
    { t1: "red circle", t2: "red circle" },
  );
  assert.deepEqual(m.bleu, direct.bleu);
  assert.equal(scoreConstantCaption("red circle", test_).cider, m.cider);
  // Ties: the first caption to reach the top count wins ("blue square" reaches 2 before "red circle").
  assert.equal(
    mostFrequentCaption(
      [rec("a", ["blue square", "red circle"]), rec("b", ["blue square", "red circle"])],
      test_,
    ).caption,
    "blue square",
  );
});

test("question templates abstract colour, shape and size words", () => {
  assert.equal(questionTemplate("What color is the  triangle?"), "what color is the <shape>?");
  assert.equal(
    questionTemplate("how many red shapes are there?"),
    "how many <color> shapes are there?",
  );
  assert.equal(
    questionTemplate("is the grey cross on the left or the right?"),
    "is the <color> <shape> on the left or the right?",
  );
  assert.equal(questionTemplate("where are the large crosses?"), "where are the <size> <shape>?");
});

test("VQA question-type prior: the most frequent train answer per template, scored with the VQA accuracy", () => {
  const q = (kind: "color" | "count" | "position", question: string, answers: string[]) => ({
    kind,
    question,
    answers,
  });
  const ten = (a: string) => Array(10).fill(a);
  const train: VqaRecord[] = [
    {
      id: "r1",
      vqa: [
        q("color", "what color is the circle?", ten("red")),
        q("count", "how many shapes are there?", [...Array(6).fill("2"), ...Array(4).fill("3")]),
      ],
    },
    {
      id: "r2",
      vqa: [
        q("color", "what color is the square?", [...Array(9).fill("blue"), "red"]),
        q("count", "how many shapes are there?", ten("1")),
      ],
    },
    {
      id: "r3",
      vqa: [
        q("color", "what color is the star?", ten("blue")),
        q("count", "how many shapes are there?", ten("2")),
      ],
    },
  ];
  const prior = fitVqaPrior(train);
  // Question answers (majority of 10): red, 2, blue, 1, blue, 2. Templates: color → blue (2 of 3), count → 2 (2 of 3).
  assert.deepEqual(prior.byTemplate, {
    "what color is the <shape>?": { answer: "blue", questions: 3 },
    "how many shapes are there?": { answer: "2", questions: 3 },
  });
  // Overall: "2" and "blue" twice each → the lexicographically smaller "2".
  assert.equal(prior.overall, "2");
  const test_: VqaRecord[] = [
    {
      id: "t1",
      vqa: [
        q("color", "what color is the heart?", ten("blue")), // "blue": accuracy 1
        q("count", "how many shapes are there?", [...Array(2).fill("2"), ...Array(8).fill("3")]), // "2": (2·1/3 + 8·2/3)/10 = 0.6
        q("position", "where is the circle?", ten("left")), // unseen template and kind → "2": 0
      ],
    },
  ];
  const e = evalVqaPrior(prior, test_);
  assert.deepEqual(e.answers, { "t1#0": "blue", "t1#1": "2", "t1#2": "2" });
  near(e.perQuestion["t1#1"], 0.6, "count question");
  near(e.accuracy, 1.6 / 3, "overall");
  assert.deepEqual(Object.keys(e.perKind).sort(), ["color", "count", "position"]);
  near(e.perKind.count, 0.6, "count kind");
  assert.equal(e.unseenTemplates, 1);
  assert.equal(e.n, 3);
});

test("entailment: majority class and a hypothesis-only naive Bayes, values by hand", () => {
  const item = (hypothesis: string, label: "entailment" | "neutral" | "contradiction") => ({
    premise: "ignored",
    hypothesis,
    label,
  });
  const train: EntailmentRecord[] = [
    {
      id: "a",
      entailment: [
        item("there is a red circle", "entailment"),
        item("the circle is heavy", "neutral"),
      ],
    },
    {
      id: "b",
      entailment: [
        item("there are no shapes", "contradiction"),
        item("there is a blue square", "entailment"),
      ],
    },
  ];
  const test_: EntailmentRecord[] = [
    {
      id: "t",
      entailment: [
        item("the square is heavy", "neutral"),
        item("there is a red square", "contradiction"),
        item("there is a blue circle", "entailment"),
      ],
    },
  ];
  const maj = majorityEntailment(train, test_);
  assert.equal(maj.label, "entailment"); // 2 of 4 train items
  near(maj.accuracy, 1 / 3, "majority accuracy");
  assert.deepEqual(maj.perItem, { "t#0": 0, "t#1": 0, "t#2": 1 });
  const nb = fitHypothesisOnly(train);
  // V = 12 words. Words per label: entailment 10 (there 2, is 2, a 2, red, circle, blue, square), neutral 4, contradiction 4.
  // "the square is heavy": entailment ½·(1·2·3·1)/22⁴, neutral ¼·(2·1·2·2)/16⁴, contradiction ¼·1/16⁴ → neutral.
  const s = nb.scores("the square is heavy");
  near(s[0], Math.log(0.5) + Math.log(6 / 22 ** 4), "entailment score");
  near(s[1], Math.log(0.25) + Math.log(8 / 16 ** 4), "neutral score");
  near(s[2], Math.log(0.25) + Math.log(1 / 16 ** 4), "contradiction score");
  // "there is a red square": entailment ½·(3·3·3·2·2)/22⁵ beats ¼·2/16⁵ (both others) → entailment (wrong);
  // "there is a blue circle": the same numbers → entailment (right). Unknown words are ignored.
  const e = evalHypothesisOnly(nb, test_);
  assert.deepEqual(e.predictions, { "t#0": "neutral", "t#1": "entailment", "t#2": "entailment" });
  near(e.accuracy, 2 / 3, "hypothesis-only accuracy");
  assert.equal(e.confusion.contradiction.entailment, 1);
  assert.equal(nb.predict("zorp blorp"), "entailment", "no known word: the prior decides");
  assert.throws(() => fitHypothesisOnly([{ id: "x", entailment: [] }]), /no entailment items/);
});

test("on the built-in world the baselines run end to end and are blind (no image is read)", () => {
  const strip = <T extends { image: unknown }>(r: T) => ({ ...r, image: undefined as never });
  const train = makeWorld({ split: "train", n: 60, size: 8 }).map(strip),
    val = makeWorld({ split: "val", n: 20, size: 8 }).map(strip),
    test_ = makeWorld({ split: "test", n: 20, size: 8 }).map(strip);
  const best = bestConstantCaption(train, val, test_);
  const freq = mostFrequentCaption(train, test_);
  // The fast constant-caption path of CIDEr-D equals scoring the caption for every image.
  const scorer = ciderDScorer(val.map((r) => r.captions.map(cocoTokenize)));
  for (const c of [best.caption, freq.caption, "a red circle", "zorp"].map(cocoTokenize)) {
    const fast = scorer.constant(c),
      slow = scorer.score(val.map(() => c));
    near(fast.score, slow.score, `constant "${c}"`, 1e-12);
    fast.perImage.forEach((v, i) => near(v, slow.perImage[i]!, `image ${i}`, 1e-12));
  }
  assert.ok(best.valCider > 0 && best.test.cider >= 0 && freq.cider >= 0);
  const vqa = evalVqaPrior(fitVqaPrior(train), test_);
  assert.ok(vqa.accuracy > 0.1 && vqa.accuracy < 0.8, `prior ${vqa.accuracy}`);
  const ent = evalHypothesisOnly(fitHypothesisOnly(train), test_);
  assert.ok(ent.accuracy > 1 / 3, `hypothesis-only ${ent.accuracy}`);
});
