import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  makeWorld,
  worldTextCorpus,
  worldRecord,
  worldSplitOf,
  openStream,
  HELD_OUT_PAIRS,
  isHeldOutPair,
  resizeImage,
  encodePng,
  WORLD_DATA_SEED,
  splitHash,
  recordsHash,
  ORDER_BLOCK,
} from "../../lib/data/index.ts";
import { ALT_TEXT_SENTENCE_RATE } from "../../lib/data/world/text.ts";

const digest = (x: unknown) =>
  createHash("sha256")
    .update(
      JSON.stringify(x, (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v,
      ),
    )
    .digest("hex");

test("same data seed gives byte-identical worlds, another differs; the default is WORLD_DATA_SEED; seed is its old alias", () => {
  const a = makeWorld({ dataSeed: 7, split: "train", n: 20 });
  const b = makeWorld({ dataSeed: 7, split: "train", n: 20 });
  const c = makeWorld({ dataSeed: 8, split: "train", n: 20 });
  assert.equal(digest(a), digest(b));
  assert.notEqual(digest(a), digest(c));
  assert.equal(
    digest(makeWorld({ seed: 7, split: "train", n: 20 })),
    digest(a),
    "seed is the deprecated name of dataSeed",
  );
  assert.equal(WORLD_DATA_SEED, 0);
  assert.equal(
    digest(makeWorld({ split: "test", n: 5 })),
    digest(makeWorld({ dataSeed: 0, split: "test", n: 5 })),
  );
  assert.throws(
    () => makeWorld({ dataSeed: 1, seed: 2, split: "val", n: 1 }),
    /dataSeed \(1\).*seed \(2\) differ/,
  );
  assert.deepEqual(worldTextCorpus({ dataSeed: 3, n: 5 }), worldTextCorpus({ seed: 3, n: 5 }));
  assert.notDeepEqual(
    worldTextCorpus({ dataSeed: 3, n: 5 }),
    worldTextCorpus({ dataSeed: 4, n: 5 }),
  );
});

test("records are complete: image, alt-text, 5 captions naming every object, VQA with 10 answers, one entailed and one contradicted hypothesis", () => {
  for (const r of makeWorld({ seed: 1, split: "val", n: 40, size: 48 })) {
    assert.equal(r.image.width, 48);
    assert.equal(r.image.data.length, 48 * 48 * 3);
    assert.ok(r.objects.length >= 1 && r.objects.length <= 4);
    assert.ok(r.altText.length > 0);
    assert.equal(r.captions.length, 5);
    for (const cap of r.captions) {
      assert.ok(cap.length > 0);
      for (const o of r.objects)
        assert.ok(
          cap.includes(o.color) && cap.includes(o.shape),
          `"${cap}" misses ${o.color} ${o.shape}`,
        );
    }
    assert.ok(r.vqa.some((q) => q.kind === "count"));
    for (const q of r.vqa) assert.equal(q.answers.length, 10);
    const count = r.vqa.find((q) => q.question === "how many shapes are there?")!;
    const votes = count.answers.filter((a) => a === String(r.objects.length)).length;
    assert.ok(votes >= 5, "most annotators give the true count");
    assert.deepEqual(r.entailment.map((e) => e.label).sort(), ["contradiction", "entailment"]);
    assert.equal(r.split, "val");
  }
});

test("the image shows the objects: pixels at an object's centre have its colour family, not the background", () => {
  for (const r of makeWorld({ seed: 2, split: "train", n: 30 })) {
    const o = r.objects.find((p) => p.size === "large" && p.shape === "circle");
    if (!o) continue;
    const i = (Math.floor(o.y * 64) * 64 + Math.floor(o.x * 64)) * 3;
    const px = [...r.image.data.subarray(i, i + 3)];
    assert.ok(Math.min(...px) < 200, `centre pixel ${px} should be saturated, background is pale`);
  }
});

test("splits come from seeded hashing; held-out colour+shape pairs never appear in train but do in test", () => {
  const counts = { train: 0, val: 0, test: 0 };
  for (let j = 0; j < 2000; j++) counts[worldSplitOf(5, j)]++;
  const ids = (split: "train" | "val" | "test") =>
    new Set(
      makeWorld({ dataSeed: 5, split, n: split === "train" ? 400 : 60, size: 8 }).map((r) => r.id),
    );
  const [tr, va, te] = [ids("train"), ids("val"), ids("test")];
  for (const id of va) assert.ok(!tr.has(id) && !te.has(id), `${id} is in two splits`);
  for (const id of te) assert.ok(!tr.has(id), `${id} is in train and test`);
  assert.ok(counts.train > 1400 && counts.val > 100 && counts.test > 100, JSON.stringify(counts));
  const train = makeWorld({ seed: 5, split: "train", n: 400 });
  for (const r of train) {
    assert.equal(r.heldOut, false);
    for (const o of r.objects) assert.equal(isHeldOutPair(o.color, o.shape), false);
  }
  const test_ = makeWorld({ seed: 5, split: "test", n: 100 });
  const held = test_.filter((r) => r.heldOut);
  assert.ok(held.length > 10, `only ${held.length} held-out test scenes`);
  for (const r of held)
    assert.ok(
      r.objects.some((o) => HELD_OUT_PAIRS.some((p) => p.color === o.color && p.shape === o.shape)),
    );
  assert.deepEqual(worldRecord(5, 3), worldRecord(5, 3));
});

test("shapes stream mixes text-only docs, is deterministic and resumes exactly from its cursor", async () => {
  const s = await openStream({ source: "shapes", split: "train", textOnlyEvery: 3 }, { seed: 11 });
  const first = await s.next(10);
  assert.deepEqual(
    first.map((e) => e.image !== undefined),
    [true, true, true, false, true, true, true, false, true, true],
  );
  const cur = s.cursor();
  const rest = await s.next(7);
  const resumed = await openStream(
    { source: "shapes", split: "train", textOnlyEvery: 3 },
    { seed: 11, cursor: JSON.parse(JSON.stringify(cur)) },
  );
  assert.equal(digest(await resumed.next(7)), digest(rest));
  const again = await openStream(
    { source: "shapes", split: "train", textOnlyEvery: 3 },
    { seed: 11 },
  );
  assert.equal(digest((await again.next(17)).slice(10)), digest(rest));
  const none = await openStream({ source: "shapes", textOnlyEvery: 0 }, { seed: 1, imageSize: 32 });
  const xs = await none.next(5);
  assert.ok(xs.every((e) => e.image?.width === 32));
  await assert.rejects(
    openStream({ source: "shapes", split: "dev" as never }, { seed: 1 }),
    /DataError|split/,
  );
});

test("resizeImage centre-crops and resizes; encodePng writes a valid PNG", async () => {
  const img = {
    width: 4,
    height: 2,
    data: new Uint8Array(4 * 2 * 3).map((_, i) => (Math.floor(i / 3) % 4 < 1 ? 0 : 200)),
  };
  const r = resizeImage(img, 1);
  assert.equal(r.data.length, 3);
  assert.equal(r.data[0], 200, "the crop keeps the centre two columns");
  const up = resizeImage(
    { width: 2, height: 2, data: new Uint8Array([0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]) },
    4,
  );
  assert.equal(up.data.length, 48);
  const png = encodePng(makeWorld({ seed: 1, split: "train", n: 1, size: 16 })[0]!.image);
  const sharp = (await import("sharp")).default;
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, 16);
  assert.equal(meta.channels, 3);
});

