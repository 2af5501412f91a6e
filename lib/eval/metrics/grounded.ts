/**
 * A grounded metric for generated text about the built-in world: which objects does a text name,
 * and are they in the scene? BLEU and CIDEr-D reward n-gram overlap with reference captions; this
 * asks whether the colour+shape pairs named are the ones in the picture (issue 14, item 1).
 *
 * Parsing (`parseObjectMentions`), on lower-cased words; every word outside the vocabulary is ignored:
 * - A **mention** is a shape noun (singular or plural: "circle", "crosses") with the colour and size
 *   words before it since the last article, number, "and" or punctuation: "a large red circle",
 *   "two red circles", "red circle, blue square" (alt-text), "a and b" lists.
 * - **Predicates** colour or size the subject: "the triangle near the top is red and small",
 *   "there is a large triangle …, and it is red", "the triangle is red" (the world's document style).
 * - **Quantity**: a number before the mention ("two red circles" = 2), "single" = 1, a bare plural
 *   = 2 (the least a plural says), otherwise 1; "no red circle" is not a mention.
 * - **Stated totals**: a number directly before a generic noun ("three shapes", "two objects",
 *   "there are no shapes") states how many shapes the picture has.
 * - A mention without a colour is a back-reference when the text names that shape with a colour
 *   elsewhere ("the red circle … the circle") and is dropped; otherwise it stays as a named object
 *   that cannot match (its colour is not stated, so it is no colour+shape match).
 *
 * Scoring one text against its scene (`groundedItemScore`), per colour+shape key: the text names
 * `n = max(1, largest quantity, distinct sizes stated)` objects of the key (repeated mentions count
 * once); matched = min(n, objects of that key in the scene). Named = Σ n (colourless mentions
 * included), scene = number of objects. precision = matched / named, recall = matched / scene,
 * F1 = 2 matched / (named + scene) (0 when both are empty). **Size** is scored apart: among matched
 * keys, `sizeStated` sizes were stated and `sizeCorrect` of them belong to a scene object of that
 * key; the *strict* scores count a matched object whose stated size is wrong as unmatched.
 * **Count**: a text that states totals is right when every total equals the number of objects.
 * Corpus scores (`groundedScores`) are micro-averaged (sums of matched / named / scene over texts),
 * plus the mean of the per-item F1 (what a paired bootstrap resamples).
 */
import { WORLD_COLORS, WORLD_SHAPES, WORLD_SIZES } from "../../data/world/vocab.ts";
import { EvalInputError } from "./errors.ts";

/** The words the parser knows. Defaults: the built-in world's. */
export interface GroundedVocabulary {
  colors: readonly string[];
  shapes: readonly string[];
  sizes: readonly string[];
}
export const WORLD_GROUNDED_VOCABULARY: GroundedVocabulary = {
  colors: WORLD_COLORS,
  shapes: WORLD_SHAPES,
  sizes: WORLD_SIZES,
};

/** One object mention found in a text. */
export interface ObjectMention {
  shape: string;
  color?: string;
  size?: string;
  quantity: number;
}
export interface ParsedObjects {
  mentions: ObjectMention[];
  /** Totals stated ("three shapes" → 3), in text order. */ totals: number[];
}

/** What a scene object must have to be scored against (SceneObject fits). */
export interface GroundedObject {
  color: string;
  shape: string;
  size?: string;
}

export interface GroundedItemScore {
  /** Objects the text names (see the file comment), objects in the scene, and the matched ones. */
  named: number;
  scene: number;
  matched: number;
  /** matched / named, or null when the text names nothing. */
  precision: number | null;
  recall: number;
  f1: number;
  /** Matched keys' stated sizes, and how many of them are right. */
  sizeStated: number;
  sizeCorrect: number;
  /** Matched objects whose stated size (if any) is right. */
  matchedStrict: number;
  f1Strict: number;
  /** The totals the text states, and whether they are all right (null when it states none). */
  totals: number[];
  countCorrect: boolean | null;
}

export interface GroundedScores {
  /** Items scored. */
  n: number;
  /** Micro-averages: Σ matched / Σ named (null if nothing was named), Σ matched / Σ scene, 2 Σ matched / (Σ named + Σ scene). */
  precision: number | null;
  recall: number;
  f1: number;
  precisionStrict: number | null;
  recallStrict: number;
  f1Strict: number;
  /** Σ sizeCorrect / Σ sizeStated (null when no size was stated) and Σ sizeStated. */
  sizeAccuracy: number | null;
  sizeStated: number;
  /** Among texts that state a total, the share that is right (null when none does), and how many state one. */
  countAccuracy: number | null;
  countStated: number;
  /** Mean of the per-item F1 (the quantity a bootstrap over items resamples). */
  meanItemF1: number;
  perItem: Record<string, GroundedItemScore>;
}

