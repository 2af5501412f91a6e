/**
 * Every cuda kernel, forward and (where it has one) backward, against the cpu backend: the tests
 * both cuda test files run — over the fake device here (cuda-fake.test.ts), over the GPU there
 * (cuda-device.test.ts). Shapes are small but cover each kernel's code paths: broadcasting,
 * contiguous and strided copies, one- and two-pass reductions, batched and folded products,
 * padded and strided convolutions, and the fused kernels against the composite code.
 */
import type { test as nodeTest } from "node:test";
import assert from "node:assert/strict";
import {
  assertCudaParity,
  randInts,
  relErr,
  runOn,
  seeded,
  tf,
  withGrads,
} from "./cuda-helpers.ts";
import { gelu, layerNorm } from "../../lib/model/layers.ts";
import { tokenLosses } from "../../lib/train/step.ts";
import { AdamW, globalGradNorm } from "../../lib/train/optimizer.ts";
import { dropoutMask } from "../../lib/backend/dropout.ts";
import { BINARY, DTYPE, UNARY } from "../../lib/backend/cuda/catalog.ts";
import type { CudaDevice } from "../../lib/backend/cuda/device.ts";

type TestFn = typeof nodeTest;

/**
 * CUDA Graph capture and replay at the device interface: two kernels recorded on buffers made
 * before the capture, nothing run until replayed, and a replay reads the input as it is then.
 */
export function graphReplayCheck(dev: CudaDevice): void {
  const n = 1000,
    x = dev.alloc(4 * n),
    y = dev.alloc(4 * n);
  try {
    const f = (v: number) => Float32Array.from({ length: n }, (_, i) => v + i / n);
    dev.upload(x, f(1));
    dev.launch("fill", [y, n, -7, DTYPE.F32]);
    dev.graphBegin();
    dev.launch("unary", [UNARY.SQUARE, DTYPE.F32, x, y, n, 0]);
    dev.launch("binaryScalar", [BINARY.ADD, DTYPE.F32, y, 1, y, n, 0]);
    const g = dev.graphEnd();
    const out = new Float32Array(n);
    dev.download(y, out);
    assert.equal(out[5], -7, "captured work does not run at capture");
    for (const v of [2, 3]) {
      dev.upload(x, f(v));
      dev.graphLaunch(g);
      dev.download(y, out);
      const want = f(v).map((t) => Math.fround(t * t) + 1);
      for (let i = 0; i < n; i += 97)
        assert.ok(
          Math.abs(out[i]! - want[i]!) <= 1e-6 * want[i]!,
          `replay ${v}, element ${i}: ${out[i]} vs ${want[i]}`,
        );
    }
    dev.graphFree(g);
  } finally {
    dev.free(x);
    dev.free(y);
  }
}

const pos = (shape: number[], seed: number) => tf.add(tf.abs(seeded(shape, seed)), 0.1);

