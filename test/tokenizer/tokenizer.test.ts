import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  trainTokenizer,
  SimTokenizer,
  SPECIAL_IDS,
  TokenizerError,
} from "../../lib/tokenizer/index.ts";

const CORPUS = [
  "A red circle above a blue square.",
  "The small green triangle is left of the large red circle.",
  "Two shapes: a purple hexagon and an orange diamond.",
  "a   blue square\tnear the top",
  "There is one large yellow star in the middle of the picture.",
];
const texts = Array.from({ length: 40 }, (_, i) => CORPUS[i % CORPUS.length]!);

test("specials have fixed ids and the vocabulary respects vocabSize", async () => {
  const tok = await trainTokenizer(texts, { vocabSize: 120 });
  assert.deepEqual(SPECIAL_IDS, { PAD: 0, BOS: 1, EOS: 2, UNK: 3 });
  assert.equal(tok.tokenString(0), "<pad>");
  assert.equal(tok.tokenString(3), "<unk>");
  assert.ok(tok.vocabSize <= 120 && tok.vocabSize > 80, `vocabSize ${tok.vocabSize}`);
  // A larger budget learns more merges (whole words), so texts get shorter.
  const big = await trainTokenizer(texts, { vocabSize: 400 });
  assert.ok(big.encode(CORPUS[1]!).length < tok.encode(CORPUS[1]!).length);
  assert.ok(!tok.encode(CORPUS[0]!).some((id) => id <= 3), "no specials or <unk> for seen text");
});

test("encode → decode round-trips normalised text; sync encode matches the package's encoder", async () => {
  const tok = await trainTokenizer(texts, { vocabSize: 160 });
  for (const t of [...CORPUS, "A RED  hexagon, left of two blue circles (2)!", "the star"]) {
    const ids = tok.encode(t);
    assert.equal(tok.decode(ids), t.toLowerCase().replace(/\s+/g, " ").trim());
    assert.deepEqual(ids, await tok.encodeAsync(t), `parity on "${t}"`);
  }
  // Specials are dropped by decode; characters never seen become <unk>.
  assert.equal(
    tok.decode([SPECIAL_IDS.BOS, ...tok.encode("a red circle"), SPECIAL_IDS.EOS, 0, 0]),
    "a red circle",
  );
  assert.ok(tok.encode("a red ☃").includes(SPECIAL_IDS.UNK));
  assert.deepEqual(tok.encode("a red ☃"), await tok.encodeAsync("a red ☃"));
});

test("save/load gives the same tokenizer; bad files name the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-tok-test-"));
  try {
    const tok = await trainTokenizer(texts, { vocabSize: 150 });
    const p = join(dir, "tokenizer.json");
    tok.save(p);
    const back = SimTokenizer.load(p);
    assert.equal(back.vocabSize, tok.vocabSize);
    for (const t of CORPUS) assert.deepEqual(back.encode(t), tok.encode(t));
    writeFileSync(join(dir, "bad.json"), "{ not json");
    assert.throws(
      () => SimTokenizer.load(join(dir, "bad.json")),
      (e: Error) => e instanceof TokenizerError && e.message.includes("bad.json"),
    );
    assert.throws(() => SimTokenizer.load(join(dir, "missing.json")), /missing\.json/);
    await assert.rejects(trainTokenizer(texts, { vocabSize: 10 }), /too small/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
