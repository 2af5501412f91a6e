/**
 * `simvlm caption --ckpt DIR --image FILE [--prompt TEXT] [--beam K]`: caption images with a
 * checkpoint (greedy by default). Several --image flags caption a batch.
 */
import { readFile } from "node:fs/promises";
import { parseArgs, str, bool, optNum, flagNames, UsageError } from "../args.ts";
import { initBackend } from "../../lib/backend/index.ts";
import { decodeImageBytes } from "../../lib/data/decode.ts";
import { loadModel } from "../../lib/train/index.ts";
import { generate } from "../../lib/decode/index.ts";
import type { RgbImage } from "../../lib/data/types.ts";

const USAGE = `usage: simvlm caption --ckpt DIR --image FILE [--image FILE …] [--prompt TEXT] [--beam K] [--max-len N] [--prefix TEXT] [--json]
Prints one caption per image (with several images: FILE<TAB>caption).
  --ckpt DIR      a checkpoint directory written by \`simvlm pretrain\` (or finetune)
  --image FILE    PNG, JPEG, WebP, GIF, TIFF or SVG; centre-cropped and resized to the model's size
  --prompt TEXT   text the decoder starts from (e.g. "a picture of"); not repeated in the output
  --beam K        beam search with K beams (default 1 = greedy)
  --max-len N     most tokens to generate (default 24)
  --prefix TEXT   encoder text read after the image (e.g. a question, for a VQA-finetuned model)
  --json          print [{"image", "caption", "ids", "logProb"}] instead`;

export default async function caption(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: {
      ckpt: "string",
      image: "string",
      prompt: "string",
      beam: "number",
      "max-len": "number",
      prefix: "string",
    },
    booleans: ["json", "help"],
    repeatable: ["image"],
  });
  if (bool(args, "help")) {
    console.log(USAGE);
    return 0;
  }
  const ckpt = str(args, "ckpt");
  const files = (args.flags.image as string[] | undefined) ?? [];
  if (!files.length) throw new UsageError("--image is required (one or more)");
  const beam = optNum(args, "beam"),
    maxLen = optNum(args, "max-len");
  await initBackend();
  const { model, tokenizer, config } = await loadModel(ckpt);
  try {
    const images: RgbImage[] = [];
    for (const f of files) {
      let bytes: Buffer;
      try {
        bytes = await readFile(f);
      } catch (e) {
        throw new UsageError(`cannot read image ${f}: ${(e as Error).message}`);
      }
      try {
        images.push(await decodeImageBytes(bytes, config.imageSize, f));
      } catch (e) {
        throw new UsageError(`image ${f} could not be decoded: ${(e as Error).message}`);
      }
    }
    const prompt = args.flags.prompt === undefined ? undefined : String(args.flags.prompt);
    const prefix = args.flags.prefix === undefined ? undefined : String(args.flags.prefix);
    // generate validates beam and maxLen (and names them); report them as the flags.
    const res = await flagNames({ beam: "beam", maxLen: "max-len" }, () =>
      generate(model, tokenizer, {
        images,
        prompt,
        beam,
        maxLen,
        prefixTexts: prefix === undefined ? undefined : images.map(() => prefix),
        progress: false,
      }),
    );
    if (bool(args, "json")) {
      console.log(
        JSON.stringify(
          files.map((f, i) => ({
            image: f,
            caption: res.texts[i],
            ids: res.ids[i],
            logProb: res.logProbs[i],
          })),
          null,
          2,
        ),
      );
    } else if (files.length === 1) {
      console.log(res.texts[0]);
    } else {
      files.forEach((f, i) => console.log(`${f}\t${res.texts[i]}`));
    }
    return 0;
  } finally {
    model.dispose();
  }
}
