// %% [markdown]
// # 01 · PrefixLM pretraining
//
// SimVLM (Wang et al., 2021, arXiv 2108.10904) pretrains a vision-language model with one objective,
// **PrefixLM**: the image and the first *T_p* words of its text go into a Transformer **encoder**,
// which reads them in both directions; a **decoder** then writes the rest of the text one token at a
// time. There is no masking vocabulary, no object detector and no auxiliary loss: weak image–alt-text
// pairs plus plain text documents are enough.
//
// In this notebook we
//
// 1. look at the data: the built-in *shapes* world, with noisy web-style alt-text and text-only documents;
// 2. train a subword tokenizer and draw the PrefixLM attention mask for a real example;
// 3. build the model and pretrain it, watching a live training plot;
// 4. caption test images the model has never seen, and look at where it attends;
// 5. **measure** what it learned with the project's evaluation protocol, on a fixed test split:
//    zero-shot captioning (with and without the prompt "a picture of", given two ways), captioning and
//    VQA after a fixed small finetune, and the pretraining loss against an image-blind language model,
//    each next to blind baselines and a from-scratch model, with intervals;
// 6. write every number to `notebooks/results/01-prefixlm-pretraining.json` and close with what this
//    shows and what it does not, claim by claim against the paper;
// 7. save the checkpoint that [notebook 03](03-zero-shot-transfer.ipynb) reuses.
//
// Every number below is computed by the cells, and every sentence about a result is generated from
// the results file. Set `SIMVLM_QUICK=1` before starting the kernel for a fast smoke run (tiny model,
// few steps: the numbers are then meaningless, the code paths are the real ones).

// %%
import {
  initBackend, makeWorld, openStream, trainTokenizer, SPAN_SENTINELS, drawPrefixLength, Rng, resolveConfig,
  gridSide, SimVLM, runGrid, RunCache, pretrainCheckpoint, readTrainLog, liveTrainingPlot, prefixMaskFigure, generate, attentionFigure, encodePng,
  evalCaptioning, evalVqa, finetuneModel, taskPairs, loadModel, readCheckpointMeta, splitHash, codeVersion,
  WORLD_DATA_SEED, ENTAILMENT_LABELS, entailmentPrefix, bestConstantCaption, mostFrequentCaption, fitVqaPrior, evalVqaPrior,
  vqaAccuracy, captionItemStats, captionStatistic, reportMetric, compareSystems, claimVerdict, metricsTable, intervalNote,
  metricMean, writeResultsFile, isNotApplicable, meanStatistic, fitNgramBaseline, ngramPrefixLosses, prefixLosses, prefixLengthSupport, seedMetric, lossByPrefixLength,
} from "simvlm";
import type {
  RgbImage, Example, AnnotatedImage, SimVLM as Model, CaptionItemStats, CaptionItemMetric, ItemStatistic,
  ResultsFile, ClaimRecord, ProtocolComparison, ReportedMetric, PrefixLossReport, PrefixOptions, TrainLogRow,
} from "simvlm";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const QUICK = process.env.SIMVLM_QUICK === "1";
const STARTED = Date.now();

// ═══════════════════════════ SETTINGS: every size, length and step count of this notebook ═══════════════════════════
// quick = the CI smoke run (SIMVLM_QUICK=1); full = the committed run. Change values here and nowhere else.
const SETTINGS = QUICK ? {
  config: { base: "tiny", maxTextLen: 56 },  // maxTextLen: the longest entailment item (hypothesis + premise) of notebook 03 must fit
  seeds: [0],                                 // training seeds; one seed → intervals over test items only
  tokenizerExamples: 300,                     // stream examples the tokenizer is trained on
  pretrain: { steps: 30, batchSize: 8, lr: 1e-3 },
  prefix: { mode: "random", kMax: 2 } as PrefixOptions, // PrefixLM's T_p distribution (pretraining, and the random-T_p loss): full mode's
  workers: 1,                                 // one worker process: the full run's code path, at smoke-test size
  captionFinetune: { images: 40, steps: 10, batchSize: 8, lr: 1e-3 },
  vqaFinetune: { images: 40, steps: 10, batchSize: 8, lr: 1e-3 },
  baselines: { trainImages: 100, valImages: 20 }, // train records the baselines are fitted on; val records that choose the constant caption
  testImages: 24,
  captionMaxLen: 24,
  bootstrapResamples: 500,
} : {
  // Full mode, from exploratory single-seed runs on the 2-core machine (val split, 150 images; the
  // results file records what this notebook's run measured and how long it took):
  // - d 64, 2 + 2 layers, FFN 256, conv [16, 32, 64] at 64 px learns as fast per step as `small`
  //   (d 128, 3 + 3) at about half the cost (~115 CPU-ms per step of 16); dropout 0 and (with the
  //   0.02 init below) lr 2e-3 shortened the plateau before shapes are learned;
  // - random T_p learns to ground its text in the image far later than T_p = 0. At 8k steps (8k-step
  //   schedule, seed 0) object F1 was 0.48 for T_p = 0 but 0.08 for random T_p over half the text
  //   (the library's default), 0.16 with at most 1 prefix token and 0.25 with at most 2. Without the
  //   text-only documents random T_p was as slow (F1 0.08 at 4k, against 0.17 for T_p = 0), so the
  //   text prefixes of the image-text pairs are what delays it;
  // - so T_p is drawn uniformly from 0…2 text tokens (kMax 2): still PrefixLM (the paper only asks
  //   T_p ≥ T_i, drawn at random) with image-only prefixes common. One seed of it on a 16k-step
  //   schedule reached val F1 0.18 at 8k and 0.36 (CIDEr-D 1.78) at 12k;
  // - the dense layers' init was GPT-2's N(0, 0.02), 6× smaller than fan-in scaling at d 64; with
  //   N(0, 1/fan-in) (docs/model.md) the same setting (8k schedule, seed 0) reached val F1 0.07 / 0.12
  //   / 0.23 / 0.34 at 2k / 4k / 6k / 8k, against 0.03 / 0.07 / 0.15 / 0.25 before. With that init
  //   lr 4e-3 was worse (F1 0.01 at 2k) and 1e-3 better early (F1 0.10 at 2k, train loss 1.59 against
  //   1.62 at 3k), so the peak lr is 1e-3 (one seed, early in training: a choice, not a finding);
  // - an earlier full run of this notebook (0.02 init, 15k steps) took 62.8 min: 55 min of training
  //   for 3 × 15k steps in 3 worker processes on the 2 cores. 12k steps keeps it under 60 minutes.
  config: { base: "small", dModel: 64, heads: 4, encLayers: 2, decLayers: 2, ffn: 256, convChannels: [16, 32, 64], dropout: 0, maxTextLen: 56 },
  seeds: [0, 1, 2],                          // issue 14: ≥ 3 training seeds
  tokenizerExamples: 2000,
  pretrain: { steps: 12000, batchSize: 16, lr: 1e-3 },
  prefix: { mode: "random", kMax: 2 } as PrefixOptions,
  workers: 3,                                // one worker process per seed: 3 processes share the 2 cores
  captionFinetune: { images: 500, steps: 300, batchSize: 16, lr: 1e-3 },
  vqaFinetune: { images: 500, steps: 300, batchSize: 16, lr: 1e-3 },
  baselines: { trainImages: 500, valImages: 100 },
  testImages: 200,
  captionMaxLen: 24,
  bootstrapResamples: 10_000,
};
// ═════════════════════════════════════════════════════════════════════════════════════════════════════════════════════

