/**
 * Blind captioning baselines: one caption for every image, chosen without looking at any image.
 * A model that does not beat them has not learned to look (issue 14).
 *
 * - `bestConstantCaption`: among a documented candidate set built from the train split, the one
 *   string with the highest CIDEr-D on val (used as a constant caption for every val image), then
 *   scored on test. Candidates, in this order (earlier wins ties on val CIDEr-D):
 *   1. every distinct reference caption of the train records,
 *   2. every distinct train alt-text,
 *   3. the NGRAM_CANDIDATES most frequent word n-grams of the train reference captions for each
 *      n = 1..6 (COCO-tokenized; ties by first occurrence) — short strings such as "red circle".
 *   Candidates are compared after COCO tokenization (duplicates dropped); the reported caption is
 *   the first raw string of the winner.
 * - `mostFrequentCaption`: the train reference caption (exact string) that occurs most often
 *   (ties: the first to reach that count in train order), scored on test the same way.
 *
 * `scoreConstantCaption` gives the test scores: corpus BLEU-1..4 and CIDEr-D (captionScores, i.e.
 * pycocoevalcap's numbers), per-image CIDEr-D (document frequencies from the scored references),
 * and the grounded metric against each scene.
 */
import type { AnnotatedImage } from "../../data/types.ts";
import { captionScores } from "../metrics/caption.ts";
import { ciderDScorer } from "../metrics/cider.ts";
import { cocoTokenize } from "../metrics/ptb-tokenizer.ts";
import { splitWords } from "../metrics/ngrams.ts";
import { groundedScores, type GroundedScores } from "../metrics/grounded.ts";
import { EvalInputError } from "../metrics/errors.ts";

/** How many of the most frequent n-grams of each order become constant-caption candidates. */
export const NGRAM_CANDIDATES = 20;

/** What the caption baselines read of a record (AnnotatedImage fits). */
export type CaptionRecord = Pick<AnnotatedImage, "id" | "captions" | "altText" | "objects">;

export interface ConstantCaptionScores {
  caption: string;
  n: number;
  bleu: [number, number, number, number];
  bleu4: number;
  cider: number;
  ciderPerImage: Record<string, number>;
  /** The grounded metric of the constant caption against every scene (perItem holds each image's F1). */
  grounded: GroundedScores;
}

export interface BestConstantCaption {
  caption: string;
  /** Where the winner came from (the first list it appears in). */
  source: "caption" | "alt-text" | "n-gram";
  /** Its CIDEr-D on val, the selection criterion; distinct candidates tried. */
  valCider: number;
  candidates: number;
  test: ConstantCaptionScores;
}

function checkRecords(xs: readonly CaptionRecord[], what: string): void {
  if (!Array.isArray(xs) || !xs.length) throw new EvalInputError(`${what}: no records`);
  for (const r of xs)
    if (!Array.isArray(r.captions) || !r.captions.length)
      throw new EvalInputError(`${what}: record ${JSON.stringify(r.id)} has no reference captions`);
}

/** Test scores of one caption used for every image of `items`. */
export function scoreConstantCaption(
  caption: string,
  items: readonly CaptionRecord[],
): ConstantCaptionScores {
  checkRecords(items, "scoreConstantCaption");
  const refs: Record<string, string[]> = {},
    cands: Record<string, string> = {},
    scenes: Record<string, AnnotatedImage["objects"]> = {};
  for (const it of items) {
    refs[it.id] = it.captions;
    cands[it.id] = caption;
    scenes[it.id] = it.objects;
  }
  const s = captionScores(refs, cands);
  return {
    caption,
    n: items.length,
    bleu: s.bleu,
    bleu4: s.bleu[3],
    cider: s.cider,
    ciderPerImage: s.ciderPerImage,
    grounded: groundedScores(cands, scenes),
  };
}

/** The most frequent n-grams (n = 1..6) of tokenized captions, NGRAM_CANDIDATES per order, as strings. */
function frequentNgrams(tokenized: string[]): string[] {
  const out: string[] = [];
  for (let n = 1; n <= 6; n++) {
    const counts = new Map<string, number>(); // insertion order = first occurrence: the tie-break
    for (const c of tokenized) {
      const w = splitWords(c);
      for (let i = 0; i + n <= w.length; i++) {
        const g = w.slice(i, i + n).join(" ");
        counts.set(g, (counts.get(g) ?? 0) + 1);
      }
    }
    const ranked = [...counts.entries()]
      .map(([g, c], i) => ({ g, c, i }))
      .sort((a, b) => b.c - a.c || a.i - b.i);
    out.push(...ranked.slice(0, NGRAM_CANDIDATES).map((x) => x.g));
  }
  return out;
}

/** The candidate constant captions of `bestConstantCaption`, in tie-break order, each with its source. */
export function constantCaptionCandidates(
  train: readonly CaptionRecord[],
): { caption: string; source: BestConstantCaption["source"] }[] {
  checkRecords(train, "constantCaptionCandidates");
  const refs = train.flatMap((r) => r.captions);
  return [
    ...refs.map((caption) => ({ caption, source: "caption" as const })),
    ...train.map((r) => ({ caption: r.altText, source: "alt-text" as const })),
    ...frequentNgrams(refs.map(cocoTokenize)).map((caption) => ({
      caption,
      source: "n-gram" as const,
    })),
  ];
}

/** The constant caption with the highest val CIDEr-D among the train-built candidates, scored on test. */
export function bestConstantCaption(
  train: readonly CaptionRecord[],
  val: readonly CaptionRecord[],
  test: readonly CaptionRecord[],
): BestConstantCaption {
  checkRecords(val, "bestConstantCaption (val)");
  const valCider = ciderDScorer(val.map((r) => r.captions.map(cocoTokenize)));
  const seen = new Set<string>();
  let best: { caption: string; source: BestConstantCaption["source"]; score: number } | undefined;
  for (const c of constantCaptionCandidates(train)) {
    const tok = cocoTokenize(c.caption);
    if (seen.has(tok)) continue;
    seen.add(tok);
    const score = valCider.constant(tok).score;
    if (!best || score > best.score) best = { ...c, score };
  }
  return {
    caption: best!.caption,
    source: best!.source,
    valCider: best!.score,
    candidates: seen.size,
    test: scoreConstantCaption(best!.caption, test),
  };
}

/** The most frequent train reference caption, scored on test as a constant caption. */
export function mostFrequentCaption(
  train: readonly CaptionRecord[],
  test: readonly CaptionRecord[],
): ConstantCaptionScores & { count: number } {
  checkRecords(train, "mostFrequentCaption (train)");
  const counts = new Map<string, number>();
  let best = "",
    bestCount = 0;
  for (const c of train.flatMap((r) => r.captions)) {
    const k = (counts.get(c) ?? 0) + 1;
    counts.set(c, k);
    if (k > bestCount) {
      best = c;
      bestCount = k;
    }
  }
  return { ...scoreConstantCaption(best, test), count: bestCount };
}
