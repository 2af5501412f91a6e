/**
 * Kernel census: which tfjs kernels the product actually dispatches. Runs, on the cpu backend with a
 * hook on every registered kernel, a pretraining run (conv patch stage, PrefixLM with text-only
 * documents, then span corruption), a training step of the linear-patch model, a finetuning run,
 * per-example losses and pair scoring, greedy and beam decoding with a prompt, a prefix and attention
 * capture, and the attention figures built from the captures. Gradients are included: tfjs defines
 * them with forward kernels, so they show up as dispatches too.
 *
 * The fused kernels (lib/backend/fused-ops.ts, dropout.ts) are not registered for cpu, so the census
 * sees their composite fallbacks; the list adds the fused names, and a backend must implement both.
 *
 *   node --import tsx bench/kernel-census.ts [--write]    # --write updates lib/backend/cuda/dispatched-kernels.json
 *
 * test/backend/cuda-registration.test.ts asserts every listed kernel is registered for `cuda`, and
 * reruns the quick part of this census to catch a kernel the list does not have yet.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tf, initBackend } from "../lib/backend/index.ts";
import {
  GELU_KERNEL,
  GELU_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  XENT_KERNEL,
  XENT_GRAD_KERNEL,
  ADAMW_KERNEL,
  SUM_SQUARES_KERNEL,
} from "../lib/backend/fused-ops.ts";
import { DROPOUT_MASK_KERNEL } from "../lib/backend/dropout.ts";

export const CENSUS_FILE = fileURLToPath(
  new URL("../lib/backend/cuda/dispatched-kernels.json", import.meta.url),
);

/** The fused kernels a GPU backend registers (the cpu census sees their composite fallbacks instead). */
export const FUSED_KERNELS = [
  GELU_KERNEL,
  GELU_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  XENT_KERNEL,
  XENT_GRAD_KERNEL,
  ADAMW_KERNEL,
  SUM_SQUARES_KERNEL,
  DROPOUT_MASK_KERNEL,
];

const seen = new Map<string, Set<string>>();
let scenario = "setup";
let hooked = false;

/** Wrap every kernel registered for cpu so each dispatch is recorded under the current scenario. */
function hookCpuKernels(): void {
  if (hooked) return;
  hooked = true;
  for (const k of tf.getKernelsForBackend("cpu")) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, "cpu");
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: Parameters<tf.KernelFunc>[0]) => {
        let s = seen.get(k.kernelName);
        if (!s) seen.set(k.kernelName, (s = new Set()));
        s.add(scenario);
        return inner(args);
      }) as tf.KernelFunc,
    });
  }
}

async function step(name: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  scenario = name;
  const before = tf.memory().numTensors;
  await fn();
  const leaked = tf.memory().numTensors - before;
  if (leaked > 0)
    process.stderr.write(`census: ${name} left ${leaked} tensors (not a census error)\n`);
}

/** A stand-in tokenizer over the model's ids (as bench/decode.ts): the kernels do not depend on the vocabulary. */
function idTokenizer(vocabSize: number) {
  return {
    vocabSize,
    encode: (text: string) => [...text].map((ch) => 4 + (ch.charCodeAt(0) % (vocabSize - 4))),
    decode: (ids: number[]) => ids.map((i) => `t${i}`).join(" "),
    tokenString: (id: number) => `t${id}`,
  };
}

/**
 * Run the scenarios. `quick` (what the test reruns) trains, finetunes and decodes the tiny model
 * with a stand-in tokenizer; the full census adds pretraining runs with a trained tokenizer, span
 * corruption, per-example losses and pair scores, the attention figures and the linear-patch model.
 */
