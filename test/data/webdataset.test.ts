// WebDataset shards: keys are grouped as the webdataset library groups them, a shard whose keys
// are not grouped is refused whole ("shard not sorted by key"), and every other way a sample can
// be malformed is one bad record with its reason. `simvlm data check` exits 1 on any bad record.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkData, openStream, DataError } from "../../lib/data/index.ts";
import { FileBlocks, readTar } from "../../lib/data/tar.ts";
import { ByteReader } from "../../lib/data/io.ts";
import { splitKey } from "../../lib/data/loaders/webdataset.ts";
import { tmp, pngs, tarBytes } from "./fixtures.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "bin/simvlm.js"), "data", ...args], {
    encoding: "utf8",
    cwd: root,
  });
const imgs = pngs(6, 11, 16);
const report = (r: Awaited<ReturnType<typeof checkData>>) =>
  r.bad.map((b) => `[${b.record}] ${b.reason}`).join("\n");

test("plain `tar cf` order (all .png, then all .txt) is refused whole: 'shard not sorted by key', nothing read from it", async () => {
  const dir = tmp();
  const shard = join(dir, "a.tar");
  writeFileSync(
    shard,
    tarBytes([
      ["000000.png", imgs[0]!],
      ["000001.png", imgs[1]!],
      ["000000.txt", "a red circle"],
      ["000001.txt", "a blue star"],
    ]),
  );
  const r = await checkData({ source: shard });
  assert.deepEqual([r.records, r.good, r.imageText, r.textOnly, r.bad.length], [1, 0, 0, 0, 1]);
  assert.match(
    r.bad[0]!.reason,
    /^shard not sorted by key: key "000000" reappears at member 3 \(000000\.txt\) after its group ended at member 1;/,
  );
  assert.equal(r.bad[0]!.record, "000000.txt");
  assert.equal(r.bad[0]!.file, shard);

  // Captions first: without the pre-pass they would have streamed out as text-only documents.
  const first = join(dir, "b.tar");
  writeFileSync(
    first,
    tarBytes([
      ["000000.txt", "a red circle"],
      ["000001.txt", "a blue star"],
      ["000000.png", imgs[0]!],
      ["000001.png", imgs[1]!],
    ]),
  );
  const s = await openStream(
    { source: first, repeat: false, shuffleBuffer: 0 },
    { seed: 0, imageSize: 8, onError: "skip" },
  );
  assert.deepEqual(await s.next(10), []);
  assert.equal(s.skipped(), 1);
  // A repeating stream over it stops with one error instead of spinning (a single pass just ends).
  await assert.rejects(
    (
      await openStream(
        { source: first, shuffleBuffer: 0 },
        { seed: 0, imageSize: 8, onError: "skip" },
      )
    ).next(10),
    /no usable records: every record is bad/,
  );
  await assert.rejects(
    (
      await openStream(
        { source: first, repeat: false, shuffleBuffer: 0 },
        { seed: 0, imageSize: 8, onError: "fail" },
      )
    ).next(10),
    (e: unknown) =>
      e instanceof DataError &&
      e.message.startsWith(`${first}, record 000000.png: shard not sorted by key`),
  );

  // The same files grouped by key (what `tar --sort=name` writes) are two image-text pairs.
  const sorted = join(dir, "c.tar");
  writeFileSync(
    sorted,
    tarBytes([
      ["000000.png", imgs[0]!],
      ["000000.txt", "a red circle"],
      ["000001.png", imgs[1]!],
      ["000001.txt", "a blue star"],
    ]),
  );
  const ok = await checkData({ source: sorted });
  assert.deepEqual([ok.records, ok.good, ok.imageText, ok.bad.length], [2, 2, 2, 0]);

  // data check: exit 1 and the reason; the good shard next to the bad one still counts.
  const c = cli("check", dir);
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stdout, /: 4 records, 2 good \(2 image-text, 0 text-only\), 2 bad/);
  assert.match(c.stdout, /bad .*a\.tar \[000000\.txt\]: shard not sorted by key/);
  assert.equal(cli("check", sorted).status, 0);
});

