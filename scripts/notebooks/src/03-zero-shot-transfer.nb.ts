// %% [markdown]
// # 03 · Zero-shot and cross-modality transfer
//
// The SimVLM paper's most striking claims are about **transfer**: a model pretrained only with
// PrefixLM on weak alt-text can
//
// 1. caption images **zero-shot**, and better when the decoder is given a short **prompt** ("a picture of");
// 2. become a good captioner with a **few** labelled examples;
// 3. transfer **across modalities**: finetuned on a *text-only* task, it solves the same task when the premise is an *image*;
// 4. describe **new combinations** of known concepts (compositional zero-shot).
//
// We test each claim in miniature on the pretrained model from
// [notebook 01](01-prefixlm-pretraining.ipynb), then try the recipe on **real pictures**
// (Tux Paint stamps with their English descriptions). Every number is computed below.

// %%
import {
  initBackend, makeWorld, loadModel, hasCheckpoint, pretrain, generate, encodePng, openStream,
  zeroShotCaptioning, evalCaptioning, taskPairs, finetuneModel, evalEntailment, evalCompositional, textPremisePrefix,
  attentionFigure, labelLogLikelihoods, HELD_OUT_PAIRS, ENTAILMENT_LABELS,
} from "simvlm";
import type { RgbImage, AnnotatedImage, SimVLM, SimTokenizer, CaptionEval, TaskPair } from "simvlm";
import fs from "node:fs";
import path from "node:path";

const QUICK = process.env.SIMVLM_QUICK === "1";
const STARTED = Date.now();
const SEED = 0;
const CACHE = process.env.SIMVLM_CACHE_DIR ?? path.resolve("..", ".simvlm-cache");
const CKPT01 = path.join(CACHE, "notebooks", QUICK ? "01-checkpoint-quick" : "01-checkpoint");
const FALLBACK = path.join(CACHE, "notebooks", QUICK ? "03-fallback-quick" : "03-fallback");
const S = QUICK
  ? { fallbackConfig: "tiny", fallbackSteps: 30, trainImages: 40, testImages: 16, ftSteps: 8, entSteps: 8, entTrainImages: 200, entTestImages: 60, fractions: [0.1, 1], tuxTrain: 40, tuxTest: 8, tuxSteps: 8, batchSize: 8 }
  : { fallbackConfig: "small", fallbackSteps: 400, trainImages: 500, testImages: 100, ftSteps: 150, entSteps: 300, entTrainImages: 1500, entTestImages: 300, fractions: [0.01, 0.1, 1], tuxTrain: 2000, tuxTest: 200, tuxSteps: 400, batchSize: 16 };
const backend = await initBackend();

/** The pretrained checkpoint: notebook 01's, or a quick one trained here when it is missing. */
let CKPT = CKPT01;
if (!hasCheckpoint(CKPT01)) {
  CKPT = FALLBACK;
  if (!hasCheckpoint(FALLBACK)) {
    display.markdown(`No checkpoint from notebook 01 at \`${CKPT01}\`: pretraining a fallback model here (\`${S.fallbackConfig}\`, ${S.fallbackSteps} steps).`);
    const r = await pretrain({ config: S.fallbackConfig, data: { source: "shapes", split: "train" }, textOnlyEvery: 8, steps: S.fallbackSteps, batchSize: S.batchSize, seed: SEED, outDir: FALLBACK });
    r.model.dispose();
  }
}
const base = await loadModel(CKPT);
const cfg = base.config;
display.markdown(`Mode **${QUICK ? "quick" : "full"}** · backend **${backend.name}** · pretrained checkpoint \`${path.relative(path.resolve(".."), CKPT)}\`: ` +
  `\`${cfg.name}\` model, step **${base.meta.step}**${CKPT === CKPT01 ? " (from notebook 01)" : " (fallback trained here)"}.`);

