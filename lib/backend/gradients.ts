/**
 * Gradient registration for tfjs-core used on its own.
 *
 * `@tensorflow/tfjs-core`'s Node entry (dist/tf-core.node.js) registers no gradient functions: the
 * umbrella `@tensorflow/tfjs` package normally does that by importing
 * `@tensorflow/tfjs-core/dist/register_all_gradients`. Without it every tf.grad / optimizer.minimize
 * fails with "gradient function not found for Sum" (or whichever op comes last).
 *
 * That file is ES-module syntax inside a CommonJS package, with extensionless and directory imports
 * that Node's own loaders refuse (require(esm) and import() both fail). tsx's CommonJS loader
 * (`tsx/cjs/api`'s scoped require, independent of how the process registered tsx) transforms it.
 * It loads a second copy of the core's op modules, which is harmless: the gradient registry, the
 * engine and the Tensor instanceof checks all live on the global tfjs namespace shared by both copies.
 *
 * It also replaces tfjs's BatchMatMul gradient, which returns the gradient in the *broadcast* shape
 * when the batch dims differ (e.g. [B,T,D] x [D,E] — a 3-D activation times a 2-D weight — or a
 * batch dim of 1), so tf.grad fails with "The gradient of input 'b' has shape '2,4,5', which does not
 * match the shape of the input '4,5'" on every backend. The replacement sums over the broadcast batch
 * dims. (Folding [B,T,D] to [B*T,D] first is still faster on wasm: one plain matmul.)
 */
import * as tf from "@tensorflow/tfjs-core";
import { require as tsxRequire } from "tsx/cjs/api";

let done = false;

/** Register tfjs-core's gradient functions once per process (idempotent; about 0.3 s the first time). */
export function registerTfGradients(): void {
  if (done) return;
  tsxRequire("@tensorflow/tfjs-core/dist/register_all_gradients", import.meta.url);
  tf.registerGradient(batchMatMulGrad);
  done = true;
}

/** Sum a gradient computed in the broadcast batch shape back to its input's shape. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let ax = 0; ax < g.rank - 2; ax++) {
    if (ax < lead || (shape[ax - lead] === 1 && g.shape[ax] !== 1)) axes.push(ax);
  }
  return tf.reshape(axes.length ? tf.sum(g, axes) : g, shape);
}

const batchMatMulGrad: tf.GradConfig = {
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
    };
    // d(a·b): the four transpose cases, as in tfjs, then reduced over broadcast batch dims.
    let da: () => tf.Tensor, db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      da = () => tf.matMul(g, b, false, true);
      db = () => tf.matMul(a, g, true, false);
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(g, b, false, false);
      db = () => tf.matMul(g, a, true, false);
    } else if (transposeA && !transposeB) {
      da = () => tf.matMul(b, g, false, true);
      db = () => tf.matMul(a, g, false, false);
    } else {
      da = () => tf.matMul(b, g, true, true);
      db = () => tf.matMul(g, a, true, true);
    }
    return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
  },
};
