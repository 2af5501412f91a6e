/**
 * `simvlm score --refs REFS.json --cands CANDS.json`: prints captionScores (BLEU-1..4, CIDEr-D and
 * per-image CIDEr-D) as JSON. Accepts plain maps or COCO formats (see usage()).
 */
import { readFileSync } from "node:fs";
import { parseArgs, str, bool, UsageError } from "../args.ts";
import { captionScores, EvalInputError } from "../../lib/eval/index.ts";

const USAGE = `usage: simvlm score --refs REFS.json --cands CANDS.json [--pretokenized] [--only-cands]
Prints {"bleu":[b1,b2,b3,b4],"cider":c,"ciderPerImage":{id:score}} as pycocoevalcap computes them
(COCO PTB tokenization, corpus BLEU with closest reference length, CIDEr-D with sigma 6).
REFS:  {"<id>": ["ref caption", ...], ...}  or a COCO annotations file {"annotations":[{"image_id":..,"caption":".."}]}
CANDS: {"<id>": "candidate caption", ...}  or a COCO results list [{"image_id":..,"caption":".."}]
--pretokenized  captions are already tokenized (space-separated); skip the COCO tokenizer.
--only-cands    score only the images that have a candidate (what COCOEvalCap does with a results
                file covering part of an annotations file); without it, refs ids lacking a
                candidate are an error, as in pycocoevalcap's scorers.`;

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${what} file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const idOf = (v: unknown) =>
  typeof v === "string" || typeof v === "number" ? String(v) : undefined;

/** refs: plain map id -> string[] (a single string is taken as one reference), or COCO annotations. */
export function parseRefs(data: unknown, path: string): Record<string, string[]> {
  const refs: Record<string, string[]> = {};
  if (isObj(data) && Array.isArray(data.annotations)) {
    data.annotations.forEach((a: unknown, i: number) => {
      const id = isObj(a) ? idOf(a.image_id) : undefined;
      if (!isObj(a) || id === undefined)
        throw new UsageError(
          `${path}: annotations[${i}].image_id is missing or not a string/number`,
        );
      if (typeof a.caption !== "string")
        throw new UsageError(
          `${path}: annotations[${i}].caption is missing or not a string (image_id ${id})`,
        );
      (refs[id] ??= []).push(a.caption);
    });
    return refs;
  }
  if (!isObj(data))
    throw new UsageError(
      `${path}: refs must be an object {id: [captions]} or a COCO annotations file {"annotations": [...]}`,
    );
  for (const [id, v] of Object.entries(data)) {
    if (typeof v === "string") refs[id] = [v];
    else if (Array.isArray(v) && v.every((c) => typeof c === "string")) refs[id] = v as string[];
    else throw new UsageError(`${path}: refs["${id}"] must be an array of caption strings`);
  }
  return refs;
}

/** cands: plain map id -> string, or COCO results [{image_id, caption}]. */
export function parseCands(data: unknown, path: string): Record<string, string> {
  const cands: Record<string, string> = {};
  if (Array.isArray(data)) {
    data.forEach((r: unknown, i: number) => {
      const id = isObj(r) ? idOf(r.image_id) : undefined;
      if (!isObj(r) || id === undefined)
        throw new UsageError(`${path}: [${i}].image_id is missing or not a string/number`);
      if (typeof r.caption !== "string")
        throw new UsageError(`${path}: [${i}].caption is missing or not a string (image_id ${id})`);
      if (id in cands)
        throw new UsageError(
          `${path}: image_id ${id} has more than one caption (entries must be unique per image)`,
        );
      cands[id] = r.caption;
    });
    return cands;
  }
  if (!isObj(data))
    throw new UsageError(
      `${path}: cands must be an object {id: caption} or a COCO results list [{"image_id", "caption"}]`,
    );
  for (const [id, v] of Object.entries(data)) {
    if (typeof v === "string") cands[id] = v;
    else if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") cands[id] = v[0];
    else throw new UsageError(`${path}: cands["${id}"] must be a caption string`);
  }
  return cands;
}

export default async function score(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: { refs: "string", cands: "string" },
    booleans: ["help", "pretokenized", "only-cands"],
  });
  if (bool(args, "help")) {
    console.log(USAGE);
    return 0;
  }
  if (args.positionals.length)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"\n${USAGE}`);
  const refsPath = str(args, "refs"),
    candsPath = str(args, "cands");
  const refs = parseRefs(readJson(refsPath, "refs"), refsPath);
  const cands = parseCands(readJson(candsPath, "cands"), candsPath);
  if (bool(args, "only-cands"))
    for (const id of Object.keys(refs)) if (!(id in cands)) delete refs[id];
  let result;
  try {
    result = captionScores(refs, cands, { pretokenized: bool(args, "pretokenized") });
  } catch (e) {
    if (e instanceof EvalInputError) {
      const hint =
        /without a candidate/.test((e as Error).message) && !bool(args, "only-cands")
          ? "; --only-cands scores just the images that have a candidate"
          : "";
      throw new UsageError(
        `${(e as Error).message} (refs: ${refsPath}, cands: ${candsPath})${hint}`,
      );
    }
    throw e;
  }
  console.log(JSON.stringify(result, null, 2));
  return 0;
}
