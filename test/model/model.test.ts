import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf, initBackend } from "../../lib/backend/index.ts";
import {
  SimVLM,
  resolveConfig,
  ConfigError,
  MODEL_CONFIGS,
  gridSide,
  disposeEncoderState,
  disposeDecoderCache,
  reorderDecoderCache,
  validateConfig,
} from "../../lib/model/index.ts";
import { tinyConfig, randomImages, ids, maxDiff } from "./helpers.ts";

before(async () => {
  await initBackend();
});

/** Logits [B, Td, V] as nested arrays (eval mode). */
function logitsOf(
  m: SimVLM,
  images: tf.Tensor4D | null,
  enc: number[][],
  dec: number[][],
  hasImage?: number[],
): number[][][] {
  return tf.tidy(() => {
    const out = m.apply(
      {
        images,
        encIds: ids(enc),
        decIn: ids(dec),
        hasImage: hasImage ? tf.tensor1d(hasImage) : undefined,
      },
      { training: false },
    );
    return out.logits.arraySync();
  });
}

test("shapes, stable weight names, parameter count, no leaks", () => {
  const cfg = tinyConfig();
  const m = new SimVLM(cfg, 1);
  const before = tf.memory().numTensors;
  const names = [...m.weights().keys()];
  assert.deepEqual(names.slice(0, 5), [
    "tok.embedding",
    "enc.text_pos",
    "dec.pos",
    "patch.row_pos",
    "patch.col_pos",
  ]);
  for (const n of [
    "enc.0.attn.qkv.kernel",
    "enc.1.mlp.proj.bias",
    "dec.1.cross.kv.kernel",
    "dec.0.self.o.kernel",
    "dec.ln_f.gamma",
    "patch.block2.skip.kernel",
  ]) {
    assert.ok(m.weights().has(n), `missing weight ${n}`);
  }
  assert.equal(
    m.countParams(),
    [...m.weights().values()].reduce((s, v) => s + v.size, 0),
  );
  const images = randomImages(cfg, 2, 1);
  const encIds = ids([
      [5, 6, 0],
      [7, 0, 0],
    ]),
    decIn = ids([
      [1, 8, 9, 10],
      [1, 11, 0, 0],
    ]);
  const out = m.apply({ images, encIds, decIn }, { training: true, dropoutSeed: 4 });
  assert.deepEqual(out.logits.shape, [2, 4, cfg.vocabSize]);
  assert.equal(out.attention, undefined);
  tf.dispose([out.logits, images, encIds, decIn]);
  assert.equal(tf.memory().numTensors, before);
  // Same seed → same init; the linear patch embedding is a config switch.
  const m2 = new SimVLM(cfg, 1);
  assert.deepEqual(
    m2.weights().get("enc.0.attn.qkv.kernel")!.dataSync(),
    m.weights().get("enc.0.attn.qkv.kernel")!.dataSync(),
  );
  const lin = new SimVLM(tinyConfig({ patchEmbed: "linear" }), 1);
  assert.deepEqual(lin.weights().get("patch.proj.kernel")!.shape, [8 * 8 * 3, cfg.dModel]);
  assert.ok(!lin.weights().has("patch.stem.kernel"));
  const l = logitsOf(lin, randomImages(cfg, 1, 2), [[5]], [[1, 6]]);
  assert.equal(l[0]!.length, 2);
  for (const x of [m, m2, lin]) x.dispose();
});

test("decoder is causal: a later decoder token never changes an earlier logit", () => {
  const cfg = tinyConfig({ dropout: 0 });
  const m = new SimVLM(cfg, 2);
  const img = randomImages(cfg, 1, 3);
  const a = logitsOf(m, img, [[5, 6]], [[1, 7, 8, 9, 10]]);
  const b = logitsOf(m, img, [[5, 6]], [[1, 7, 8, 20, 21]]);
  for (let t = 0; t < 5; t++) {
    const d = maxDiff(a[0]![t]!, b[0]![t]!);
    if (t <= 2) assert.ok(d < 1e-6, `position ${t} changed by ${d}`);
    else assert.ok(d > 1e-4, `position ${t} should change (diff ${d})`);
  }
  img.dispose();
  m.dispose();
});

