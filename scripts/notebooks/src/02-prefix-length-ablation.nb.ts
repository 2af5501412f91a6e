// %% [markdown]
// # 02 · How long should the prefix be? An ablation
//
// PrefixLM has one knob the paper leaves random: the prefix length *T_p*, the number of text tokens
// the encoder reads (bidirectionally, with the image) before the decoder takes over. SimVLM draws
// *T_p* at random for every example. This notebook asks what that choice buys, against
//
// - **fixed** prefix lengths *T_p* ∈ {0, 2, 4, 8} (0 = pure captioning: the decoder writes the whole text from the image),
// - **plain LM**: no text in the encoder at all, the decoder predicts the whole text,
// - **span corruption** (T5-style): the encoder reads the text with random spans replaced by sentinels, the decoder restores the spans,
//
// and, for the paper's random *T_p*, two more ablations: pretraining **without the text-only
// documents**, and a **linear patch projection** instead of the convolutional stage.
// Each variant is pretrained from scratch with several seeds and evaluated on the same held-out data.
//
// The grid runs through the ablation runner (`runGrid`): every run is keyed by a hash of its
// parameters, seed and the library code, and its result is cached on disk. Rerunning the grid cell
// with nothing changed trains nothing — section 3 checks that — and an interrupted grid resumes
// where it stopped.

// %%
import {
  initBackend, runGrid, RunCache, expandGrid, ablationCurveFigure, lossByPrefixFigure, prefixMaskFigure,
  makeWorld, MODEL_CONFIGS, gridSide,
} from "simvlm";
import type { GridSpec, RunsTable, RunResult, PrefixLossRow } from "simvlm";
import path from "node:path";

const QUICK = process.env.SIMVLM_QUICK === "1";
const STARTED = Date.now();
const CACHE = process.env.SIMVLM_CACHE_DIR ?? path.resolve("..", ".simvlm-cache");
const backend = await initBackend();

// The base run: every variant below changes only what its label says.
const BASE = QUICK
  ? { config: "tiny", steps: 8, batch: 4, lr: 2e-3, evalN: 4, valN: 6, maxK: 4, vqaFinetuneSteps: 2, objective: "prefixlm", prefix: { mode: "random" }, textOnly: true }
  : { config: "tiny", steps: 1000, batch: 16, lr: 2e-3, evalN: 50, valN: 50, maxK: 8, vqaFinetuneSteps: 100, objective: "prefixlm", prefix: { mode: "random" }, textOnly: true };
const SEEDS = QUICK ? [0] : [0, 1, 2];
const WORKERS = QUICK ? 0 : 2;
const VARIANTS = [
  { label: "random T_p (paper)", params: {} },
  { label: "fixed T_p=0", params: { prefix: { mode: "fixed", k: 0 } } },
  { label: "fixed T_p=2", params: { prefix: { mode: "fixed", k: 2 } } },
  { label: "fixed T_p=4", params: { prefix: { mode: "fixed", k: 4 } } },
  { label: "fixed T_p=8", params: { prefix: { mode: "fixed", k: 8 } } },
  { label: "plain LM", params: { objective: "lm", prefix: { mode: "none" } } },
  { label: "span corruption", params: { objective: "span", prefix: { mode: "none" } } },
  { label: "no text-only data", params: { textOnly: false } },
  { label: "linear patches", params: { patchEmbed: "linear" } },
];
const PREFIX_STRATEGIES = VARIANTS.slice(0, 7).map((v) => v.label);
const GRID: GridSpec = { name: QUICK ? "prefix-ablation-quick" : "prefix-ablation", run: "pretrainEval", base: BASE, variants: VARIANTS, seeds: SEEDS };
const runs = expandGrid(GRID);
display.markdown(`Mode **${QUICK ? "quick" : "full"}** · backend **${backend.name}** · **${VARIANTS.length}** variants × **${SEEDS.length}** seed(s) = **${runs.length}** runs, ` +
  `${WORKERS ? `${WORKERS} worker processes` : "in this process"} · run cache \`${path.relative(path.resolve(".."), CACHE)}\`\n\n` +
  `Base run: \`${JSON.stringify(BASE)}\``);

// %% [markdown]
// ## 1 · What the strategies change
//
// The same example under two strategies: a fixed *T_p = 4* puts the first four words in the encoder;
// *T_p = 0* leaves the encoder only the image. The random strategy picks a different *T_p* for every
// example and every step, so the model practises every split point (image patches are drawn as a
// few columns: they all share one mask pattern).

// %%
const cfg = MODEL_CONFIGS.tiny;
const ex = makeWorld({ seed: 0, split: "val", n: 1 })[0]!;
const words = ex.altText.split(/\s+/).slice(0, 10);
for (const tp of [4, 0]) display(await prefixMaskFigure({ tokens: words, numPatches: gridSide(cfg) ** 2, tp: Math.min(tp, words.length), maxPatchColumns: 4 }));
display.markdown(`The example is the alt-text of \`${ex.id}\` split into words for the picture (the model itself uses subword tokens).`);

