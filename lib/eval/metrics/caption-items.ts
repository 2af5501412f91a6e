/**
 * Every captioning metric of the protocol decomposed per test item, so that a bootstrap over items
 * (lib/eval/item-bootstrap.ts) recomputes the corpus metric on each resample instead of averaging
 * per-item values that do not average to it:
 *
 * - BLEU-1 and BLEU-4: each caption's pycocoevalcap statistics (bleuCaptionStats, after the COCO tokenizer),
 *   summed over the drawn items and combined (combineBleuStats) — corpus BLEU on all items.
 * - CIDEr-D: per-image CIDEr-D with the document frequencies of all scored references, fixed
 *   (stats.ts explains why); the mean over the drawn items.
 * - Object precision / recall / F1 and count accuracy: the grounded metric's per-text counts
 *   (groundedItemScore) summed over the drawn items — the micro-averages of groundedScores.
 * - The same object scores split by colour+shape class (`groundedPairCounts`): objects whose pair is
 *   held out of training ("red triangle") and the seen ones. A mention's class is its colour+shape
 *   pair; for each pair the text names n = max(1, quantity, sizes stated) objects and
 *   matched = min(n, objects of that pair in the scene), the rule of groundedItemScore, so the two
 *   classes add up to its counts. A mention with no colour has no pair and counts in neither class.
 *   Held-out precision = correct held-out mentions / held-out mentions; held-out recall = held-out
 *   objects named / held-out objects in the scenes: the compositional zero-shot measure.
 */
import type { GroundedObject, GroundedItemScore, GroundedVocabulary } from "./grounded.ts";
import { groundedItemScore, parseObjectMentions, WORLD_GROUNDED_VOCABULARY } from "./grounded.ts";
import { bleuCaptionStats, combineBleuStats, type BleuStats } from "./bleu.ts";
import { ciderD } from "./cider.ts";
import { cocoTokenize } from "./ptb-tokenizer.ts";
import { checkCaptionInputs } from "./caption.ts";
import { EvalInputError } from "./errors.ts";
import { isHeldOutPair } from "../../data/world/vocab.ts";
import type { ItemStatistic } from "../item-bootstrap.ts";

export interface PairClassCounts {
  named: number;
  scene: number;
  matched: number;
}
export interface GroundedPairCounts {
  heldOut: PairClassCounts;
  seen: PairClassCounts;
  /** Objects named without a colour (no pair, neither class). */ uncoloured: number;
}

/** Held-out vs seen colour+shape counts of one text against its scene (rules in the file comment). */
export function groundedPairCounts(
  text: string,
  objects: readonly GroundedObject[],
  isHeldOut: (color: string, shape: string) => boolean = isHeldOutPair,
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): GroundedPairCounts {
  const out: GroundedPairCounts = {
    heldOut: { named: 0, scene: 0, matched: 0 },
    seen: { named: 0, scene: 0, matched: 0 },
    uncoloured: 0,
  };
  // Keyed as groundedItemScore keys them ("? shape" for a mention without colour).
  const byKey = new Map<string, { color?: string; shape: string; n: number; sizes: Set<string> }>();
  for (const m of parseObjectMentions(text, vocab).mentions) {
    const key = m.color !== undefined ? `${m.color} ${m.shape}` : `? ${m.shape}`;
    const e = byKey.get(key) ?? { color: m.color, shape: m.shape, n: 0, sizes: new Set<string>() };
    if (m.size !== undefined) e.sizes.add(m.size);
    e.n = Math.max(e.n, m.quantity, e.sizes.size);
    byKey.set(key, e);
  }
  const inScene = new Map<string, number>();
  for (const o of objects) {
    const key = `${o.color} ${o.shape}`;
    inScene.set(key, (inScene.get(key) ?? 0) + 1);
    out[isHeldOut(o.color, o.shape) ? "heldOut" : "seen"].scene++;
  }
  for (const [key, e] of byKey) {
    if (e.color === undefined) {
      out.uncoloured += e.n;
      continue;
    }
    const c = out[isHeldOut(e.color, e.shape) ? "heldOut" : "seen"];
    c.named += e.n;
    c.matched += Math.min(e.n, inScene.get(key) ?? 0);
  }
  return out;
}

/** Per-item statistics of a set of captions, in `ids` order. */
export interface CaptionItemStats {
  ids: string[];
  bleu: BleuStats[];
  cider: number[];
  grounded: GroundedItemScore[];
  pairs: GroundedPairCounts[];
}

/**
 * Per-item statistics of candidate captions against references and scenes (`refs`, `cands` and
 * `scenes` keyed by the same image ids; EvalInputError naming the ids otherwise).
 */