const NOTEBOOK = "01-prefixlm-pretraining";
const DATA_SEED = WORLD_DATA_SEED; // the world (data and splits) is fixed; training seeds only order it and initialise the model
const SEEDS = SETTINGS.seeds;
const PROMPT = "a picture of";
// Checkpoints live under the (git-ignored) cache folder; notebook 03 loads the first seed's.
const CACHE = process.env.SIMVLM_CACHE_DIR ?? path.resolve("..", ".simvlm-cache");
const CKPT = path.join(CACHE, "notebooks", QUICK ? "01-checkpoint-quick" : "01-checkpoint");
// Beside the notebook (notebooks/results/), unless the runner points elsewhere (SIMVLM_RESULTS_DIR: a test run
// with --out writes there, never over the committed file).
const RESULTS = path.join(process.env.SIMVLM_RESULTS_DIR ?? path.resolve("results"), `${NOTEBOOK}.json`);
const BOOT = { resamples: SETTINGS.bootstrapResamples, seed: 0 };
const cfg = resolveConfig(SETTINGS.config);
const backend = await initBackend();
display.markdown(`Mode **${QUICK ? "quick" : "full"}** · backend **${backend.name}** (${backend.threads} thread(s)) · model \`${cfg.name}\` ` +
  `(base \`${SETTINGS.config.base}\`, maxTextLen ${cfg.maxTextLen}) · ${SETTINGS.pretrain.steps} steps of ${SETTINGS.pretrain.batchSize} examples · ` +
  `training seed(s) ${SEEDS.join(", ")} · world data seed ${DATA_SEED} · checkpoint \`${path.relative(path.resolve(".."), CKPT)}\``);
if (QUICK) display.markdown("**This is a quick-mode smoke run** (SIMVLM_QUICK=1): a tiny model trained for a handful of steps, to check that every code path runs. " +
  "Its numbers are not results: they say nothing for or against the paper, and every claim below is marked *not tested*. The full-mode run is what measures something.");

// %% [markdown]
// ## 1 · The data
//
// The built-in world draws coloured shapes on a canvas. Each image comes with
//
// - **alt-text**: short, noisy, web-style text (sometimes off-topic filler) — the pretraining text, the role ALIGN's alt-text plays in the paper;
// - clean **reference captions** (COCO-style, several per image), **VQA** questions and **entailment** hypotheses — used only for evaluation and finetuning.
//
// The pretraining stream mixes image–alt-text pairs with **text-only documents** (the role C4 plays in the paper):
// after every `textOnlyEvery` image examples comes one document, the paper's 4,096 : 512 batch ratio.
// The world is fixed by its *data seed*: the training seed only changes the order in which the stream
// visits it, so every training seed is evaluated on the same test records.

// %%
/** Tile images into one picture (nearest-neighbour upscaling, white gaps). */
function tile(images: RgbImage[], cols: number, scale = 2, gap = 4): RgbImage {
  const w = images[0]!.width * scale, h = images[0]!.height * scale;
  const rows = Math.ceil(images.length / cols);
  const W = cols * w + (cols - 1) * gap, H = rows * h + (rows - 1) * gap;
  const data = new Uint8Array(W * H * 3).fill(255);
  images.forEach((img, i) => {
    const ox = (i % cols) * (w + gap), oy = Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / scale) * img.width + Math.floor(x / scale)) * 3, d = ((oy + y) * W + ox + x) * 3;
      data[d] = img.data[s]!; data[d + 1] = img.data[s + 1]!; data[d + 2] = img.data[s + 2]!;
    }
  });
  return { width: W, height: H, data };
}
const esc = (s: string) => s.replace(/\|/g, "\\|");
const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(3));

const DATA = { source: "shapes" as const, split: "train" as const, dataSeed: DATA_SEED };
const stream = await openStream({ ...DATA, textOnlyEvery: 8 }, { seed: SEEDS[0]!, imageSize: cfg.imageSize });
const first: Example[] = await stream.next(9);
display.png(encodePng(tile(first.filter((e) => e.image).map((e) => e.image!), 8, 2)));
display.markdown(["| # | kind | text (what the model is trained on) |", "|---|---|---|",
  ...first.map((e, i) => `| ${i} | ${e.image ? "image + alt-text" : "**text-only document**"} | ${esc(e.text)} |`)].join("\n"));

// %% [markdown]
// The alt-text is a weak signal: compare it with the clean captions of the same images, which the
// model never sees during pretraining.

// %%
const peek = makeWorld({ dataSeed: DATA_SEED, split: "train", n: 3 });
display.markdown(["| image | alt-text | reference captions (evaluation only) |", "|---|---|---|",
  ...peek.map((r) => `| ${r.id} | ${esc(r.altText)} | ${r.captions.map(esc).join("<br>")} |`)].join("\n"));

// %% [markdown]
// ## 2 · Tokenizer and the PrefixLM mask
//
// One byte-pair-encoding tokenizer serves the whole experiment (every seed, every finetune, notebook 03).
// It is trained on the pretraining texts (alt-texts and documents), the clean captions, and the words
// of the downstream tasks' train split (VQA questions and answers, entailment hypotheses and labels),
// so that a label such as "contradiction" is a word to the model rather than a string of letters.
// Only the vocabulary sees these texts; the model never trains on them here. The top rows of the
// embedding stay free for the sentinel tokens of notebook 02's span-corruption baseline.

// %%
const tokTexts: string[] = [], lmTexts: string[] = []; // lmTexts: the pretraining texts alone (the image-blind LM's training set)
for (const e of await (await openStream({ ...DATA, textOnlyEvery: 8 }, { seed: SEEDS[0]!, imageSize: cfg.imageSize })).next(SETTINGS.tokenizerExamples)) {
  tokTexts.push(e.text);
  lmTexts.push(e.text);
  const caps = e.meta?.captions;
  if (Array.isArray(caps)) tokTexts.push(...caps.map(String));
}
const taskPool = makeWorld({ dataSeed: DATA_SEED, split: "train", n: Math.max(SETTINGS.baselines.trainImages, SETTINGS.captionFinetune.images, SETTINGS.vqaFinetune.images), size: cfg.imageSize });
for (const r of taskPool) {
  for (const q of r.vqa) tokTexts.push(q.question, ...new Set(q.answers));
  for (const e of r.entailment) tokTexts.push(e.hypothesis, e.label);
}
const tokenizer = await trainTokenizer(tokTexts, { vocabSize: cfg.vocabSize - SPAN_SENTINELS });
const example = first.find((e) => e.image)!;
const ids = tokenizer.encode(example.text);
const tokens = ids.map((id) => tokenizer.tokenString(id));
// The longest entailment text notebook 03 feeds the encoder (hypothesis, then the premise).
const entLens = makeWorld({ dataSeed: DATA_SEED, split: "test", n: Math.min(300, 3 * SETTINGS.testImages) })
  .flatMap((r) => r.entailment.map((e) => tokenizer.encode(entailmentPrefix(e.hypothesis, e.premise)).length));
