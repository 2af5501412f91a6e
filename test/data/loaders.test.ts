import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  openStream,
  checkData,
  DataError,
  exportDataset,
  type Example,
} from "../../lib/data/index.ts";
import { tmp, pngs, tarBytes, brokenJsonlSet } from "./fixtures.ts";

const ids = (xs: Example[]) => xs.map((x) => x.id);

test("JSONL: bad records are skipped and counted, each named by file and line", async () => {
  const { path } = brokenJsonlSet();
  const r = await checkData({ source: path });
  assert.equal(r.good, 7);
  assert.equal(r.imageText, 6);
  assert.equal(r.textOnly, 1);
  const reasons = r.bad.map((b) => `${b.record}: ${b.reason}`);
  assert.equal(r.bad.length, 7, reasons.join("\n"));
  assert.ok(r.bad.every((b) => b.file === path));
  assert.match(reasons.join("\n"), /line 7: cannot decode image .*corrupt\.png/);
  assert.match(reasons.join("\n"), /line 8: image file not found: .*missing\.png/);
  assert.match(reasons.join("\n"), /line 9: empty text/);
  assert.match(reasons.join("\n"), /line 10: expected a JSON object, got a list/);
  assert.match(reasons.join("\n"), /line 11: field "text" must be a string/);
  assert.match(reasons.join("\n"), /line 12: invalid JSON/);
  assert.match(reasons.join("\n"), /line 13: line is not valid UTF-8/);

  const s = await openStream(
    { source: path, repeat: false, shuffleBuffer: 0 },
    { seed: 1, imageSize: 16, onError: "skip" },
  );
  const xs = await s.next(100);
  assert.equal(xs.length, 7);
  assert.equal(s.skipped(), 7);
  assert.ok(
    xs
      .filter((x) => x.image)
      .every((x) => x.image!.width === 16 && x.image!.data.length === 16 * 16 * 3),
  );
});

test("onError fail stops with one DataError naming the file and record", async () => {
  const { path } = brokenJsonlSet();
  const s = await openStream(
    { source: path, repeat: false, shuffleBuffer: 0 },
    { seed: 1, imageSize: 16, onError: "fail" },
  );
  await assert.rejects(
    s.next(100),
    (e: unknown) =>
      e instanceof DataError &&
      e.message.includes(path) &&
      /line 7/.test(e.message) &&
      /corrupt\.png/.test(e.message),
  );
});

test("a shuffled, repeating stream is deterministic from the seed and resumes exactly from its cursor", async () => {
  const dir = tmp();
  const lines = pngs(10, 2, 16).map((b, i) => {
    writeFileSync(join(dir, `${i}.png`), b);
    return JSON.stringify({ image: `${i}.png`, caption: `picture ${i}` });
  });
  const path = join(dir, "set.jsonl");
  writeFileSync(path, lines.join("\n"));
  const spec = { source: path, shuffleBuffer: 4 };
  const a = await openStream(spec, { seed: 5, imageSize: 8 });
  const first = await a.next(7);
  const cur = JSON.parse(JSON.stringify(a.cursor()));
  const rest = await a.next(16); // crosses into the next epochs
  const b = await openStream(spec, { seed: 5, imageSize: 8 });
  assert.deepEqual(ids(await b.next(23)), [...ids(first), ...ids(rest)]);
  const resumed = await openStream(spec, { seed: 5, imageSize: 8, cursor: cur });
  const again = await resumed.next(16);
  assert.deepEqual(ids(again), ids(rest));
  assert.deepEqual(
    again.map((x) => [...x.image!.data]),
    rest.map((x) => [...x.image!.data]),
  );
  const other = await openStream(spec, { seed: 6, imageSize: 8 });
  assert.notDeepEqual(
    ids(await other.next(10)),
    ids(await (await openStream(spec, { seed: 5, imageSize: 8 })).next(10)),
  );
  // Each epoch holds every record once.
  assert.deepEqual(new Set(ids([...first, ...rest].slice(0, 10))).size, 10);
  await assert.rejects(
    openStream(spec, { seed: 5, cursor: { source: "elsewhere", epoch: 0, taken: 0, skipped: 0 } }),
    DataError,
  );
});