const NUMBERS: Record<string, number> = {
  zero: 0,
  no: 0,
  one: 1,
  single: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
};
const ARTICLES = new Set(["a", "an", "the"]);
const COPULAS = new Set(["is", "are", "was", "were"]);
const GENERIC = new Set([
  "shape",
  "shapes",
  "object",
  "objects",
  "thing",
  "things",
  "item",
  "items",
]);
const SYNONYMS: Record<string, string> = { grey: "gray" };

function plural(w: string): string {
  return /(s|x|z|ch|sh)$/.test(w) ? `${w}es` : `${w}s`;
}

/** Shape word (singular or plural) → [shape, isPlural], built once per vocabulary. */
const shapeTables = new WeakMap<GroundedVocabulary, Map<string, [string, boolean]>>();
function shapeTable(v: GroundedVocabulary): Map<string, [string, boolean]> {
  let t = shapeTables.get(v);
  if (!t) {
    t = new Map();
    for (const s of v.shapes) {
      t.set(s, [s, false]);
      t.set(plural(s), [s, true]);
    }
    shapeTables.set(v, t);
  }
  return t;
}

/** The object mentions and stated totals of one text (rules in the file comment). */
export function parseObjectMentions(
  text: string,
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): ParsedObjects {
  if (typeof text !== "string")
    throw new EvalInputError(`parseObjectMentions: text must be a string, got ${typeof text}`);
  const shapes = shapeTable(vocab);
  const colors = new Set(vocab.colors),
    sizes = new Set(vocab.sizes);
  const words = text.toLowerCase().match(/[a-z]+|\d+|[.!?;,]/g) ?? [];
  const mentions: ObjectMention[] = [];
  const totals: number[] = [];
  let np: { qty?: number; color?: string; size?: string } = {};
  let subject: ObjectMention | undefined; // the last mention of the sentence: what a predicate describes
  let predicate = false; // right after "is"/"are" (or "… and" inside a predicate)
  const norm = words.map((w) => SYNONYMS[w] ?? w);
  // After "is", colour/size words describe the subject unless a noun follows them ("there is red circle").
  const nounFollows = (i: number) => {
    let j = i;
    while (j < norm.length && (colors.has(norm[j]!) || sizes.has(norm[j]!))) j++;
    return j < norm.length && (shapes.has(norm[j]!) || GENERIC.has(norm[j]!));
  };
  for (let i = 0; i < norm.length; i++) {
    const w = norm[i]!;
    const num = /^\d+$/.test(w) ? Number(w) : NUMBERS[w];
    if (".!?;".includes(w)) {
      np = {};
      subject = undefined;
      predicate = false;
    } else if (w === ",") {
      np = {};
      predicate = false;
    } else if (COPULAS.has(w)) {
      np = {};
      predicate = true;
    } else if (w === "and" || w === "or") {
      if (!predicate) np = {};
    } else if (ARTICLES.has(w)) {
      np = {};
      predicate = false;
    } else if (num !== undefined) {
      np = { qty: num };
      predicate = false;
    } else if (colors.has(w) || sizes.has(w)) {
      const key = colors.has(w) ? "color" : "size";
      if (predicate && !nounFollows(i)) {
        if (subject && subject[key] === undefined) subject[key] = w;
      } else {
        np[key] = w;
        predicate = false;
      }
    } else if (shapes.has(w)) {
      const [shape, isPlural] = shapes.get(w)!;
      const m = { shape, color: np.color, size: np.size, quantity: np.qty ?? (isPlural ? 2 : 1) };
      if (m.quantity > 0) mentions.push(m);
      subject = m;
      np = {};
      predicate = false;
    } else if (GENERIC.has(w)) {
      if (np.qty !== undefined && np.color === undefined && np.size === undefined)
        totals.push(np.qty);
      np = {};
      predicate = false;
    } else predicate = false; // another word ends a predicate ("is to the left of …") but not a noun phrase ("a red shiny circle")
  }
  const colored = new Set(mentions.filter((m) => m.color !== undefined).map((m) => m.shape));
  const kept = mentions
    .filter((m) => m.color !== undefined || !colored.has(m.shape))
    .map((m) => ({
      shape: m.shape,
      ...(m.color !== undefined ? { color: m.color } : {}),
      ...(m.size !== undefined ? { size: m.size } : {}),
      quantity: m.quantity,
    }));
  return { mentions: kept, totals };
}