// %% [markdown]
// ## 2 · Run the grid
//
// Each run pretrains the base model with its variant and seed, then measures it on the world's
// held-out splits:
//
// - **val_loss**: the loss of the whole alt-text given only the image (*T_p = 0*) on validation images — the same quantity for every strategy, so they compare;
// - **cider** (CIDEr-D) and **bleu4**: zero-shot captions of test images against the clean reference captions;
// - **vqa**: VQA accuracy (question in the prefix, answer generated) after a short VQA finetune of
//   `vqaFinetuneSteps` updates on train-split questions — a model pretrained on alt-text alone never
//   answers questions zero-shot, so the finetune is what makes the number say something about the
//   pretraining (the zero-shot number is kept with each run);
// - and, stored with the run, the loss at every fixed *T_p* (section 5).
//
// Finished runs are read from the cache; the progress bar says how many.

// %%
let t0 = Date.now();
let trainedNow = 0, cachedNow = 0;
const table: RunsTable = await runGrid(GRID, { workers: WORKERS, cacheDir: CACHE, onRun: (_r, cached) => { if (cached) cachedNow++; else trainedNow++; } });
const gridSeconds = (Date.now() - t0) / 1000;
display.markdown(`Grid finished in **${gridSeconds.toFixed(0)} s**: ${trainedNow} run(s) trained now, ${cachedNow} read from the cache. ` +
  `Training time summed over runs: ${(table.rows.reduce((a, r) => a + r.seconds, 0) / 60).toFixed(1)} min.`);

// %% [markdown]
// ## 3 · Rerunning is free
//
// The same grid again, unchanged: every run must come from the cache, with no training.

// %%
t0 = Date.now();
let rerunTrained = 0, rerunCached = 0;
const again = await runGrid(GRID, { workers: WORKERS, cacheDir: CACHE, onRun: (_r, cached) => { if (cached) rerunCached++; else rerunTrained++; } });
display.markdown(`Rerun: **${rerunCached}** of ${again.length} runs from the cache, **${rerunTrained}** trained, in **${((Date.now() - t0) / 1000).toFixed(2)} s**.`);
if (rerunTrained !== 0) throw new Error(`the unchanged grid retrained ${rerunTrained} run(s)`);

// %% [markdown]
// ## 4 · The runs table
//
// One row per variant, mean ± standard deviation over the seeds. Lower `val_loss` is better; higher
// `cider`, `bleu4` and `vqa` are better. The table object can be filtered (`table.where("fixed")`),
// summarised (`table.summary()`) and its raw rows (`table.rows`) carry every run's parameters,
// timings and extra outputs.

// %%
display(table);

// %% [markdown]
// Tables filter and compare: here only the fixed-*T_p* runs, and the per-seed rows of the paper's strategy.

// %%
display(table.where("fixed T_p"));
display.markdown(["| run | seed | val_loss | cider | vqa | seconds |", "|---|---|---|---|---|---|",
  ...table.where("random T_p").rows.map((r) => `| ${r.label} | ${r.seed} | ${r.metrics.val_loss!.toFixed(4)} | ${r.metrics.cider!.toFixed(4)} | ${r.metrics.vqa!.toFixed(4)} | ${r.seconds.toFixed(1)} |`)].join("\n"));

// %%
const pts = (metric: string, labels: string[]) => table.rows.filter((r) => labels.includes(r.label) && Number.isFinite(r.metrics[metric]))
  .map((r) => ({ strategy: r.label, seed: r.seed, metric: r.metrics[metric]! }));
const order = (labels: string[]) => (rows: { strategy: string; seed: number; metric: number }[]) => rows.sort((a, b) => labels.indexOf(a.strategy) - labels.indexOf(b.strategy) || a.seed - b.seed);
const allLabels = VARIANTS.map((v) => v.label);
display(ablationCurveFigure(order(allLabels)(pts("val_loss", allLabels)), "validation loss at T_p = 0 (nats/token)", { title: `Validation loss by variant (${SEEDS.length} seed(s) each; lower is better)` }));
display(ablationCurveFigure(order(allLabels)(pts("cider", allLabels)), "CIDEr-D (zero-shot)", { title: "Zero-shot captioning CIDEr-D by variant" }));
display(ablationCurveFigure(order(allLabels)(pts("vqa", allLabels)), "VQA accuracy (after a short VQA finetune)", { title: "VQA accuracy by variant" }));

// %% [markdown]
// The numbers behind the plots, computed from the table: the best and worst prefix strategies by
// validation loss, the cost of dropping the text-only documents and of the linear patch stage, and
// whether plain LM and fixed *T_p = 0* differ at all (in this implementation both put no text in the
// encoder and predict the whole text, so they should match run for run).