export function captionItemStats(
  refs: Record<string, string[]>,
  cands: Record<string, string>,
  scenes: Record<string, readonly GroundedObject[]>,
  opts: { isHeldOut?: (color: string, shape: string) => boolean; vocab?: GroundedVocabulary } = {},
): CaptionItemStats {
  const ids = checkCaptionInputs(refs, cands);
  const noScene = ids.filter((id) => !Array.isArray(scenes[id]));
  if (noScene.length)
    throw new EvalInputError(
      `captionItemStats: no scene (objects) for image ids ${noScene.slice(0, 10).join(", ")}`,
    );
  const refTok = ids.map((id) => refs[id]!.map(cocoTokenize)),
    candTok = ids.map((id) => cocoTokenize(cands[id]!));
  const cider = ciderD(candTok, refTok, 4, 6).perImage;
  return {
    ids,
    bleu: ids.map((_, i) => bleuCaptionStats(candTok[i]!, refTok[i]!, 4)),
    cider: ids.map((_, i) => cider[i]!),
    grounded: ids.map((id) => groundedItemScore(cands[id]!, scenes[id]!, opts.vocab)),
    pairs: ids.map((id) => groundedPairCounts(cands[id]!, scenes[id]!, opts.isHeldOut, opts.vocab)),
  };
}

/** The caption metrics a bootstrap can recompute from CaptionItemStats. */
export const CAPTION_ITEM_METRICS = {
  cider: "CIDEr-D",
  bleu1: "BLEU-1",
  bleu4: "BLEU-4",
  objectPrecision: "object precision",
  objectRecall: "object recall",
  objectF1: "object F1",
  countAccuracy: "count accuracy",
  seenPrecision: "object precision, seen pairs",
  seenRecall: "object recall, seen pairs",
  seenF1: "object F1, seen pairs",
  heldOutPrecision: "object precision, held-out pairs",
  heldOutRecall: "object recall, held-out pairs",
  heldOutF1: "object F1, held-out pairs",
} as const;
export type CaptionItemMetric = keyof typeof CAPTION_ITEM_METRICS;

const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);

/** One caption metric as an ItemStatistic over `stats` (NaN where undefined, e.g. precision of texts that name nothing). */
export function captionStatistic(
  stats: CaptionItemStats,
  metric: CaptionItemMetric,
): ItemStatistic {
  const sum = (idx: readonly number[], f: (i: number) => number) => {
    let s = 0;
    for (const i of idx) s += f(i);
    return s;
  };
  const g = stats.grounded,
    p = stats.pairs;
  const prf = (
    idx: readonly number[],
    c: (i: number) => PairClassCounts | GroundedItemScore,
    which: "p" | "r" | "f",
  ) => {
    const m = sum(idx, (i) => c(i).matched),
      n = sum(idx, (i) => c(i).named),
      s = sum(idx, (i) => c(i).scene);
    return which === "p" ? ratio(m, n) : which === "r" ? ratio(m, s) : ratio(2 * m, n + s);
  };
  switch (metric) {
    case "cider":
      return (idx) =>
        ratio(
          sum(idx, (i) => stats.cider[i]!),
          idx.length,
        );
    case "bleu1":
      return (idx) =>
        combineBleuStats(
          idx.map((i) => stats.bleu[i]!),
          4,
        )[0]!;
    case "bleu4":
      return (idx) =>
        combineBleuStats(
          idx.map((i) => stats.bleu[i]!),
          4,
        )[3]!;
    case "objectPrecision":
      return (idx) => prf(idx, (i) => g[i]!, "p");
    case "objectRecall":
      return (idx) => prf(idx, (i) => g[i]!, "r");
    case "objectF1":
      return (idx) => prf(idx, (i) => g[i]!, "f");
    case "countAccuracy":
      return (idx) =>
        ratio(
          sum(idx, (i) => (g[i]!.countCorrect ? 1 : 0)),
          sum(idx, (i) => (g[i]!.countCorrect === null ? 0 : 1)),
        );
    case "seenPrecision":
      return (idx) => prf(idx, (i) => p[i]!.seen, "p");
    case "seenRecall":
      return (idx) => prf(idx, (i) => p[i]!.seen, "r");
    case "seenF1":
      return (idx) => prf(idx, (i) => p[i]!.seen, "f");
    case "heldOutPrecision":
      return (idx) => prf(idx, (i) => p[i]!.heldOut, "p");
    case "heldOutRecall":
      return (idx) => prf(idx, (i) => p[i]!.heldOut, "r");
    case "heldOutF1":
      return (idx) => prf(idx, (i) => p[i]!.heldOut, "f");
    default:
      throw new EvalInputError(
        `captionStatistic: unknown metric ${JSON.stringify(metric)}; one of ${Object.keys(CAPTION_ITEM_METRICS).join(", ")}`,
      );
  }
}