test("the run seed only orders the training stream: same records per block, another order; val/test do not depend on it", async () => {
  const spec = { source: "shapes", split: "train" as const, textOnlyEvery: 0 };
  // One whole order block holds ~0.8 × ORDER_BLOCK train records: read that many, at 8 px (pixels do not matter here).
  const trainInBlock = Array.from({ length: ORDER_BLOCK }, (_, j) => j).filter(
    (j) => worldSplitOf(WORLD_DATA_SEED, j) === "train",
  ).length;
  const read = async (seed: number) =>
    (await (await openStream(spec, { seed, imageSize: 8 })).next(trainInBlock)).map((e) => e.id);
  const [a, b] = [await read(1), await read(2)];
  assert.notDeepEqual(
    a.slice(0, 20),
    b.slice(0, 20),
    "another run seed visits the records in another order",
  );
  assert.deepEqual([...a].sort(), [...b].sort(), "the same records in one block");
  assert.ok(a.every((id) => worldSplitOf(WORLD_DATA_SEED, Number(id.split("-")[2])) === "train"));
  // Test records as a model sees them through the stream: the default world's, whatever the run seed.
  const world = new Map(makeWorld({ split: "test", n: 500, size: 16 }).map((r) => [r.id, r]));
  for (const seed of [1, 9]) {
    for (const e of await (
      await openStream({ source: "shapes", split: "test" }, { seed, imageSize: 16 })
    ).next(20)) {
      const r = world.get(e.id);
      assert.ok(r, `${e.id} is a test record of the default world`);
      assert.equal(e.text, r.altText);
      assert.deepEqual(e.image, r.image);
    }
  }
  // A different dataSeed in the spec is a different world.
  const other = await (
    await openStream({ ...spec, dataSeed: 3 }, { seed: 1, imageSize: 8 })
  ).next(3);
  assert.ok(other.every((e) => e.id.startsWith("shapes-3-")));
  await assert.rejects(
    openStream({ ...spec, dataSeed: 1.5 }, { seed: 1 }),
    /dataSeed must be an integer/,
  );
});

