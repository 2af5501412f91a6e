/**
 * What a "pretrainEval" grid prepares once, before its runs (registered as the run's `prepare`):
 *
 * - **One tokenizer per grid**, trained deterministically on `tokenizerTexts` (lib/eval/protocol.ts:
 *   the first `tokenizerImages` train records of the world `dataSeed` and their documents — never a
 *   run seed's stream) with vocabSize = config.vocabSize − SPAN_SENTINELS, and stored in the run cache
 *   at `tokenizers/<spec key>/tokenizer.json` beside `spec.json` and `sha256` (the file's content
 *   hash). Every arm loads that file; the hash enters every run's cache key, so a run measured with
 *   another tokenizer never hits an old result. Arms whose params give another spec (another
 *   vocabulary size or data seed) get their own tokenizer, and the table says so.
 * - **The blind baselines, once per grid** (they have no training seed): lib/eval/protocol.ts
 *   `blindBaselines` on the same val/test records the runs are scored on, the n-gram LM with the
 *   grid's tokenizer; cached at `baselines/<key>.json`.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trainTokenizer } from "../tokenizer/tokenizer.ts";
import { SimTokenizer } from "../tokenizer/tokenizer.ts";
import { SPAN_SENTINELS } from "../train/batch.ts";
import {
  blindBaselines,
  ngramTrainingTexts,
  tokenizerTexts,
  type BaselineRow,
} from "../eval/protocol.ts";
import { canonicalJson, codeVersion, sha256 } from "./hash.ts";
import { writeAtomic } from "./cache.ts";
import { throwIfAborted } from "../runtime.ts";
import type { GridPrepare, GridResources } from "./registry.ts";
import {
  pretrainEvalSettings,
  protocolRecords,
  type PretrainEvalSettings,
} from "./pretrain-eval-settings.ts";

/** Everything the grid tokenizer depends on (its hash names the folder). */
export interface TokenizerSpec {
  text: "world train records: alt-text, captions, VQA questions+answers, entailment premise/hypothesis/label; then ⌈images/8⌉ documents";
  dataSeed: number;
  images: number;
  vocabSize: number;
  /** The result-deciding library code (the world generator and the tokenizer trainer among it). */
  code: string;
}

export interface GridTokenizer {
  /** tokenizer.json on disk. */
  path: string;
  /** SHA-256 of its content. */
  hash: string;
  /** sha256 of the canonical spec (the folder name). */
  specKey: string;
  spec: TokenizerSpec;
}

export function tokenizerSpecOf(
  s: Pick<PretrainEvalSettings, "dataSeed" | "tokenizerImages" | "modelConfig">,
): TokenizerSpec {
  return {
    text: "world train records: alt-text, captions, VQA questions+answers, entailment premise/hypothesis/label; then ⌈images/8⌉ documents",
    dataSeed: s.dataSeed,
    images: s.tokenizerImages,
    vocabSize: s.modelConfig.vocabSize - SPAN_SENTINELS,
    code: codeVersion(),
  };
}

/**
 * The tokenizer of `spec`, trained once: under `root/<specKey>/` (or directly in `root` with
 * `flat`), reused when already there. Training is deterministic, so two processes racing to write it
 * write the same bytes (each renames its own temporary file into place).
 */
export async function ensureGridTokenizer(
  root: string,
  spec: TokenizerSpec,
  opts: { flat?: boolean } = {},
): Promise<GridTokenizer> {
  const specKey = sha256(canonicalJson(spec)).slice(0, 20);
  const dir = opts.flat ? root : join(root, specKey);
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) {
    const tok = await trainTokenizer(
      tokenizerTexts({ dataSeed: spec.dataSeed, images: spec.images }),
      { vocabSize: spec.vocabSize },
    );
    mkdirSync(dir, { recursive: true });
    tok.save(path);
    writeAtomic(join(dir, "spec.json"), JSON.stringify(spec, null, 2));
  }
  const hash = sha256(readFileSync(path, "utf8"));
  writeAtomic(join(dir, "sha256"), `${hash}\n`);
  return { path, hash, specKey, spec };
}

