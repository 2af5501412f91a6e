/**
 * Turning raw records into Examples: strict UTF-8 text, image decode + centre-crop resize with
 * sharp (PNG, JPEG, WebP, GIF, TIFF, SVG), alpha flattened onto white. Problems come back as
 * reasons, never as exceptions, so the stream decides between skip and fail.
 */
import { readFile } from "node:fs/promises";
import type { Example, RgbImage } from "./types.ts";
import { decodeUtf8 } from "./io.ts";

/** A record as a loader reads it, before decoding. `problem` marks one already known bad. */
export interface RawRecord {
  id: string;
  /** File and record (line, key, index) for error messages. */
  file: string;
  record: string | number;
  imagePath?: string;
  imageBytes?: Buffer;
  /** Name hint for the bytes (e.g. "x.svg"), used to pick an SVG render density. */
  imageName?: string;
  text?: string | Buffer;
  meta?: Record<string, unknown>;
  problem?: string;
}

export type Decoded = { ok: true; example: Example } | { ok: false; reason: string };

type SharpFn = typeof import("sharp").default;
let sharpMod: SharpFn | undefined;
async function getSharp(): Promise<SharpFn> {
  return (sharpMod ??= (await import("sharp")).default);
}

export type ImageFit = "cover" | "contain";

/** Decode image bytes to size × size: "cover" centre-crops (default), "contain" pads with white. */
export async function decodeImageBytes(
  bytes: Buffer,
  size: number,
  nameHint = "",
  fit: ImageFit = "cover",
): Promise<RgbImage> {
  const sharp = await getSharp();
  const isSvg =
    /\.svg$/i.test(nameHint) || bytes.subarray(0, 256).toString("utf8").includes("<svg");
  const { data, info } = await sharp(bytes, isSvg ? { density: Math.max(72, size * 1.5) } : {})
    .flatten({ background: "#ffffff" })
    .resize(size, size, { fit, position: "centre", background: "#ffffff" })
    .toColourspace("srgb")
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(
      `decoded to ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`,
    );
  }
  return {
    width: size,
    height: size,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

export async function decodeRecord(
  r: RawRecord,
  size: number,
  fit: ImageFit = "cover",
): Promise<Decoded> {
  if (r.problem) return { ok: false, reason: r.problem };
  let text: string;
  if (r.text === undefined) return { ok: false, reason: "no text" };
  if (typeof r.text === "string") text = r.text;
  else {
    const t = decodeUtf8(r.text);
    if (t === null) return { ok: false, reason: "text is not valid UTF-8" };
    text = t;
  }
  text = text.trim();
  if (!text) return { ok: false, reason: "empty text" };
  if (!r.imagePath && !r.imageBytes)
    return { ok: true, example: { id: r.id, text, ...(r.meta ? { meta: r.meta } : {}) } };
  let bytes = r.imageBytes;
  if (!bytes) {
    try {
      bytes = await readFile(r.imagePath!);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return {
        ok: false,
        reason:
          code === "ENOENT"
            ? `image file not found: ${r.imagePath}`
            : `cannot read image ${r.imagePath}: ${(e as Error).message}`,
      };
    }
  }
  try {
    const image = await decodeImageBytes(bytes, size, r.imageName ?? r.imagePath ?? "", fit);
    return { ok: true, example: { id: r.id, image, text, ...(r.meta ? { meta: r.meta } : {}) } };
  } catch (e) {
    return {
      ok: false,
      reason: `cannot decode image${r.imagePath ? ` ${r.imagePath}` : ""}: ${(e as Error).message}`,
    };
  }
}