test("prefix is bidirectional and every decoder position reads it", () => {
  const cfg = tinyConfig({ dropout: 0 });
  const m = new SimVLM(cfg, 3);
  const img = randomImages(cfg, 1, 4);
  const P = gridSide(cfg) ** 2;
  // Changing the LAST prefix token changes the encoder output at the FIRST prefix position and at every patch.
  const memOf = (enc: number[][]) => {
    const s = m.encode({ images: img, encIds: ids(enc) });
    const v = s.memory.arraySync();
    disposeEncoderState(s);
    return v;
  };
  const ma = memOf([[5, 6, 7]]),
    mb = memOf([[5, 6, 30]]);
  assert.ok(maxDiff(ma[P]!, mb[P]!) > 1e-4, "first prefix token sees the last one");
  assert.ok(maxDiff(ma[0]!, mb[0]!) > 1e-4, "patches see the prefix");
  const a = logitsOf(m, img, [[5, 6, 7]], [[1, 8, 9, 10]]);
  const b = logitsOf(m, img, [[5, 6, 30]], [[1, 8, 9, 10]]);
  for (let t = 0; t < 4; t++)
    assert.ok(maxDiff(a[0]![t]!, b[0]![t]!) > 1e-4, `decoder position ${t} ignores the prefix`);
  img.dispose();
  m.dispose();
});