const entMax = Math.max(...entLens);
display.markdown(`Tokenizer: **${tokenizer.vocabSize}** tokens, trained on ${tokTexts.length} texts. Labels: ${ENTAILMENT_LABELS.map((l) => `\`${l}\` → ${tokenizer.encode(l).length} token(s)`).join(", ")}.\n\n` +
  `\`${esc(example.text)}\` → ${ids.length} tokens: ${tokens.map((t) => `\`${t}\``).join(" ")}\n\n` +
  `Longest entailment text (hypothesis + premise) on ${entLens.length} test items: **${entMax}** tokens; the encoder reads ${cfg.maxTextLen}: ` +
  (entMax <= cfg.maxTextLen ? "every item fits whole." : `**${entLens.filter((l) => l > cfg.maxTextLen).length} items would lose the end of their premise** (raise maxTextLen in SETTINGS).`));

// %% [markdown]
// For an image–text pair, PrefixLM draws a prefix length *T_p* at random for every example (here
// uniformly from 0 to `kMax` text tokens, set in `SETTINGS.prefix`; the library's default kMax is
// half the text), puts the image patches and the first *T_p* tokens in the encoder and asks the decoder to produce the remaining tokens. The diagram shows who may attend to
// whom for this example: image patches and prefix tokens see each other in both directions
// (blue/orange), suffix tokens see the whole prefix and only *earlier* suffix tokens (green, causal).
// *T_p = 0* is plain image captioning; a text-only document always gets *T_p ≥ 1*, since it has no image to condition on.

// %%
const tp = drawPrefixLength(ids.length, true, SETTINGS.prefix, new Rng(SEEDS[0]! + 3));
const numPatches = gridSide(cfg) ** 2;
const maskFig = await prefixMaskFigure({ tokens, numPatches, tp, maxPatchColumns: 8 });
display(maskFig);
const support = prefixLengthSupport(ids.length, true, SETTINGS.prefix);
display.markdown(`Drawn *T_p* = **${tp}** of ${ids.length} tokens (uniform over ${support[0]}…${support.at(-1)}); the ${numPatches} image patches (a grid of ${gridSide(cfg)} × ${gridSide(cfg)}) ` +
  `are drawn as 8 columns because they all share one mask pattern. Prefix: \`${tokens.slice(0, tp).join(" ")}\` · ` +
  `suffix (predicted): \`${tokens.slice(tp).join(" ")}\``);

// %% [markdown]
// ## 3 · The model
//
// A convolutional stage (the paper uses the first blocks of a ResNet) turns the image into a grid of
// patch embeddings; the prefix tokens are embedded and appended; the encoder runs over both; the
// decoder cross-attends to the encoder output.

// %%
const probe = new SimVLM(cfg, SEEDS[0]!);
const params = probe.countParams();
probe.dispose();
display.markdown(["| field | value |", "|---|---|",
  ...Object.entries(cfg).map(([k, v]) => `| ${k} | ${Array.isArray(v) ? v.join(", ") : v} |`),
  `| **parameters** | **${params.toLocaleString("en-US")}** |`].join("\n"));

// %% [markdown]
// ## 4 · Pretraining
//
// AdamW with linear warmup and decay, gradient clipping, random *T_p* per example, and one text-only
// document after every eight image examples. The plot below updates in place while the cell runs
// (loss, learning rate, throughput) and stays in the notebook afterwards. Each training seed gets its
// own run and checkpoint (weights, optimizer state, tokenizer, data cursor); the first seed's model
// is the one the rest of the notebook shows.

// %%
const training: { seed: number; steps: number; seconds: number; firstLoss: number; lastLoss: number; cached: boolean }[] = [];
// Every seed shares the tokenizer above (one tokenizer per experiment): the worker processes read it from this file.
const TOKENIZER_FILE = path.join(CACHE, "notebooks", `01-tokenizer${QUICK ? "-quick" : ""}.json`);
fs.mkdirSync(path.dirname(TOKENIZER_FILE), { recursive: true });
const TOKENIZER_JSON = tokenizer.toJSON();
fs.writeFileSync(TOKENIZER_FILE, TOKENIZER_JSON);
const plots = new Map(SEEDS.map((seed) => [seed, liveTrainingPlot({ title: `PrefixLM pretraining (${cfg.name}, seed ${seed})` })]));
for (const p of plots.values()) p.show(); // in seed order, whichever worker reports first
const cachedSeeds = new Set<number>();
const tPretrain = Date.now();
const pretrained = await runGrid({
  name: `${NOTEBOOK}${QUICK ? "-quick" : ""}`, run: "pretrain", seeds: SEEDS,
  base: {
    config: SETTINGS.config, data: DATA, textOnlyEvery: 8, objective: "prefixlm", prefix: SETTINGS.prefix,
    steps: SETTINGS.pretrain.steps, batchSize: SETTINGS.pretrain.batchSize, lr: SETTINGS.pretrain.lr,
    tokenizerFile: TOKENIZER_FILE, tokenizerSha256: createHash("sha256").update(TOKENIZER_JSON).digest("hex"),
  },
}, {
  cacheDir: CACHE, workers: SETTINGS.workers,
  onRunProgress: (spec, p) => plots.get(spec.seed)!.onStep(p.metrics as unknown as TrainLogRow),
  onRun: (r, cached) => { if (cached) cachedSeeds.add(r.seed); },
});
const pretrainWallSeconds = (Date.now() - tPretrain) / 1000;
const runCache = new RunCache(CACHE);
const ckptDirs = new Map(pretrained.rows.map((r) => [r.seed, pretrainCheckpoint(runCache.runDir(r.key))]));
const ckptOf = (seed: number) => ckptDirs.get(seed)!;
for (const r of pretrained.rows) {
  const plot = plots.get(r.seed)!;
  // A seed read from the run cache trained in an earlier run: its plot is drawn from its log.
  if (cachedSeeds.has(r.seed))
    for (const row of readTrainLog(ckptOf(r.seed))) plot.onStep(row);
  plot.finish();
  training.push({ seed: r.seed, steps: r.metrics.steps!, seconds: r.seconds, firstLoss: r.metrics.first_tenth_loss!, lastLoss: r.metrics.last_tenth_loss!, cached: cachedSeeds.has(r.seed) });
}
training.sort((a, b) => a.seed - b.seed);
// Notebook 03 starts from the first seed's model: a copy at the notebook's checkpoint path.
fs.rmSync(CKPT, { recursive: true, force: true });
fs.cpSync(ckptOf(SEEDS[0]!), CKPT, { recursive: true });
const model: Model = (await loadModel(CKPT)).model;
display.markdown(training.map((t) => `Seed ${t.seed}: **${t.steps}** steps in **${t.seconds.toFixed(0)} s**${t.cached ? " (an earlier run of these settings and code, read from the run cache)" : ""}. ` +
  `Mean loss over the first tenth of training **${t.firstLoss.toFixed(3)}**, over the last tenth **${t.lastLoss.toFixed(3)}**.`).join("\n\n") +
  `\n\n${SEEDS.length} seed(s) trained ${SETTINGS.workers > 0 ? `in ${SETTINGS.workers} worker process${SETTINGS.workers > 1 ? "es" : ""} at once` : "one after another in this kernel"}; the runs are cached by their settings and the library's code ` +
  `(\`${path.relative(path.resolve(".."), runCache.root)}/runs/\`), so rerunning this notebook unchanged loads them instead of training again.`);

