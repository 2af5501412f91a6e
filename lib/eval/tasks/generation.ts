/**
 * Generation tasks on a trained model: captioning (image → caption, scored with BLEU/CIDEr-D
 * against the reference captions), VQA as generation (the question is the encoder's text prefix,
 * the answer is the generated suffix, scored with the VQA accuracy), zero-shot captioning with and
 * without a decoder prompt, and the compositional split (scenes with held-out colour+shape pairs
 * against scenes with seen ones).
 */
import type { AnnotatedImage, RgbImage, VqaItem } from "../../data/types.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { generate } from "../../decode/generate.ts";
import { runSignal, startProgress, throwIfAborted, type LongRunOptions } from "../../runtime.ts";
import { captionScores } from "../metrics/caption.ts";
import { vqaAccuracy } from "../metrics/vqa.ts";
import { EvalInputError } from "../metrics/errors.ts";

/** What captioning needs of an image record (AnnotatedImage fits). */
export interface CaptionItem {
  id: string;
  image: RgbImage;
  captions: string[];
}
/** What VQA needs of an image record (AnnotatedImage fits). */
export interface VqaImage {
  id: string;
  image: RgbImage;
  vqa: VqaItem[];
}

export interface GenerationTaskOptions extends LongRunOptions {
  /** Decoder prompt (e.g. "a picture of"); stripped from the outputs before scoring. */
  prompt?: string;
  beam?: number;
  maxLen?: number;
  /** Examples per generate call (default 32). */
  batchSize?: number;
  /** How many sample outputs to return (default 5). */
  samples?: number;
}

export interface CaptionMetrics {
  bleu1: number;
  bleu2: number;
  bleu3: number;
  bleu4: number;
  cider: number;
}
export interface CaptionEval {
  task: "caption";
  n: number;
  prompt?: string;
  /** Encoder-side text prompt, read after the image patches (how PrefixLM pretraining presents text). */
  prefixText?: string;
  metrics: CaptionMetrics;
  /** Generated caption per image id. */
  captions: Record<string, string>;
  ciderPerImage: Record<string, number>;
  samples: { id: string; caption: string; refs: string[] }[];
}

type Model = SimVLM;
type Tok = SimTokenizer;

/** Generate for inputs in batches with progress and interrupt checks. */
async function generateAll(
  model: Model,
  tokenizer: Tok,
  inputs: { image: RgbImage; prefix?: string }[],
  label: string,
  opts: GenerationTaskOptions,
): Promise<string[]> {
  const bs = opts.batchSize ?? 32;
  const signal = runSignal(opts);
  const progress = startProgress(label, inputs.length, opts);
  const texts: string[] = [];
  try {
    for (let i = 0; i < inputs.length; i += bs) {
      throwIfAborted(signal, label);
      const chunk = inputs.slice(i, i + bs);
      const hasPrefix = chunk.some((c) => c.prefix !== undefined);
      const r = await generate(model, tokenizer, {
        images: chunk.map((c) => c.image),
        prefixTexts: hasPrefix ? chunk.map((c) => c.prefix ?? "") : undefined,
        prompt: opts.prompt || undefined,
        beam: opts.beam,
        maxLen: opts.maxLen,
        signal,
        progress: false,
      });
      texts.push(...r.texts);
      progress.update({ step: texts.length, total: inputs.length });
    }
  } finally {
    progress.done(`${texts.length} generated`);
  }
  return texts;
}

function checkItems<T extends { id: string }>(items: T[], what: string): void {
  if (!Array.isArray(items) || !items.length)
    throw new EvalInputError(`${what}: no images to evaluate`);
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id))
      throw new EvalInputError(`${what}: image id ${JSON.stringify(it.id)} appears twice`);
    seen.add(it.id);
  }
}

/**
 * Caption each image and score the captions against its references (BLEU-1..4, CIDEr-D). Two ways
 * to prompt: `prompt` is forced on the decoder and stripped from the output; `prefixText` is text
 * the encoder reads after the image (a PrefixLM prefix of length T_p > 0), and the decoder writes
 * its continuation. Either way the prompt words are given, not generated, so they are not scored.
 */
export async function evalCaptioning(
  model: Model,
  tokenizer: Tok,
  items: CaptionItem[],
  opts: GenerationTaskOptions & { prefixText?: string } = {},
): Promise<CaptionEval> {
  checkItems(items, "evalCaptioning");
  for (const it of items)
    if (!it.captions?.length)
      throw new EvalInputError(
        `evalCaptioning: image ${JSON.stringify(it.id)} has no reference captions`,
      );
  const prefix = opts.prefixText || undefined;
  const texts = await generateAll(
    model,
    tokenizer,
    items.map((it) => ({ image: it.image, prefix })),
    "captioning",
    opts,
  );
  const refs: Record<string, string[]> = {},
    cands: Record<string, string> = {};
  items.forEach((it, i) => {
    refs[it.id] = it.captions;
    cands[it.id] = texts[i]!;
  });
  const s = captionScores(refs, cands);
  return {
    task: "caption",
    n: items.length,
    ...(opts.prompt ? { prompt: opts.prompt } : {}),
    ...(prefix ? { prefixText: prefix } : {}),
    metrics: {
      bleu1: s.bleu[0],
      bleu2: s.bleu[1],
      bleu3: s.bleu[2],
      bleu4: s.bleu[3],
      cider: s.cider,
    },
    captions: cands,
    ciderPerImage: s.ciderPerImage,
    samples: items
      .slice(0, opts.samples ?? 5)
      .map((it) => ({ id: it.id, caption: cands[it.id]!, refs: it.captions })),
  };
}

