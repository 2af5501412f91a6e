import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { tf, initBackend } from "../../lib/backend/index.ts";
import { pretrain } from "../../lib/train/pretrain.ts";
import { makeBatch, disposeBatch, SPAN_SENTINELS } from "../../lib/train/batch.ts";
import { trainStep } from "../../lib/train/step.ts";
import { AdamW, DECAY_KINDS } from "../../lib/train/optimizer.ts";
import { loadModel } from "../../lib/train/model-io.ts";
import { loadCheckpoint } from "../../lib/train/checkpoint.ts";
import { CheckpointError, TrainConfigError } from "../../lib/train/errors.ts";
import { SimVLM } from "../../lib/model/simvlm.ts";
import { Rng } from "../../lib/util/rng.ts";
import { wordTokenizer, tiny, worldExamples, mixedExamples } from "./helpers.ts";

before(async () => {
  await initBackend();
});
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "simvlm-train-"));

test("the tiny model drives the loss below 0.05 on 8 fixed examples", async () => {
  const r = await pretrain({
    config: { base: "tiny", dropout: 0 },
    data: worldExamples(8),
    steps: 100,
    batchSize: 8,
    lr: 5e-3,
    decay: "constant",
    weightDecay: 0,
    prefix: { mode: "none" },
    progress: false,
  });
  try {
    const losses = r.rows.map((x) => x.loss);
    assert.equal(r.stopped, "done");
    assert.ok(losses[0]! > 4, `starts near ln(vocab): ${losses[0]}`);
    assert.ok(losses.at(-1)! < 0.05, `final loss ${losses.at(-1)}`);
  } finally {
    r.model.dispose();
  }
});

test("no tensor leaks: the tensor count is unchanged across 50 training steps", () => {
  const cfg = tiny();
  const tok = wordTokenizer(cfg.vocabSize - SPAN_SENTINELS);
  const model = new SimVLM(cfg, 0);
  const opt = new AdamW(model.weights());
  const exs = mixedExamples(2, 1);
  const rng = new Rng(0);
  const step = (i: number) => {
    const b = makeBatch(exs, tok, cfg, { objective: "prefixlm", rng });
    try {
      return trainStep(model, opt, b, { lr: 1e-3, dropoutSeed: i });
    } finally {
      disposeBatch(b);
    }
  };
  step(0);
  const before = tf.memory().numTensors;
  for (let i = 1; i <= 50; i++) step(i);
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  model.dispose();
});

const common = { config: { base: "tiny" }, batchSize: 4, lr: 2e-3, progress: false as const };