/** A fresh copy of the pretrained model (finetuning changes weights in place). */
const fresh = async (): Promise<{ model: SimVLM; tokenizer: SimTokenizer }> => { const m = await loadModel(CKPT); return { model: m.model, tokenizer: m.tokenizer }; };

function tile(images: RgbImage[], cols: number, scale = 2, gap = 4): RgbImage {
  const w = images[0]!.width * scale, h = images[0]!.height * scale, rows = Math.ceil(images.length / cols);
  const W = cols * w + (cols - 1) * gap, H = rows * h + (rows - 1) * gap, data = new Uint8Array(W * H * 3).fill(255);
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
const f3 = (x: number) => x.toFixed(3);
const train = makeWorld({ seed: SEED, split: "train", n: S.trainImages, size: cfg.imageSize });
const test = makeWorld({ seed: SEED, split: "test", n: S.testImages, size: cfg.imageSize });
display.markdown(`Finetuning pool: **${train.length}** train images; evaluation: **${test.length}** test images ` +
  `(${test.filter((t) => t.heldOut).length} of them contain a held-out colour+shape pair).`);

// %% [markdown]
// ## 1 · Zero-shot captioning, with and without a prompt
//
// The pretrained model has only seen alt-text. Asked to write about an image with an empty prefix it
// writes alt-text-like word lists. In the paper, prefixing the *decoder* with "a picture of" steers
// the model towards caption-like sentences without any finetuning; the prompt words are forced, then
// stripped from the output before scoring. The table compares both against the clean reference captions.

// %%
const zs = await zeroShotCaptioning(base.model, base.tokenizer, test, { prompts: ["", "a picture of"] });
display.markdown(["| prompt | BLEU-1 | BLEU-4 | CIDEr-D |", "|---|---|---|---|",
  ...zs.map((z) => `| ${z.prompt ? `"${z.prompt}"` : "(none)"} | ${f3(z.result.metrics.bleu1)} | ${f3(z.result.metrics.bleu4)} | ${f3(z.result.metrics.cider)} |`)].join("\n"));
const [zNone, zPrompt] = [zs[0]!.result.metrics.cider, zs[1]!.result.metrics.cider];
const promptEffect = zPrompt > zNone ? "raises" : zPrompt < zNone ? "lowers" : "does not change";
display.markdown(`Here the prompt **${promptEffect}** zero-shot CIDEr-D (${f3(zNone)} without, ${f3(zPrompt)} with).` +
  (promptEffect !== "lowers" ? "" : " Our model was pretrained on short alt-text word lists, where \"a picture of\" is rare as an opening; the prompt pushes it off the text it knows. The paper's alt-text is real web text, where such openings are common."));
display.png(encodePng(tile(test.slice(0, 4).map((t) => t.image), 4, 2)));
display.markdown(["| # | no prompt | prompt \"a picture of\" … | a reference |", "|---|---|---|---|",
  ...test.slice(0, 4).map((t, i) => `| ${i} | ${esc(zs[0]!.result.captions[t.id]!)} | ${esc(zs[1]!.result.captions[t.id]!)} | ${esc(t.captions[0]!)} |`)].join("\n"));

// %% [markdown]
// ## 2 · Few-shot finetuning
//
// Now we finetune fresh copies of the pretrained model on captions of a **fraction** of the train
// pool (the paper's few-shot setting uses 1% of COCO), with the same number of updates each, and
// score on the test images. The baseline row is the zero-shot model above.

// %%
const fewShot: { fraction: number; images: number; pairs: number; eval: CaptionEval }[] = [];
let fullCaptioner: { model: SimVLM; tokenizer: SimTokenizer } | undefined;
for (const fraction of S.fractions) {
  const m = await fresh();
  const pairs = taskPairs("caption", train, { fraction, seed: SEED });
  (await finetuneModel(m.model, m.tokenizer, pairs, { steps: S.ftSteps, batchSize: S.batchSize, seed: SEED })).optimizer.dispose();
  const ev = await evalCaptioning(m.model, m.tokenizer, test);
  fewShot.push({ fraction, images: new Set(pairs.map((p) => p.id.split("#")[0])).size, pairs: pairs.length, eval: ev });
  if (fraction === 1) fullCaptioner = m; else m.model.dispose();
}
display.markdown(["| finetuned on | images | caption pairs | BLEU-4 | CIDEr-D |", "|---|---|---|---|---|",
  `| nothing (zero-shot, no prompt) | 0 | 0 | ${f3(zs[0]!.result.metrics.bleu4)} | ${f3(zs[0]!.result.metrics.cider)} |`,
  ...fewShot.map((r) => `| ${(r.fraction * 100).toFixed(0)}% of the pool | ${r.images} | ${r.pairs} | ${f3(r.eval.metrics.bleu4)} | ${f3(r.eval.metrics.cider)} |`)].join("\n"));
const best = fewShot.reduce((a, b) => (b.eval.metrics.cider > a.eval.metrics.cider ? b : a));
display.markdown(`With **${fewShot[0]!.images}** labelled image(s) CIDEr-D goes from ${f3(zs[0]!.result.metrics.cider)} (zero-shot) to ${f3(fewShot[0]!.eval.metrics.cider)}; ` +
  `the best is ${f3(best.eval.metrics.cider)} with ${best.images} images.`);
display.plotly({
  data: [{ type: "bar", x: ["zero-shot", ...fewShot.map((r) => `${(r.fraction * 100).toFixed(0)}% (${r.images} images)`)],
    y: [zs[0]!.result.metrics.cider, ...fewShot.map((r) => r.eval.metrics.cider)], marker: { color: "#4c78a8" } }],
  layout: { title: { text: `Captioning CIDEr-D on ${test.length} test images after ${S.ftSteps} finetuning steps` }, yaxis: { title: { text: "CIDEr-D" } }, width: 700, height: 360 },
});

// %% [markdown]
// ## 3 · Cross-modality transfer: finetune on text, test on images
//
// The paper finetunes on SNLI (a *text* premise and a hypothesis → entailment / neutral /
// contradiction) and tests on SNLI-VE, where the premise is an *image*. Here each world image has
// hypotheses about its scene; the text premise is one of its captions. We finetune a fresh copy on
// the **text-only** version (no image ever shown) and then test with the **image as the premise**.
// The encoder reads at most `maxTextLen` text tokens, so we keep the items whose whole
// "premise: … hypothesis: …" text fits (a cut-off hypothesis cannot be judged); the image tests use
// the same items.
// The model picks the label word with the highest likelihood. Chance is one in three; the table also
// gives the share of the most frequent label (a classifier that always says it would get that).

// %%
const ent = await fresh();
const fits = (items: AnnotatedImage[]) => items.map((it) => ({ ...it, entailment: it.entailment.filter((e) => ent.tokenizer.encode(textPremisePrefix(e.premise, e.hypothesis)).length <= cfg.maxTextLen) }))
  .filter((it) => it.entailment.length > 0);
const entPool = makeWorld({ seed: SEED, split: "train", n: S.entTrainImages, size: cfg.imageSize }), entTestPool = makeWorld({ seed: SEED, split: "test", n: S.entTestImages, size: cfg.imageSize });
const fitTrain = fits(entPool), fitTest = fits(entTestPool);
const useAll = !fitTrain.length || !fitTest.length;
const entTrain = useAll ? entPool : fitTrain, entTest = useAll ? entTestPool : fitTest;
display.markdown(`Items whose text premise + hypothesis fits ${cfg.maxTextLen} tokens: ${fitTrain.length} of ${entPool.length} train images, ${fitTest.length} of ${entTestPool.length} test images` +
  (useAll ? " — too few, so every item is used (some hypotheses are cut off)." : "."));
const entBefore = await evalEntailment(ent.model, ent.tokenizer, entTest, { premise: "image", generate: false });
const entPairs = taskPairs("entailment", entTrain, { textOnly: true, seed: SEED });
if (entPairs.some((p) => p.image)) throw new Error("text-only finetuning pairs must carry no image");
(await finetuneModel(ent.model, ent.tokenizer, entPairs, { steps: S.entSteps, batchSize: S.batchSize, seed: SEED, lr: 1e-3 })).optimizer.dispose();
const entText = await evalEntailment(ent.model, ent.tokenizer, entTest, { premise: "text", generate: false });
const entImage = await evalEntailment(ent.model, ent.tokenizer, entTest, { premise: "image", generate: false });
ent.model.dispose();
const entRows = [
  ["pretrained only, image premise", entBefore], ["text-finetuned, text premise (in-domain)", entText], ["text-finetuned, **image premise (transfer)**", entImage],
] as const;
display.markdown([`Finetuned on **${entPairs.length}** text-only pairs for ${S.entSteps} steps.`, "",
  "| model / test | items | accuracy | chance | majority label |", "|---|---|---|---|---|",
  ...entRows.map(([name, e]) => `| ${name} | ${e.n} | ${f3(e.metrics.accuracy)} | ${f3(e.metrics.chance)} | ${f3(e.metrics.majority)} |`)].join("\n"));
display.plotly({
  data: [
    { type: "bar", name: "accuracy", x: entRows.map(([n]) => n.replace(/\*\*/g, "")), y: entRows.map(([, e]) => e.metrics.accuracy), marker: { color: ["#bab0ac", "#f58518", "#4c78a8"] } },
    { type: "scatter", mode: "lines", name: "chance (1/3)", x: entRows.map(([n]) => n.replace(/\*\*/g, "")), y: entRows.map(([, e]) => e.metrics.chance), line: { dash: "dash", color: "#333" } },
    { type: "scatter", mode: "lines", name: "majority label", x: entRows.map(([n]) => n.replace(/\*\*/g, "")), y: entRows.map(([, e]) => e.metrics.majority), line: { dash: "dot", color: "#999" } },
  ],
  layout: { title: { text: "Entailment: text-only finetuning, tested with text and with image premises" }, yaxis: { title: { text: "accuracy" }, range: [0, 1] }, width: 800, height: 380 },
});
display.markdown(`Transfer accuracy with the image as premise: **${f3(entImage.metrics.accuracy)}** against chance ${f3(entImage.metrics.chance)} and the majority label ${f3(entImage.metrics.majority)} ` +
  `— above both: **${entImage.metrics.accuracy > Math.max(entImage.metrics.chance, entImage.metrics.majority) ? "yes" : "no"}**; before text finetuning it was ${f3(entBefore.metrics.accuracy)}.`);
display.markdown(`Confusion matrix of the transfer test (rows: gold, columns: predicted; ${ENTAILMENT_LABELS.join(" / ")}):\n\n` +
  ["| gold \\ predicted | " + ENTAILMENT_LABELS.join(" | ") + " |", "|---|---|---|---|",
    ...entImage.confusion.map((row, i) => `| ${ENTAILMENT_LABELS[i]} | ${row.join(" | ")} |`)].join("\n"));

// %% [markdown]
// ## 4 · Compositional zero-shot: new colour + shape pairs
//
// A few colour+shape combinations (listed below) never occur in the train split, although every colour
// and every shape does. Scenes in the test split may contain them. We score the captioner finetuned
// on the whole pool on scenes *with* a held-out pair against scenes *without* one, and count how often
// the caption names a held-out object exactly ("red triangle") — possible only by composing the two
// words in a way the training text never did.

// %%
const cap = fullCaptioner!;
const comp = await evalCompositional(cap.model, cap.tokenizer, test, "caption");
const heldScenes = test.filter((t) => t.heldOut);
const capsOf = (comp.heldOut as CaptionEval).captions;
const named = heldScenes.filter((t) => t.objects.some((o) => HELD_OUT_PAIRS.some((p) => p.color === o.color && p.shape === o.shape) && capsOf[t.id]!.includes(`${o.color} ${o.shape}`)));
const seenCaps = comp.seen ? (comp.seen as CaptionEval).captions : {};
const seenScenes = test.filter((t) => !t.heldOut);
const seenNamed = seenScenes.filter((t) => t.objects.some((o) => (seenCaps[t.id] ?? "").includes(`${o.color} ${o.shape}`)));
display.markdown([`Held-out pairs: ${HELD_OUT_PAIRS.map((p) => `*${p.color} ${p.shape}*`).join(", ")}.`, "",
  "| test scenes | images | CIDEr-D | captions naming a present object exactly (colour + shape) |", "|---|---|---|---|",
  `| with a held-out pair | ${comp.heldOutImages} | ${comp.heldOut ? f3((comp.heldOut as CaptionEval).metrics.cider) : "–"} | ${named.length} of ${heldScenes.length} name the held-out object |`,
  `| without | ${comp.seenImages} | ${comp.seen ? f3((comp.seen as CaptionEval).metrics.cider) : "–"} | ${seenNamed.length} of ${seenScenes.length} name one of their objects |`].join("\n"));
const showHeld = heldScenes.slice(0, 4);
if (showHeld.length) {
  display.png(encodePng(tile(showHeld.map((t) => t.image), 4, 2)));
  display.markdown(["| # | objects | generated caption |", "|---|---|---|",
    ...showHeld.map((t, i) => `| ${i} | ${t.objects.map((o) => `${o.color} ${o.shape}${HELD_OUT_PAIRS.some((p) => p.color === o.color && p.shape === o.shape) ? " (held out)" : ""}`).join(", ")} | ${esc(capsOf[t.id]!)} |`)].join("\n"));
}

// %% [markdown]
// ## 5 · Real data: Tux Paint stamps
//
// The shapes world is synthetic. [Tux Paint](https://tuxpaint.org)'s stamp collection (Debian package
// `tuxpaint-stamps-default`) has hundreds of drawings — animals, food, vehicles, flags — each with a
// one-line English description and a category folder: a tiny, real image–text set. We take the
// captioner from the shapes world (it has never seen a cat) and finetune it on train-split stamps
// with two tasks written as text, the SimVLM way: *describe the stamp* (empty prefix → its
// description) and *name its category* (prefix "category:" → the folder name). Then we test on
// test-split stamps:
//
// - the descriptions, with BLEU and CIDEr-D against the one reference (noisy with a single reference — look at the pictures too);
// - the category, read off as the category name the decoder finds most likely (a generative classifier), against chance and the majority category.

// %%
type Stamp = { id: string; image: RgbImage; captions: string[]; category: string };
async function readStamps(split: "train" | "test", n: number): Promise<Stamp[]> {
  const s = await openStream({ source: "tuxpaint", split, repeat: false }, { seed: SEED, imageSize: cfg.imageSize });
  const seen = new Set<string>(), out: Stamp[] = [];
  for (const e of await s.next(n)) if (e.image && !seen.has(e.id)) {
    seen.add(e.id);
    out.push({ id: e.id, image: e.image, captions: [e.text], category: e.id.replace(/^tuxpaint-/, "").split("/")[0]! });
  }
  await s.close?.();
  return out;
}
const tuxTrain = await readStamps("train", S.tuxTrain), tuxTest = await readStamps("test", S.tuxTest);
const categories = [...new Set(tuxTrain.map((t) => t.category))].sort();
const categoryAccuracy = (m: SimVLM, tok: SimTokenizer) => {
  const ll = labelLogLikelihoods(m, tok, tuxTest.map((t) => ({ id: t.id, image: t.image, prefix: "category:" })), categories);
  return ll.filter((row, i) => categories[row.indexOf(Math.max(...row))] === tuxTest[i]!.category).length / tuxTest.length;
};
const testCounts = new Map<string, number>();
for (const t of tuxTest) testCounts.set(t.category, (testCounts.get(t.category) ?? 0) + 1);
const majority = Math.max(...testCounts.values()) / tuxTest.length;
const tuxBefore = await evalCaptioning(cap.model, cap.tokenizer, tuxTest);
const catBefore = categoryAccuracy(cap.model, cap.tokenizer);
const tuxPairs: TaskPair[] = tuxTrain.flatMap((t) => [
  { id: `${t.id}#description`, image: t.image, prefix: "", target: t.captions[0]! },
  { id: `${t.id}#category`, image: t.image, prefix: "category:", target: t.category },
]);
(await finetuneModel(cap.model, cap.tokenizer, tuxPairs, { steps: S.tuxSteps, batchSize: S.batchSize, seed: SEED, lr: 1e-3 })).optimizer.dispose();
const tuxAfter = await evalCaptioning(cap.model, cap.tokenizer, tuxTest);
const catAfter = categoryAccuracy(cap.model, cap.tokenizer);
display.markdown([`**${tuxTrain.length}** train stamps, **${tuxTest.length}** test stamps, **${categories.length}** categories; finetuned ${S.tuxSteps} steps on ${tuxPairs.length} pairs.`, "",
  "| model | description BLEU-1 | description CIDEr-D | category accuracy |", "|---|---|---|---|",
  `| shapes captioner, before | ${f3(tuxBefore.metrics.bleu1)} | ${f3(tuxBefore.metrics.cider)} | ${f3(catBefore)} |`,
  `| after finetuning on stamps | ${f3(tuxAfter.metrics.bleu1)} | ${f3(tuxAfter.metrics.cider)} | ${f3(catAfter)} |`,
  `| chance / majority category | | | ${f3(1 / categories.length)} / ${f3(majority)} |`].join("\n"));
display.plotly({
  data: [{ type: "bar", x: ["before finetuning", "after finetuning", "chance", "majority category"], y: [catBefore, catAfter, 1 / categories.length, majority],
    marker: { color: ["#bab0ac", "#4c78a8", "#dddddd", "#dddddd"] } }],
  layout: { title: { text: `Tux Paint category of ${tuxTest.length} unseen stamps, named by the decoder` }, yaxis: { title: { text: "accuracy" }, range: [0, 1] }, width: 640, height: 340 },
});
const tuxShow = tuxTest.slice(0, 8);
display.png(encodePng(tile(tuxShow.map((t) => t.image), 8, 2)));
display.markdown(["| # | category | description (reference) | before | after |", "|---|---|---|---|---|",
  ...tuxShow.map((t, i) => `| ${i} | ${t.category} | ${esc(t.captions[0]!)} | ${esc(tuxBefore.captions[t.id]!)} | ${esc(tuxAfter.captions[t.id]!)} |`)].join("\n"));
display.markdown(`Category accuracy ${f3(catBefore)} → **${f3(catAfter)}** (majority ${f3(majority)}); description CIDEr-D ${f3(tuxBefore.metrics.cider)} → ${f3(tuxAfter.metrics.cider)}. ` +
  `Descriptions are ordinary English, which the shapes tokenizer splits into many short pieces; writing them takes far more training than naming one of ${categories.length} categories.`);

// %% [markdown]
// Where does the stamp captioner look? Cross-attention of its caption over the first test stamp.

// %%
const tuxAtt = await generate(cap.model, cap.tokenizer, { images: [tuxShow[0]!.image], captureAttention: true });
display(await attentionFigure({ image: tuxShow[0]!.image, capture: tuxAtt.attention![0]!, title: `“${tuxAtt.texts[0]}” (reference: ${tuxShow[0]!.captions[0]})` }));

// %%
const elapsed = (Date.now() - STARTED) / 1000;
display.markdown(`Notebook wall time (measured by this run, ${QUICK ? "quick" : "full"} mode): **${(elapsed / 60).toFixed(1)} min** (${elapsed.toFixed(0)} s).`);
