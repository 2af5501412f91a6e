import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { makeWorld, worldTextCorpus, worldRecord, worldSplitOf, openStream, HELD_OUT_PAIRS, isHeldOutPair, resizeImage, encodePng } from "../../lib/data/index.ts";

const digest = (x: unknown) => createHash("sha256").update(JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v))).digest("hex");

test("same seed gives byte-identical worlds, another seed differs", () => {
  const a = makeWorld({ seed: 7, split: "train", n: 20 });
  const b = makeWorld({ seed: 7, split: "train", n: 20 });
  const c = makeWorld({ seed: 8, split: "train", n: 20 });
  assert.equal(digest(a), digest(b));
  assert.notEqual(digest(a), digest(c));
  assert.deepEqual(worldTextCorpus({ seed: 3, n: 5 }), worldTextCorpus({ seed: 3, n: 5 }));
});

test("records are complete: image, alt-text, 5 captions naming every object, VQA with 10 answers, 3 entailment labels", () => {
  for (const r of makeWorld({ seed: 1, split: "val", n: 40, size: 48 })) {
    assert.equal(r.image.width, 48);
    assert.equal(r.image.data.length, 48 * 48 * 3);
    assert.ok(r.objects.length >= 1 && r.objects.length <= 4);
    assert.ok(r.altText.length > 0);
    assert.equal(r.captions.length, 5);
    for (const cap of r.captions) {
      assert.ok(cap.length > 0);
      for (const o of r.objects) assert.ok(cap.includes(o.color) && cap.includes(o.shape), `"${cap}" misses ${o.color} ${o.shape}`);
    }
    assert.ok(r.vqa.some((q) => q.kind === "count"));
    for (const q of r.vqa) assert.equal(q.answers.length, 10);
    const count = r.vqa.find((q) => q.question === "how many shapes are there?")!;
    const votes = count.answers.filter((a) => a === String(r.objects.length)).length;
    assert.ok(votes >= 5, "most annotators give the true count");
    assert.deepEqual(r.entailment.map((e) => e.label).sort(), ["contradiction", "entailment", "neutral"]);
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
  assert.ok(counts.train > 1400 && counts.val > 100 && counts.test > 100, JSON.stringify(counts));
  const train = makeWorld({ seed: 5, split: "train", n: 400 });
  for (const r of train) {
    assert.equal(r.heldOut, false);
    for (const o of r.objects) assert.equal(isHeldOutPair(o.color, o.shape), false);
  }
  const test_ = makeWorld({ seed: 5, split: "test", n: 100 });
  const held = test_.filter((r) => r.heldOut);
  assert.ok(held.length > 10, `only ${held.length} held-out test scenes`);
  for (const r of held) assert.ok(r.objects.some((o) => HELD_OUT_PAIRS.some((p) => p.color === o.color && p.shape === o.shape)));
  assert.deepEqual(worldRecord(5, 3), worldRecord(5, 3));
});

test("shapes stream mixes text-only docs, is deterministic and resumes exactly from its cursor", async () => {
  const s = await openStream({ source: "shapes", split: "train", textOnlyEvery: 3 }, { seed: 11 });
  const first = await s.next(10);
  assert.deepEqual(first.map((e) => e.image !== undefined), [true, true, true, false, true, true, true, false, true, true]);
  const cur = s.cursor();
  const rest = await s.next(7);
  const resumed = await openStream({ source: "shapes", split: "train", textOnlyEvery: 3 }, { seed: 11, cursor: JSON.parse(JSON.stringify(cur)) });
  assert.equal(digest(await resumed.next(7)), digest(rest));
  const again = await openStream({ source: "shapes", split: "train", textOnlyEvery: 3 }, { seed: 11 });
  assert.equal(digest((await again.next(17)).slice(10)), digest(rest));
  const none = await openStream({ source: "shapes", textOnlyEvery: 0 }, { seed: 1, imageSize: 32 });
  const xs = await none.next(5);
  assert.ok(xs.every((e) => e.image?.width === 32));
  await assert.rejects(openStream({ source: "shapes", split: "dev" as never }, { seed: 1 }), /DataError|split/);
});

test("resizeImage centre-crops and resizes; encodePng writes a valid PNG", async () => {
  const img = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 3).map((_, i) => (Math.floor(i / 3) % 4 < 1 ? 0 : 200)) };
  const r = resizeImage(img, 1);
  assert.equal(r.data.length, 3);
  assert.equal(r.data[0], 200, "the crop keeps the centre two columns");
  const up = resizeImage({ width: 2, height: 2, data: new Uint8Array([0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255]) }, 4);
  assert.equal(up.data.length, 48);
  const png = encodePng(makeWorld({ seed: 1, split: "train", n: 1, size: 16 })[0]!.image);
  const sharp = (await import("sharp")).default;
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, 16);
  assert.equal(meta.channels, 3);
});
