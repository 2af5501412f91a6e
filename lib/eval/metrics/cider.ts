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

interface TfIdf {
  vec: Map<string, number>[];
  norm: number[];
  length: number;
}

export interface CiderResult {
  score: number;
  perImage: number[];
}

/** CIDEr-D against fixed references: `score(cands)` for one candidate per image, `constant(c)` for one caption for every image. */
export interface CiderDScorer {
  score(cands: string[]): CiderResult;
  /** Equals score(refs.map(() => cand)), summed through an index of the references' n-grams (much faster). */
  constant(cand: string): CiderResult;
}

/**
 * CIDEr-D against a fixed set of references: document frequencies and reference vectors are
 * computed once, so many candidate sets (e.g. every constant caption a blind baseline tries) are
 * scored without recomputing them. `ciderDScorer(refs).score(cands)` equals `ciderD(cands, refs)`.
 * Inputs are tokenized captions (space-joined words); `refs[i]` are image i's references.
 */
export function ciderDScorer(refs: string[][], n = 4, sigma = 6): CiderDScorer {
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
  const refVecs = refCounts.map((rs) => rs.map(toVec));
  const perImageScore = (sims: number[][], hyp: TfIdf, i: number) => {
    let sum = 0;
    refVecs[i]!.forEach((ref, r) => {
      const delta = hyp.length - ref.length;
      const penalty = Math.exp(-(delta * delta) / (2 * sigma * sigma));
      for (let k = 0; k < n; k++) {
        let val = sims[r]![k]!;
        if (hyp.norm[k] !== 0 && ref.norm[k] !== 0) val /= hyp.norm[k]! * ref.norm[k]!;
        sum += val * penalty;
      }
    });
    return (sum / n / refVecs[i]!.length) * 10;
  };
  const finish = (perImage: number[]): CiderResult => ({
    score: perImage.length ? perImage.reduce((a, b) => a + b, 0) / perImage.length : NaN,
    perImage,
  });

  // n-gram → every (image, reference, tf-idf value) holding it: a constant caption only meets these.
  let postings: Map<string, [number, number, number][]> | undefined;
  const index = () => {
    postings = new Map();
    refVecs.forEach((rs, i) =>
      rs.forEach((ref, r) =>
        ref.vec.forEach((m) =>
          m.forEach((v, g) => {
            const xs = postings!.get(g);
            if (xs) xs.push([i, r, v]);
            else postings!.set(g, [[i, r, v]]);
          }),
        ),
      ),
    );
    return postings;
  };

  return {
    score(cands) {
      if (cands.length !== refs.length)
        throw new RangeError(
          `ciderD: ${cands.length} candidates for ${refs.length} reference sets`,
        );
      const vecs = new Map<string, TfIdf>(); // a repeated candidate is vectorised once
      return finish(
        cands.map((c, i) => {
          let hyp = vecs.get(c);
          if (!hyp) vecs.set(c, (hyp = toVec(countNgrams(splitWords(c), n))));
          const sims = refVecs[i]!.map((ref) =>
            hyp!.vec.map((m, k) => {
              let val = 0;
              for (const [g, vh] of m) {
                const vr = ref.vec[k]!.get(g) ?? 0;
                val += Math.min(vh, vr) * vr;
              }
              return val;
            }),
          );
          return perImageScore(sims, hyp, i);
        }),
      );
    },
    constant(cand) {
      const hyp = toVec(countNgrams(splitWords(cand), n));
      const sims = refVecs.map((rs) => rs.map(() => new Array<number>(n).fill(0)));
      const post = postings ?? index();
      hyp.vec.forEach((m, k) =>
        m.forEach((vh, g) => {
          for (const [i, r, vr] of post.get(g) ?? []) sims[i]![r]![k]! += Math.min(vh, vr) * vr;
        }),
      );
      return finish(refVecs.map((_, i) => perImageScore(sims[i]!, hyp, i)));
    },
  };
}

export function ciderD(cands: string[], refs: string[][], n = 4, sigma = 6): CiderResult {
  return ciderDScorer(refs, n, sigma).score(cands);
}
