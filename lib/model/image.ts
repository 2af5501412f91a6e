/**
 * Images → the model's input tensor: lib/data's resizeImage (centre square crop; area-average when
 * shrinking, bilinear when growing) to config.imageSize, then scaled to [0, 1]. The same resize the
 * data pipeline uses, so training, captioning and evaluation see identical pixels.
 */
import { tf } from "../backend/index.ts";
import type { RgbImage } from "../data/types.ts";
import { resizeImage } from "../data/resize.ts";
import type { ModelConfig } from "./configs.ts";

/** RgbImage[] → [B, imageSize, imageSize, 3] float32 in [0, 1]. */
export function imagesToTensor(
  images: RgbImage[],
  config: Pick<ModelConfig, "imageSize">,
): tf.Tensor4D {
  const s = config.imageSize,
    per = s * s * 3;
  const buf = new Float32Array(images.length * per);
  images.forEach((img, i) => {
    let r: RgbImage;
    try {
      r = resizeImage(img, s);
    } catch (e) {
      throw new Error(`image ${i} (${img.width}×${img.height}): ${(e as Error).message}`);
    }
    const off = i * per;
    for (let j = 0; j < per; j++) buf[off + j] = r.data[j]! / 255;
  });
  return tf.tensor4d(buf, [images.length, s, s, 3]);
}

/** A black image of the model's size: the placeholder for text-only examples in a mixed batch. */
export function blankImage(size: number): RgbImage {
  return { width: size, height: size, data: new Uint8Array(size * size * 3) };
}
