// Finite-difference gradient check of the whole model (conv stage, encoder, decoder, tied output)
// on the reference cpu backend, on the 3 coordinates with the largest analytic gradient in each of
// 12 tensors. tfjs has no float64, so differences with step 5e-3 carry two errors: truncation and
// float32 round-off of the loss divided by the step (≤ ~5e-5 absolute). The five-point stencil keeps
// truncation small at fan-in init too, where the weights (and the curvature) are larger than 0.02
// init's: the two-point stencil was off by 1.2% there. Tolerance: 1% relative + 1e-4 absolute.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf, initBackend } from "../../lib/backend/index.ts";
import { registerTfGradients } from "../../lib/backend/gradients.ts";
import { SimVLM } from "../../lib/model/index.ts";
import { Rng } from "../../lib/util/rng.ts";
import { tinyConfig, randomImages, ids } from "./helpers.ts";

// The cpu path of initBackend may not register tfjs-core's gradients yet; doing it twice is harmless.
before(async () => {
  await initBackend({ backend: "cpu" });
  registerTfGradients();
});

test("analytic gradients match central finite differences", () => {
  const cfg = tinyConfig({
    dropout: 0,
    vocabSize: 20,
    dModel: 16,
    ffn: 32,
    convChannels: [4, 8, 16],
  });
  const m = new SimVLM(cfg, 11);
  const images = randomImages(cfg, 2, 12);
  const hasImage = tf.tensor1d([1, 0]);
  const encIds = ids([
      [5, 6, 0],
      [7, 8, 9],
    ]),
    decIn = ids([
      [1, 10, 11],
      [1, 12, 0],
    ]);
  const rng = new Rng(13);
  const R = tf.tensor3d(
    Float32Array.from({ length: 2 * 3 * cfg.vocabSize }, () => rng.normal()),
    [2, 3, cfg.vocabSize],
  );
  const loss = () =>
    tf.tidy(
      () =>
        tf.sum(
          tf.mul(m.apply({ images, hasImage, encIds, decIn }, { training: false }).logits, R),
        ) as tf.Scalar,
    );
  const names = [
    "tok.embedding",
    "patch.stem.kernel",
    "patch.block1.conv1.kernel",
    "patch.row_pos",
    "enc.0.attn.qkv.kernel",
    "enc.1.ln2.gamma",
    "dec.0.self.qkv.kernel",
    "dec.1.cross.kv.kernel",
    "dec.1.cross.q.bias",
    "dec.0.mlp.fc.kernel",
    "dec.ln_f.beta",
    "enc.text_pos",
  ];
  const vars = names.map((n) => m.weights().get(n)!);
  const { grads, value } = tf.variableGrads(loss, vars);
  value.dispose();
  const eps = 5e-3;
  let checked = 0,
    worst = 0;
  for (const name of names) {
    const v = m.weights().get(name)!;
    const g = grads[v.name]!.dataSync();
    const order = Array.from(g.keys())
      .sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!))
      .slice(0, 3);
    for (const i of order) {
      const orig = v.dataSync().slice();
      const at = (delta: number) => {
        const w = orig.slice();
        w[i] = orig[i]! + delta;
        v.assign(tf.tensor(w, v.shape));
        const l = loss();
        const x = l.dataSync()[0]!;
        l.dispose();
        return x;
      };
      // Five-point central difference: truncation O(eps⁴) rather than O(eps²).
      const num = (8 * (at(eps) - at(-eps)) - (at(2 * eps) - at(-2 * eps))) / (12 * eps);
      v.assign(tf.tensor(orig, v.shape));
      const ana = g[i]!;
      const err = Math.abs(num - ana);
      worst = Math.max(worst, err / (0.01 * Math.abs(ana) + 1e-4));
      assert.ok(
        err <= 0.01 * Math.abs(ana) + 1e-4,
        `${name}[${i}]: analytic ${ana}, numeric ${num} (|diff| ${err.toExponential(2)})`,
      );
      checked++;
    }
  }
  assert.equal(checked, names.length * 3);
  // The text-only example's image gets no gradient at all: its patches are zeroed and masked.
  const gImg = tf.tidy(() =>
    tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          m.apply({ images: x as tf.Tensor4D, hasImage, encIds, decIn }, { training: false })
            .logits,
          R,
        ),
      ),
    )(images),
  );
  const per = cfg.imageSize * cfg.imageSize * 3,
    gd = gImg.dataSync();
  assert.ok(
    gd.slice(per).every((x) => x === 0),
    "text-only image received gradient",
  );
  assert.ok(gd.slice(0, per).some((x) => x !== 0));
  tf.dispose([gImg, images, hasImage, encIds, decIn, R]);
  tf.dispose(grads);
  m.dispose();
  console.log(
    `# gradcheck: ${checked} coordinates, worst error ${(worst * 100).toFixed(0)}% of the tolerance`,
  );
});
