/**
 * The words of the built-in world: weak alt-text (the pretraining signal, noisy like web alt-text),
 * 5 clean captions, VQA items with 10 annotator answers, entailment pairs (entailed + contradicted), and fluent documents
 * for text-only pretraining. Every function takes the scene objects and an Rng; nothing else.
 */
import type { EntailmentItem, SceneObject, VqaItem } from "../types.ts";
import type { Rng } from "../../util/rng.ts";
import {
  WORLD_COLORS,
  WORLD_SHAPES,
  WORLD_SIZES,
  NUMBER_WORDS,
  positionPhrase,
  horizontalWord,
  verticalWord,
  isHeldOutPair,
} from "./vocab.ts";
import { sampleScene } from "./scene.ts";

/**
 * Whether a text may name a colour+shape pair that is not in the scene and is held out of training
 * (allowed in val/test only). Default false: train text never composes a held-out pair, not even
 * through noise or a contradicted hypothesis (issue 14).
 */
export interface HeldOutTextOptions {
  allowHeldOut?: boolean;
}

const JUNK = [
  "image",
  "picture",
  "shapes",
  "clipart",
  "icon",
  "vector",
  "png",
  "stock",
  "free",
  "download",
  "hd",
  "art",
  "design",
  "graphic",
];

function np(o: SceneObject, withSize: boolean): string {
  return withSize ? `${o.size} ${o.color} ${o.shape}` : `${o.color} ${o.shape}`;
}
function withArticle(phrase: string): string {
  return `a ${phrase}`;
}
function joinAnd(xs: string[]): string {
  if (xs.length <= 1) return xs.join("");
  return `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}
function plural(shape: string): string {
  return shape === "cross" ? "crosses" : `${shape}s`;
}
function countWord(n: number): string {
  return NUMBER_WORDS[n] ?? String(n);
}
function leftToRight(objs: SceneObject[]): SceneObject[] {
  return [...objs].sort((a, b) => a.x - b.x);
}

/** Share of alt-texts written as a sentence ("a drawing of a red circle and a blue star"), same noise. */
export const ALT_TEXT_SENTENCE_RATE = 0.4;

/**
 * Web-like alt-text: keywords, partial, shuffled, with junk and sometimes a wrong word; or, for
 * ALT_TEXT_SENTENCE_RATE of the scenes, the same (noisy, partial) objects as one sentence.
 */
export function makeAltText(objs: SceneObject[], rng: Rng, opts: HeldOutTextOptions = {}): string {
  const ok = (c: string, s: string) => opts.allowHeldOut === true || !isHeldOutPair(c, s);
  const style = rng.int(0, 3);
  const kept = objs.filter((_, i) => i === 0 || rng.next() < 0.75);
  const words: string[] = [];
  const phrases: string[] = [];
  for (const o of kept) {
    let color = o.color,
      shape = o.shape;
    // Annotator/web noise: a wrong colour, rarely a wrong shape — never one that makes a pair the
    // scene's split must not contain (the true pair is always allowed, so neither list is empty).
    if (rng.next() < 0.1) color = rng.pick(WORLD_COLORS.filter((c) => ok(c, shape)));
    if (rng.next() < 0.05) shape = rng.pick(WORLD_SHAPES.filter((s) => ok(color, s)));
    const sized = rng.next() < 0.3;
    if (sized) words.push(o.size);
    const noun = rng.next() < 0.85 ? `${color} ${shape}` : shape;
    words.push(noun);
    phrases.push(sized ? `${o.size} ${noun}` : noun);
  }
  // Much web alt-text is a sentence ("picture of a red car"), which is why the paper's zero-shot
  // prompt "a picture of" works; without it the model only ever writes keyword lists (issue 14).
  if (rng.next() < ALT_TEXT_SENTENCE_RATE) {
    const lead = rng.pick([
      "a picture of",
      "an image of",
      "a drawing of",
      "picture of",
      "illustration of",
    ]);
    return `${lead} ${joinAnd(phrases.map(withArticle))}`;
  }
  const junk = rng.int(0, 3);
  for (let i = 0; i < junk; i++) words.push(rng.pick(JUNK));
  if (style !== 3) rng.shuffle(words);
  switch (style) {
    case 0:
      return words.join(" ");
    case 1:
      return words.join(", ");
    case 2:
      return `${words.join(" ")} ${rng.pick(["jpg", "png", "image", "photo"])}`;
    default:
      return `${rng.pick(["cute", "simple", "flat", "colorful"])} ${words.join(" ")}`;
  }
}

/** Five clean captions in different phrasings; each names every object's colour and shape. */
export function makeCaptions(objs: SceneObject[], rng: Rng): string[] {
  const n = objs.length;
  const sorted = leftToRight(objs);
  const shuffled = rng.shuffle([...objs]);
  const positioned = sorted.map(
    (o) =>
      `${withArticle(np(o, true))} ${positionPhrase(o.x, o.y) === "center" ? "in the center" : `on the ${positionPhrase(o.x, o.y)}`}`,
  );
  const noun = n === 1 ? "shape" : "shapes";
  return [
    joinAnd(positioned),
    `${n === 1 ? "there is" : "there are"} ${countWord(n)} ${noun}: ${joinAnd(shuffled.map((o) => withArticle(np(o, false))))}`,
    `a picture of ${joinAnd(sorted.map((o) => withArticle(np(o, true))))}${n > 1 ? " from left to right" : ""}`,
    `${joinAnd(shuffled.map((o) => withArticle(np(o, rng.next() < 0.5))))} on a ${rng.pick(["light", "pale", "plain", "soft"])} background`,
    n === 1
      ? `a single ${np(objs[0]!, true)}`
      : `${countWord(n)} objects including ${joinAnd(sorted.map((o) => withArticle(np(o, false))))}`,
  ];
}

/** 10 annotator answers: mostly the truth, sometimes a plausible slip (like real VQA). */
function annotate(
  truth: string,
  alternatives: readonly string[],
  rng: Rng,
  noise = 0.08,
): string[] {
  const others = alternatives.filter((a) => a !== truth);
  return Array.from({ length: 10 }, () =>
    others.length && rng.next() < noise ? rng.pick(others) : truth,
  );
}

export function makeVqa(objs: SceneObject[], rng: Rng): VqaItem[] {
  const items: VqaItem[] = [];
  const uniqueBy = (key: "shape" | "color") =>
    objs.filter((o) => objs.filter((p) => p[key] === o[key]).length === 1);
  const byShape = uniqueBy("shape"),
    byColor = uniqueBy("color");
  if (byShape.length) {
    const o = rng.pick(byShape);
    items.push({
      kind: "color",
      question: `what color is the ${o.shape}?`,
      answers: annotate(o.color, WORLD_COLORS, rng),
    });
  }
  if (byColor.length) {
    const o = rng.pick(byColor);
    items.push({
      kind: "shape",
      question: `what shape is the ${o.color} object?`,
      answers: annotate(o.shape, WORLD_SHAPES, rng),
    });
  }
  const n = objs.length;
  items.push({
    kind: "count",
    question: "how many shapes are there?",
    answers: annotate(
      String(n),
      ["1", "2", "3", "4", "5"].filter((c) => Math.abs(Number(c) - n) === 1),
      rng,
      0.1,
    ),
  });
  const c = rng.pick(WORLD_COLORS);
  const nc = objs.filter((o) => o.color === c).length;
  items.push({
    kind: "count",
    question: `how many ${c} shapes are there?`,
    answers: annotate(String(nc), [String(nc + 1), String(Math.max(0, nc - 1))], rng, 0.06),
  });
  const o = rng.pick(objs);
  const name = byShape.includes(o) ? `the ${o.shape}` : `the ${o.color} ${o.shape}`;
  const h = horizontalWord(o.x);
  if (rng.next() < 0.5 || h === "center") {
    items.push({
      kind: "position",
      question: `where is ${name}?`,
      answers: annotate(
        positionPhrase(o.x, o.y),
        ["left", "right", "top", "bottom", "center"],
        rng,
      ),
    });
  } else {
    items.push({
      kind: "position",
      question: `is ${name} on the left or the right?`,
      answers: annotate(h, ["left", "right"], rng, 0.05),
    });
  }
  return items;
}

/** The hypothesis templates: each is decided by the whole scene (present or absent, right count or not). */
type HypothesisTemplate = "colorShape" | "sizeShape" | "sizeColorShape" | "count";
const TEMPLATES: readonly HypothesisTemplate[] = [
  "colorShape",
  "sizeShape",
  "sizeColorShape",
  "count",
];

/** Template t filled from object o of a scene of n objects: a statement true of that scene. */
function fillTemplate(t: HypothesisTemplate, o: SceneObject, n: number): string {
  switch (t) {
    case "colorShape":
      return `there is a ${o.color} ${o.shape}`;
    case "sizeShape":
      return `there is a ${o.size} ${o.shape}`;
    case "sizeColorShape":
      return `there is a ${o.size} ${o.color} ${o.shape}`;
    default:
      return n === 1 ? "there is one shape" : `there are ${countWord(n)} shapes`;
  }
}

/** Whether template t filled from o (decoy scene of n' objects) holds in the scene objs. */
function holds(
  t: HypothesisTemplate,
  o: SceneObject,
  nDecoy: number,
  objs: SceneObject[],
): boolean {
  switch (t) {
    case "colorShape":
      return objs.some((p) => p.color === o.color && p.shape === o.shape);
    case "sizeShape":
      return objs.some((p) => p.size === o.size && p.shape === o.shape);
    case "sizeColorShape":
      return objs.some((p) => p.size === o.size && p.color === o.color && p.shape === o.shape);
    default:
      return objs.length === nDecoy;
  }
}

/** What the decoy scenes of makeEntailment are drawn from: the record's own scene distribution. */
export interface EntailmentOptions extends HeldOutTextOptions {
  /** sampleScene's heldOutRate for decoy scenes (the record's own; used only when allowHeldOut). */
  heldOutRate?: number;
}

/**
 * One entailed and one contradicted hypothesis per scene (in random order), worded so that the
 * wording says nothing about the label — only the premise decides it (issue 14). Both come from ONE
 * pool of templates about what a picture shows ("there is a red circle", "there is a large star",
 * "there is a small blue heart", "there are three shapes"), each template equally likely for either
 * label; the entailed one is filled from a random object (or the count) of this scene, the
 * contradicted one by the same rule from a decoy scene drawn from the same distribution as this
 * scene (sampleScene, the same held-out rule), redrawn until the statement is false here. So an
 * entailed and a contradicted wording have the same distribution up to the factor
 * P(statement false of a random scene) — near 1 for object statements and the same for every count
 * (scene sizes are near uniform) — and a hypothesis-only classifier is at chance (1/2).
 *
 * Why two labels, not SNLI's three: the premise (captions[0]) names every object with its size,
 * colour and position, and the image shows them all, so each of these statements is decided by
 * either premise — the same label for the text premise and the image premise, which is what makes
 * text→image transfer meaningful. "Neutral" has no consistent meaning for an image premise (the
 * picture decides every visual statement); the old neutral items ("the circle is heavy") were
 * recognisable by their wording alone.
 *
 * Held-out pairs: in train (allowHeldOut false) decoy scenes contain none, so no hypothesis names one.
 */
export function makeEntailment(
  objs: SceneObject[],
  premise: string,
  rng: Rng,
  opts: EntailmentOptions = {},
): EntailmentItem[] {
  const allowHeldOut = opts.allowHeldOut === true;
  const entT = rng.pick(TEMPLATES);
  const entail = fillTemplate(entT, rng.pick(objs), objs.length);
  const conT = rng.pick(TEMPLATES);
  let contra: string | undefined;
  // P(a decoy statement holds here) is at most ~1/4 (the count), so this ends within a few draws.
  while (contra === undefined) {
    const decoy = sampleScene(rng, {
      allowHeldOut,
      heldOutRate: allowHeldOut ? (opts.heldOutRate ?? 0) : 0,
    });
    const o = rng.pick(decoy);
    if (!holds(conT, o, decoy.length, objs)) contra = fillTemplate(conT, o, decoy.length);
  }
  return rng.shuffle([
    { premise, hypothesis: entail, label: "entailment" as const },
    { premise, hypothesis: contra, label: "contradiction" as const },
  ]);
}

/** A fluent, longer description of a scene: the text-only (C4-role) corpus. */
export function makeDocument(objs: SceneObject[], rng: Rng): string {
  const n = objs.length;
  const sents: string[] = [];
  sents.push(
    rng.pick([
      `In this picture we can see ${countWord(n)} ${n === 1 ? "shape" : "shapes"} on a ${rng.pick(["pale", "light", "soft", "plain"])} background.`,
      `The image shows ${joinAnd(objs.map((o) => withArticle(np(o, false))))}.`,
      // Web text often opens this way; it is what makes the paper's zero-shot prompt "a picture of" work.
      `A picture of ${joinAnd(objs.map((o) => withArticle(np(o, false))))}.`,
      `Here is a simple drawing with ${countWord(n)} ${n === 1 ? "object" : "objects"}.`,
    ]),
  );
  for (const o of rng.shuffle([...objs])) {
    const where = positionPhrase(o.x, o.y);
    const at = where === "center" ? "in the center" : `near the ${where}`;
    sents.push(
      rng.pick([
        `A ${np(o, true)} sits ${at}.`,
        `${cap(`the ${o.shape}`)} ${at} is ${o.color} and ${o.size}.`,
        `There is a ${o.size} ${o.shape} ${at}, and it is ${o.color}.`,
        `You can see a ${o.color} ${o.shape} ${at} of the picture.`,
      ]),
    );
  }
  if (n >= 2) {
    const [a, b] = rng.shuffle([...objs]).slice(0, 2) as [SceneObject, SceneObject];
    const rel = a.x < b.x ? "to the left of" : "to the right of";
    const sz = WORLD_SIZES.indexOf(a.size) - WORLD_SIZES.indexOf(b.size);
    sents.push(
      rng.pick([
        `The ${a.color} ${a.shape} is ${rel} the ${b.color} ${b.shape}.`,
        sz === 0
          ? `The ${a.shape} and the ${b.shape} have the same size.`
          : `The ${a.shape} is ${sz > 0 ? "bigger" : "smaller"} than the ${b.shape}.`,
        `${cap(verticalWord(a.y) === verticalWord(b.y) ? `the ${a.shape} and the ${b.shape} are at the same height` : `the ${a.shape} is ${a.y < b.y ? "above" : "below"} the ${b.shape}`)}.`,
      ]),
    );
  }
  sents.push(
    rng.pick([
      `Altogether there ${n === 1 ? "is one shape" : `are ${countWord(n)} shapes`}.`,
      "The colors are bright and easy to tell apart.",
      "Nothing else is in the picture.",
      "",
    ]),
  );
  return sents.filter(Boolean).join(" ");
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
