/**
 * Images → the model's input tensor: centre-crop to a square, bilinear resize to config.imageSize,
 * scale to [0, 1]. Done in plain JS (cheap at these sizes) so the result is the same on every backend.
 */
import { tf } from "../backend/index.ts";
import type { RgbImage } from "../data/types.ts";
import type { ModelConfig } from "./configs.ts";

/** Centre square crop + bilinear resize into `out` (float, [0, 1]) at offset `off`. */
function resizeInto(img: RgbImage, size: number, out: Float32Array, off: number, which: number): void {
  const { width: W, height: H, data } = img;
  if (!(W > 0 && H > 0) || data.length !== W * H * 3) {
    throw new Error(`image ${which}: data has ${data.length} bytes, expected width ${W} × height ${H} × 3 = ${W * H * 3}`);
  }
  const side = Math.min(W, H), x0 = (W - side) / 2, y0 = (H - side) / 2;
  const scale = side / size;
  for (let y = 0; y < size; y++) {
    // Sample at pixel centres (align_corners = false).
    const sy = Math.min(Math.max(y0 + (y + 0.5) * scale - 0.5, 0), H - 1);
    const iy = Math.floor(sy), fy = sy - iy, iy1 = Math.min(iy + 1, H - 1);
    for (let x = 0; x < size; x++) {
      const sx = Math.min(Math.max(x0 + (x + 0.5) * scale - 0.5, 0), W - 1);
      const ix = Math.floor(sx), fx = sx - ix, ix1 = Math.min(ix + 1, W - 1);
      for (let c = 0; c < 3; c++) {
        const a = data[(iy * W + ix) * 3 + c]!, b = data[(iy * W + ix1) * 3 + c]!;
        const d = data[(iy1 * W + ix) * 3 + c]!, e = data[(iy1 * W + ix1) * 3 + c]!;
        const top = a + (b - a) * fx, bot = d + (e - d) * fx;
        out[off + (y * size + x) * 3 + c] = (top + (bot - top) * fy) / 255;
      }
    }
  }
}

/** RgbImage[] → [B, imageSize, imageSize, 3] float32 in [0, 1]. */
export function imagesToTensor(images: RgbImage[], config: Pick<ModelConfig, "imageSize">): tf.Tensor4D {
  const s = config.imageSize, per = s * s * 3;
  const buf = new Float32Array(images.length * per);
  images.forEach((img, i) => resizeInto(img, s, buf, i * per, i));
  return tf.tensor4d(buf, [images.length, s, s, 3]);
}

/** A black image of the model's size: the placeholder for text-only examples in a mixed batch. */
export function blankImage(size: number): RgbImage {
  return { width: size, height: size, data: new Uint8Array(size * size * 3) };
}