export async function runCensus(opts: { quick?: boolean } = {}): Promise<Map<string, Set<string>>> {
  await initBackend({ backend: "cpu" });
  hookCpuKernels();
  const { pretrain, finetuneModel, exampleLosses, pairBatch, trainStepAsync, AdamW, makeBatch } =
    await import("../lib/train/index.ts");
  const { generate } = await import("../lib/decode/index.ts");
  const { SimVLM, resolveConfig } = await import("../lib/model/index.ts");
  const { mixedExamples, worldExamples } = await import("../test/train/helpers.ts");
  const { trainTokenizer } = await import("../lib/tokenizer/index.ts");
  const { productRunner } = await import("./product-step.ts");
  type Tok = Parameters<typeof generate>[1];

  await step("training step (conv stage, dropout)", async () => {
    const r = productRunner(2, 6, "tiny");
    await r.step(0);
    r.dispose();
  });
  const data = mixedExamples(6, 3);
  let model = new SimVLM(resolveConfig("tiny"), 0);
  let tokenizer = idTokenizer(model.config.vocabSize) as unknown as Tok;
  if (!opts.quick) {
    await step("pretrain prefixlm (conv stage, text-only documents)", async () => {
      const r = await pretrain({
        config: "tiny",
        data,
        steps: 2,
        batchSize: 4,
        seed: 1,
        progress: false,
      });
      model.dispose();
      model = r.model;
      tokenizer = r.tokenizer;
    });
  }
  const pairs = worldExamples(4, 7).map((e, i) => ({
    id: e.id,
    image: i % 2 ? e.image : undefined,
    prefix: i % 2 ? "what is it" : "the premise",
    target: e.text,
  }));
  await step("finetune (image and text-only pairs)", async () => {
    const r = await finetuneModel(model, tokenizer, pairs, {
      steps: opts.quick ? 1 : 2,
      batchSize: 4,
      seed: 2,
      progress: false,
    });
    r.optimizer.dispose();
  });
  const images = worldExamples(2, 9).map((e) => e.image!);
  await step("greedy decoding with a prompt", () =>
    generate(model, tokenizer, { images, prompt: "a picture of", maxLen: 3, progress: false }),
  );
  await step("beam decoding with a prefix and attention capture", () =>
    generate(model, tokenizer, {
      images,
      prefixTexts: ["what colour", "how many"],
      beam: 3,
      maxLen: 3,
      captureAttention: true,
      progress: false,
    }),
  );
  if (!opts.quick) {
    await step("pretrain span corruption", async () => {
      const r = await pretrain({
        config: "tiny",
        data,
        steps: 1,
        batchSize: 4,
        seed: 3,
        objective: "span",
        progress: false,
      });
      r.model.dispose();
    });
    await step("per-example losses and pair scores", async () => {
      const batch = pairBatch(pairs, tokenizer, model.config);
      exampleLosses(model, batch);
      const { batchRowStats } = await import("../lib/eval/tasks/pairs.ts");
      batchRowStats(model, batch);
      tf.dispose([
        batch.inputs.images ?? [],
        batch.inputs.hasImage ?? [],
        batch.inputs.encIds,
        batch.inputs.decIn,
        batch.targets,
        batch.lossMask,
      ]);
    });
    await step("attention capture and figures", async () => {
      const g = await generate(model, tokenizer, {
        images: images.slice(0, 1),
        maxLen: 3,
        captureAttention: true,
        progress: false,
      });
      const { attentionFigure, attentionGridFigure } = await import("../lib/viz/index.ts");
      await attentionFigure({ capture: g.attention![0]!, image: images[0]! });
      await attentionGridFigure({ capture: g.attention![0]!, image: images[0]! });
    });
    await step("training step, linear patches (the reference model's kind)", async () => {
      const cfg = resolveConfig({
        base: "reference",
        dModel: 32,
        heads: 2,
        encLayers: 1,
        decLayers: 1,
        ffn: 64,
        vocabSize: 60,
        imageSize: 32,
        patchSize: 8,
      });
      const m = new SimVLM(cfg, 0);
      const opt = new AdamW(m.weights(), { weightDecay: 0.01, clipNorm: 1 });
      const tok = await trainTokenizer(
        data.map((e) => e.text),
        { vocabSize: 60 },
      );
      const { Rng } = await import("../lib/util/rng.ts");
      const batch = makeBatch(data.slice(0, 4), tok, cfg, {
        objective: "prefixlm",
        prefix: { mode: "random" },
        rng: new Rng(4),
      });
      await trainStepAsync(m, opt, batch, { lr: 1e-3, dropoutSeed: 5 });
      tf.dispose([
        batch.inputs.images ?? [],
        batch.inputs.hasImage ?? [],
        batch.inputs.encIds,
        batch.inputs.decIn,
        batch.targets,
        batch.lossMask,
      ]);
      opt.dispose();
      m.dispose();
    });
  }
  model.dispose();
  return seen;
}

/** The committed list: kernel names, sorted, fused ones included. */
export function censusList(found: Map<string, Set<string>>): string[] {
  return [...new Set([...found.keys(), ...FUSED_KERNELS])].sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = performance.now();
  const found = await runCensus({ quick: process.argv.includes("--quick") });
  const list = censusList(found);
  for (const name of list)
    console.log(
      `${name.padEnd(28)} ${[...(found.get(name) ?? ["fused kernel (not on cpu)"])].join("; ")}`,
    );
  console.log(`${list.length} kernels, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (process.argv.includes("--write")) {
    writeFileSync(
      CENSUS_FILE,
      JSON.stringify(
        {
          about:
            "tfjs kernels dispatched by training, finetuning, decoding, attention capture and the figures (bench/kernel-census.ts); the cuda backend must register each",
          kernels: list,
        },
        null,
        2,
      ) + "\n",
    );
    console.log(`wrote ${CENSUS_FILE}`);
  }
}
