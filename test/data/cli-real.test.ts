import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStream, parseStampText, DataError } from "../../lib/data/index.ts";
import { tmp, brokenJsonlSet } from "./fixtures.ts";
import { skipUnless } from "../../scripts/prereqs.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, "bin/simvlm.js"), "data", ...args], {
    encoding: "utf8",
    cwd: root,
    env: { ...process.env, SIMVLM_NO_INSTALL: "1" },
  });
const tree = (dir: string) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => [
      f,
      existsSync(join(dir, f)) && !f.endsWith("images")
        ? readFileSync(join(dir, f)).toString("base64")
        : "",
    ]);

test("data export: same seed → byte-identical folders, another seed differs; data check reads it back", () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  for (const [out, seed] of [
    [a, "4"],
    [b, "4"],
    [c, "5"],
  ] as const) {
    const r = cli(
      "export",
      "--source",
      "shapes",
      "--split",
      "test",
      "--n",
      "6",
      "--seed",
      seed,
      "--out",
      out,
    );
    assert.equal(r.status, 0, r.stderr);
  }
  assert.deepEqual(tree(a), tree(b));
  assert.notDeepEqual(readFileSync(join(a, "data.jsonl")), readFileSync(join(c, "data.jsonl")));
  const lines = readFileSync(join(a, "data.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 6);
  for (const rec of lines) {
    assert.ok(existsSync(join(a, rec.image)));
    for (const cap of rec.captions as string[])
      for (const o of rec.objects) assert.ok(cap.includes(`${o.color}`) && cap.includes(o.shape));
  }
  const chk = cli("check", "--format", "jsonl", join(a, "data.jsonl"));
  assert.equal(chk.status, 0, chk.stdout + chk.stderr);
  assert.match(chk.stdout, /6 records, 6 good/);
});

test("data check names the corrupt image and exits 1; usage errors exit 2", () => {
  const { path } = brokenJsonlSet();
  const r = cli("check", "--format", "jsonl", path);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /bad .*data\.jsonl \[line 7\]: cannot decode image .*corrupt\.png/);
  assert.match(r.stdout, /7 bad/);
  assert.equal(cli("check").status, 2);
  assert.equal(cli("export", "--source", "nope", "--out", tmp()).status, 2);
  const missing = cli("check", join(tmp(), "nothing.jsonl"));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nothing\.jsonl: no such file/);
  assert.match(cli("--help").stdout, /data export/);
});

test("tuxpaint stamps: English text, German and French in meta (skipped when the package is absent)", async (t) => {
  assert.deepEqual(parseStampText("A cat.\nde.utf8=Eine Katze.\nfr.utf8=Un chat.\n"), {
    en: "A cat.",
    de: "Eine Katze.",
    fr: "Un chat.",
  });
  const why = skipUnless("tuxpaint"); // checks lib/data/real/tuxpaint.ts's TUXPAINT_DIR
  if (why) {
    t.skip(why);
    return;
  }
  const s = await openStream(
    { source: "tuxpaint", split: "val", lang: "de", repeat: false, install: false },
    { seed: 1, imageSize: 32 },
  );
  const xs = await s.next(3);
  assert.equal(xs.length, 3);
  for (const x of xs) {
    assert.equal(x.image!.width, 32);
    assert.equal(x.text, x.meta!.de);
    assert.equal(x.meta!.split, "val");
  }
});

test("openmoji: used when installed, else one DataError with the install command", async (t) => {
  const spec = { source: "openmoji", repeat: false, install: false };
  let s;
  try {
    s = await openStream(spec, { seed: 2, imageSize: 24 });
    await s.next(1);
  } catch (e) {
    assert.ok(e instanceof DataError);
    assert.match((e as Error).message, /npm install --no-save openmoji/);
    t.skip("openmoji not installed");
    return;
  }
  const xs = await (await openStream(spec, { seed: 2, imageSize: 24 })).next(4);
  assert.equal(xs.length, 4);
  for (const x of xs) {
    assert.ok(x.text.length > 0);
    assert.ok(
      x.image!.data.some((v) => v < 200),
      "an emoji is drawn on the white canvas",
    );
  }
});