test("GNU tar: the files in `tar cf` argument order are refused; the fix the message gives (tar --sort=name -C DIR .) loads", async (t) => {
  if (spawnSync("tar", ["--version"]).status !== 0) {
    t.skip("no tar command (apt-get install -y tar)");
    return;
  }
  const dir = tmp(),
    src = join(dir, "src");
  mkdirSync(src);
  writeFileSync(join(src, "000000.png"), imgs[0]!);
  writeFileSync(join(src, "000001.png"), imgs[1]!);
  writeFileSync(join(src, "000000.txt"), "a red circle");
  writeFileSync(join(src, "000001.txt"), "a blue star");
  const plain = join(dir, "plain.tar"),
    fixed = join(dir, "fixed.tar");
  assert.equal(
    spawnSync("tar", [
      "-cf",
      plain,
      "-C",
      src,
      "000000.png",
      "000001.png",
      "000000.txt",
      "000001.txt",
    ]).status,
    0,
  );
  assert.equal(spawnSync("tar", ["--sort=name", "-cf", fixed, "-C", src, "."]).status, 0);
  const bad = await checkData({ source: plain });
  assert.deepEqual([bad.good, bad.bad.length], [0, 1]);
  assert.match(bad.bad[0]!.reason, /shard not sorted by key/);
  const good = await checkData({ source: fixed });
  assert.deepEqual([good.good, good.imageText, good.bad.length], [2, 2, 0], report(good));
});

test("every way a sample can be malformed is one bad record with its reason; good samples around them load", async () => {
  const dir = tmp();
  const shard = join(dir, "s.tar");
  const files: Array<[string, Buffer | string]> = [
    ["ok/1.png", imgs[0]!],
    ["ok/1.txt", "a caption"],
    ["2.png", imgs[1]!], // no caption
    ["3.png", Buffer.from("not a png")],
    ["3.txt", "broken image"], // does not decode
    ["4.png", imgs[2]!],
    ["4.txt", "  \n "], // empty text
    ["5.cls", "3"],
    ["5.npy", Buffer.alloc(16)], // unknown extensions only
    ["6.png", imgs[3]!],
    ["6.PNG", imgs[3]!],
    ["6.txt", "twice"], // duplicate extension (case-folded as webdataset does)
    ["7.jpg", imgs[4]!],
    ["7.png", imgs[4]!],
    ["7.txt", "which one"], // two images
    ["img.0001.png", imgs[5]!],
    ["img.0001.txt", "dotted key"], // dots in the key
    ["README", "notes"], // no extension
    ["._8.png", "AppleDouble"], // hidden file
    ["./9.png", imgs[0]!],
    ["9.txt", "joined across ./"], // "./" does not split a key
    ["10.txt", "a text-only document"], // text only: a document, not an error
    ["11.png", imgs[1]!],
    ["11.json", "[1]"], // json not an object
    ["12.png", imgs[2]!],
    ["12.json", JSON.stringify({ caption: 5 })], // json caption not a string
    ["13.png", imgs[3]!],
    ["13.txt", Buffer.from([0xc3, 0x28])], // not UTF-8
    ["14.png", imgs[4]!],
    ["14.json", JSON.stringify({ caption: "from json", url: "u" })],
    ["15.png", imgs[5]!],
    ["15.txt", "last"],
    ["15.seg.png", imgs[0]!], // an extra component (seg.png) is fine
  ];
  writeFileSync(shard, tarBytes(files));
  const r = await checkData({ source: shard });
  const text = report(r);
  const want: [string, RegExp][] = [
    ["2", /^no caption \(2\.txt or "caption" in 2\.json\)$/],
    ["3", /^cannot decode image: /],
    ["4", /^empty text$/],
    ["5", /^no image or text in the sample \(only \.cls, \.npy\)$/],
    ["6", /^duplicate member 6\.png in one sample$/],
    ["7", /^two images in one sample \(7\.jpg, 7\.png\)$/],
    [
      "img",
      /^no image or text: img\.0001\.png, img\.0001\.txt have a dot in the key \(a WebDataset key ends at the first dot of the file name, so the key is "img" and the extension "0001\.png"\)/,
    ],
    ["README", /^README: no extension, so not part of any sample$/],
    ["._8.png", /^\._8\.png: a hidden file/],
    ["11", /^11\.json is not a JSON object$/],
    ["12", /^12\.json "caption" must be a string$/],
    ["13", /^text is not valid UTF-8$/],
  ];
  assert.equal(r.bad.length, want.length, text);
  for (const [record, re] of want) {
    const b = r.bad.find((x) => x.record === record);
    assert.ok(b, `no bad record for ${record}:\n${text}`);
    assert.match(b.reason, re, record);
  }
  assert.deepEqual([r.good, r.imageText, r.textOnly], [5, 4, 1]);
  const s = await openStream(
    { source: shard, repeat: false, shuffleBuffer: 0 },
    { seed: 0, imageSize: 8 },
  );
  const xs = await s.next(50);
  assert.deepEqual(
    xs.map((x) => [x.id.slice(shard.length + 1), x.text, !!x.image]),
    [
      ["ok/1", "a caption", true],
      ["9", "joined across ./", true],
      ["10", "a text-only document", false],
      ["14", "from json", true],
      ["15", "last", true],
    ],
  );
  assert.equal(xs[3]!.meta!.url, "u");
  const c = cli("check", shard);
  assert.equal(c.status, 1);
  assert.match(c.stdout, new RegExp(`${want.length} bad`));
});