// %% [markdown]
// ## 5 · Captions for unseen test images
//
// Greedy decoding from the image alone (*T_p = 0*): the image-only prefix. The model was pretrained
// on alt-text, not on the clean captions, so its text is to be read against the reference caption
// beside it; section 8 measures it. The test split is fixed (its SHA-256 is stored in the results file).

// %%
const test = makeWorld({ dataSeed: DATA_SEED, split: "test", n: SETTINGS.testImages, size: cfg.imageSize });
const shown = test.slice(0, 8);
const out = await generate(model, tokenizer, { images: shown.map((t) => t.image), maxLen: SETTINGS.captionMaxLen });
display.png(encodePng(tile(shown.map((t) => t.image), 8, 2)));
display.markdown(["| # | objects in the picture | generated | a reference caption |", "|---|---|---|---|",
  ...shown.map((t, i) => `| ${i} | ${t.objects.map((o) => `${o.size} ${o.color} ${o.shape}`).join(", ")} | ${esc(out.texts[i]!)} | ${esc(t.captions[0]!)} |`)].join("\n"));

// %% [markdown]
// ## 6 · Where does the model look?
//
// For a few test images we run the decoder over its own caption with attention capture on, and show
// the decoder's **cross-attention** from each generated token to the image patches (and the prefix
// tokens, when there are any), overlaid on the image. The interactive figure has a token slider and a
// menu for the layer, the head mean, single heads and the **attention rollout** through the encoder
// (Abnar & Zuidema, 2020); the PNG under it is the same overlay for a few tokens, for viewers that do
// not run scripts. Colour words should light up their shapes once the model has learned them.

// %%
const picks = test.slice(0, QUICK ? 1 : 3);
const withAttention = await generate(model, tokenizer, { images: picks.map((t) => t.image), captureAttention: true, maxLen: SETTINGS.captionMaxLen });
for (let i = 0; i < picks.length; i++) {
  const fig = await attentionFigure({ image: picks[i]!.image, capture: withAttention.attention![i]!, title: `“${withAttention.texts[i]}”` });
  display(fig);
}

// %% [markdown]
// ## 7 · The evaluation protocol
//
// From here on every number goes into one results object, written to
// `notebooks/results/01-prefixlm-pretraining.json` at the end; the tables and sentences below are
// drawn from it. The protocol (docs/eval.md):
//
// - **fixed splits**: the test records (and the val records that choose a baseline) come from the
//   world's data seed, not from a training seed; their SHA-256 hashes are stored;
// - **captioning metrics**: CIDEr-D and BLEU-4 (as pycocoevalcap computes them) against the five
//   reference captions, and the **grounded metric**: which colour+shape objects a caption names, and
//   whether they are in the picture (precision, recall, F1 — split into colour+shape pairs seen in
//   training and pairs held out of all training text), plus count accuracy where a caption states a count;
// - **blind baselines** that never look at an image, as rows of every table: the best constant
//   caption (chosen on val), the most frequent train caption, the VQA question-type prior, an
//   image-blind n-gram language model for the losses, and a **from-scratch model** (random init, the
//   same finetune) beside every finetuned number;
// - **intervals**: 95% intervals for every number; a difference is called a difference only when its
//   interval excludes zero.

// %%
const baseTrain = taskPool.slice(0, SETTINGS.baselines.trainImages);
const val = makeWorld({ dataSeed: DATA_SEED, split: "val", n: SETTINGS.baselines.valImages, size: cfg.imageSize });
const nTest = test.length;
const refs: Record<string, string[]> = {}, scenes: Record<string, AnnotatedImage["objects"]> = {};
for (const r of test) { refs[r.id] = r.captions; scenes[r.id] = r.objects; }
const results: ResultsFile & Record<string, unknown> = {
  notebook: NOTEBOOK, mode: QUICK ? "quick" : "full", finished: "", codeVersion: codeVersion(),
  backend: { name: backend.name, threads: backend.threads }, wallSeconds: 0, seeds: SEEDS, dataSeed: DATA_SEED,
  splits: [
    { split: "train", n: taskPool.length, hash: splitHash({ dataSeed: DATA_SEED, split: "train", n: taskPool.length, size: cfg.imageSize }), dataSeed: DATA_SEED },
    { split: "val", n: val.length, hash: splitHash({ dataSeed: DATA_SEED, split: "val", n: val.length, size: cfg.imageSize }), dataSeed: DATA_SEED },
    { split: "test", n: nTest, hash: splitHash({ dataSeed: DATA_SEED, split: "test", n: nTest, size: cfg.imageSize }), dataSeed: DATA_SEED },
  ],
  settings: { ...SETTINGS, config: cfg, prompt: PROMPT, tokenizer: { vocabSize: tokenizer.vocabSize, texts: tokTexts.length } },
  metrics: {}, comparisons: [], claims: [],
  training, samples: {} as Record<string, Record<string, string>>,
};
const samples = results.samples as Record<string, Record<string, string>>;

// Systems (rows of the tables) and the per-seed item statistics behind them.
const SYS = {
  zs: "PrefixLM zero-shot, image only",
  zsEnc: `PrefixLM zero-shot, encoder prompt “${PROMPT}”`,
  zsDec: `PrefixLM zero-shot, decoder prompt “${PROMPT}”`,
  capFt: "PrefixLM + caption finetune",
  capScratch: "from scratch + caption finetune",
  constBest: "baseline: best constant caption (val)",
  constFreq: "baseline: most frequent train caption",
  vqaFt: "PrefixLM + VQA finetune",
  vqaScratch: "from scratch + VQA finetune",
  vqaPrior: "baseline: VQA question-type prior",
  lm: "PrefixLM (sees the image)",
  lmBlind: "baseline: image-blind n-gram LM",
} as const;
const capStats: Record<string, CaptionItemStats[]> = {};
const CAP_METRICS: CaptionItemMetric[] = ["cider", "bleu4", "objectPrecision", "objectRecall", "objectF1", "countAccuracy",
  "seenPrecision", "seenRecall", "seenF1", "heldOutPrecision", "heldOutRecall", "heldOutF1"];
const NA: Partial<Record<CaptionItemMetric, string>> = {
  objectPrecision: "names no object", seenPrecision: "names no seen pair", heldOutPrecision: "never names a held-out pair",
  countAccuracy: "states no count", heldOutRecall: "no held-out object in the test scenes", heldOutF1: "no held-out object named or present",
};
const capStat = (sys: string, m: CaptionItemMetric): ItemStatistic[] => capStats[sys]!.map((s) => captionStatistic(s, m));
/** Score one system's captions (one record per seed) and put its metrics into the results. */
function addCaptions(sys: string, perSeed: Record<string, string>[]): void {
  capStats[sys] = perSeed.map((c) => captionItemStats(refs, c, scenes));
  results.metrics[sys] = Object.fromEntries(CAP_METRICS.map((m) => [m, reportMetric(nTest, capStat(sys, m), { bootstrap: BOOT, na: NA[m] })]));
  samples[sys] = Object.fromEntries(test.slice(0, 4).map((t) => [t.id, perSeed[0]![t.id]!]));
}
function compare(n: number, x: string, xs: ItemStatistic[], y: string, ys: ItemStatistic[], label: string, higherIsBetter = true): ProtocolComparison {
  const c = compareSystems(n, { name: x, stats: xs }, { name: y, stats: ys }, label, { bootstrap: BOOT, higherIsBetter });
  results.comparisons.push(c);
  return c;
}
const compareCaptions = (x: string, y: string, m: CaptionItemMetric, label: string) => compare(nTest, x, capStat(x, m), y, capStat(y, m), label);
/** The model of a seed: the one in memory for the first, its checkpoint for the others (disposed by the caller). */
const seedModel = async (seed: number) => (seed === SEEDS[0] ? model : (await loadModel(ckptOf(seed))).model);
const release = (m: Model) => { if (m !== model) m.dispose(); };

