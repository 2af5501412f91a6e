/**
 * Corpus BLEU-1..4 computed the way pycocoevalcap's bleu_scorer does it (option "closest"):
 * per caption, n-gram counts are clipped by the maximum count of that n-gram in any one reference;
 * clipped matches and candidate n-gram totals are summed over the whole corpus; the effective
 * reference length of each caption is the reference length closest to the candidate length (ties go
 * to the shorter reference) and those lengths are summed; smoothing uses the same constants
 * (1e-15 added to matches, 1e-9 to totals) and the brevity penalty exp(1 - r/c) applies when c < r.
 * Inputs are already-tokenized captions (space-joined tokens).
 */
import { countNgrams, splitWords } from "./ngrams.ts";

const TINY = 1e-15; // keeps a zero-match score at (almost) zero instead of 0/0
const SMALL = 1e-9; // keeps a zero-total denominator from dividing by zero

export interface BleuStats {
  testLen: number;
  refLen: number;
  guess: number[];
  correct: number[];
}

/** The per-caption statistics pycocoevalcap's cook_test produces, for candidate and its references. */
export function bleuCaptionStats(cand: string, refs: string[], n = 4): BleuStats {
  const maxRefCounts = new Map<string, number>();
  const refLens: number[] = [];
  for (const r of refs) {
    const words = splitWords(r);
    refLens.push(words.length);
    for (const [g, c] of countNgrams(words, n))
      maxRefCounts.set(g, Math.max(maxRefCounts.get(g) ?? 0, c));
  }
  const words = splitWords(cand);
  const testLen = words.length;
  // closest reference length; on equal distance the shorter one (Python's min over (|l-c|, l) tuples)
  let refLen = refLens[0]!;
  for (const l of refLens) {
    const d = Math.abs(l - testLen),
      best = Math.abs(refLen - testLen);
    if (d < best || (d === best && l < refLen)) refLen = l;
  }
  const guess = Array.from({ length: n }, (_, k) => Math.max(0, testLen - k));
  const correct = new Array<number>(n).fill(0);
  for (const [g, c] of countNgrams(words, n)) {
    const order = g.split(" ").length;
    correct[order - 1]! += Math.min(maxRefCounts.get(g) ?? 0, c);
  }
  return { testLen, refLen, guess, correct };
}

/** Corpus BLEU-1..n over aligned candidates and reference lists. */
export function corpusBleu(cands: string[], refs: string[][], n = 4): number[] {
  return combineBleuStats(
    cands.map((c, i) => bleuCaptionStats(c, refs[i]!, n)),
    n,
  );
}

/**
 * Corpus BLEU-1..n from per-caption statistics (bleuCaptionStats): the sums over the captions, then
 * pycocoevalcap's smoothing and brevity penalty. A bootstrap over test items resamples these
 * statistics instead of re-tokenizing the captions.
 */
export function combineBleuStats(stats: readonly BleuStats[], n = 4): number[] {
  let testLen = 0,
    refLen = 0;
  const guess = new Array<number>(n).fill(0),
    correct = new Array<number>(n).fill(0);
  for (const s of stats) {
    testLen += s.testLen;
    refLen += s.refLen;
    for (let k = 0; k < n; k++) {
      guess[k]! += s.guess[k]!;
      correct[k]! += s.correct[k]!;
    }
  }
  const ratio = (testLen + TINY) / (refLen + SMALL);
  const scores: number[] = [];
  for (let nn = 1; nn <= n; nn++) {
    let bleu = 1;
    for (let k = 0; k < nn; k++) bleu *= (correct[k]! + TINY) / (guess[k]! + SMALL);
    let b = bleu ** (1 / nn);
    if (ratio < 1) b *= Math.exp(1 - 1 / ratio);
    scores.push(b);
  }
  return scores;
}
