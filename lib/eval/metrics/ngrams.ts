/** Shared n-gram counting for BLEU and CIDEr-D (the `precook` step of pycocoevalcap). */

/** Split like Python's str.split(): on runs of whitespace, no empty words. */
export function splitWords(s: string): string[] {
  const t = s.trim();
  return t ? t.split(/\s+/u) : [];
}

/** Counts of all 1..n-grams, keyed by the space-joined words (words never contain spaces). */
export function countNgrams(words: string[], n = 4): Map<string, number> {
  const counts = new Map<string, number>();
  for (let k = 1; k <= n; k++) {
    for (let i = 0; i + k <= words.length; i++) {
      const g = words.slice(i, i + k).join(" ");
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
  }
  return counts;
}