// Blind baselines (no seed: they never train).
const best = bestConstantCaption(baseTrain, val, test), freq = mostFrequentCaption(baseTrain, test);
addCaptions(SYS.constBest, [Object.fromEntries(test.map((t) => [t.id, best.caption]))]);
addCaptions(SYS.constFreq, [Object.fromEntries(test.map((t) => [t.id, freq.caption]))]);
results.baselines = { bestConstantCaption: { caption: best.caption, source: best.source, valCider: best.valCider, candidates: best.candidates }, mostFrequentCaption: { caption: freq.caption, count: freq.count } };
display.markdown(`Test split: **${nTest}** images (${test.filter((t) => t.heldOut).length} contain a held-out colour+shape pair), SHA-256 \`${results.splits[2]!.hash.slice(0, 16)}…\`. ` +
  `Best constant caption, chosen among ${best.candidates} train-built candidates by val CIDEr-D: “${esc(best.caption)}”; most frequent train caption: “${esc(freq.caption)}”.`);

// %% [markdown]
// ## 8 · Zero-shot captioning, and the prompt "a picture of" given two ways
//
// Three ways to ask the pretrained model for a caption, with no finetuning:
//
// - **image only**: the encoder reads the image and no text (*T_p = 0*);
// - **encoder prompt**: the encoder reads the image *and* the words "a picture of" as a text prefix —
//   exactly how PrefixLM pretraining presents an image with the first *T_p* words of its text — and the
//   decoder writes the continuation;
// - **decoder prompt**: the encoder reads the image only, and the decoder is forced to start with
//   "a picture of" before it writes on.
//
// Either way the prompt words are given, not generated, so they are left out of the scored caption.
// The paper's own words (arXiv 2108.10904, abstract): *"we demonstrate that SimVLM acquires strong
// generalization and transfer ability, enabling zero-shot behavior including open-ended visual
// question answering and cross-modality transfer."* For zero-shot captioning (§4.3) it feeds a
// **prefix prompt** "A picture of"; in PrefixLM the prefix is what the encoder reads bidirectionally
// (image + first *T_p* tokens), so the paper's prompt is the **encoder-side** one. The decoder-side
// form is what other captioners (e.g. BLIP) do; we report both.

// %%
const zsCaps: Record<string, Record<string, string>[]> = { [SYS.zs]: [], [SYS.zsEnc]: [], [SYS.zsDec]: [] };
for (const seed of SEEDS) {
  const m = await seedModel(seed);
  const gen = { maxLen: SETTINGS.captionMaxLen };
  zsCaps[SYS.zs]!.push((await evalCaptioning(m, tokenizer, test, gen)).captions);
  zsCaps[SYS.zsEnc]!.push((await evalCaptioning(m, tokenizer, test, { ...gen, prefixText: PROMPT })).captions);
  zsCaps[SYS.zsDec]!.push((await evalCaptioning(m, tokenizer, test, { ...gen, prompt: PROMPT })).captions);
  release(m);
}
for (const [sys, caps] of Object.entries(zsCaps)) addCaptions(sys, caps);
const zsComparisons = {
  ciderVsConst: compareCaptions(SYS.zs, SYS.constBest, "cider", "CIDEr-D"),
  f1VsConst: compareCaptions(SYS.zs, SYS.constBest, "objectF1", "object F1"),
  ciderVsFreq: compareCaptions(SYS.zs, SYS.constFreq, "cider", "CIDEr-D"),
  f1VsFreq: compareCaptions(SYS.zs, SYS.constFreq, "objectF1", "object F1"),
  encVsNone: compareCaptions(SYS.zsEnc, SYS.zs, "cider", "CIDEr-D"),
  encVsNoneF1: compareCaptions(SYS.zsEnc, SYS.zs, "objectF1", "object F1"),
  decVsNone: compareCaptions(SYS.zsDec, SYS.zs, "cider", "CIDEr-D"),
  decVsNoneF1: compareCaptions(SYS.zsDec, SYS.zs, "objectF1", "object F1"),
  encVsDec: compareCaptions(SYS.zsEnc, SYS.zsDec, "cider", "CIDEr-D"),
};
const capColumns = [
  { key: "cider", label: "CIDEr-D" }, { key: "bleu4", label: "BLEU-4" }, { key: "objectPrecision", label: "object P" },
  { key: "objectRecall", label: "object R" }, { key: "objectF1", label: "object F1" }, { key: "countAccuracy", label: "count acc." },
];
display.markdown(metricsTable(results, [SYS.zs, SYS.zsEnc, SYS.zsDec, SYS.constBest, SYS.constFreq], capColumns) + `\n\n${intervalNote(results)}`);
display.markdown(Object.values(zsComparisons).map((c) => `- ${c.sentence}.`).join("\n"));
display.markdown(["| # | image only | encoder prompt (continuation) | decoder prompt (continuation) | a reference |", "|---|---|---|---|---|",
  ...test.slice(0, 4).map((t, i) => `| ${i} | ${esc(samples[SYS.zs]![t.id]!)} | ${esc(samples[SYS.zsEnc]![t.id]!)} | ${esc(samples[SYS.zsDec]![t.id]!)} | ${esc(t.captions[0]!)} |`)].join("\n"));

// %% [markdown]
// ### Seen and held-out colour+shape pairs
//
// Five colour+shape pairs ("red triangle", …) appear in no training text at all, alt-text noise
// included, although every colour and every shape does. The grounded metric split by pair: how often
// a caption names an object of a *seen* pair correctly, and one of a *held-out* pair — which needs
// composing two known words in a way the training text never did.

// %%
const pairColumns = [
  { key: "seenPrecision", label: "seen P" }, { key: "seenRecall", label: "seen R" }, { key: "seenF1", label: "seen F1" },
  { key: "heldOutPrecision", label: "held-out P" }, { key: "heldOutRecall", label: "held-out R" }, { key: "heldOutF1", label: "held-out F1" },
];
display.markdown(metricsTable(results, [SYS.zs, SYS.zsEnc, SYS.zsDec, SYS.constBest], pairColumns));
const pairCmp = compareSystems(nTest, { name: "seen pairs", stats: capStat(SYS.zs, "seenRecall") }, { name: "held-out pairs", stats: capStat(SYS.zs, "heldOutRecall") },
  "zero-shot object recall", { bootstrap: BOOT });
results.comparisons.push(pairCmp);
display.markdown(`Image-only zero-shot captions, recall by pair class: ${pairCmp.sentence}.`);

// %% [markdown]
// ### Losses, against an image-blind language model
//
// The pretraining loss on the test split's image–alt-text pairs, at *T_p = 0* (the whole text
// predicted from the image) and averaged exactly over PrefixLM's random *T_p* (every prefix length of
// the distribution, no sampling), per example, per token and per character. The blind row is a
// Kneser–Ney n-gram model fitted on the same pretraining texts through the same tokenizer: it never
// sees the image, so the gap between the rows is what the image is worth to the model's predictions.
// The curve under the table is the loss of the suffix at each fixed *T_p*, for both.