/** Baselines once per distinct (data, sizes, tokenizer) spec, cached as JSON in the run cache. */
async function gridBaselines(
  cacheDir: string,
  s: PretrainEvalSettings,
  tok: GridTokenizer,
): Promise<BaselineRow[]> {
  const spec = {
    dataSeed: s.dataSeed,
    evalN: s.evalN,
    valN: s.valN,
    trainN: s.baselineTrainN,
    ngramTexts: s.ngramTexts,
    ngramOrder: 3,
    maxK: s.maxK,
    evalPrefix: s.evalPrefix,
    maxTextLen: s.modelConfig.maxTextLen,
    tokenizer: tok.hash,
    code: codeVersion(),
  };
  const file = join(cacheDir, "baselines", `${sha256(canonicalJson(spec)).slice(0, 20)}.json`);
  if (existsSync(file)) {
    try {
      return (JSON.parse(readFileSync(file, "utf8")) as { rows: BaselineRow[] }).rows;
    } catch {
      /* recompute a damaged file */
    }
  }
  const { train, val, test } = protocolRecords(s);
  const rows = blindBaselines({
    train,
    val,
    test,
    tokenizer: SimTokenizer.load(tok.path),
    maxTextLen: s.modelConfig.maxTextLen,
    ngramTexts: ngramTrainingTexts({ dataSeed: s.dataSeed, n: s.ngramTexts }),
    ngramOrder: 3,
    maxK: s.maxK,
    prefix: s.evalPrefix,
  });
  mkdirSync(join(cacheDir, "baselines"), { recursive: true });
  writeAtomic(file, JSON.stringify({ spec, rows }));
  return rows;
}

/** The grid preparation of "pretrainEval": validates every run's params, then the tokenizer(s) and baselines. */
export const preparePretrainEvalGrid: GridPrepare = async (specs, ctx): Promise<GridResources> => {
  const settings = specs.map((sp) => {
    try {
      return pretrainEvalSettings(sp.params);
    } catch (e) {
      (e as Error).message = `run "${sp.label}" seed ${sp.seed}: ${(e as Error).message}`;
      throw e;
    }
  });
  const tokenizers = new Map<string, GridTokenizer>();
  const baselines = new Map<string, BaselineRow[]>();
  const runs: GridResources["runs"] = [];
  for (const s of settings) {
    throwIfAborted(ctx.signal, "grid preparation");
    const spec = tokenizerSpecOf(s);
    const specKey = canonicalJson(spec);
    if (!tokenizers.has(specKey)) {
      ctx.onProgress?.({ step: 0, message: "training the grid's tokenizer" });
      tokenizers.set(specKey, await ensureGridTokenizer(join(ctx.cacheDir, "tokenizers"), spec));
    }
    const tok = tokenizers.get(specKey)!;
    const bKey = canonicalJson([
      s.dataSeed,
      s.evalN,
      s.valN,
      s.baselineTrainN,
      s.ngramTexts,
      s.maxK,
      s.evalPrefix,
      s.modelConfig.maxTextLen,
      tok.hash,
    ]);
    if (!baselines.has(bKey)) {
      ctx.onProgress?.({ step: 0, message: "blind baselines" });
      baselines.set(bKey, await gridBaselines(ctx.cacheDir, s, tok));
    }
    runs.push({ key: { tokenizer: tok.hash }, shared: { tokenizer: tok } });
  }
  // One set of baselines per distinct data/size spec; with several, each label says which.
  const sets = [...baselines.values()];
  const rows =
    sets.length === 1
      ? sets[0]!
      : sets.flatMap((rs, i) =>
          rs.map((r) => ({ ...r, label: `${r.label} [set ${i + 1} of ${sets.length}]` })),
        );
  return { runs, baselines: rows };
};
