// The official VQA accuracy: normalisation rules and the 10 leave-one-out subsets of 9.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  vqaAccuracy,
  vqaNormalizeAnswer,
  vqaProcessPunctuation,
  EvalInputError,
} from "../../lib/eval/index.ts";

const ten = (...groups: Array<[string, number]>) =>
  groups.flatMap(([a, n]) => Array<string>(n).fill(a));
const close = (a: number, b: number) =>
  assert.ok(Math.abs(a - b) < 1e-12, `expected ${b}, got ${a}`);

test("VQA normalisation: punctuation, number words, articles, contractions", () => {
  assert.equal(vqaNormalizeAnswer("Two"), "2");
  assert.equal(vqaNormalizeAnswer("the dog."), "dog");
  assert.equal(vqaNormalizeAnswer("  A Red Car\n"), "red car");
  assert.equal(vqaNormalizeAnswer("dont"), "don't");
  assert.equal(vqaNormalizeAnswer("none"), "0");
  assert.equal(vqaNormalizeAnswer("3.5"), "3.5"); // a period before a digit stays
  assert.equal(vqaNormalizeAnswer("yes!"), "yes");
  // commaStrip: a digit,digit anywhere means punctuation is removed without leaving a space
  assert.equal(vqaProcessPunctuation("1,000"), "1000");
  // punctuation next to a space is removed; inside a word it becomes a space
  assert.equal(vqaProcessPunctuation("red, blue"), "red blue");
  assert.equal(vqaProcessPunctuation("red/blue"), "red blue");
  assert.equal(vqaNormalizeAnswer("black-and-white"), "black and white");
});

test("VQA accuracy: min(1, matches/3) averaged over the ten leave-one-out subsets", () => {
  const gt = {
    q1: ten(["yes", 10]),
    q2: ten(["2", 3], ["3", 7]),
    q3: ten(["dog", 1], ["cat", 9]),
    q4: ten(["blue", 2], ["red", 8]),
    q5: ten(["yes", 10]),
  };
  const r = vqaAccuracy(gt, { q1: "Yes", q2: "two", q3: "the dog.", q4: "green", q5: "no" });
  close(r.perQuestion.q1!, 1);
  close(r.perQuestion.q2!, (3 * (2 / 3) + 7 * 1) / 10); // 0.9
  close(r.perQuestion.q3!, (9 * (1 / 3)) / 10); // 0.3
  close(r.perQuestion.q4!, 0);
  close(r.perQuestion.q5!, 0);
  close(r.overall, (1 + 0.9 + 0.3) / 5);
  // 2 of 10 agree: the two subsets that drop one of them have 1 match, the other eight have 2
  close(
    vqaAccuracy({ q: ten(["blue", 2], ["red", 8]) }, { q: "blue" }).overall,
    (2 * (1 / 3) + 8 * (2 / 3)) / 10,
  );
});

test("VQA accuracy: mismatched ids and malformed answers are clear errors", () => {
  assert.throws(
    () => vqaAccuracy({ a: ten(["x", 10]) }, { b: "x" }),
    (e: unknown) => e instanceof EvalInputError && /not in gt: "b"/.test((e as Error).message),
  );
  assert.throws(
    () => vqaAccuracy({ a: ten(["x", 10]), c: ten(["y", 10]) }, { a: "x" }),
    /without a prediction: "c"/,
  );
  assert.throws(
    () => vqaAccuracy({ a: "x" as unknown as string[] }, { a: "x" }),
    /gt\["a"\] must be an array/,
  );
});