export function cudaParityTests(test: TestFn, opts: { skip?: string | false } = {}): void {
  const t = (name: string, fn: () => Promise<void>) => test(name, { skip: opts.skip ?? false }, fn);

  t("unary math, forward and gradient", async () => {
    const ops: [string, (x: tf.Tensor) => tf.Tensor, boolean?][] = [
      ["neg", tf.neg],
      ["abs", tf.abs],
      ["exp", tf.exp],
      ["square", tf.square],
      ["tanh", tf.tanh],
      ["sigmoid", tf.sigmoid],
      ["relu", tf.relu],
      ["erf", tf.erf],
      ["sin", tf.sin],
      ["cos", tf.cos],
      ["elu", tf.elu],
      ["relu6", tf.relu6],
      ["leakyRelu", (x) => tf.leakyRelu(x, 0.1)],
      ["expm1", tf.expm1],
    ];
    for (const [name, f] of ops)
      await assertCudaParity(
        name,
        withGrads(
          (x) => f(x!),
          () => [seeded([3, 5], 1, 2)],
        ),
      );
    for (const [name, f] of [
      ["log", tf.log],
      ["sqrt", tf.sqrt],
      ["rsqrt", tf.rsqrt],
      ["reciprocal", tf.reciprocal],
      ["log1p", tf.log1p],
    ] as const) {
      await assertCudaParity(
        name,
        withGrads(
          (x) => (f as (x: tf.Tensor) => tf.Tensor)(x!),
          () => [pos([3, 5], 2)],
        ),
      );
    }
    await assertCudaParity("floor/ceil/round/sign/step/isNaN", () => {
      const x = tf.mul(seeded([4, 6], 3), 3);
      return [
        tf.floor(x),
        tf.ceil(x),
        tf.round(x),
        tf.sign(x),
        tf.step(x, 0.5),
        tf.isNaN(tf.div(x, tf.sub(x, x))),
      ];
    });
    await assertCudaParity("int32 neg/abs/square", () => {
      const x = tf.tensor1d([-3, 0, 2, 7], "int32");
      return [tf.neg(x), tf.abs(x), tf.square(x)];
    });
  });

  t("binary math with broadcasting, forward and gradient", async () => {
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ["add", tf.add],
      ["sub", tf.sub],
      ["mul", tf.mul],
      ["div", tf.div],
      ["maximum", tf.maximum],
      ["minimum", tf.minimum],
      ["squaredDifference", tf.squaredDifference],
    ];
    const shapes: [number[], number[]][] = [
      [
        [2, 3, 4],
        [2, 3, 4],
      ],
      [[2, 3, 4], [4]],
      [
        [2, 3, 4],
        [3, 1],
      ],
      [
        [2, 1, 4],
        [1, 3, 1],
      ],
      [[5], []],
    ];
    // tfjs's own gradients of maximum, minimum and squaredDifference do not reduce over broadcast axes
    // (on any backend): those take gradients at equal shapes only, and broadcast forward.
    const reducesGrad = (name: string) => ["add", "sub", "mul", "div"].includes(name);
    for (const [name, f] of ops)
      for (const [sa, sb] of shapes) {
        const inputs = () => [seeded(sa, 10), tf.add(seeded(sb, 11), name === "div" ? 3 : 0)];
        const label = `${name} [${sa}] [${sb}]`;
        if (reducesGrad(name) || tf.util.arraysEqual(sa, sb))
          await assertCudaParity(
            label,
            withGrads((a, b) => f(a!, b!), inputs),
          );
        else
          await assertCudaParity(label, () => {
            const [a, b] = inputs();
            return f(a!, b!);
          });
      }
    await assertCudaParity(
      "pow",
      withGrads(
        (a, b) => tf.pow(a!, b!),
        () => [pos([3, 4], 12), seeded([4], 13)],
      ),
    );
    await assertCudaParity("scalar operands (immediates)", () => {
      const x = seeded([4, 5], 14);
      return [tf.mul(x, 0.5), tf.sub(2, x), tf.div(x, 3), tf.add(x, tf.scalar(1))];
    });
  });

  t("comparisons, logical ops, int32 arithmetic, select, cast", async () => {
    await assertCudaParity("comparisons", () => {
      const a = tf.round(tf.mul(seeded([3, 4], 20), 2)),
        b = tf.round(tf.mul(seeded([4], 21), 2));
      return [
        tf.equal(a, b),
        tf.notEqual(a, b),
        tf.less(a, b),
        tf.lessEqual(a, b),
        tf.greater(a, b),
        tf.greaterEqual(a, b),
        tf.logicalAnd(tf.greater(a, 0), tf.less(b, 1)),
        tf.logicalOr(tf.greater(a, 0), tf.less(b, 0)),
        tf.logicalNot(tf.greater(a, 0)),
      ];
    });
    await assertCudaParity("int32 arithmetic", () => {
      const a = tf.tensor1d([7, -7, 8, 0, 5], "int32"),
        b = tf.tensor1d([2, 2, -3, 4, 5], "int32");
      return [
        tf.add(a, b),
        tf.sub(a, b),
        tf.mul(a, b),
        tf.floorDiv(a, b),
        tf.mod(a, b),
        tf.maximum(a, b),
        tf.div(a, b),
      ];
    });
    await assertCudaParity("where (same shape, broadcast condition)", () => {
      const a = seeded([3, 4], 22),
        b = seeded([3, 4], 23);
      return [
        tf.where(tf.greater(a, b), a, b),
        tf.where(tf.tensor1d([true, false, true, true], "bool"), a, b),
      ];
    });
    await assertCudaParity(
      "where gradient",
      withGrads(
        (a, b) => tf.where(tf.greater(seeded([3, 4], 27), 0), a!, b!),
        () => [seeded([3, 4], 24), seeded([3, 4], 25)],
      ),
    );
    await assertCudaParity("cast", () => {
      const x = tf.mul(seeded([6], 26), 4);
      const i = tf.cast(x, "int32");
      return [
        i,
        tf.cast(i, "float32"),
        tf.cast(x, "bool"),
        tf.cast(tf.cast(x, "bool"), "float32"),
        tf.cast(i, "bool"),
      ];
    });
  });

  t("reductions: axes, keepDims, two-pass long reductions, arg ops; gradients", async () => {
    const x = () => seeded([3, 4, 5], 30);
    for (const axis of [0, 1, 2, -1, [0, 2], [0, 1, 2]] as (number | number[])[]) {
      await assertCudaParity(
        `sum axis ${axis}`,
        withGrads(
          (a) => tf.sum(a!, axis),
          () => [x()],
        ),
      );
      await assertCudaParity(
        `mean axis ${axis} keepDims`,
        withGrads(
          (a) => tf.mean(a!, axis, true),
          () => [x()],
        ),
      );
      await assertCudaParity(
        `max axis ${axis}`,
        withGrads(
          (a) => tf.max(a!, axis),
          () => [x()],
        ),
      );
      await assertCudaParity(`min/prod axis ${axis}`, () => [
        tf.min(x(), axis),
        tf.prod(tf.add(tf.mul(x(), 0.1), 1), axis),
      ]);
    }
    await assertCudaParity("argMax / argMin", () => [
      tf.argMax(x(), 0),
      tf.argMax(x(), -1),
      tf.argMin(x(), 1),
    ]);
    await assertCudaParity("any / all", () => {
      const b = tf.greater(x(), 0.3);
      return [tf.any(b, 1), tf.all(b, -1), tf.any(b)];
    });
    await assertCudaParity("int32 sum, bool sum", () => [
      tf.sum(
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
          ],
          [2, 2],
          "int32",
        ),
        0,
      ),
      tf.sum(tf.greater(x(), 0)),
    ]);
    // Long reductions take the two-pass (chunked) path: a column sum over 3,000 rows, a row sum over 40,000.
    await assertCudaParity(
      "long column sum",
      withGrads(
        (a) => tf.sum(a!, 0),
        () => [seeded([3000, 4], 31)],
      ),
      2e-4,
    );
    await assertCudaParity(
      "long row sum and mean",
      () => {
        const a = seeded([2, 40000], 32);
        return [tf.sum(a, 1), tf.mean(a, 1), tf.max(a, 1)];
      },
      2e-4,
    );
  });

  t("softmax and log-softmax (with an attention mask), forward and gradient", async () => {
    const mask = () => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([4, 4]), -1, 0)), -1e9);
    await assertCudaParity(
      "softmax",
      withGrads(
        (a) => tf.softmax(tf.add(a!, mask())),
        () => [seeded([2, 3, 4, 4], 40, 3)],
      ),
    );
    await assertCudaParity(
      "logSoftmax",
      withGrads(
        (a) => tf.logSoftmax(a!),
        () => [seeded([3, 7], 41, 3)],
      ),
    );
    await assertCudaParity("softmax, long rows", () => tf.softmax(seeded([3, 3000], 42, 4)));
  });

  t(
    "transpose, slice, split, concat, stack, tile, pad, broadcast, reverse; gradients",
    async () => {
      await assertCudaParity(
        "transpose",
        withGrads(
          (a) => tf.transpose(a!, [0, 2, 1, 3]),
          () => [seeded([2, 3, 4, 5], 50)],
        ),
      );
      await assertCudaParity(
        "transpose 2-D",
        withGrads(
          (a) => tf.transpose(a!),
          () => [seeded([7, 3], 51)],
        ),
      );
      await assertCudaParity(
        "slice (one axis, several axes)",
        withGrads(
          (a) => tf.add(tf.slice(a!, [0, 1, 0], [2, 2, 5]), tf.slice(a!, [1, 0, 1], [2, 2, 5])),
          () => [seeded([3, 4, 6], 52)],
        ),
      );
      await assertCudaParity(
        "split",
        withGrads(
          (a) => {
            const [p, q, r] = tf.split(a!, [2, 3, 1], 1);
            return tf.concat([tf.mul(p!, 2), q!, tf.neg(r!)], 1);
          },
          () => [seeded([4, 6], 53)],
        ),
      );
      await assertCudaParity(
        "concat axis 0 and last",
        withGrads(
          (a, b) => tf.add(tf.concat([a!, b!], 0), tf.concat([b!, a!], 0)),
          () => [seeded([2, 3], 54), seeded([2, 3], 55)],
        ),
      );
      await assertCudaParity("concat with an empty part", () =>
        tf.concat([seeded([2, 0], 56), seeded([2, 3], 57)], 1),
      );
      await assertCudaParity(
        "stack / unstack",
        withGrads(
          (a, b) => {
            const s = tf.stack([a!, b!], 1);
            return tf.add(tf.unstack(s, 1)[0]!, tf.sum(s, 1));
          },
          () => [seeded([3, 2], 58), seeded([3, 2], 59)],
        ),
      );
      await assertCudaParity(
        "tile",
        withGrads(
          (a) => tf.tile(a!, [2, 1, 3]),
          () => [seeded([2, 3, 2], 60)],
        ),
      );
      await assertCudaParity(
        "pad",
        withGrads(
          (a) =>
            tf.pad(
              a!,
              [
                [1, 0],
                [2, 1],
              ],
              0.5,
            ),
          () => [seeded([3, 4], 61)],
        ),
      );
      await assertCudaParity("broadcastTo / reverse", () => [
        tf.broadcastTo(seeded([3, 1], 62), [2, 3, 4]),
        tf.reverse(seeded([3, 4], 63), 1),
        tf.reverse(seeded([2, 3, 4], 64), [0, 2]),
      ]);
    },
  );

  t("gather (axes 0 and 1) and its gradient, oneHot", async () => {
    const ids = randInts(12, 70, 0, 9);
    await assertCudaParity(
      "gather rows",
      withGrads(
        (table) => tf.gather(table!, tf.tensor2d(ids, [2, 6], "int32")),
        () => [seeded([10, 8], 71)],
      ),
    );
    await assertCudaParity(
      "gather axis 1",
      withGrads(
        (x) => tf.gather(x!, tf.tensor1d([3, 0, 3], "int32"), 1),
        () => [seeded([2, 5, 4], 72)],
      ),
    );
    await assertCudaParity("oneHot", () => [
      tf.oneHot(tf.tensor1d([0, 3, 2, 9], "int32"), 5),
      tf.oneHot(tf.tensor1d([1, 0], "int32"), 3, 2, -1),
    ]);
  });

  t("matMul: transposes, batches, broadcast batches, folded x·W; fused bias + relu", async () => {
    for (const tA of [false, true])
      for (const tB of [false, true]) {
        const tr = (shape: number[], on: boolean) =>
          on ? [...shape.slice(0, -2), shape[shape.length - 1]!, shape[shape.length - 2]!] : shape;
        for (const batch of [[], [3], [2, 3]]) {
          await assertCudaParity(
            `matmul [${batch}] tA=${tA} tB=${tB}`,
            withGrads(
              (a, b) => tf.matMul(a!, b!, tA, tB),
              () => [seeded(tr([...batch, 4, 5], tA), 80), seeded(tr([...batch, 5, 6], tB), 81)],
            ),
          );
        }
      }
    await assertCudaParity(
      "3-D x 2-D (folded)",
      withGrads(
        (x, w) => tf.matMul(x!, w!),
        () => [seeded([2, 3, 4], 82), seeded([4, 5], 83)],
      ),
    );
    await assertCudaParity(
      "3-D x 1-batch 3-D, transposed",
      withGrads(
        (x, w) => tf.matMul(x!, w!, false, true),
        () => [seeded([2, 3, 4], 84), seeded([1, 5, 4], 85)],
      ),
    );
    // Batch axes that broadcast against each other: the cpu backend indexes batches modulo their
    // count (not numpy broadcasting), so the reference here is the explicitly broadcast product.
    const a4 = () => seeded([2, 1, 3, 4], 86),
      b4 = () => seeded([1, 3, 4, 2], 87);
    const ref = await assertCudaParity("broadcast batches, explicit", () =>
      tf.matMul(tf.broadcastTo(a4(), [2, 3, 3, 4]), tf.broadcastTo(b4(), [2, 3, 4, 2])),
    );
    const direct = await runOn("cuda", () => tf.matMul(a4(), b4()));
    assert.deepEqual(direct.shapes[0], [2, 3, 3, 2]);
    assert.ok(
      relErr(direct.values[0]!, ref.values[0]!) <= 1e-4,
      "broadcast batches [2,1] x [1,3] on cuda = the explicitly broadcast product",
    );
    await assertCudaParity(
      "fused matMul + bias + relu",
      withGrads(
        (a, b, c) => tf.fused.matMul({ a: a!, b: b!, bias: c!, activation: "relu" }),
        () => [seeded([5, 4], 88), seeded([4, 3], 89), seeded([3], 90)],
      ),
    );
  });

  t("conv2d forward and gradients: strides 1/2, same/valid, 1x1, patchify", async () => {
    const cases: [string, number[], number[], number, "same" | "valid"][] = [
      ["3x3 s1 same", [2, 6, 6, 3], [3, 3, 3, 4], 1, "same"],
      ["3x3 s2 same", [2, 7, 7, 3], [3, 3, 3, 4], 2, "same"],
      ["3x3 s2 valid", [1, 7, 8, 2], [3, 3, 2, 4], 2, "valid"],
      ["1x1", [2, 4, 4, 5], [1, 1, 5, 3], 1, "valid"],
      ["1x1 s2", [2, 4, 4, 5], [1, 1, 5, 3], 2, "same"],
      ["patchify 4x4/4", [2, 8, 8, 3], [4, 4, 3, 6], 4, "valid"],
    ];
    for (const [name, xs, ws, s, pad] of cases) {
      await assertCudaParity(
        `conv2d ${name}`,
        withGrads(
          (x, w, b) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad), b!),
          () => [seeded(xs, 100), seeded(ws, 101, 0.5), seeded([ws[3]!], 102)],
        ),
      );
    }
  });

  t(
    "fused kernels against the composite code on cpu: GELU, layer norm, softmax cross-entropy, addN",
    async () => {
      await assertCudaParity(
        "GELU",
        withGrads(
          (x) => gelu(x!),
          () => [seeded([4, 16], 110, 4)],
        ),
      );
      const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        layerNorm(x as tf.Tensor2D, { gamma: g as tf.Variable, beta: b as tf.Variable }, 1e-5);
      await assertCudaParity(
        "layer norm",
        withGrads(
          (x, g, b) => ln(x!, g!, b!),
          () => [seeded([6, 8], 111, 2), tf.add(1, seeded([8], 112, 0.2)), seeded([8], 113, 0.2)],
        ),
      );
      await assertCudaParity(
        "layer norm, many rows (partial sums)",
        withGrads(
          (x, g, b) => ln(x!, g!, b!),
          () => [seeded([300, 8], 114, 2), tf.add(1, seeded([8], 115, 0.2)), seeded([8], 116, 0.2)],
        ),
        2e-4,
      );
      const targets = Int32Array.from([3, 0, 6, 2, 9, 1]);
      await assertCudaParity(
        "softmax cross-entropy (a target out of range gives 0)",
        withGrads(
          (x) => tokenLosses(x as tf.Tensor3D, tf.tensor2d(targets, [2, 3], "int32")),
          () => [seeded([2, 3, 7], 117, 3)],
        ),
      );
      await assertCudaParity("addN", () =>
        tf.addN(Array.from({ length: 11 }, (_, i) => seeded([3, 4], 120 + i))),
      );
    },
  );

  t(
    "AdamW update and gradient norm: cuda's fused kernel equals the cpu's op-by-op update",
    async () => {
      const step = () => {
        const p = new Map([
          ["w.kernel", tf.variable(seeded([4, 6], 130))],
          ["w.bias", tf.variable(seeded([6], 131))],
        ]);
        const opt = new AdamW(p, { weightDecay: 0.01, clipNorm: 0.5 });
        for (let i = 0; i < 3; i++) {
          const grads = { "w.kernel": seeded([4, 6], 132 + i), "w.bias": seeded([6], 140 + i) };
          const norm = globalGradNorm(grads, p.keys());
          opt.apply(grads, 1e-2, norm.dataSync()[0]!);
        }
        const out = [
          p.get("w.kernel")!.clone(),
          p.get("w.bias")!.clone(),
          globalGradNorm({ a: seeded([5], 150) }, ["a"]),
        ];
        opt.dispose();
        for (const v of p.values()) v.dispose();
        return out;
      };
      await assertCudaParity("AdamW, 3 updates with clipping and decay", step, 1e-6);
    },
  );

  t("dropout masks are the same numbers on cuda as on cpu (one seed, every backend)", async () => {
    const mk = () => [dropoutMask([3, 1000], 0.1, 12345), dropoutMask([7], 0.5, 0xdeadbeef)];
    const cpu = await runOn("cpu", mk),
      cuda = await runOn("cuda", mk);
    assert.deepEqual(
      cuda.values.map((v) => Array.from(v)),
      cpu.values.map((v) => Array.from(v)),
    );
    const zeros = Array.from(cpu.values[0]!).filter((v) => v === 0).length;
    assert.ok(zeros > 200 && zeros < 400, `about 10% dropped, got ${zeros} of 3000`);
  });
}