test("padding and text-only examples: masked keys change nothing", () => {
  const cfg = tinyConfig({ dropout: 0 });
  const m = new SimVLM(cfg, 4);
  const img1 = randomImages(cfg, 2, 5),
    img2 = randomImages(cfg, 2, 6);
  // Example 0 is text-only (hasImage 0): its image must not matter; example 1's must.
  const a = logitsOf(
    m,
    img1,
    [
      [5, 6],
      [5, 6],
    ],
    [
      [1, 7, 8],
      [1, 7, 8],
    ],
    [0, 1],
  );
  const b = logitsOf(
    m,
    img2,
    [
      [5, 6],
      [5, 6],
    ],
    [
      [1, 7, 8],
      [1, 7, 8],
    ],
    [0, 1],
  );
  assert.ok(
    maxDiff(a[0]!.flat(), b[0]!.flat()) === 0,
    "text-only example read its placeholder image",
  );
  assert.ok(maxDiff(a[1]!.flat(), b[1]!.flat()) > 1e-4, "image example ignored its image");
  // Extra padding in the prefix or the decoder input leaves the real positions' logits alone.
  const one = tf.slice(img1, [1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const c = logitsOf(m, one, [[5, 6, 0, 0]], [[1, 7, 8, 0, 0]]);
  const d = logitsOf(m, one, [[5, 6]], [[1, 7, 8]]);
  one.dispose();
  assert.ok(maxDiff(c[0]!.slice(0, 3).flat(), d[0]!.flat()) < 1e-5);
  // A text-only example with no prefix at all still gives finite logits (a plain LM).
  const e = logitsOf(
    m,
    img1,
    [[0], [5]],
    [
      [1, 7],
      [1, 7],
    ],
    [0, 1],
  );
  assert.ok(e.flat(2).every(Number.isFinite));
  tf.dispose([img1, img2]);
  m.dispose();
});

test("dropout is seeded: same seed same output, another seed differs, eval has none", () => {
  const cfg = tinyConfig({ dropout: 0.3 });
  const m = new SimVLM(cfg, 5);
  const img = randomImages(cfg, 1, 7);
  const run = (training: boolean, seed: number) =>
    tf.tidy(() =>
      m
        .apply(
          { images: img, encIds: ids([[5, 6]]), decIn: ids([[1, 7, 8]]) },
          { training, dropoutSeed: seed },
        )
        .logits.dataSync()
        .slice(),
    );
  assert.deepEqual(run(true, 1), run(true, 1));
  assert.ok(maxDiff(run(true, 1), run(true, 2)) > 1e-4);
  assert.deepEqual(run(false, 1), run(false, 2));
  img.dispose();
  m.dispose();
});

test("attention capture: shapes, rows sum to 1, causal, text-only has no patches", () => {
  const cfg = tinyConfig({ dropout: 0 });
  const m = new SimVLM(cfg, 6);
  const img = randomImages(cfg, 2, 8);
  const hasImage = tf.tensor1d([1, 0]),
    encIds = ids([
      [5, 6, 0],
      [9, 0, 0],
    ]),
    decIn = ids([
      [1, 7, 8, 0],
      [1, 7, 0, 0],
    ]);
  const before = tf.memory().numTensors;
  const out = m.apply(
    { images: img, hasImage, encIds, decIn },
    { training: false, capture: true, tokenString: (id) => `t${id}` },
  );
  const P = gridSide(cfg) ** 2;
  const att = out.attention!;
  assert.equal(att.length, 2);
  const [a, b] = att as [(typeof att)[0], (typeof att)[0]];
  assert.equal(a.numPatches, P);
  assert.deepEqual(a.grid, { h: 4, w: 4 });
  assert.equal(b.numPatches, 0);
  assert.deepEqual(b.grid, { h: 0, w: 0 });
  assert.deepEqual(a.prefixTokens, ["t5", "t6"]);
  assert.deepEqual(a.decoderTokens, ["t1", "t7", "t8"]);
  assert.deepEqual(b.prefixTokens, ["t9"]);
  assert.deepEqual(b.decoderTokens, ["t1", "t7"]);
  assert.equal(a.encoderSelf.length, cfg.encLayers);
  assert.equal(a.decoderSelf.length, cfg.decLayers);
  assert.equal(a.decoderCross.length, cfg.decLayers);
  const shape = (x: { heads: number; queries: number; keys: number }) => [
    x.heads,
    x.queries,
    x.keys,
  ];
  assert.deepEqual(shape(a.encoderSelf[0]!), [2, P + 2, P + 2]);
  assert.deepEqual(shape(a.decoderSelf[1]!), [2, 3, 3]);
  assert.deepEqual(shape(a.decoderCross[0]!), [2, 3, P + 2]);
  assert.deepEqual(shape(b.encoderSelf[0]!), [2, 1, 1]);
  assert.deepEqual(shape(b.decoderCross[1]!), [2, 2, 1]);
  for (const c of att)
    for (const mp of [...c.encoderSelf, ...c.decoderSelf, ...c.decoderCross]) {
      for (let r = 0; r < mp.heads * mp.queries; r++) {
        let s = 0;
        for (let k = 0; k < mp.keys; k++) s += mp.data[r * mp.keys + k]!;
        assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
      }
    }
  const ds = a.decoderSelf[0]!;
  for (let h = 0; h < ds.heads; h++)
    for (let q = 0; q < ds.queries; q++)
      for (let k = q + 1; k < ds.keys; k++) {
        assert.equal(
          ds.data[(h * ds.queries + q) * ds.keys + k],
          0,
          "decoder self-attention looked ahead",
        );
      }
  out.logits.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([img, hasImage, encIds, decIn]);
  m.dispose();
});

test("resolveConfig: presets, JSON files with overrides, errors name the fields", () => {
  assert.equal(resolveConfig("tiny").dModel, 32);
  assert.deepEqual(resolveConfig("reference"), MODEL_CONFIGS.reference);
  assert.equal(resolveConfig({ base: "small", dModel: 64 }).dModel, 64);
  const dir = mkdtempSync(join(tmpdir(), "simvlm-cfg-"));
  try {
    const p = join(dir, "my.json");
    writeFileSync(p, JSON.stringify({ base: "tiny", heads: 4, dropout: 0 }));
    assert.equal(resolveConfig(p).heads, 4);
    writeFileSync(p, JSON.stringify({ base: "tiny", heads: 3, dModle: 5 }));
    assert.throws(
      () => resolveConfig(p),
      (e: Error) =>
        e instanceof ConfigError &&
        /my\.json/.test(e.message) &&
        /"heads"/.test(e.message) &&
        /dModle/.test(e.message),
    );
    writeFileSync(p, "{");
    assert.throws(() => resolveConfig(p), /my\.json.*not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => resolveConfig("nope"), /neither a preset/);
  assert.throws(() => resolveConfig({ base: "tiny", patchSize: 6 }), /patchSize/);
  assert.throws(() => resolveConfig({ base: "tiny", convChannels: [8, 16] }), /convChannels/);
});

test("bad inputs give one clear error", () => {
  const cfg = tinyConfig();
  const m = new SimVLM(cfg, 7);
  const img = randomImages(cfg, 1, 9);
  assert.throws(
    () => m.apply({ images: img, encIds: ids([[5]]), decIn: ids([[1, 99]]) }, { training: false }),
    /decIn holds token id 99/,
  );
  assert.throws(
    () =>
      m.apply(
        { images: img, encIds: ids([[5], [6]]), decIn: ids([[1], [1]]) },
        { training: false },
      ),
    /batch/,
  );
  const wrong = randomImages(
    tinyConfig({ imageSize: 64, convChannels: [8, 16, 32, 32], patchSize: 16 }),
    1,
    1,
  );
  assert.throws(
    () => m.apply({ images: wrong, encIds: ids([[5]]), decIn: ids([[1]]) }, { training: false }),
    /images must be \[B, 32, 32, 3\]/,
  );
  tf.dispose([img, wrong]);
  m.dispose();
});

test("incremental decodeStep gives apply's logits at every position; beam reordering keeps rows", () => {
  const cfg = tinyConfig({ dropout: 0 });
  const m = new SimVLM(cfg, 8);
  const img = randomImages(cfg, 2, 10);
  const enc = [
      [5, 6, 0],
      [7, 8, 9],
    ],
    dec = [
      [1, 10, 11, 12, 13],
      [1, 14, 15, 16, 17],
    ];
  const full = logitsOf(m, img, enc, dec);
  const encIds = ids(enc);
  const before = tf.memory().numTensors;
  const state = m.encode({ images: img, encIds });
  // Rows swapped (row 0 reads example 1) to exercise encoder-row selection too.
  const rows = tf.tensor1d([1, 0], "int32");
  let cache = null as import("../../lib/model/index.ts").DecoderCache | null;
  for (let t = 0; t < 5; t++) {
    const tok = tf.tensor1d([dec[1]![t]!, dec[0]![t]!], "int32");
    const out = m.decodeStep(state, tok, cache, rows);
    disposeDecoderCache(cache);
    cache = out.cache;
    const got = out.logits.arraySync();
    assert.ok(maxDiff(got[0]!, full[1]![t]!) < 1e-4, `example 1, position ${t}`);
    assert.ok(maxDiff(got[1]!, full[0]![t]!) < 1e-4, `example 0, position ${t}`);
    tf.dispose([tok, out.logits]);
    if (t === 2) {
      // Swap the two rows' histories and their encoder rows: results must follow.
      const par = tf.tensor1d([1, 0], "int32");
      const re = reorderDecoderCache(cache!, par);
      par.dispose();
      const tok2 = tf.tensor1d([dec[0]![3]!, dec[1]![3]!], "int32"),
        rows2 = tf.tensor1d([0, 1], "int32");
      const o2 = m.decodeStep(state, tok2, re, rows2);
      disposeDecoderCache(re);
      const g2 = o2.logits.arraySync();
      assert.ok(
        maxDiff(g2[0]!, full[0]![3]!) < 1e-4 && maxDiff(g2[1]!, full[1]![3]!) < 1e-4,
        "reordered cache",
      );
      disposeDecoderCache(o2.cache);
      tf.dispose([tok2, rows2, o2.logits]);
    }
  }
  disposeDecoderCache(cache);
  disposeEncoderState(state);
  rows.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([img, encIds]);
  m.dispose();
});

test("decoder positions continue after the prefix (PrefixLM's split at T_p); configs without the field restart at 0", () => {
  const cfg = tinyConfig({ dropout: 0 });
  assert.equal(cfg.decoderPositions, "continue");
  assert.equal(MODEL_CONFIGS.small.decoderPositions, "continue");
  // Same seed, same weights: only where the decoder's positions start differs.
  const cont = new SimVLM(cfg, 3);
  const restart = new SimVLM({ ...cfg, decoderPositions: "restart" }, 3);
  const img = randomImages(cfg, 2, 4);
  const enc = [
      [0, 0],
      [5, 6],
    ],
    dec = [
      [1, 10, 11],
      [1, 10, 11],
    ];
  const a = logitsOf(cont, img, enc, dec),
    b = logitsOf(restart, img, enc, dec);
  assert.ok(maxDiff(a[0]!.flat(), b[0]!.flat()) < 1e-6, "no prefix (T_p = 0): the same positions");
  assert.ok(
    maxDiff(a[1]!.flat(), b[1]!.flat()) > 1e-4,
    "a 2-token prefix moves the decoder to position 2",
  );
  // A checkpoint's config.json from before the field decodes as it was trained.
  const { decoderPositions: _, ...old } = cfg;
  assert.equal(validateConfig({ ...old }).decoderPositions, "restart");
  assert.throws(
    () => validateConfig({ ...cfg, decoderPositions: "middle" }),
    (e: unknown) =>
      e instanceof ConfigError && /"decoderPositions" must be/.test((e as Error).message),
  );
  tf.dispose(img);
  cont.dispose();
  restart.dispose();
});
