// The grounded metric on hand-built scenes and texts (values worked out by hand in the comments),
// and on the world's own reference texts, which must score perfectly.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseObjectMentions,
  groundedItemScore,
  groundedScores,
  EvalInputError,
} from "../../lib/eval/index.ts";
import { makeWorld } from "../../lib/data/index.ts";
import { Rng } from "../../lib/util/rng.ts";
import { hashInts, TAG } from "../../lib/data/world/hash.ts";
import { sampleScene } from "../../lib/data/world/scene.ts";
import { makeDocument } from "../../lib/data/world/text.ts";

const scene = [
  { color: "red", shape: "circle", size: "large" },
  { color: "blue", shape: "square", size: "small" },
];
const close = (a: number | null, b: number | null) => {
  if (a === null || b === null) return assert.equal(a, b);
  assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
};
function check(
  text: string,
  want: {
    named: number;
    matched: number;
    p: number | null;
    r: number;
    f1: number;
    sizeStated?: number;
    sizeCorrect?: number;
    f1Strict?: number;
    totals?: number[];
    count?: boolean | null;
  },
  objs = scene,
) {
  const s = groundedItemScore(text, objs);
  assert.equal(s.named, want.named, `${text}: named`);
  assert.equal(s.matched, want.matched, `${text}: matched`);
  close(s.precision, want.p);
  close(s.recall, want.r);
  close(s.f1, want.f1);
  if (want.sizeStated !== undefined)
    assert.equal(s.sizeStated, want.sizeStated, `${text}: sizeStated`);
  if (want.sizeCorrect !== undefined)
    assert.equal(s.sizeCorrect, want.sizeCorrect, `${text}: sizeCorrect`);
  if (want.f1Strict !== undefined) close(s.f1Strict, want.f1Strict);
  assert.deepEqual(s.totals, want.totals ?? [], `${text}: totals`);
  assert.equal(s.countCorrect, want.count ?? null, `${text}: countCorrect`);
}

test("parser: articles, lists, plurals, numbers, predicates, back-references, unknown words", () => {
  assert.deepEqual(
    parseObjectMentions("A large red circle on the left and a small blue square.").mentions,
    [
      { shape: "circle", color: "red", size: "large", quantity: 1 },
      { shape: "square", color: "blue", size: "small", quantity: 1 },
    ],
  );
  assert.deepEqual(parseObjectMentions("two red circles, grey crosses").mentions, [
    { shape: "circle", color: "red", quantity: 2 },
    { shape: "cross", color: "gray", quantity: 2 },
  ]);
  assert.deepEqual(parseObjectMentions("The triangle near the top is red and small.").mentions, [
    { shape: "triangle", color: "red", size: "small", quantity: 1 },
  ]);
  assert.deepEqual(
    parseObjectMentions("There is a large star near the left, and it is pink.").mentions,
    [{ shape: "star", color: "pink", size: "large", quantity: 1 }],
  );
  assert.deepEqual(
    parseObjectMentions("there is red circle").mentions,
    [{ shape: "circle", color: "red", quantity: 1 }],
    "a colour before a noun after 'is' is a modifier",
  );
  assert.deepEqual(
    parseObjectMentions(
      "the red circle is to the left of the blue square. the circle is bigger than the square",
    ).mentions,
    [
      { shape: "circle", color: "red", quantity: 1 },
      { shape: "square", color: "blue", quantity: 1 },
    ],
    "colourless back-references are dropped",
  );
  assert.deepEqual(parseObjectMentions("there is no red circle").mentions, []);
  assert.deepEqual(
    parseObjectMentions("cute large red circle png blue square").mentions,
    [
      { shape: "circle", color: "red", size: "large", quantity: 1 },
      { shape: "square", color: "blue", quantity: 1 },
    ],
    "alt-text keywords",
  );
  assert.deepEqual(
    parseObjectMentions("what shape is the red object? how many green shapes are there?"),
    { mentions: [], totals: [] },
  );
  assert.deepEqual(
    parseObjectMentions(
      "there are 3 shapes. Here is a simple drawing with three objects. there are no shapes",
    ).totals,
    [3, 3, 0],
  );
  assert.deepEqual(parseObjectMentions("a single medium red circle").mentions, [
    { shape: "circle", color: "red", size: "medium", quantity: 1 },
  ]);
  assert.deepEqual(parseObjectMentions("blorp zorp the the").mentions, []);
  assert.throws(() => parseObjectMentions(3 as unknown as string), EvalInputError);
});