// %%
const summary = table.summary();
const meanOf = (label: string, m: string) => summary.find((s) => s.label === label)?.metrics[m]?.mean ?? NaN;
const byLoss = PREFIX_STRATEGIES.map((l) => ({ l, v: meanOf(l, "val_loss") })).filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v);
const paper = meanOf("random T_p (paper)", "val_loss");
const lmRuns = table.rows.filter((r) => r.label === "plain LM"), t0Runs = table.rows.filter((r) => r.label === "fixed T_p=0");
const lmSame = lmRuns.length > 0 && lmRuns.every((r) => { const o = t0Runs.find((x) => x.seed === r.seed); return !!o && Math.abs(o.metrics.val_loss! - r.metrics.val_loss!) < 1e-9; });
const lines = [
  `- Lowest validation loss among the prefix strategies: **${byLoss[0]?.l}** (${byLoss[0]?.v.toFixed(4)}); highest: **${byLoss.at(-1)?.l}** (${byLoss.at(-1)?.v.toFixed(4)}); the paper's random *T_p*: ${paper.toFixed(4)} (rank ${byLoss.findIndex((x) => x.l === "random T_p (paper)") + 1} of ${byLoss.length}).`,
  `- Without text-only documents: ${meanOf("no text-only data", "val_loss").toFixed(4)} vs ${paper.toFixed(4)} with them (difference ${(meanOf("no text-only data", "val_loss") - paper).toFixed(4)}).`,
  `- Linear patch projection: ${meanOf("linear patches", "val_loss").toFixed(4)} vs ${paper.toFixed(4)} with the conv stage (difference ${(meanOf("linear patches", "val_loss") - paper).toFixed(4)}).`,
  `- Plain LM and fixed *T_p = 0* give identical validation losses seed for seed: **${lmSame ? "yes" : "no"}**.`,
  `- Zero-shot CIDEr-D ranges from ${Math.min(...summary.map((s) => s.metrics.cider?.mean ?? NaN).filter(Number.isFinite)).toFixed(3)} to ${Math.max(...summary.map((s) => s.metrics.cider?.mean ?? NaN).filter(Number.isFinite)).toFixed(3)} across variants, VQA accuracy (after the short VQA finetune) from ${Math.min(...summary.map((s) => s.metrics.vqa?.mean ?? NaN).filter(Number.isFinite)).toFixed(3)} to ${Math.max(...summary.map((s) => s.metrics.vqa?.mean ?? NaN).filter(Number.isFinite)).toFixed(3)}: models this small, pretrained on noisy alt-text only, are weak zero-shot captioners (notebook 03 finetunes them).`,
];
display.markdown(lines.join("\n"));

// %% [markdown]
// ## 5 · Loss against *T_p* at evaluation
//
// A model trained with one strategy can be *evaluated* at any prefix length: give the encoder the
// image and the first *T_p* words, and score the decoder on the rest. A model trained only at
// *T_p = 0* has never seen text in its encoder; one trained at *T_p = 8* has never captioned from
// the image alone. The random strategy is meant to be good everywhere. Curves are means over seeds.

// %%
const lossRows: PrefixLossRow[] = [];
for (const label of PREFIX_STRATEGIES) {
  const rs = table.rows.filter((r: RunResult) => r.label === label);
  const perTp = new Map<number, { loss: number[]; acc: number[] }>();
  for (const r of rs) for (const p of (r.extra?.lossByTp ?? []) as { tp: number; loss: number; accuracy: number }[]) {
    const e = perTp.get(p.tp) ?? { loss: [], acc: [] };
    e.loss.push(p.loss); e.acc.push(p.accuracy); perTp.set(p.tp, e);
  }
  for (const [tp, e] of perTp) lossRows.push({ tp, series: label, loss: e.loss.reduce((a, b) => a + b, 0) / e.loss.length, accuracy: e.acc.reduce((a, b) => a + b, 0) / e.acc.length });
}
display(lossByPrefixFigure(lossRows, { title: "Suffix loss and token accuracy against the evaluation T_p, by training strategy" }));
const best = [...new Set(lossRows.map((r) => r.tp))].sort((a, b) => a - b).map((tp) => {
  const at = lossRows.filter((r) => r.tp === tp).sort((a, b) => a.loss - b.loss);
  return `| ${tp} | ${at[0]!.series} | ${at[0]!.loss.toFixed(4)} | ${at.find((r) => r.series === "random T_p (paper)")?.loss.toFixed(4) ?? "–"} |`;
});
display.markdown(["| evaluation T_p | best strategy | its loss | random T_p's loss |", "|---|---|---|---|", ...best].join("\n"));

// %%
const cache = new RunCache(CACHE);
const elapsed = (Date.now() - STARTED) / 1000;
display.markdown(`The cache now holds ${cache.all().length} finished run(s) in total. ` +
  `Notebook wall time (measured by this run, ${QUICK ? "quick" : "full"} mode): **${(elapsed / 60).toFixed(1)} min** (${elapsed.toFixed(0)} s).`);