/** Score one text against the objects of its scene (rules in the file comment). */
export function groundedItemScore(
  text: string,
  objects: readonly GroundedObject[],
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): GroundedItemScore {
  if (!Array.isArray(objects))
    throw new EvalInputError(
      "groundedItemScore: objects must be an array of { color, shape, size? }",
    );
  const { mentions, totals } = parseObjectMentions(text, vocab);
  const byKey = new Map<string, { n: number; sizes: Set<string>; colored: boolean }>();
  for (const m of mentions) {
    const key = m.color !== undefined ? `${m.color} ${m.shape}` : `? ${m.shape}`;
    const e = byKey.get(key) ?? { n: 0, sizes: new Set<string>(), colored: m.color !== undefined };
    if (m.size !== undefined) e.sizes.add(m.size);
    e.n = Math.max(e.n, m.quantity, e.sizes.size);
    byKey.set(key, e);
  }
  const sceneSizes = new Map<string, (string | undefined)[]>();
  for (const o of objects) {
    const key = `${o.color} ${o.shape}`;
    sceneSizes.set(key, [...(sceneSizes.get(key) ?? []), o.size]);
  }
  let named = 0,
    matched = 0,
    sizeStated = 0,
    sizeCorrect = 0,
    matchedStrict = 0;
  for (const [key, e] of byKey) {
    named += e.n;
    const inScene = e.colored ? (sceneSizes.get(key) ?? []) : [];
    const tp = Math.min(e.n, inScene.length);
    if (tp === 0) continue;
    matched += tp;
    const stated = Math.min(e.sizes.size, tp);
    const right = Math.min([...e.sizes].filter((s) => inScene.includes(s)).length, tp);
    sizeStated += stated;
    sizeCorrect += right;
    matchedStrict += tp - (stated - Math.min(right, stated));
  }
  const scene = objects.length;
  const f = (tp: number) => (named + scene ? (2 * tp) / (named + scene) : 0);
  return {
    named,
    scene,
    matched,
    precision: named ? matched / named : null,
    recall: scene ? matched / scene : 0,
    f1: f(matched),
    sizeStated,
    sizeCorrect,
    matchedStrict,
    f1Strict: f(matchedStrict),
    totals,
    countCorrect: totals.length ? totals.every((t) => t === scene) : null,
  };
}

/**
 * Grounded scores of generated texts against their scenes: `texts[id]` is scored against
 * `scenes[id]` (e.g. an AnnotatedImage's `objects`). Every id of `texts` needs a scene and the
 * reverse, as captionScores requires (EvalInputError naming the ids otherwise).
 */
export function groundedScores(
  texts: Record<string, string>,
  scenes: Record<string, readonly GroundedObject[]>,
  vocab: GroundedVocabulary = WORLD_GROUNDED_VOCABULARY,
): GroundedScores {
  const ids = Object.keys(texts);
  const missing = ids.filter((id) => !(id in scenes)),
    extra = Object.keys(scenes).filter((id) => !(id in texts));
  if (missing.length || extra.length) {
    throw new EvalInputError(
      `groundedScores: texts and scenes must have the same ids; ${[missing.length ? `texts without a scene: ${missing.slice(0, 10).join(", ")}` : "", extra.length ? `scenes without a text: ${extra.slice(0, 10).join(", ")}` : ""].filter(Boolean).join("; ")}`,
    );
  }
  if (!ids.length) throw new EvalInputError("groundedScores: no texts to score");
  const perItem: Record<string, GroundedItemScore> = {};
  let named = 0,
    scene = 0,
    matched = 0,
    strict = 0,
    sizeStated = 0,
    sizeCorrect = 0,
    countStated = 0,
    countRight = 0,
    f1Sum = 0;
  for (const id of ids) {
    if (typeof texts[id] !== "string")
      throw new EvalInputError(
        `groundedScores: texts[${JSON.stringify(id)}] is ${typeof texts[id]}, expected a string`,
      );
    const s = groundedItemScore(texts[id]!, scenes[id]!, vocab);
    perItem[id] = s;
    named += s.named;
    scene += s.scene;
    matched += s.matched;
    strict += s.matchedStrict;
    sizeStated += s.sizeStated;
    sizeCorrect += s.sizeCorrect;
    f1Sum += s.f1;
    if (s.countCorrect !== null) {
      countStated++;
      if (s.countCorrect) countRight++;
    }
  }
  const f = (tp: number) => (named + scene ? (2 * tp) / (named + scene) : 0);
  return {
    n: ids.length,
    precision: named ? matched / named : null,
    recall: scene ? matched / scene : 0,
    f1: f(matched),
    precisionStrict: named ? strict / named : null,
    recallStrict: scene ? strict / scene : 0,
    f1Strict: f(strict),
    sizeAccuracy: sizeStated ? sizeCorrect / sizeStated : null,
    sizeStated,
    countAccuracy: countStated ? countRight / countStated : null,
    countStated,
    meanItemF1: f1Sum / ids.length,
    perItem,
  };
}