export interface VqaEval {
  task: "vqa";
  n: number;
  metrics: { accuracy: number } & Record<`accuracy_${VqaItem["kind"]}`, number | undefined>;
  /** Predicted answer per question id ("<image id>#<question index>"). */
  answers: Record<string, string>;
  samples: { id: string; question: string; answer: string; gt: string[] }[];
}

/** VQA as generation: image + question in the encoder, the answer generated by the decoder. */
export async function evalVqa(
  model: Model,
  tokenizer: Tok,
  items: VqaImage[],
  opts: GenerationTaskOptions & { kinds?: VqaItem["kind"][] } = {},
): Promise<VqaEval> {
  checkItems(items, "evalVqa");
  const qs: { id: string; image: RgbImage; q: VqaItem }[] = [];
  for (const it of items)
    it.vqa.forEach((q, j) => {
      if (!opts.kinds || opts.kinds.includes(q.kind))
        qs.push({ id: `${it.id}#${j}`, image: it.image, q });
    });
  if (!qs.length)
    throw new EvalInputError(
      `evalVqa: the ${items.length} images have no questions${opts.kinds ? ` of kind ${opts.kinds.join("/")}` : ""}`,
    );
  const texts = await generateAll(
    model,
    tokenizer,
    qs.map((x) => ({ image: x.image, prefix: x.q.question })),
    "vqa",
    opts,
  );
  const gt: Record<string, string[]> = {},
    preds: Record<string, string> = {};
  qs.forEach((x, i) => {
    gt[x.id] = x.q.answers;
    preds[x.id] = texts[i]!;
  });
  const acc = vqaAccuracy(gt, preds);
  const byKind: Record<string, number[]> = {};
  qs.forEach((x) => (byKind[x.q.kind] ??= []).push(acc.perQuestion[x.id]!));
  const kindMetrics = Object.fromEntries(
    Object.entries(byKind).map(([k, v]) => [
      `accuracy_${k}`,
      v.reduce((a, b) => a + b, 0) / v.length,
    ]),
  );
  return {
    task: "vqa",
    n: qs.length,
    metrics: { accuracy: acc.overall, ...kindMetrics } as VqaEval["metrics"],
    answers: preds,
    samples: qs
      .slice(0, opts.samples ?? 5)
      .map((x) => ({ id: x.id, question: x.q.question, answer: preds[x.id]!, gt: x.q.answers })),
  };
}

/** Zero-shot captioning of a pretrained-only model: once per prompt ("" = no prompt). */
export async function zeroShotCaptioning(
  model: Model,
  tokenizer: Tok,
  items: CaptionItem[],
  opts: GenerationTaskOptions & { prompts?: string[] } = {},
): Promise<{ prompt: string; result: CaptionEval }[]> {
  const prompts = opts.prompts ?? ["", "a picture of"];
  const out: { prompt: string; result: CaptionEval }[] = [];
  for (const prompt of prompts)
    out.push({
      prompt,
      result: await evalCaptioning(model, tokenizer, items, { ...opts, prompt }),
    });
  return out;
}

export interface CompositionalEval<R> {
  heldOut: R | null;
  seen: R | null;
  heldOutImages: number;
  seenImages: number;
}

/**
 * Compositional zero-shot: the same task on scenes that contain a colour+shape pair never seen in
 * training (AnnotatedImage.heldOut) and on scenes that do not. A side with no images is null.
 */
export async function evalCompositional(
  model: Model,
  tokenizer: Tok,
  items: AnnotatedImage[],
  task: "caption" | "vqa",
  opts: GenerationTaskOptions = {},
): Promise<CompositionalEval<CaptionEval | VqaEval>> {
  const held = items.filter((it) => it.heldOut),
    seen = items.filter((it) => !it.heldOut);
  if (!held.length)
    throw new EvalInputError(
      "evalCompositional: none of the images has a held-out colour+shape pair (use the val or test split of the built-in world)",
    );
  const run = (xs: AnnotatedImage[]) =>
    task === "caption"
      ? evalCaptioning(model, tokenizer, xs, opts)
      : evalVqa(model, tokenizer, xs, opts);
  return {
    heldOut: await run(held),
    seen: seen.length ? await run(seen) : null,
    heldOutImages: held.length,
    seenImages: seen.length,
  };
}
