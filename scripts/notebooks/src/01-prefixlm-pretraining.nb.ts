// %% [markdown]
// # 01 · PrefixLM pretraining
//
// SimVLM (Wang et al., 2021) pretrains a vision-language model with one objective, **PrefixLM**:
// the image and the first *T_p* words of its text go into a Transformer **encoder**, which reads them
// in both directions; a **decoder** then writes the rest of the text one token at a time. Unlike
// BERT-style objectives there is no masking vocabulary, no object detector and no auxiliary loss:
// weak image–alt-text pairs plus plain text documents are enough.
//
// In this notebook we
//
// 1. look at the data: the built-in *shapes* world, with noisy web-style alt-text and text-only documents;
// 2. train a subword tokenizer and draw the PrefixLM attention mask for a real example;
// 3. build the `small` model and pretrain it, watching a live training plot;
// 4. caption test images the model has never seen, and look at where it attends;
// 5. save a checkpoint that [notebook 03](03-zero-shot-transfer.ipynb) reuses.
//
// Every number below is computed by the cells; the text only says where to look.
// Set `SIMVLM_QUICK=1` before starting the kernel for a fast smoke run (tiny model, few steps).

// %%
import {
  initBackend, makeWorld, openStream, trainTokenizer, SPAN_SENTINELS, drawPrefixLength, Rng,
  MODEL_CONFIGS, gridSide, SimVLM, pretrain, liveTrainingPlot, prefixMaskFigure, generate,
  attentionFigure, encodePng, evalCaptioning, loadModel, readCheckpointMeta,
} from "simvlm";
import type { RgbImage, Example, ModelConfig } from "simvlm";
import fs from "node:fs";
import path from "node:path";

const QUICK = process.env.SIMVLM_QUICK === "1";
const STARTED = Date.now();
const SEED = 0;
// Checkpoints live under the (git-ignored) cache folder; notebook 03 loads this one.
const CACHE = process.env.SIMVLM_CACHE_DIR ?? path.resolve("..", ".simvlm-cache");
const CKPT = path.join(CACHE, "notebooks", QUICK ? "01-checkpoint-quick" : "01-checkpoint");
const SETTINGS = QUICK
  ? { config: "tiny" as const, steps: 30, batchSize: 8, testImages: 16 }
  : { config: "small" as const, steps: 1000, batchSize: 16, testImages: 100 };
const backend = await initBackend();
display.markdown(`Mode **${QUICK ? "quick" : "full"}** · backend **${backend.name}** (${backend.threads} thread(s)) · ` +
  `model \`${SETTINGS.config}\`, ${SETTINGS.steps} steps of ${SETTINGS.batchSize} examples · checkpoint \`${path.relative(path.resolve(".."), CKPT)}\``);

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
// A small helper tiles images into one PNG so they show on GitHub too.

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

const cfg: ModelConfig = MODEL_CONFIGS[SETTINGS.config];
const stream = await openStream({ source: "shapes", split: "train", textOnlyEvery: 8 }, { seed: SEED, imageSize: cfg.imageSize });
const first: Example[] = await stream.next(9);
display.png(encodePng(tile(first.filter((e) => e.image).map((e) => e.image!), 8, 2)));
display.markdown(["| # | kind | text (what the model is trained on) |", "|---|---|---|",
  ...first.map((e, i) => `| ${i} | ${e.image ? "image + alt-text" : "**text-only document**"} | ${esc(e.text)} |`)].join("\n"));

// %% [markdown]
// The alt-text is a weak signal: compare it with the clean captions of the same images, which the
// model never sees during pretraining.

// %%
const peek = makeWorld({ seed: SEED, split: "train", n: 3 });
display.markdown(["| image | alt-text | reference captions (evaluation only) |", "|---|---|---|",
  ...peek.map((r) => `| ${r.id} | ${esc(r.altText)} | ${r.captions.map(esc).join("<br>")} |`)].join("\n"));