test("a truncated shard keeps its whole samples, reports the cut, and data check exits 1", async () => {
  const dir = tmp();
  const full = tarBytes([
    ["1.png", imgs[0]!],
    ["1.txt", "first"],
    ["2.png", imgs[1]!],
    ["2.txt", "second"],
  ]);
  const shard = join(dir, "cut.tar");
  writeFileSync(shard, full.subarray(0, full.length - 1024 - 512 - 100)); // inside 2.png's body... or 2.txt
  const r = await checkData({ source: shard });
  assert.equal(r.good, 1, report(r));
  assert.equal(r.bad.length, 1);
  assert.match(r.bad[0]!.reason, /^unreadable tar shard \(truncated (entry|header)/);
  assert.equal(cli("check", shard).status, 1);
});

test("readTar headersOnly over FileBlocks lists the same members as a full read, without reading bodies", async () => {
  const dir = tmp();
  const shard = join(dir, "h.tar");
  writeFileSync(
    shard,
    tarBytes([
      ["a/1.png", imgs[0]!],
      ["a/1.txt", "x"],
      ["b", ""],
    ]),
  );
  const full: [string, number, number][] = [],
    heads: [string, number, number][] = [];
  for await (const e of readTar(ByteReader.ofFile(shard)))
    full.push([e.name, e.offset, e.data.length]);
  for await (const e of readTar(await FileBlocks.open(shard), { headersOnly: true })) {
    heads.push([e.name, e.offset, e.size]);
    assert.equal(e.data.length, 0);
  }
  assert.deepEqual(heads, full);
  assert.deepEqual(
    heads.map((h) => h[0]),
    ["a/1.png", "a/1.txt", "b"],
  );
});

test("splitKey follows webdataset's base_plus_ext: key up to the first dot of the file name, extension lower-cased", () => {
  assert.deepEqual(splitKey("00000/000000012.JPG"), { key: "00000/000000012", ext: "jpg" });
  assert.deepEqual(splitKey("a.b/c.seg.png"), { key: "a.b/c", ext: "seg.png" });
  assert.deepEqual(splitKey("./x/1.txt"), { key: "x/1", ext: "txt" });
  assert.ok("stray" in splitKey("x/README"));
  assert.ok("stray" in splitKey("x/.hidden.txt"));
});
