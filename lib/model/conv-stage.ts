/**
 * Image → grid of patch features [B * g * g, dModel] (row-major over the grid).
 *
 * "conv" (the paper): a stride-2 3×3 stem, then residual blocks that each halve the resolution
 * (pre-activation basic blocks without batch norm: GELU → 3×3 stride 2 → GELU → 3×3, plus a 1×1
 * stride-2 projection shortcut), so log2(patchSize) halvings turn imageSize² pixels into a
 * (imageSize/patchSize)² grid; then a layer norm and a linear projection to dModel.
 * "linear" (the ablation): each patchSize² × 3 patch flattened (row, column, channel order) and
 * multiplied by one matrix — ViT's patch embedding.
 */
import { tf } from "../backend/index.ts";
import type { ModelConfig } from "./configs.ts";
import { gridSide } from "./configs.ts";
import { ParamStore, makeDense, makeLayerNorm, dense, layerNorm, gelu } from "./layers.ts";
import type { Dense, LayerNormP } from "./layers.ts";

interface Conv {
  kernel: tf.Variable;
  bias: tf.Variable;
}
interface Block {
  conv1: Conv;
  conv2: Conv;
  skip: Conv;
}

export interface PatchEmbedP {
  stem?: Conv;
  blocks: Block[];
  ln?: LayerNormP;
  proj: Dense;
}

function makeConv(
  p: ParamStore,
  name: string,
  k: number,
  cin: number,
  cout: number,
  gain = 1,
): Conv {
  // He initialisation for GELU/ReLU-style nets; `gain` < 1 damps the residual branch at init.
  const std = gain * Math.sqrt(2 / (k * k * cin));
  return {
    kernel: p.normal(`${name}.kernel`, [k, k, cin, cout], std),
    bias: p.constant(`${name}.bias`, [cout], 0),
  };
}

function conv(x: tf.Tensor4D, c: Conv, stride: number): tf.Tensor4D {
  return tf.add(tf.conv2d(x, c.kernel as tf.Tensor4D, stride, "same"), c.bias);
}

export function makePatchEmbed(p: ParamStore, cfg: ModelConfig): PatchEmbedP {
  if (cfg.patchEmbed === "linear") {
    const fanIn = cfg.patchSize * cfg.patchSize * 3;
    return {
      blocks: [],
      proj: makeDense(p, "patch.proj", fanIn, cfg.dModel, Math.sqrt(1 / fanIn)),
    };
  }
  const ch = cfg.convChannels;
  const stem = makeConv(p, "patch.stem", 3, 3, ch[0]!);
  const blocks: Block[] = [];
  for (let i = 1; i < ch.length; i++) {
    const cin = ch[i - 1]!,
      cout = ch[i]!;
    blocks.push({
      conv1: makeConv(p, `patch.block${i}.conv1`, 3, cin, cout),
      conv2: makeConv(p, `patch.block${i}.conv2`, 3, cout, cout, 0.5),
      skip: makeConv(p, `patch.block${i}.skip`, 1, cin, cout, 0.5),
    });
  }
  const cLast = ch[ch.length - 1]!;
  return {
    stem,
    blocks,
    ln: makeLayerNorm(p, "patch.ln", cLast),
    proj: makeDense(p, "patch.proj", cLast, cfg.dModel, Math.sqrt(1 / cLast)),
  };
}

/** images [B, H, W, 3] in [0, 1] → patch features [B * g * g, dModel]. */
export function embedPatches(images: tf.Tensor4D, pe: PatchEmbedP, cfg: ModelConfig): tf.Tensor2D {
  const B = images.shape[0],
    g = gridSide(cfg),
    ps = cfg.patchSize;
  if (
    images.shape[1] !== cfg.imageSize ||
    images.shape[2] !== cfg.imageSize ||
    images.shape[3] !== 3
  ) {
    throw new Error(
      `images must be [B, ${cfg.imageSize}, ${cfg.imageSize}, 3], got [${images.shape.join(", ")}]`,
    );
  }
  const x = tf.mul(tf.sub(images, 0.5), 2) as tf.Tensor4D; // centre pixels in [-1, 1]
  if (cfg.patchEmbed === "linear") {
    // [B, g, ps, g, ps*3] → [B*g, g, ps, ps*3] keeps every transpose 4-D (wasm's limit is comfortable there).
    const rows = tf.reshape(x, [B * g, ps, g, ps * 3]);
    const patches = tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [
      B * g * g,
      ps * ps * 3,
    ]) as tf.Tensor2D;
    return dense(patches, pe.proj);
  }
  let h = conv(x, pe.stem!, 2);
  for (const b of pe.blocks) {
    const r = conv(gelu(conv(gelu(h), b.conv1, 2)), b.conv2, 1);
    h = tf.add(conv(h, b.skip, 2), r);
  }
  const cLast = h.shape[3];
  const flat = tf.reshape(gelu(h), [B * g * g, cLast]) as tf.Tensor2D;
  return dense(layerNorm(flat, pe.ln!, cfg.layerNormEps), pe.proj);
}