// %%
const lmTest = test.map((r) => ({ id: r.id, text: r.altText, image: r.image }));
const ngram = fitNgramBaseline(lmTexts, tokenizer);
const lossReports: Record<string, PrefixLossReport[]> = { [SYS.lm]: [], [SYS.lmBlind]: [ngramPrefixLosses(ngram, tokenizer, lmTest, { maxTextLen: cfg.maxTextLen, prefix: SETTINGS.prefix })] };
for (const seed of SEEDS) {
  const m = await seedModel(seed);
  lossReports[SYS.lm]!.push(prefixLosses(m, tokenizer, lmTest, { prefix: SETTINGS.prefix }));
  release(m);
}
const LOSS_KEYS = { tp0: "loss at T_p = 0 (nats/example)", randomTp: "loss over random T_p (nats/example)", tp0PerChar: "loss at T_p = 0 (nats/char)", randomTpPerChar: "loss over random T_p (nats/char)" } as const;
const lossStat = (sys: string, k: keyof typeof LOSS_KEYS): ItemStatistic[] => lossReports[sys]!.map((r) => meanStatistic(r.perExample.map((e) => e[k])));
for (const sys of [SYS.lm, SYS.lmBlind]) {
  results.metrics[sys] = {
    ...Object.fromEntries(Object.keys(LOSS_KEYS).map((k) => [`loss_${k}`, reportMetric(lmTest.length, lossStat(sys, k as keyof typeof LOSS_KEYS), { higherIsBetter: false, unit: "nats", bootstrap: BOOT })])),
    // Per token: the corpus ratio (sum of nats over sum of predicted tokens), per seed; no item interval.
    loss_tp0_perToken: seedMetric(lossReports[sys]!.map((r) => r.tp0.perToken), { higherIsBetter: false, unit: "nats/token" }),
    loss_randomTp_perToken: seedMetric(lossReports[sys]!.map((r) => r.randomTp.perToken), { higherIsBetter: false, unit: "nats/token" }),
  };
}
const lossComparisons = {
  tp0: compare(lmTest.length, SYS.lm, lossStat(SYS.lm, "tp0"), SYS.lmBlind, lossStat(SYS.lmBlind, "tp0"), "loss at T_p = 0 (nats/example)", false),
  randomTp: compare(lmTest.length, SYS.lm, lossStat(SYS.lm, "randomTp"), SYS.lmBlind, lossStat(SYS.lmBlind, "randomTp"), "loss over random T_p (nats/example)", false),
};
display.markdown(metricsTable(results, [SYS.lm, SYS.lmBlind], [
  { key: "loss_tp0", label: "T_p = 0, nats/example" }, { key: "loss_tp0_perToken", label: "T_p = 0, nats/token" }, { key: "loss_tp0PerChar", label: "T_p = 0, nats/char" },
  { key: "loss_randomTp", label: "random T_p, nats/example" }, { key: "loss_randomTp_perToken", label: "random T_p, nats/token" }, { key: "loss_randomTpPerChar", label: "random T_p, nats/char" },
]) + `\n\nLower is better. ${lmTest.length} test alt-texts; the n-gram model (order ${ngram.order}) is fitted on the ${lmTexts.length} pretraining texts the tokenizer saw.`);
display.markdown(Object.values(lossComparisons).map((c) => `- ${c.sentence}.`).join("\n"));
// The loss-vs-T_p curve (first seed's model): at each T_p only the texts longer than T_p tokens count, the same texts for both rows.
const lossCurve = lossByPrefixLength(model, tokenizer, lmTest, { maxK: 8 }).map((pt) => {
  const usable = lmTest.filter((e) => Math.min(tokenizer.encode(e.text).length, cfg.maxTextLen - 1) > pt.tp);
  return { tp: pt.tp, examples: pt.examples, model: pt.loss, ngram: ngramPrefixLosses(ngram, tokenizer, usable, { maxTextLen: cfg.maxTextLen, prefix: { mode: "fixed", k: pt.tp } }).randomTp.perToken };
});
results.lossCurve = lossCurve;
display.plotly({
  data: [
    { type: "scatter", mode: "lines+markers", name: SYS.lm, x: lossCurve.map((r) => r.tp), y: lossCurve.map((r) => r.model), line: { color: "#4c78a8" } },
    { type: "scatter", mode: "lines+markers", name: SYS.lmBlind, x: lossCurve.map((r) => r.tp), y: lossCurve.map((r) => r.ngram), line: { color: "#999", dash: "dash" } },
  ],
  layout: { title: { text: `Loss of the suffix against T_p on ${lmTest.length} test alt-texts (seed ${SEEDS[0]})` }, xaxis: { title: { text: "T_p (text tokens in the encoder)" } }, yaxis: { title: { text: "nats / token" } }, width: 760, height: 380 },
});

// %% [markdown]
// ## 9 · Captioning and VQA after a fixed small finetune
//
// The paper's downstream protocol: finetune the pretrained model on a task, then test. Every finetune
// here has a fixed budget (SETTINGS), and the same finetune is run from a **random initialisation**
// with the same tokenizer: the from-scratch row says how much of the finetuned number pretraining earns.
// VQA is generative, as in the paper: the question is the encoder's text prefix and the decoder writes
// the answer, scored with the official VQA accuracy.

