/**
 * CIDEr-D as pycocoevalcap's cider_scorer computes it (n = 4, sigma = 6):
 * - document frequency of an n-gram = number of images whose reference set contains it, counted
 *   over the references being scored (not a fixed corpus), and ref_len = log(number of images);
 * - each caption becomes per-order tf-idf vectors tf * (ref_len - log(max(1, df))) with L2 norms;
 * - similarity to each reference: sum over candidate n-grams of min(cand, ref) * ref, divided by
 *   the two norms (left as is when a norm is zero), times the Gaussian length penalty
 *   exp(-(delta^2) / (2 sigma^2));
 * - per image: mean over the 4 orders, divided by the number of references, times 10;
 *   corpus score: mean over images.
 * Fidelity note: pycocoevalcap's "length" used in delta counts the candidate's *bigrams* (it
 * accumulates term frequency when the n-gram index equals 1), so delta = (#words - 1) difference for
 * captions of 2+ words; this implementation does the same on purpose, to give the same numbers.
 */
import { countNgrams, splitWords } from "./ngrams.ts";

interface TfIdf { vec: Map<string, number>[]; norm: number[]; length: number }

export interface CiderResult { score: number; perImage: number[] }

export function ciderD(cands: string[], refs: string[][], n = 4, sigma = 6): CiderResult {
  const candCounts = cands.map((c) => countNgrams(splitWords(c), n));
  const refCounts = refs.map((rs) => rs.map((r) => countNgrams(splitWords(r), n)));

  const df = new Map<string, number>();
  for (const rs of refCounts) {
    const seen = new Set<string>();
    for (const counts of rs) for (const g of counts.keys()) seen.add(g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const refLen = Math.log(refs.length);

  const toVec = (counts: Map<string, number>): TfIdf => {
    const vec = Array.from({ length: n }, () => new Map<string, number>());
    const sq = new Array<number>(n).fill(0);
    let length = 0;
    for (const [g, tf] of counts) {
      const order = g.split(" ").length - 1;
      const v = tf * (refLen - Math.log(Math.max(1, df.get(g) ?? 0)));
      vec[order]!.set(g, v);
      sq[order]! += v * v;
      if (order === 1) length += tf; // bigram count: mirrors the reference implementation
    }
    return { vec, norm: sq.map(Math.sqrt), length };
  };

  const perImage: number[] = [];
  for (let i = 0; i < cands.length; i++) {
    const hyp = toVec(candCounts[i]!);
    const score = new Array<number>(n).fill(0);
    for (const rc of refCounts[i]!) {
      const ref = toVec(rc);
      const delta = hyp.length - ref.length;
      const penalty = Math.exp(-(delta * delta) / (2 * sigma * sigma));
      for (let k = 0; k < n; k++) {
        let val = 0;
        for (const [g, vh] of hyp.vec[k]!) {
          const vr = ref.vec[k]!.get(g) ?? 0;
          val += Math.min(vh, vr) * vr;
        }
        if (hyp.norm[k] !== 0 && ref.norm[k] !== 0) val /= hyp.norm[k]! * ref.norm[k]!;
        score[k]! += val * penalty;
      }
    }
    const mean = score.reduce((a, b) => a + b, 0) / n;
    perImage.push((mean / refCounts[i]!.length) * 10);
  }
  const score = perImage.length ? perImage.reduce((a, b) => a + b, 0) / perImage.length : NaN;
  return { score, perImage };
}
