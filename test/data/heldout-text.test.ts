// Held-out colour+shape pairs appear in no training text at all (issue 14): not in train alt-text
// (its noise included), captions, VQA questions, entailment premises or hypotheses, text-only
// documents, nor in anything the pretraining stream (and so the tokenizer) reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  makeWorld,
  worldTextCorpus,
  openStream,
  HELD_OUT_PAIRS,
  isHeldOutPair,
} from "../../lib/data/index.ts";
import { parseObjectMentions } from "../../lib/eval/index.ts";

const phrase = new RegExp(
  `\\b(${HELD_OUT_PAIRS.map((p) => `${p.color}\\W+${p.shape}`).join("|")})`,
  "i",
);

/** The held-out pairs a text names: as a phrase ("red, triangle" too) or through the grounded parser ("the triangle is red"). */
function heldOutIn(text: string): string[] {
  const hits = parseObjectMentions(text)
    .mentions.filter((m) => m.color && isHeldOutPair(m.color, m.shape))
    .map((m) => `${m.color} ${m.shape}`);
  const m = phrase.exec(text);
  return m ? [...hits, m[0]] : hits;
}

function scan(texts: Iterable<[string, string]>): { n: number; bad: string[] } {
  let n = 0;
  const bad: string[] = [];
  for (const [where, t] of texts) {
    n++;
    if (heldOutIn(t).length) bad.push(`${where}: "${t}"`);
  }
  return { n, bad };
}

test("no held-out pair in a large sample of train texts of every kind", () => {
  const train = makeWorld({ split: "train", n: 2500, size: 8 });
  const texts: [string, string][] = [];
  for (const r of train) {
    texts.push([`${r.id} altText`, r.altText]);
    r.captions.forEach((c, i) => texts.push([`${r.id} caption ${i}`, c]));
    r.vqa.forEach((q, i) =>
      texts.push([`${r.id} vqa ${i}`, `${q.question} ${q.answers.join(" ")}`]),
    );
    r.entailment.forEach((e, i) =>
      texts.push([`${r.id} entailment ${i}`, `${e.premise}. ${e.hypothesis}`]),
    );
  }
  worldTextCorpus({ n: 2000 }).forEach((d, i) => texts.push([`document ${i}`, d]));
  const { n, bad } = scan(texts);
  assert.ok(n > 30_000, `scanned ${n} texts`);
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} train texts name a held-out pair`);
});

test("the pretraining stream (alt-text and caption modes, with documents) never shows a held-out pair", async () => {
  for (const [seed, text] of [
    [0, "alt"],
    [3, "caption"],
  ] as const) {
    const xs = await (
      await openStream(
        { source: "shapes", split: "train", textOnlyEvery: 4, text },
        { seed, imageSize: 8 },
      )
    ).next(2500);
    const captions = xs.flatMap((e) =>
      ((e.meta?.captions as string[] | undefined) ?? []).map((c): [string, string] => [
        `${e.id} meta caption`,
        c,
      ]),
    );
    const { bad } = scan([...xs.map((e): [string, string] => [e.id, e.text]), ...captions]);
    assert.deepEqual(
      bad.slice(0, 5),
      [],
      `${text} stream, seed ${seed}: ${bad.length} texts name a held-out pair`,
    );
  }
});

test("the scan would notice: val/test scenes with held-out pairs name them", () => {
  const held = makeWorld({ split: "test", n: 100, size: 8 }).filter((r) => r.heldOut);
  assert.ok(held.length > 10);
  for (const r of held) assert.ok(heldOutIn(r.captions[0]!).length > 0, r.captions[0]);
  assert.ok(
    heldOutIn("the triangle near the top is red").length && heldOutIn("Purple, circle png").length,
  );
});