// %%
const capPairs = taskPairs("caption", taskPool.slice(0, SETTINGS.captionFinetune.images));
const vqaPairs = taskPairs("vqa", taskPool.slice(0, SETTINGS.vqaFinetune.images));
const vqaIds: string[] = [], vqaKinds: string[] = [], vqaGt: Record<string, string[]> = {};
for (const r of test) r.vqa.forEach((q, j) => { const id = `${r.id}#${j}`; vqaIds.push(id); vqaKinds.push(q.kind); vqaGt[id] = q.answers; });
const vqaPerQuestion = (answers: Record<string, string>) => {
  const acc = vqaAccuracy(vqaGt, Object.fromEntries(vqaIds.map((id) => [id, answers[id] ?? ""])));
  return vqaIds.map((id) => acc.perQuestion[id]!);
};
const vqaScores: Record<string, number[][]> = { [SYS.vqaFt]: [], [SYS.vqaScratch]: [] };
const ftCaps: Record<string, Record<string, string>[]> = { [SYS.capFt]: [], [SYS.capScratch]: [] };
const finetuneSeconds: Record<string, number> = {};
for (const seed of SEEDS) {
  for (const [task, pretrained] of [["caption", true], ["caption", false], ["vqa", true], ["vqa", false]] as const) {
    const t0 = Date.now();
    const m = pretrained ? (await loadModel(ckptOf(seed))).model : new SimVLM(cfg, seed);
    const s = task === "caption" ? SETTINGS.captionFinetune : SETTINGS.vqaFinetune;
    (await finetuneModel(m, tokenizer, task === "caption" ? capPairs : vqaPairs, { steps: s.steps, batchSize: s.batchSize, lr: s.lr, seed })).optimizer.dispose();
    if (task === "caption") ftCaps[pretrained ? SYS.capFt : SYS.capScratch]!.push((await evalCaptioning(m, tokenizer, test, { maxLen: SETTINGS.captionMaxLen })).captions);
    else vqaScores[pretrained ? SYS.vqaFt : SYS.vqaScratch]!.push(vqaPerQuestion((await evalVqa(m, tokenizer, test, { maxLen: 6 })).answers));
    m.dispose();
    const key = `${task} ${pretrained ? "pretrained" : "scratch"}`;
    finetuneSeconds[key] = (finetuneSeconds[key] ?? 0) + (Date.now() - t0) / 1000;
  }
}
results.finetuneSeconds = finetuneSeconds;
for (const [sys, caps] of Object.entries(ftCaps)) addCaptions(sys, caps);
const prior = evalVqaPrior(fitVqaPrior(baseTrain), test);
vqaScores[SYS.vqaPrior] = [vqaIds.map((id) => prior.perQuestion[id]!)];
const KINDS = ["color", "shape", "count", "position"];
const kindStat = (scores: number[], kind?: string): ItemStatistic => (idx) => {
  let s = 0, c = 0;
  for (const i of idx) if (!kind || vqaKinds[i] === kind) { s += scores[i]!; c++; }
  return c ? s / c : NaN;
};
const vqaStat = (sys: string, kind?: string) => vqaScores[sys]!.map((sc) => kindStat(sc, kind));
for (const sys of [SYS.vqaFt, SYS.vqaScratch, SYS.vqaPrior]) {
  results.metrics[sys] = Object.fromEntries([["vqa", undefined], ...KINDS.map((k) => [`vqa_${k}`, k])].map(([key, kind]) =>
    [key!, reportMetric(vqaIds.length, vqaStat(sys, kind), { bootstrap: BOOT, na: `no ${kind} questions in the test split` })]));
}
const ftComparisons = {
  capVsScratch: compareCaptions(SYS.capFt, SYS.capScratch, "cider", "CIDEr-D"),
  capVsScratchF1: compareCaptions(SYS.capFt, SYS.capScratch, "objectF1", "object F1"),
  capVsConst: compareCaptions(SYS.capFt, SYS.constBest, "cider", "CIDEr-D"),
  vqaVsPrior: compareSystems(vqaIds.length, { name: SYS.vqaFt, stats: vqaStat(SYS.vqaFt) }, { name: SYS.vqaPrior, stats: vqaStat(SYS.vqaPrior) }, "VQA accuracy", { bootstrap: BOOT }),
  vqaVsScratch: compareSystems(vqaIds.length, { name: SYS.vqaFt, stats: vqaStat(SYS.vqaFt) }, { name: SYS.vqaScratch, stats: vqaStat(SYS.vqaScratch) }, "VQA accuracy", { bootstrap: BOOT }),
};
results.comparisons.push(ftComparisons.vqaVsPrior, ftComparisons.vqaVsScratch);
display.markdown(`Caption finetune: ${capPairs.length} pairs from ${SETTINGS.captionFinetune.images} train images, ${SETTINGS.captionFinetune.steps} steps. ` +
  `VQA finetune: ${vqaPairs.length} questions from ${SETTINGS.vqaFinetune.images} train images, ${SETTINGS.vqaFinetune.steps} steps. Test: ${nTest} images, ${vqaIds.length} questions.`);
display.markdown(metricsTable(results, [SYS.capFt, SYS.capScratch, SYS.zs, SYS.constBest, SYS.constFreq], capColumns));
display.markdown(metricsTable(results, [SYS.vqaFt, SYS.vqaScratch, SYS.vqaPrior],
  [{ key: "vqa", label: "VQA accuracy" }, ...KINDS.map((k) => ({ key: `vqa_${k}`, label: k }))]) + `\n\n${intervalNote(results)}`);
display.markdown(Object.values(ftComparisons).map((c) => `- ${c.sentence}.`).join("\n"));

// %% [markdown]
// ## 10 · The figure of the results

// %%
const figSystems = [SYS.zs, SYS.zsEnc, SYS.zsDec, SYS.capFt, SYS.capScratch, SYS.constBest, SYS.constFreq];
const bar = (metric: string, name: string, color: string) => {
  const es = figSystems.map((s) => results.metrics[s]?.[metric]);
  const ok = (e: unknown): e is ReportedMetric => !!e && !isNotApplicable(e as ReportedMetric);
  const lo = (e: ReportedMetric) => (e.halfWidth !== null ? e.halfWidth : e.mean - (e.itemInterval?.lo ?? e.mean));
  const hi = (e: ReportedMetric) => (e.halfWidth !== null ? e.halfWidth : (e.itemInterval?.hi ?? e.mean) - e.mean);
  return {
    type: "bar", name, x: figSystems, y: es.map((e) => (ok(e) ? e.mean : null)), marker: { color },
    error_y: { type: "data", symmetric: false, array: es.map((e) => (ok(e) ? hi(e) : null)), arrayminus: es.map((e) => (ok(e) ? lo(e) : null)) },
  };
};
display.plotly({
  data: [bar("cider", "CIDEr-D", "#4c78a8"), bar("objectF1", "object F1", "#f58518"), bar("heldOutRecall", "held-out pair recall", "#54a24b")],
  layout: { title: { text: `Captioning on ${nTest} test images (bars: 95% intervals)` }, barmode: "group", width: 900, height: 420, xaxis: { automargin: true }, yaxis: { title: { text: "score" } } },
});

// %% [markdown]
// ## 11 · The checkpoint
//
// `pretrain` wrote the checkpoint folder (safetensors weights, optimizer state, tokenizer, config and
// the training state needed to resume). Loading it back must give the very same captions.

// %%
const meta = readCheckpointMeta(CKPT);
const files = fs.readdirSync(CKPT).filter((f) => fs.statSync(path.join(CKPT, f)).isFile()).sort()
  .map((f) => `\`${f}\` (${(fs.statSync(path.join(CKPT, f)).size / 1024).toFixed(0)} KB)`);
const reloaded = await loadModel(CKPT);
const again = await generate(reloaded.model, reloaded.tokenizer, { images: shown.map((t) => t.image), maxLen: SETTINGS.captionMaxLen });
const same = again.texts.every((t, i) => t === out.texts[i]);
reloaded.model.dispose();
display.markdown(`Checkpoint at step **${meta.step}**: ${files.join(", ")}.\n\n` +
  `Reloaded model reproduces the ${shown.length} captions above: **${same ? "yes" : "NO"}**.`);
if (!same) throw new Error("the reloaded checkpoint gives different captions");

// %% [markdown]
// ## 12 · What this shows and what it does not
//
// The results file is written, read back, and everything below is generated from what was read:
// the bars issue 14 sets for a model that has learned the task, then each claim of the paper
// checked here with its verdict. A verdict is *reproduced* only when every comparison behind it has
// an interval that excludes zero in the paper's favour, *not reproduced* when one excludes zero
// against it, and *inconclusive at this scale* otherwise.

