/**
 * captionScores: BLEU-1..4 and CIDEr-D of candidate captions against reference captions, with the
 * COCO tokenization, giving pycocoevalcap's numbers.
 */
import { corpusBleu } from "./bleu.ts";
import { ciderD } from "./cider.ts";
import { cocoTokenize } from "./ptb-tokenizer.ts";
import { EvalInputError } from "./errors.ts";

export interface CaptionScores {
  /** Corpus BLEU-1, BLEU-2, BLEU-3, BLEU-4. */
  bleu: [number, number, number, number];
  /** Corpus CIDEr-D (mean of the per-image scores). */
  cider: number;
  /** CIDEr-D of each image id. */
  ciderPerImage: Record<string, number>;
}

export interface CaptionScoreOptions {
  /** Skip COCO tokenization (inputs are already tokenized, space-separated). Default false. */
  pretokenized?: boolean;
}

const preview = (ids: string[]) =>
  ids
    .slice(0, 10)
    .map((s) => JSON.stringify(s))
    .join(", ") + (ids.length > 10 ? `, … (${ids.length} in all)` : "");

/** Check the two maps cover the same ids, with one error listing every mismatch. */
export function checkCaptionInputs(
  refs: Record<string, string[]>,
  cands: Record<string, string>,
): string[] {
  if (refs === null || typeof refs !== "object" || Array.isArray(refs))
    throw new EvalInputError(
      "captionScores: refs must be an object mapping image id -> array of reference captions",
    );
  if (cands === null || typeof cands !== "object" || Array.isArray(cands))
    throw new EvalInputError(
      "captionScores: cands must be an object mapping image id -> candidate caption",
    );
  const refIds = Object.keys(refs),
    candIds = Object.keys(cands);
  const refSet = new Set(refIds),
    candSet = new Set(candIds);
  const notInRefs = candIds.filter((id) => !refSet.has(id));
  const noCand = refIds.filter((id) => !candSet.has(id));
  if (notInRefs.length || noCand.length) {
    const parts: string[] = [];
    if (notInRefs.length) parts.push(`candidate ids not in refs: ${preview(notInRefs)}`);
    if (noCand.length) parts.push(`refs ids without a candidate: ${preview(noCand)}`);
    throw new EvalInputError(
      `captionScores: refs and cands must have the same image ids (as pycocoevalcap requires); ${parts.join("; ")}`,
    );
  }
  if (!refIds.length)
    throw new EvalInputError("captionScores: no images to score (refs and cands are empty)");
  for (const id of refIds) {
    const r = refs[id];
    if (!Array.isArray(r) || r.length === 0)
      throw new EvalInputError(
        `captionScores: refs[${JSON.stringify(id)}] must be a non-empty array of caption strings`,
      );
    r.forEach((c, i) => {
      if (typeof c !== "string")
        throw new EvalInputError(
          `captionScores: refs[${JSON.stringify(id)}][${i}] is ${typeof c}, expected a string`,
        );
    });
    if (typeof cands[id] !== "string")
      throw new EvalInputError(
        `captionScores: cands[${JSON.stringify(id)}] is ${typeof cands[id]}, expected a string`,
      );
  }
  return refIds;
}

export function captionScores(
  refs: Record<string, string[]>,
  cands: Record<string, string>,
  opts: CaptionScoreOptions = {},
): CaptionScores {
  const ids = checkCaptionInputs(refs, cands);
  const tok = opts.pretokenized ? (s: string) => s : cocoTokenize;
  const refTok = ids.map((id) => refs[id]!.map(tok));
  const candTok = ids.map((id) => tok(cands[id]!));
  const b = corpusBleu(candTok, refTok, 4);
  const c = ciderD(candTok, refTok, 4, 6);
  const ciderPerImage: Record<string, number> = {};
  ids.forEach((id, i) => {
    ciderPerImage[id] = c.perImage[i]!;
  });
  return { bleu: [b[0]!, b[1]!, b[2]!, b[3]!], cider: c.score, ciderPerImage };
}