test("CSV with quoted fields; plain text and mixing a text-only source", async () => {
  const dir = tmp();
  const imgs = pngs(3, 3, 16);
  imgs.forEach((b, i) => writeFileSync(join(dir, `p${i}.png`), b));
  writeFileSync(
    join(dir, "set.csv"),
    `image,caption\np0.png,"a red, round thing"\np1.png,"two\nlines"\np2.png,plain\nnope.png\n`,
  );
  const r = await checkData({ source: join(dir, "set.csv") });
  assert.equal(r.good, 3);
  assert.equal(r.bad.length, 1);
  assert.match(r.bad[0]!.reason, /1 columns, header has 2/);
  const s = await openStream(
    { source: join(dir, "set.csv"), repeat: false, shuffleBuffer: 0 },
    { seed: 0, imageSize: 8 },
  );
  assert.deepEqual(
    (await s.next(5)).map((x) => x.text),
    ["a red, round thing", "two\nlines", "plain"],
  );

  writeFileSync(join(dir, "corpus.txt"), "first document\n\nsecond document\nthird\n");
  const mixed = await openStream(
    { source: join(dir, "set.csv"), textOnly: join(dir, "corpus.txt"), textOnlyEvery: 2 },
    { seed: 0, imageSize: 8 },
  );
  const xs = await mixed.next(9);
  assert.deepEqual(
    xs.map((x) => x.image !== undefined),
    [true, true, false, true, true, false, true, true, false],
  );
  const cur = mixed.cursor();
  const more = await mixed.next(4);
  const back = await openStream(
    { source: join(dir, "set.csv"), textOnly: join(dir, "corpus.txt"), textOnlyEvery: 2 },
    { seed: 0, imageSize: 8, cursor: cur },
  );
  assert.deepEqual(ids(await back.next(4)), ids(more));
});

test("COCO captions JSON + image folder; a wrong top-level shape is one DataError", async () => {
  const dir = tmp();
  mkdirSync(join(dir, "images"));
  pngs(2, 4, 16).forEach((b, i) => writeFileSync(join(dir, "images", `COCO_${i}.png`), b));
  const coco = {
    images: [
      { id: 1, file_name: "COCO_0.png" },
      { id: 2, file_name: "COCO_1.png" },
    ],
    annotations: [
      { id: 10, image_id: 1, caption: "a thing" },
      { id: 11, image_id: 1, caption: "the same thing" },
      { id: 12, image_id: 2, caption: "another" },
      { id: 13, image_id: 9, caption: "orphan" },
    ],
  };
  writeFileSync(join(dir, "captions_val.json"), JSON.stringify(coco));
  const r = await checkData({ source: join(dir, "captions_val.json") });
  assert.equal(r.good, 3);
  assert.match(r.bad[0]!.reason, /image_id 9 is not in "images"/);
  const s = await openStream(
    { source: join(dir, "captions_val.json"), repeat: false, shuffleBuffer: 0 },
    { seed: 0, imageSize: 8 },
  );
  const xs = await s.next(3);
  assert.deepEqual(xs[0]!.meta!.captions, ["a thing", "the same thing"]);
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ images: {} }));
  await assert.rejects(
    checkData({ source: join(dir, "bad.json") }),
    (e: unknown) =>
      e instanceof DataError && e.message.includes("bad.json") && /COCO/.test(e.message),
  );
});

