/**
 * `simvlm viz attention|prefix-mask`: figures from a checkpoint as PNG (for papers and slides) or a
 * standalone HTML page with the interactive Plotly figure.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, extname } from "node:path";
import sharp from "sharp";
import { parseArgs, str, num, bool, optNum, flagNames, UsageError } from "../args.ts";
import { initBackend, tf } from "../../lib/backend/index.ts";
import { loadModel, type LoadedModel } from "../../lib/train/index.ts";
import { generate } from "../../lib/decode/index.ts";
import { resizeImage } from "../../lib/data/index.ts";
import type { RgbImage } from "../../lib/data/types.ts";
import { gridSide, imagesToTensor, type AttentionCapture } from "../../lib/model/index.ts";
import { SPECIAL_IDS } from "../../lib/tokenizer/index.ts";
import {
  attentionFigure,
  attentionGridFigure,
  prefixMaskFigure,
  vizStandaloneHtml,
  VizError,
} from "../../lib/viz/index.ts";
import type { PlotlyFigure } from "../../lib/display/index.ts";

const USAGE = `usage:
  simvlm viz attention   --ckpt DIR --image FILE [--text TEXT] [--prefix TEXT] [--grid] [--beam N] --out FILE.png|FILE.html
  simvlm viz prefix-mask --ckpt DIR --text TEXT --tp K --out FILE.png|FILE.html

attention    decoder cross-attention over the image patches (and the encoder's text prefix) for a caption:
             --text TEXT scores that caption (teacher-forced); without it the caption is generated
             (greedy, or --beam N). --prefix TEXT is read by the encoder after the patches.
             --grid draws the layers × heads grid instead of the overlay view.
prefix-mask  the PrefixLM attention mask for TEXT (tokenised by the checkpoint's tokenizer) split at T_p = K.

--out FILE.png writes the static picture; FILE.html a standalone page (plotly.js inlined, works offline).`;

type OutKind = "png" | "html";

function outKind(out: string): OutKind {
  const ext = extname(out).toLowerCase();
  if (ext === ".png") return "png";
  if (ext === ".html" || ext === ".htm") return "html";
  throw new UsageError(`--out ${out}: the file must end in .png or .html`);
}

function writeOut(
  out: string,
  kind: OutKind,
  fig: { figure: PlotlyFigure; png: string },
  title: string,
): void {
  const dir = dirname(out);
  if (dir && !existsSync(dir)) mkdirSync(dir, { recursive: true });
  if (kind === "png") writeFileSync(out, Buffer.from(fig.png, "base64"));
  else writeFileSync(out, vizStandaloneHtml(fig.figure, { title }));
  console.log(`wrote ${out}`);
}

async function readImage(file: string): Promise<RgbImage> {
  if (!existsSync(file)) throw new UsageError(`--image ${file}: no such file`);
  try {
    const { data, info } = await sharp(readFileSync(file))
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (e) {
    throw new UsageError(`--image ${file}: not a readable image (${(e as Error).message})`);
  }
}

async function attention(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: {
      ckpt: "string",
      image: "string",
      text: "string",
      prefix: "string",
      out: "string",
      beam: "number",
      "max-len": "number",
    },
    booleans: ["grid", "help"],
  });
  if (bool(a, "help")) {
    console.log(USAGE);
    return 0;
  }
  const ckpt = str(a, "ckpt"),
    out = str(a, "out"),
    kind = outKind(out);
  const image = await readImage(str(a, "image"));
  await initBackend();
  const loaded = await loadModel(ckpt);
  const { model, tokenizer, config } = loaded;
  try {
    const prefix = a.flags.prefix !== undefined ? str(a, "prefix") : undefined;
    const given = a.flags.text !== undefined ? str(a, "text") : undefined;
    let caption: string;
    let capture: AttentionCapture | undefined;
    if (given === undefined) {
      const r = await flagNames({ beam: "beam", maxLen: "max-len" }, () =>
        generate(model, tokenizer, {
          images: [image],
          prefixTexts: prefix !== undefined ? [prefix] : undefined,
          beam: optNum(a, "beam"),
          maxLen: optNum(a, "max-len"),
          captureAttention: true,
          progress: false,
        }),
      );
      caption = r.texts[0]!;
      capture = r.attention?.[0];
      console.log(`caption: ${caption}`);
    } else {
      caption = given;
      capture = teacherForcedCapture(loaded, image, given, prefix);
    }
    if (!capture) throw new VizError("the model returned no attention capture");
    const modelView = resizeImage(image, config.imageSize);
    const title = `"${caption}"` + (prefix ? ` (prefix "${prefix}")` : "");
    const fig = bool(a, "grid")
      ? await attentionGridFigure({
          capture,
          image: modelView,
          title: `Cross-attention, layers × heads: ${title}`,
        })
      : await attentionFigure({ capture, image: modelView, title: `Cross-attention: ${title}` });
    writeOut(out, kind, fig, `simvlm attention: ${caption}`);
    return 0;
  } finally {
    model.dispose();
  }
}

/** One forward pass with capture over [bos, caption tokens]: the attention while reading the given caption. */
function teacherForcedCapture(
  loaded: LoadedModel,
  image: RgbImage,
  text: string,
  prefix?: string,
): AttentionCapture | undefined {
  const { model, tokenizer, config } = loaded;
  const ids = tokenizer.encode(text);
  if (ids.length === 0) throw new UsageError(`--text "${text}": no tokens`);
  const dec = [SPECIAL_IDS.BOS, ...ids].slice(0, config.maxTextLen);
  const pre = prefix !== undefined ? tokenizer.encode(prefix).slice(0, config.maxTextLen) : [];
  const images = imagesToTensor([image], config);
  const encIds = tf.tensor2d(pre, [1, pre.length], "int32"),
    decIn = tf.tensor2d(dec, [1, dec.length], "int32");
  try {
    const out = model.apply(
      { images, encIds, decIn },
      { training: false, capture: true, tokenString: (id) => tokenizer.tokenString(id) },
    );
    out.logits.dispose();
    return out.attention?.[0];
  } finally {
    tf.dispose([images, encIds, decIn]);
  }
}

async function prefixMask(argv: string[]): Promise<number> {
  const a = parseArgs(argv, {
    values: { ckpt: "string", text: "string", tp: "number", out: "string" },
    booleans: ["help"],
  });
  if (bool(a, "help")) {
    console.log(USAGE);
    return 0;
  }
  const ckpt = str(a, "ckpt"),
    text = str(a, "text"),
    tp = num(a, "tp"),
    out = str(a, "out"),
    kind = outKind(out);
  await initBackend();
  const loaded = await loadModel(ckpt);
  try {
    const tokens = loaded.tokenizer.encode(text).map((id) => loaded.tokenizer.tokenString(id));
    const g = gridSide(loaded.config);
    // prefixMaskFigure checks the tokens (of --text) and --tp against them.
    const fig = await flagNames({ tp: "tp", tokens: "text" }, () =>
      prefixMaskFigure({ tokens, numPatches: g * g, tp }),
    );
    writeOut(out, kind, fig, `simvlm prefix mask T_p=${tp}`);
    return 0;
  } finally {
    loaded.model.dispose();
  }
}

export default async function viz(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h" || sub === "help") {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  if (sub === "attention") return attention(rest);
  if (sub === "prefix-mask") return prefixMask(rest);
  throw new UsageError(
    `viz: unknown figure "${sub}" (choose attention or prefix-mask)\n\n${USAGE}`,
  );
}