test("resume is bit-exact: 3 steps + save + resume 3 == 6 straight (dropout on, mixed batches); also after an interrupt", async () => {
  const data = mixedExamples(6, 3);
  const [a, b, c] = [tmp(), tmp(), tmp()];
  try {
    const straight = await pretrain({ ...common, data, steps: 6, outDir: a });
    straight.model.dispose();
    const first = await pretrain({ ...common, data, steps: 6, until: 3, outDir: b });
    assert.equal(first.stopped, "until");
    assert.equal(first.step, 3);
    first.model.dispose();
    // A copy with the links dereferenced (plain files) resumes too, and is converted on its first save.
    const d = path.join(tmp(), "copy");
    fs.cpSync(b, d, { recursive: true, dereference: true });
    assert.ok(!fs.lstatSync(path.join(d, "weights.safetensors")).isSymbolicLink());
    const fromCopy = await pretrain({ data, steps: 6, outDir: d, resume: true, progress: false });
    fromCopy.model.dispose();
    assert.ok(fs.lstatSync(path.join(d, "weights.safetensors")).isSymbolicLink());
    assert.ok(
      fs
        .readFileSync(path.join(a, "weights.safetensors"))
        .equals(fs.readFileSync(path.join(d, "weights.safetensors"))),
      "weights identical from a copy",
    );
    fs.rmSync(path.dirname(d), { recursive: true, force: true });
    const second = await pretrain({ data, steps: 6, outDir: b, resume: true, progress: false });
    assert.equal(second.step, 6);
    assert.equal(second.stopped, "done");
    second.model.dispose();
    assert.ok(
      fs
        .readFileSync(path.join(a, "weights.safetensors"))
        .equals(fs.readFileSync(path.join(b, "weights.safetensors"))),
      "weights identical",
    );
    assert.ok(
      fs
        .readFileSync(path.join(a, "optimizer.safetensors"))
        .equals(fs.readFileSync(path.join(b, "optimizer.safetensors"))),
      "optimizer identical",
    );
    const rows = (d: string) =>
      fs
        .readFileSync(path.join(d, "train.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { step: number; loss: number });
    assert.deepEqual(
      rows(b).map((r) => [r.step, r.loss]),
      rows(a).map((r) => [r.step, r.loss]),
      "the log continues seamlessly",
    );
    for (const k of ["step", "loss", "lr", "grad_norm", "examples_per_s"])
      assert.ok(k in rows(a)[0]!, k);

    // An abort stops at a step boundary and saves; resuming gives the same model as straight.
    const ac = new AbortController();
    const cut = await pretrain({
      ...common,
      data,
      steps: 6,
      outDir: c,
      signal: ac.signal,
      onStep: (r) => {
        if (r.step === 2) ac.abort();
      },
    });
    assert.equal(cut.stopped, "aborted");
    assert.equal(cut.step, 2);
    cut.model.dispose();
    const rest = await pretrain({ data, steps: 6, outDir: c, resume: true, progress: false });
    rest.model.dispose();
    assert.ok(
      fs
        .readFileSync(path.join(a, "weights.safetensors"))
        .equals(fs.readFileSync(path.join(c, "weights.safetensors"))),
      "weights identical after interrupt + resume",
    );

    // Resuming with different settings, or without resume into a used directory, is refused by name.
    await assert.rejects(
      pretrain({ data, steps: 6, outDir: b, resume: true, batchSize: 8, progress: false }),
      /batchSize/,
    );
    await assert.rejects(
      pretrain({ ...common, data, steps: 6, outDir: b }),
      /already holds a checkpoint \(step 6\)/,
    );

    // loadModel gives the trained model back.
    const { model, tokenizer, config, meta } = await loadModel(a);
    assert.equal(meta.step, 6);
    assert.equal(config.name, "tiny");
    assert.ok(tokenizer.vocabSize <= config.vocabSize - SPAN_SENTINELS);
    const w = model.weights().get("tok.embedding")!.dataSync();
    const saved = loadCheckpoint(a).weights.get("tok.embedding")!.data;
    assert.deepEqual(Array.from(w), Array.from(saved));
    model.dispose();
  } finally {
    for (const d of [a, b, c]) fs.rmSync(d, { recursive: true, force: true });
  }
});

test("lm and span objectives train end to end through pretrain", async () => {
  for (const objective of ["lm", "span"] as const) {
    const r = await pretrain({ ...common, data: mixedExamples(4, 2), steps: 2, objective });
    assert.equal(r.rows.length, 2);
    assert.ok(r.rows.every((x) => Number.isFinite(x.loss) && x.loss > 0));
    r.model.dispose();
  }
});

test("a truncated or corrupted checkpoint → one CheckpointError naming the file; a crashed save leaves the last one usable", async () => {
  const dir = tmp();
  try {
    const r = await pretrain({ ...common, data: mixedExamples(2, 1), steps: 1, outDir: dir });
    r.model.dispose();
    const real = (name: string) => fs.realpathSync(path.join(dir, name));
    const expectError = async (name: string, re: RegExp) => {
      for (const load of [() => loadModel(dir), async () => loadCheckpoint(dir)]) {
        await assert.rejects(load(), (e: unknown) => {
          assert.ok(e instanceof CheckpointError, String(e));
          assert.ok((e as Error).message.includes(path.join(dir, name)), (e as Error).message);
          assert.match((e as Error).message, re);
          return true;
        });
      }
    };
    // A crash mid-save: a half-written next checkpoint is ignored.
    fs.mkdirSync(path.join(dir, "checkpoints", ".tmp-step-000002-1-1"));
    fs.writeFileSync(
      path.join(dir, "checkpoints", ".tmp-step-000002-1-1", "weights.safetensors"),
      "junk",
    );
    (await loadModel(dir)).model.dispose();

    const weights = fs.readFileSync(real("weights.safetensors"));
    fs.writeFileSync(real("weights.safetensors"), weights.subarray(0, weights.length - 100));
    await expectError("weights.safetensors", /truncated/);
    const flipped = Buffer.from(weights);
    flipped[flipped.length - 7]! ^= 0x10;
    fs.writeFileSync(real("weights.safetensors"), flipped);
    await expectError("weights.safetensors", /corrupted/);
    fs.writeFileSync(real("weights.safetensors"), weights);

    const config = fs.readFileSync(real("config.json"));
    fs.writeFileSync(real("config.json"), config.subarray(0, 20));
    await expectError("config.json", /truncated/);
    fs.writeFileSync(real("config.json"), config);

    const tokFile = real("tokenizer.json"),
      tok = fs.readFileSync(tokFile);
    fs.rmSync(tokFile);
    await expectError("tokenizer.json", /missing/);
    fs.writeFileSync(tokFile, tok);

    const state = fs.readFileSync(real("state.json"));
    fs.writeFileSync(real("state.json"), state.subarray(0, state.length >> 1));
    await expectError("state.json", /truncated or corrupted/);
    fs.writeFileSync(real("state.json"), state);

    // The optimizer file matters for resume, not for loadModel.
    const opt = fs.readFileSync(real("optimizer.safetensors"));
    fs.writeFileSync(real("optimizer.safetensors"), opt.subarray(0, 50));
    await assert.rejects(
      pretrain({ data: mixedExamples(2, 1), steps: 2, outDir: dir, resume: true, progress: false }),
      (e: unknown) =>
        e instanceof CheckpointError &&
        (e as Error).message.includes(path.join(dir, "optimizer.safetensors")),
    );
    fs.writeFileSync(real("optimizer.safetensors"), opt);
    (await loadModel(dir)).model.dispose();
    await assert.rejects(
      loadModel(path.join(dir, "nope")),
      (e: unknown) => e instanceof CheckpointError && /nope/.test((e as Error).message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("pretrain refuses an lr schedule outside DECAY_KINDS by the option's name, before any work", async () => {
  const dir = tmp();
  try {
    await assert.rejects(
      pretrain({
        data: worldExamples(2),
        steps: 1,
        decay: "step" as never,
        outDir: dir,
        progress: false,
      }),
      (e: unknown) =>
        e instanceof TrainConfigError &&
        e.option === "decay" &&
        (e as Error).message === `decay must be one of ${DECAY_KINDS.join(", ")}, got "step"`,
    );
    assert.deepEqual(fs.readdirSync(dir), [], "nothing written");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("loadModel works as the first call of a fresh process (it sets the backend up itself)", async () => {
  const dir = tmp();
  try {
    (
      await pretrain({
        config: { base: "tiny" },
        data: worldExamples(2),
        steps: 1,
        batchSize: 2,
        outDir: dir,
        progress: false,
      })
    ).model.dispose();
    const modelIo = new URL("../../lib/train/model-io.ts", import.meta.url).href;
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `const { loadModel } = await import(${JSON.stringify(modelIo)}); const m = await loadModel(process.argv[1]); console.log("step", m.meta.step); m.model.dispose();`,
        dir,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /step 1/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