test("WebDataset shards stream key by key; a corrupt shard is one bad record and the next shard goes on", async () => {
  const dir = tmp();
  const imgs = pngs(4, 5, 16);
  writeFileSync(
    join(dir, "00000.tar"),
    tarBytes([
      ["00000/000000000.png", imgs[0]!],
      ["00000/000000000.txt", "a caption"],
      ["00000/000000000.json", JSON.stringify({ url: "http://x", caption: "a caption" })],
      ["00000/000000001.png", imgs[1]!],
      ["00000/000000001.json", JSON.stringify({ caption: "from json" })],
      ["00000/000000002.png", imgs[2]!],
      ["00000/000000003.png", Buffer.from("garbage")],
      ["00000/000000003.txt", "broken image"],
    ]),
  );
  const broken = tarBytes([
    ["x/1.png", imgs[3]!],
    ["x/1.txt", "ok"],
  ]);
  broken[512 + Math.ceil(imgs[3]!.length / 512) * 512 + 3] ^= 0xff; // damage the second header (name byte: checksum no longer matches)
  writeFileSync(join(dir, "00001.tar"), broken);
  writeFileSync(
    join(dir, "00001b.tar"),
    tarBytes([
      ["z/1.png", imgs[3]!],
      ["z/1.txt", "cut short"],
    ]).subarray(0, 700),
  );
  writeFileSync(
    join(dir, "00002.tar"),
    tarBytes([
      ["y/9.png", imgs[3]!],
      ["y/9.txt", Buffer.from([0xc3, 0x28])],
    ]),
  );
  const r = await checkData({ source: dir });
  assert.equal(r.good, 2, JSON.stringify(r.bad));
  const reasons = r.bad.map((b) => `${b.file} [${b.record}] ${b.reason}`).join("\n");
  assert.match(reasons, /00000\.tar \[00000\/000000002\] no caption/);
  assert.match(reasons, /00000\.tar \[00000\/000000003\] cannot decode image/);
  assert.match(reasons, /00001\.tar \[byte \d+\] unreadable tar shard \(bad header checksum/);
  assert.match(reasons, /00001b\.tar \[byte 0\] unreadable tar shard \(truncated entry z\/1\.png/);
  assert.match(reasons, /00002\.tar \[y\/9\] text is not valid UTF-8/);
  const s = await openStream(
    { source: dir, repeat: false, shuffleBuffer: 0 },
    { seed: 0, imageSize: 8 },
  );
  const xs = await s.next(10);
  assert.deepEqual(
    xs.map((x) => x.text),
    ["a caption", "from json"],
  );
  assert.equal(xs[0]!.meta!.url, "http://x");
});

test("export writes PNG + data.jsonl that the JSONL loader reads back with captions", async () => {
  const out = tmp();
  const res = await exportDataset({ source: "shapes", split: "val", n: 5, seed: 9, out });
  assert.equal(res.records, 5);
  const s = await openStream(
    { source: out, repeat: false, shuffleBuffer: 0 },
    { seed: 0, imageSize: 64 },
  );
  const xs = await s.next(10);
  assert.equal(xs.length, 5);
  assert.equal(s.skipped(), 0);
  for (const x of xs) {
    assert.equal((x.meta!.captions as string[]).length, 5);
    assert.equal(x.meta!.split, "val");
  }
  const { makeWorld } = await import("../../lib/data/index.ts");
  assert.deepEqual(
    [...xs[0]!.image!.data],
    [...makeWorld({ seed: 9, split: "val", n: 1 })[0]!.image.data],
    "PNG round trip is lossless",
  );
});

test("tar reader handles GNU long names and pax path headers (as written by GNU tar)", async (t) => {
  const { spawnSync } = await import("node:child_process");
  if (spawnSync("tar", ["--version"]).status !== 0) {
    t.skip("no tar command");
    return;
  }
  const dir = tmp();
  const deep = join("d".repeat(60), "e".repeat(60));
  mkdirSync(join(dir, "src", deep), { recursive: true });
  const [png] = pngs(1, 6, 16);
  writeFileSync(join(dir, "src", deep, "sample-with-a-long-key.png"), png!);
  writeFileSync(join(dir, "src", deep, "sample-with-a-long-key.txt"), "long name caption");
  for (const format of ["gnu", "pax"]) {
    const shard = join(dir, `${format}.tar`);
    const r = spawnSync("tar", [
      `--format=${format}`,
      "-cf",
      shard,
      "-C",
      join(dir, "src"),
      join(deep, "sample-with-a-long-key.png"),
      join(deep, "sample-with-a-long-key.txt"),
    ]);
    assert.equal(r.status, 0, String(r.stderr));
    const s = await openStream(
      { source: shard, format: "webdataset", repeat: false },
      { seed: 0, imageSize: 8, onError: "fail" },
    );
    const xs = await s.next(5);
    assert.equal(xs.length, 1, format);
    assert.equal(xs[0]!.text, "long name caption");
    assert.ok(xs[0]!.id.endsWith(`${deep}/sample-with-a-long-key`), xs[0]!.id);
  }
});