test("item scores on a hand-built scene (red large circle, blue small square)", () => {
  // Both named with right sizes: P = R = F1 = 1.
  check("a large red circle on the left and a small blue square on the right", {
    named: 2,
    matched: 2,
    p: 1,
    r: 1,
    f1: 1,
    sizeStated: 2,
    sizeCorrect: 2,
    f1Strict: 1,
  });
  // Repeated mentions count once: named 1, matched 1 → P 1, R 1/2, F1 2·1/(1+2).
  check("a red circle and a red circle. the red circle is big", {
    named: 1,
    matched: 1,
    p: 1,
    r: 0.5,
    f1: 2 / 3,
    sizeStated: 0,
  });
  // Wrong colour: green circle unmatched → P 1/2, R 1/2, F1 2·1/(2+2).
  check("a green circle and a blue square", { named: 2, matched: 1, p: 0.5, r: 0.5, f1: 0.5 });
  // A shape without colour (never coloured elsewhere) is named but cannot match.
  check("a circle and a blue square", { named: 2, matched: 1, p: 0.5, r: 0.5, f1: 0.5 });
  // "two red circles" names 2, one is there.
  check("two red circles", { named: 2, matched: 1, p: 0.5, r: 0.5, f1: 0.5 });
  // A wrong total, a wrong size, unknown words: F1 2·1/(1+2); strict F1 0 (the size is wrong).
  check("there are three shapes: a small red circle, zorp blorp", {
    named: 1,
    matched: 1,
    p: 1,
    r: 0.5,
    f1: 2 / 3,
    sizeStated: 1,
    sizeCorrect: 0,
    f1Strict: 0,
    totals: [3],
    count: false,
  });
  // Nothing named: precision undefined, recall and F1 0.
  check("", { named: 0, matched: 0, p: null, r: 0, f1: 0 });
  // The document style: predicates give colour and size; the total is right.
  check(
    "The square near the top is blue and small. There is a large circle near the left, and it is red. Altogether there are two shapes.",
    {
      named: 2,
      matched: 2,
      p: 1,
      r: 1,
      f1: 1,
      sizeStated: 2,
      sizeCorrect: 2,
      f1Strict: 1,
      totals: [2],
      count: true,
    },
  );
  // A bare plural names at least two; "grey" is "gray".
  check("grey crosses", { named: 2, matched: 1, p: 0.5, r: 1, f1: 2 / 3 }, [
    { color: "gray", shape: "cross", size: "small" },
  ]);
});

test("corpus scores are micro-averaged; the mean item F1 is reported apart; ids must agree", () => {
  const texts = { a: "a green circle and a blue square", b: "two red circles", c: "" };
  const g = groundedScores(texts, { a: scene, b: scene, c: scene });
  // named 2+2+0 = 4, scene 6, matched 1+1+0 = 2: P 2/4, R 2/6, F1 2·2/(4+6); item F1s 0.5, 0.5, 0.
  close(g.precision, 0.5);
  close(g.recall, 1 / 3);
  close(g.f1, 0.4);
  close(g.meanItemF1, 1 / 3);
  assert.equal(g.sizeAccuracy, null);
  assert.equal(g.countAccuracy, null);
  assert.equal(g.countStated, 0);
  const counts = groundedScores(
    { a: "there are two shapes", b: "three objects", c: "a red circle" },
    { a: scene, b: scene, c: scene },
  );
  assert.equal(counts.countStated, 2);
  close(counts.countAccuracy, 0.5);
  assert.throws(
    () => groundedScores({ a: "x" }, { b: scene }),
    /texts without a scene: a; scenes without a text: b/,
  );
  assert.throws(() => groundedScores({}, {}), EvalInputError);
});

test("the world's reference captions and documents score perfectly against their scenes", () => {
  for (const r of makeWorld({ split: "val", n: 150, size: 8 })) {
    for (const cap of r.captions) {
      const s = groundedItemScore(cap, r.objects);
      assert.ok(
        s.precision === 1 &&
          s.recall === 1 &&
          s.sizeStated === s.sizeCorrect &&
          s.countCorrect !== false,
        `${r.id}: "${cap}" ${JSON.stringify(s)}`,
      );
    }
  }
  for (let t = 0; t < 150; t++) {
    const rng = new Rng(hashInts(0, t, TAG.corpus)); // worldDocument's own generator, to know its scene
    const objects = sampleScene(rng, { allowHeldOut: false, heldOutRate: 0 });
    const doc = makeDocument(objects, rng);
    const s = groundedItemScore(doc, objects);
    assert.ok(
      s.precision === 1 &&
        s.recall === 1 &&
        s.sizeStated === s.sizeCorrect &&
        s.countCorrect !== false,
      `document ${t}: "${doc}" ${JSON.stringify(s)}`,
    );
  }
});