// %% [markdown]
// ## 2 · Tokenizer and the PrefixLM mask
//
// A byte-pair-encoding tokenizer is trained on the pretraining texts (alt-texts, captions and
// documents). Its vocabulary leaves the top rows of the embedding free for the sentinel tokens that
// the span-corruption baseline of notebook 02 needs.

// %%
const tokTexts: string[] = [];
for (const e of await (await openStream({ source: "shapes", split: "train", textOnlyEvery: 8 }, { seed: SEED, imageSize: cfg.imageSize })).next(QUICK ? 300 : 2000)) {
  tokTexts.push(e.text);
  const caps = e.meta?.captions;
  if (Array.isArray(caps)) tokTexts.push(...caps.map(String));
}
const tokenizer = await trainTokenizer(tokTexts, { vocabSize: cfg.vocabSize - SPAN_SENTINELS });
const example = first.find((e) => e.image)!;
const ids = tokenizer.encode(example.text);
const tokens = ids.map((id) => tokenizer.tokenString(id));
display.markdown(`Tokenizer: **${tokenizer.vocabSize}** tokens, trained on ${tokTexts.length} texts.\n\n` +
  `\`${example.text}\` → ${ids.length} tokens: ${tokens.map((t) => `\`${t}\``).join(" ")}`);

// %% [markdown]
// For an image–text pair, PrefixLM draws a prefix length *T_p* at random for every example (here up
// to half the text, as in our training loop), puts the image patches and the first *T_p* tokens in the
// encoder and asks the decoder to produce the remaining tokens. The diagram shows who may attend to
// whom for this example: image patches and prefix tokens see each other in both directions
// (blue/orange), suffix tokens see the whole prefix and only *earlier* suffix tokens (green, causal).
// *T_p = 0* is plain image captioning; a text-only document always gets *T_p ≥ 1*, since it has no image to condition on.

// %%
const tp = drawPrefixLength(ids.length, true, { mode: "random" }, new Rng(SEED + 3));
const numPatches = gridSide(cfg) ** 2;
const maskFig = await prefixMaskFigure({ tokens, numPatches, tp, maxPatchColumns: 8 });
display(maskFig);
display.markdown(`Drawn *T_p* = **${tp}** of ${ids.length} tokens; the ${numPatches} image patches (a grid of ${gridSide(cfg)} × ${gridSide(cfg)}) ` +
  `are drawn as 8 columns because they all share one mask pattern. Prefix: \`${tokens.slice(0, tp).join(" ")}\` · ` +
  `suffix (predicted): \`${tokens.slice(tp).join(" ")}\``);

// %% [markdown]
// ## 3 · The model
//
// A convolutional stage (the paper uses the first blocks of a ResNet) turns the image into a grid of
// patch embeddings; the prefix tokens are embedded and appended; the encoder runs over both; the
// decoder cross-attends to the encoder output. The `small` preset below is sized to learn
// something in minutes on a laptop CPU.

// %%
const probe = new SimVLM(cfg, SEED);
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
// (loss, learning rate, throughput) and stays in the notebook afterwards. The checkpoint (weights,
// optimizer state, tokenizer, data cursor) is written at the end.

// %%
fs.rmSync(CKPT, { recursive: true, force: true }); // a rerun trains from scratch
const plot = liveTrainingPlot({ title: `PrefixLM pretraining (${cfg.name})` });
const trained = await pretrain({
  config: cfg.name, data: { source: "shapes", split: "train" }, textOnlyEvery: 8, tokenizer,
  steps: SETTINGS.steps, batchSize: SETTINGS.batchSize, seed: SEED, lr: 1e-3,
  objective: "prefixlm", prefix: { mode: "random" }, outDir: CKPT, onStep: (row) => plot.onStep({ ...row }),
});
plot.finish();
const { model } = trained;
const rows = trained.rows;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const head = rows.slice(0, Math.max(1, Math.floor(rows.length / 10))), tail = rows.slice(-Math.max(1, Math.floor(rows.length / 10)));
display.markdown(`Trained **${trained.step}** steps in **${rows.at(-1)!.elapsed_s.toFixed(0)} s** ` +
  `(${mean(rows.map((r) => r.examples_per_s)).toFixed(1)} examples/s on average). ` +
  `Mean loss over the first tenth of training **${mean(head.map((r) => r.loss)).toFixed(3)}**, over the last tenth **${mean(tail.map((r) => r.loss)).toFixed(3)}**; ` +
  `${rows.filter((r) => r.text_only > 0).length} of ${rows.length} batches held text-only documents; mean *T_p* per batch ${mean(rows.map((r) => r.mean_k)).toFixed(2)}.`);