test("splitHash: stable for the same content, changes when the content changes, independent of any run seed", () => {
  const opts = { split: "val" as const, n: 12, size: 16 };
  const h = splitHash(opts);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(splitHash(opts), h);
  assert.equal(splitHash({ ...opts, dataSeed: WORLD_DATA_SEED }), h);
  const records = makeWorld(opts);
  assert.equal(recordsHash(records), h, "splitHash is recordsHash of makeWorld");
  for (const other of [
    { ...opts, n: 13 },
    { ...opts, dataSeed: 1 },
    { ...opts, split: "test" as const },
    { ...opts, size: 17 },
    { ...opts, start: records[0]!.id.split("-").map(Number)[2]! + 1 },
  ]) {
    assert.notEqual(splitHash(other), h, JSON.stringify(other));
  }
  const pixel = structuredClone(records);
  pixel[5]!.image.data[100] ^= 1;
  assert.notEqual(recordsHash(pixel), h, "one pixel");
  const caption = structuredClone(records);
  caption[0]!.captions[4] += " ";
  assert.notEqual(recordsHash(caption), h, "one caption");
  const answer = structuredClone(records);
  answer[3]!.vqa[0]!.answers[9] = "x";
  assert.notEqual(recordsHash(answer), h, "one VQA answer");
  assert.equal(recordsHash(structuredClone(records)), h, "a copy hashes the same");
});

test("alt-text: a sentence for about ALT_TEXT_SENTENCE_RATE of the scenes, a keyword list otherwise; the first object is (almost) always named", () => {
  const leads = /^(a picture of|an image of|a drawing of|picture of|illustration of) a /;
  const records = makeWorld({ dataSeed: 3, split: "train", n: 1000, size: 8 });
  const sentences = records.filter((r) => leads.test(r.altText));
  const share = sentences.length / records.length;
  // Binomial(1000, p): ±4 standard deviations is ±0.062 at p = 0.4.
  assert.ok(Math.abs(share - ALT_TEXT_SENTENCE_RATE) < 0.062, `share ${share}`);
  // The first object is always kept; only shape noise (5%) hides its shape.
  const named = records.filter((r) => r.altText.includes(r.objects[0]!.shape)).length;
  assert.ok(named / records.length > 0.9, `first object's shape in ${named} of 1000`);
  for (const r of sentences) assert.doesNotMatch(r.altText, /\b(png|jpg|clipart|stock|download)\b/);
});
