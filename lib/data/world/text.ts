/**
 * The words of the built-in world: weak alt-text (the pretraining signal, noisy like web alt-text),
 * 5 clean captions, VQA items with 10 annotator answers, entailment triples, and fluent documents
 * for text-only pretraining. Every function takes the scene objects and an Rng; nothing else.
 */
import type { EntailmentItem, SceneObject, VqaItem } from "../types.ts";
import type { Rng } from "../../util/rng.ts";
import { WORLD_COLORS, WORLD_SHAPES, WORLD_SIZES, NUMBER_WORDS, positionPhrase, horizontalWord, verticalWord, isHeldOutPair } from "./vocab.ts";

/**
 * Whether a text may name a colour+shape pair that is not in the scene and is held out of training
 * (allowed in val/test only). Default false: train text never composes a held-out pair, not even
 * through noise or a contradicted hypothesis (issue 14).
 */
export interface HeldOutTextOptions { allowHeldOut?: boolean }

const JUNK = ["image", "picture", "shapes", "clipart", "icon", "vector", "png", "stock", "free", "download", "hd", "art", "design", "graphic"];

function np(o: SceneObject, withSize: boolean): string {
  return withSize ? `${o.size} ${o.color} ${o.shape}` : `${o.color} ${o.shape}`;
}
function withArticle(phrase: string): string { return `a ${phrase}`; }
function joinAnd(xs: string[]): string {
  if (xs.length <= 1) return xs.join("");
  return `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}
function plural(shape: string): string { return shape === "cross" ? "crosses" : `${shape}s`; }
function countWord(n: number): string { return NUMBER_WORDS[n] ?? String(n); }
function leftToRight(objs: SceneObject[]): SceneObject[] { return [...objs].sort((a, b) => a.x - b.x); }

/** Web-like alt-text: keywords, partial, shuffled, with junk and sometimes a wrong word. */
export function makeAltText(objs: SceneObject[], rng: Rng, opts: HeldOutTextOptions = {}): string {
  const ok = (c: string, s: string) => opts.allowHeldOut === true || !isHeldOutPair(c, s);
  const style = rng.int(0, 3);
  const kept = objs.filter((_, i) => i === 0 || rng.next() < 0.75);
  const words: string[] = [];
  for (const o of kept) {
    let color = o.color, shape = o.shape;
    // Annotator/web noise: a wrong colour, rarely a wrong shape — never one that makes a pair the
    // scene's split must not contain (the true pair is always allowed, so neither list is empty).
    if (rng.next() < 0.1) color = rng.pick(WORLD_COLORS.filter((c) => ok(c, shape)));
    if (rng.next() < 0.05) shape = rng.pick(WORLD_SHAPES.filter((s) => ok(color, s)));
    if (rng.next() < 0.3) words.push(o.size);
    words.push(rng.next() < 0.85 ? `${color} ${shape}` : shape);
  }
  const junk = rng.int(0, 3);
  for (let i = 0; i < junk; i++) words.push(rng.pick(JUNK));
  if (style !== 3) rng.shuffle(words);
  switch (style) {
    case 0: return words.join(" ");
    case 1: return words.join(", ");
    case 2: return `${words.join(" ")} ${rng.pick(["jpg", "png", "image", "photo"])}`;
    default: return `${rng.pick(["cute", "simple", "flat", "colorful"])} ${words.join(" ")}`;
  }
}

/** Five clean captions in different phrasings; each names every object's colour and shape. */
export function makeCaptions(objs: SceneObject[], rng: Rng): string[] {
  const n = objs.length;
  const sorted = leftToRight(objs);
  const shuffled = rng.shuffle([...objs]);
  const positioned = sorted.map((o) => `${withArticle(np(o, true))} ${positionPhrase(o.x, o.y) === "center" ? "in the center" : `on the ${positionPhrase(o.x, o.y)}`}`);
  const noun = n === 1 ? "shape" : "shapes";
  return [
    joinAnd(positioned),
    `${n === 1 ? "there is" : "there are"} ${countWord(n)} ${noun}: ${joinAnd(shuffled.map((o) => withArticle(np(o, false))))}`,
    `a picture of ${joinAnd(sorted.map((o) => withArticle(np(o, true))))}${n > 1 ? " from left to right" : ""}`,
    `${joinAnd(shuffled.map((o) => withArticle(np(o, rng.next() < 0.5))))} on a ${rng.pick(["light", "pale", "plain", "soft"])} background`,
    n === 1 ? `a single ${np(objs[0]!, true)}` : `${countWord(n)} objects including ${joinAnd(sorted.map((o) => withArticle(np(o, false))))}`,
  ];
}

/** 10 annotator answers: mostly the truth, sometimes a plausible slip (like real VQA). */
function annotate(truth: string, alternatives: readonly string[], rng: Rng, noise = 0.08): string[] {
  const others = alternatives.filter((a) => a !== truth);
  return Array.from({ length: 10 }, () => (others.length && rng.next() < noise ? rng.pick(others) : truth));
}

export function makeVqa(objs: SceneObject[], rng: Rng): VqaItem[] {
  const items: VqaItem[] = [];
  const uniqueBy = (key: "shape" | "color") => objs.filter((o) => objs.filter((p) => p[key] === o[key]).length === 1);
  const byShape = uniqueBy("shape"), byColor = uniqueBy("color");
  if (byShape.length) {
    const o = rng.pick(byShape);
    items.push({ kind: "color", question: `what color is the ${o.shape}?`, answers: annotate(o.color, WORLD_COLORS, rng) });
  }
  if (byColor.length) {
    const o = rng.pick(byColor);
    items.push({ kind: "shape", question: `what shape is the ${o.color} object?`, answers: annotate(o.shape, WORLD_SHAPES, rng) });
  }
  const n = objs.length;
  items.push({ kind: "count", question: "how many shapes are there?", answers: annotate(String(n), ["1", "2", "3", "4", "5"].filter((c) => Math.abs(Number(c) - n) === 1), rng, 0.1) });
  const c = rng.pick(WORLD_COLORS);
  const nc = objs.filter((o) => o.color === c).length;
  items.push({ kind: "count", question: `how many ${c} shapes are there?`, answers: annotate(String(nc), [String(nc + 1), String(Math.max(0, nc - 1))], rng, 0.06) });
  const o = rng.pick(objs);
  const name = byShape.includes(o) ? `the ${o.shape}` : `the ${o.color} ${o.shape}`;
  const h = horizontalWord(o.x);
  if (rng.next() < 0.5 || h === "center") {
    items.push({ kind: "position", question: `where is ${name}?`, answers: annotate(positionPhrase(o.x, o.y), ["left", "right", "top", "bottom", "center"], rng) });
  } else {
    items.push({ kind: "position", question: `is ${name} on the left or the right?`, answers: annotate(h, ["left", "right"], rng, 0.05) });
  }
  return items;
}

const NEUTRAL = [
  (o: SceneObject) => `the ${o.color} ${o.shape} is made of plastic`,
  (o: SceneObject) => `the ${o.shape} was drawn by a child`,
  (o: SceneObject) => `the ${o.color} ${o.shape} is heavy`,
  () => "the picture was made yesterday",
  (o: SceneObject) => `someone is about to move the ${o.shape}`,
];

/** One entailed, one neutral (unobservable) and one contradicted hypothesis per scene. */
export function makeEntailment(objs: SceneObject[], premise: string, rng: Rng, opts: HeldOutTextOptions = {}): EntailmentItem[] {
  const o = rng.pick(objs), n = objs.length;
  const entail = rng.pick([
    `there is a ${o.color} ${o.shape}`,
    `there ${n === 1 ? "is one shape" : `are ${countWord(n)} shapes`}`,
    `the ${o.shape} is ${o.color}`,
    `a ${o.size} ${o.shape} is in the picture`,
  ]);
  // At most 4 objects and one held-out colour per shape: at least 3 colours remain.
  const absentColor = WORLD_COLORS.filter((c) => !objs.some((p) => p.color === c && p.shape === o.shape) && (opts.allowHeldOut === true || !isHeldOutPair(c, o.shape)));
  const wrongSize = WORLD_SIZES.filter((s) => s !== o.size);
  const contra = rng.pick([
    `there is a ${rng.pick(absentColor)} ${o.shape}`,
    `there ${n + 1 === 1 ? "is" : "are"} ${countWord(n + 1)} shapes`,
    `the ${o.color} ${o.shape} is ${rng.pick(wrongSize)}`,
    `there are no shapes in the picture`,
  ]);
  const neutral = rng.pick(NEUTRAL)(o);
  return rng.shuffle([
    { premise, hypothesis: entail, label: "entailment" as const },
    { premise, hypothesis: neutral, label: "neutral" as const },
    { premise, hypothesis: contra, label: "contradiction" as const },
  ]);
}

/** A fluent, longer description of a scene: the text-only (C4-role) corpus. */
export function makeDocument(objs: SceneObject[], rng: Rng): string {
  const n = objs.length;
  const sents: string[] = [];
  sents.push(rng.pick([
    `In this picture we can see ${countWord(n)} ${n === 1 ? "shape" : "shapes"} on a ${rng.pick(["pale", "light", "soft", "plain"])} background.`,
    `The image shows ${joinAnd(objs.map((o) => withArticle(np(o, false))))}.`,
    // Web text often opens this way; it is what makes the paper's zero-shot prompt "a picture of" work.
    `A picture of ${joinAnd(objs.map((o) => withArticle(np(o, false))))}.`,
    `Here is a simple drawing with ${countWord(n)} ${n === 1 ? "object" : "objects"}.`,
  ]));
  for (const o of rng.shuffle([...objs])) {
    const where = positionPhrase(o.x, o.y);
    const at = where === "center" ? "in the center" : `near the ${where}`;
    sents.push(rng.pick([
      `A ${np(o, true)} sits ${at}.`,
      `${cap(`the ${o.shape}`)} ${at} is ${o.color} and ${o.size}.`,
      `There is a ${o.size} ${o.shape} ${at}, and it is ${o.color}.`,
      `You can see a ${o.color} ${o.shape} ${at} of the picture.`,
    ]));
  }
  if (n >= 2) {
    const [a, b] = rng.shuffle([...objs]).slice(0, 2) as [SceneObject, SceneObject];
    const rel = a.x < b.x ? "to the left of" : "to the right of";
    const sz = WORLD_SIZES.indexOf(a.size) - WORLD_SIZES.indexOf(b.size);
    sents.push(rng.pick([
      `The ${a.color} ${a.shape} is ${rel} the ${b.color} ${b.shape}.`,
      sz === 0 ? `The ${a.shape} and the ${b.shape} have the same size.` : `The ${a.shape} is ${sz > 0 ? "bigger" : "smaller"} than the ${b.shape}.`,
      `${cap(verticalWord(a.y) === verticalWord(b.y) ? `the ${a.shape} and the ${b.shape} are at the same height` : `the ${a.shape} is ${a.y < b.y ? "above" : "below"} the ${b.shape}`)}.`,
    ]));
  }
  sents.push(rng.pick([`Altogether there ${n === 1 ? "is one shape" : `are ${countWord(n)} shapes`}.`, "The colors are bright and easy to tell apart.", "Nothing else is in the picture.", ""]));
  return sents.filter(Boolean).join(" ");
}

function cap(s: string): string { return s.charAt(0).toUpperCase() + s.slice(1); }
