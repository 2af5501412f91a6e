/**
 * Square resize with centre crop, in pure TS (area-averaging when shrinking, bilinear when
 * growing), so the built-in world and tests need no native code.
 */
import type { RgbImage } from "./types.ts";

/** Centre-crop to a square, then resize to size × size. Returns the input when already that size. */
export function resizeImage(img: RgbImage, size: number): RgbImage {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`resizeImage: size must be a positive integer, got ${size}`);
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(
      `resizeImage: image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`,
    );
  }
  if (img.width === size && img.height === size) return img;
  const side = Math.min(img.width, img.height);
  const ox = (img.width - side) / 2,
    oy = (img.height - side) / 2;
  const scale = side / size;
  const out = new Uint8Array(size * size * 3);
  if (scale >= 1) {
    // Box filter: each output pixel averages the source area it covers (partial pixels weighted).
    for (let y = 0; y < size; y++) {
      const sy0 = oy + y * scale,
        sy1 = sy0 + scale;
      for (let x = 0; x < size; x++) {
        const sx0 = ox + x * scale,
          sx1 = sx0 + scale;
        let r = 0,
          g = 0,
          b = 0,
          wsum = 0;
        for (let sy = Math.floor(sy0); sy < sy1; sy++) {
          const wy = Math.min(sy + 1, sy1) - Math.max(sy, sy0);
          if (wy <= 0) continue;
          for (let sx = Math.floor(sx0); sx < sx1; sx++) {
            const w = (Math.min(sx + 1, sx1) - Math.max(sx, sx0)) * wy;
            if (w <= 0) continue;
            const i = (sy * img.width + sx) * 3;
            r += img.data[i]! * w;
            g += img.data[i + 1]! * w;
            b += img.data[i + 2]! * w;
            wsum += w;
          }
        }
        const o = (y * size + x) * 3;
        out[o] = Math.round(r / wsum);
        out[o + 1] = Math.round(g / wsum);
        out[o + 2] = Math.round(b / wsum);
      }
    }
  } else {
    for (let y = 0; y < size; y++) {
      const fy = Math.min(Math.max(oy + (y + 0.5) * scale - 0.5, 0), img.height - 1);
      const y0 = Math.floor(fy),
        y1 = Math.min(y0 + 1, img.height - 1),
        ty = fy - y0;
      for (let x = 0; x < size; x++) {
        const fx = Math.min(Math.max(ox + (x + 0.5) * scale - 0.5, 0), img.width - 1);
        const x0 = Math.floor(fx),
          x1 = Math.min(x0 + 1, img.width - 1),
          tx = fx - x0;
        for (let c = 0; c < 3; c++) {
          const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 3 + c]!;
          const top = p(y0, x0) * (1 - tx) + p(y0, x1) * tx,
            bot = p(y1, x0) * (1 - tx) + p(y1, x1) * tx;
          out[(y * size + x) * 3 + c] = Math.round(top * (1 - ty) + bot * ty);
        }
      }
    }
  }
  return { width: size, height: size, data: out };
}