// %%
const verdictOf = (cs: ProtocolComparison[]) => claimVerdict(cs);
const said = (cs: ProtocolComparison[]) => cs.map((c) => c.sentence).join("; ");
const claims: ClaimRecord[] = [
  { paper: "Zero-shot image captioning: a model pretrained only with PrefixLM on weak image–text data captions images without finetuning (abstract; §4.3)",
    here: said([zsComparisons.ciderVsConst, zsComparisons.f1VsConst]), verdict: verdictOf([zsComparisons.ciderVsConst, zsComparisons.f1VsConst]) },
  { paper: `A prefix prompt ("${PROMPT}", fed as prefix text) improves zero-shot captions (§4.3)`,
    here: said([zsComparisons.encVsNone, zsComparisons.encVsNoneF1]), verdict: verdictOf([zsComparisons.encVsNone]) },
  { paper: "Generative VQA: finetuned, the model answers questions by generating the answer text (§3, §4.2)",
    here: said([ftComparisons.vqaVsPrior, ftComparisons.vqaVsScratch]), verdict: verdictOf([ftComparisons.vqaVsPrior, ftComparisons.vqaVsScratch]) },
  { paper: "PrefixLM pretraining helps downstream captioning after finetuning (§4.2)",
    here: said([ftComparisons.capVsScratch, ftComparisons.capVsScratchF1]), verdict: verdictOf([ftComparisons.capVsScratch]) },
];
// A quick run is a smoke test of the code paths: its numbers are no evidence for or against the paper.
results.claims = QUICK ? claims.map((c) => ({ ...c, verdict: "not tested" as const, here: `quick-mode smoke run, not evidence: ${c.here}` })) : claims;
results.finished = new Date().toISOString();
results.wallSeconds = (Date.now() - STARTED) / 1000;
writeResultsFile(RESULTS, results);
const R = JSON.parse(fs.readFileSync(RESULTS, "utf8")) as ResultsFile & { comparisons: ProtocolComparison[] };
display.markdown(`Results written to \`${path.relative(path.resolve(".."), RESULTS)}\` (${(fs.statSync(RESULTS).size / 1024).toFixed(0)} KB): ` +
  `${Object.keys(R.metrics).length} systems, ${R.comparisons.length} comparisons, ${R.claims.length} claims, seeds ${R.seeds.join(", ")}, test split SHA-256 \`${R.splits.find((s) => s.split === "test")!.hash.slice(0, 16)}…\`.`);

// Issue 14's bars for "learning that is real", from the file.
const m = (sys: string, key: string) => metricMean(R, sys, key);
const bestBlindF1 = Math.max(m(SYS.constBest, "objectF1") ?? 0, m(SYS.constFreq, "objectF1") ?? 0);
const bars = [
  { bar: "zero-shot object F1 ≥ best blind baseline + 0.3", measured: `${f3(m(SYS.zs, "objectF1"))} vs ${f3(bestBlindF1)} + 0.3`, holds: (m(SYS.zs, "objectF1") ?? 0) >= bestBlindF1 + 0.3 },
  { bar: "zero-shot object F1 on seen pairs ≥ 0.8 (the aim)", measured: f3(m(SYS.zs, "seenF1")), holds: (m(SYS.zs, "seenF1") ?? 0) >= 0.8 },
  { bar: "zero-shot CIDEr-D ≥ 2 × best constant caption", measured: `${f3(m(SYS.zs, "cider"))} vs 2 × ${f3(m(SYS.constBest, "cider"))}`, holds: (m(SYS.zs, "cider") ?? 0) >= 2 * (m(SYS.constBest, "cider") ?? Infinity) },
  { bar: "VQA after finetuning ≥ question-type prior + 0.15", measured: `${f3(m(SYS.vqaFt, "vqa"))} vs ${f3(m(SYS.vqaPrior, "vqa"))} + 0.15`, holds: (m(SYS.vqaFt, "vqa") ?? 0) >= (m(SYS.vqaPrior, "vqa") ?? Infinity) + 0.15 },
];
display.markdown(["| issue 14 bar | measured | holds |", "|---|---|---|", ...bars.map((b) => `| ${b.bar} | ${b.measured} | ${b.holds ? "yes" : "**no**"} |`)].join("\n") +
  `\n\n${bars.every((b) => b.holds) ? "Every bar holds: the model has learned the task well beyond what a blind guess gets." : `${bars.filter((b) => !b.holds).length} of ${bars.length} bars do not hold at these settings: the model has not learned the task as well as issue 14 asks, and the claims below must be read with that in mind.${R.mode === "quick" ? " (This is a quick-mode run, which is not meant to meet them.)" : ""}`}`);
display.markdown(["| the paper's claim (arXiv 2108.10904) | what this notebook measured | verdict |", "|---|---|---|",
  ...R.claims.map((c) => `| ${esc(c.paper)} | ${esc(c.here)} | **${c.verdict}** |`)].join("\n"));
const heldOutRecall = m(SYS.zs, "heldOutRecall");
display.markdown([
  "**What it does not show.**",
  ...(R.mode === "quick" ? [`- **Anything about the paper: this is a quick-mode run** (SIMVLM_QUICK=1, a \`${cfg.name}\` model trained for a handful of steps) that checks the code paths end to end. Its numbers are smoke-test output, every verdict above is "not tested", and the full-mode run (\`node --import tsx scripts/notebooks/run.ts ${NOTEBOOK}\`) is what can support or refute a claim.`] : []),
  `- Scale: one synthetic world of ${8 * 8} colour+shape pairs, a \`${cfg.name}\` model of ${params.toLocaleString("en-US")} parameters and ${SETTINGS.pretrain.steps} pretraining steps, against the paper's 1.8 B web image–text pairs and models up to SimVLM-Huge. A verdict here is about this miniature, not about the paper's models.`,
  `- Spread over training runs: ${R.seeds.length === 1 ? "one training seed, so the intervals cover the test items only; another seed could move every number by more than they show." : `${R.seeds.length} training seeds; the intervals include the spread between them.`}`,
  `- Compositional generalisation: zero-shot recall of held-out colour+shape pairs is ${f3(heldOutRecall)} (${pairCmp.sentence}). Naming a pair that no training text composed is measured here, not assumed.`,
  `- The prompt's position: the paper's prefix prompt is encoder-side text; ${zsComparisons.encVsDec.sentence}.`,
  `- The prefix-length distribution: the paper says only that *T_p* is drawn at random (at least the image). Here it is uniform over ${SETTINGS.prefix.mode === "random" ? `0…${SETTINGS.prefix.kMax ?? "⌊n/2⌋"} text tokens` : JSON.stringify(SETTINGS.prefix)}, chosen from exploratory runs in which longer text prefixes delayed grounding at this scale (see SETTINGS); notebook 02 compares prefix lengths.`,
].join("\n"));

// %% [markdown]
// The model stays loaded: the next cells can keep using `model` and `tokenizer` (for example
// `await generate(model, tokenizer, { images: [test[0].image] })`). To free its memory call
// `model.dispose()`; `await loadModel(CKPT)` brings it back from the checkpoint.

// %%
const elapsed = (Date.now() - STARTED) / 1000;
display.markdown(`Notebook wall time (measured by this run, ${QUICK ? "quick" : "full"} mode): **${(elapsed / 60).toFixed(1)} min** (${elapsed.toFixed(0)} s); ` +
  `pretraining **${pretrainWallSeconds.toFixed(0)} s** of wall time for the ${training.length} seed(s) ${SETTINGS.workers > 1 ? `together (they ran at once in ${SETTINGS.workers} worker processes; per seed ${training.map((t) => `${t.seconds.toFixed(0)} s`).join(", ")})` : `(per seed ${training.map((t) => `${t.seconds.toFixed(0)} s`).join(", ")})`}` +
  `${training.some((t) => t.cached) ? ", cached seeds read, not trained" : ""}; finetunes, one after another in this kernel, ${Object.entries(finetuneSeconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ")}.`);