// %% [markdown]
// ## 5 · Captions for unseen test images
//
// Greedy decoding from the image alone (*T_p = 0*). The model was pretrained on alt-text, so it
// tends to write alt-text-like descriptions; notebook 03 shows how a prompt and a little finetuning
// turn it into a captioner. The scores compare against the five clean reference captions
// (BLEU-4 and CIDEr-D, computed like pycocoevalcap).

// %%
const test = makeWorld({ seed: SEED, split: "test", n: SETTINGS.testImages, size: cfg.imageSize });
const shown = test.slice(0, 8);
const out = await generate(model, tokenizer, { images: shown.map((t) => t.image) });
display.png(encodePng(tile(shown.map((t) => t.image), 8, 2)));
display.markdown(["| # | generated | a reference caption |", "|---|---|---|",
  ...shown.map((t, i) => `| ${i} | ${esc(out.texts[i]!)} | ${esc(t.captions[0]!)} |`)].join("\n"));
const capEval = await evalCaptioning(model, tokenizer, test);
const namesObject = test.filter((t) => t.objects.some((o) => capEval.captions[t.id]!.includes(`${o.color} ${o.shape}`))).length;
display.markdown(`On **${capEval.n}** test images: ${namesObject} captions (${(100 * namesObject / test.length).toFixed(0)}%) name an object of their image by colour and shape (\`pink heart\`). BLEU-4 **${capEval.metrics.bleu4.toFixed(3)}**, CIDEr-D **${capEval.metrics.cider.toFixed(3)}** (no finetuning, no prompt).`);

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
const withAttention = await generate(model, tokenizer, { images: picks.map((t) => t.image), captureAttention: true });
for (let i = 0; i < picks.length; i++) {
  const fig = await attentionFigure({ image: picks[i]!.image, capture: withAttention.attention![i]!, title: `“${withAttention.texts[i]}”` });
  display(fig);
}

// %% [markdown]
// ## 7 · The checkpoint
//
// `pretrain` wrote the checkpoint folder (safetensors weights, optimizer state, tokenizer, config and
// the training state needed to resume). Loading it back must give the very same captions.

// %%
const meta = readCheckpointMeta(CKPT);
const files = fs.readdirSync(CKPT, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(CKPT, f)).isFile()).sort()
  .map((f) => `\`${f}\` (${(fs.statSync(path.join(CKPT, f)).size / 1024).toFixed(0)} KB)`);
const reloaded = await loadModel(CKPT);
const again = await generate(reloaded.model, reloaded.tokenizer, { images: shown.map((t) => t.image) });
const same = again.texts.every((t, i) => t === out.texts[i]);
reloaded.model.dispose();
display.markdown(`Checkpoint at step **${meta.step}**: ${files.join(", ")}.\n\n` +
  `Reloaded model reproduces the ${shown.length} captions above: **${same ? "yes" : "NO"}**.`);
if (!same) throw new Error("the reloaded checkpoint gives different captions");

// %%
const elapsed = (Date.now() - STARTED) / 1000;
display.markdown(`Notebook wall time (measured by this run, ${QUICK ? "quick" : "full"} mode): **${(elapsed / 60).toFixed(1)} min** (${elapsed.toFixed(0)} s).`);
