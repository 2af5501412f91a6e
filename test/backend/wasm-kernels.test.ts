// The kernels lib/backend/wasm/extra-kernels.ts adds to tfjs-backend-wasm, checked against the cpu backend.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { assertParity, relErr, runOn, seeded, setupBackends, tf } from "./helpers.ts";
import { conv2DBackpropFilterTuning } from "../../lib/backend/wasm/conv2d-backprop-filter.ts";
import { conv2DBackpropInputTuning } from "../../lib/backend/wasm/conv2d-backprop-input.ts";
import { stockConv2DBackpropInput } from "../../lib/backend/wasm/extra-kernels.ts";

before(setupBackends);

test("the kernels stock wasm lacks are now registered for wasm", () => {
  for (const k of ["UnsortedSegmentSum", "Conv2DBackpropFilter", "Einsum", "Conv2DBackpropInput"])
    assert.ok(tf.getKernel(k, "wasm"), `${k} missing`);
});

test("UnsortedSegmentSum: float and int data, 1-D and 2-D ids, out-of-range ids dropped", async () => {
  const ids = [0, 3, 3, 9, 1, -1, 12, 0];
  await assertParity("uss float", () =>
    tf.unsortedSegmentSum(seeded([8, 5], 1), tf.tensor1d(ids, "int32"), 10),
  );
  // 2-D ids (a prefix of x's shape): the cpu kernel cannot do these, so compare with flattened ids on cpu.
  const flat = await runOn("cpu", () =>
    tf.unsortedSegmentSum(seeded([8, 3], 2), tf.tensor1d(ids, "int32"), 4),
  );
  const twoD = await runOn("wasm", () =>
    tf.unsortedSegmentSum(
      seeded([2, 4, 3], 2),
      tf.tensor2d(ids, [2, 4], "int32") as unknown as tf.Tensor1D,
      4,
    ),
  );
  assert.deepEqual(twoD.shapes[0], [4, 3]);
  assert.ok(relErr(twoD.values[0]!, flat.values[0]!) < 1e-6);
  const ints = await assertParity("uss int", () =>
    tf.unsortedSegmentSum(
      tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32"),
      tf.tensor1d([1, 1, 0], "int32"),
      2,
    ),
  );
  assert.deepEqual(Array.from(ints.values[0]!), [5, 6, 4, 6]);
  // Its gradient (a gather) also matches.
  await assertParity("uss grad", () =>
    tf.grad((x: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.unsortedSegmentSum(x, tf.tensor1d([0, 3, 3, 9, 1, 2, 2, 0], "int32"), 10),
          seeded([10, 5], 3),
        ),
      ),
    )(seeded([8, 5], 1)),
  );
});

test("UnsortedSegmentSum rejects bad segment ids with a message naming the shapes", async () => {
  await tf.setBackend("wasm");
  assert.throws(
    () =>
      tf.tidy(() =>
        tf
          .engine()
          .runKernel(
            "UnsortedSegmentSum",
            { x: tf.ones([3, 2]), segmentIds: tf.tensor1d([0, 1], "int32") },
            { numSegments: 2 },
          ),
      ),
    /segmentIds shape \[2\].*x shape \[3,2\]/,
  );
});

const convCases: {
  name: string;
  x: number[];
  w: number[];
  stride: number;
  pad: "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
}[] = [
  { name: "3x3 stride 1 same", x: [2, 7, 6, 3], w: [3, 3, 3, 4], stride: 1, pad: "same" },
  { name: "3x3 stride 2 same", x: [2, 7, 6, 3], w: [3, 3, 3, 4], stride: 2, pad: "same" },
  { name: "3x3 stride 2 valid", x: [2, 7, 7, 3], w: [3, 3, 3, 4], stride: 2, pad: "valid" },
  {
    name: "1x1 stride 1 (cols = x), Cout > K",
    x: [2, 5, 5, 3],
    w: [1, 1, 3, 4],
    stride: 1,
    pad: "valid",
  },
  { name: "1x1 stride 1, Cout < K", x: [2, 5, 5, 6], w: [1, 1, 6, 4], stride: 1, pad: "same" },
  { name: "1x1 stride 2", x: [2, 5, 5, 3], w: [1, 1, 3, 4], stride: 2, pad: "same" },
  { name: "patchify 4x4 stride 4", x: [2, 8, 8, 3], w: [4, 4, 3, 5], stride: 4, pad: "valid" },
  {
    name: "explicit pads",
    x: [1, 6, 6, 2],
    w: [3, 3, 2, 3],
    stride: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  {
    name: "7x7 stride 2 same, Cout > K",
    x: [1, 9, 11, 1],
    w: [2, 2, 1, 6],
    stride: 2,
    pad: "same",
  },
];

function convOutShape(c: (typeof convCases)[number]): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x as [number, number, number, number],
    c.w as [number, number, number, number],
    c.stride,
    1,
    c.pad,
  );
  return info.outShape;
}

function filterGrad(c: (typeof convCases)[number]) {
  return () =>
    tf
      .engine()
      .runKernel("Conv2DBackpropFilter", { x: seeded(c.x, 11), dy: seeded(convOutShape(c), 12) }, {
        strides: c.stride,
        pad: c.pad,
        dataFormat: "NHWC",
        filterShape: c.w,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

test("Conv2DBackpropFilter matches cpu: strides 1/2, same/valid/explicit, 1x1, patchify", async () => {
  for (const c of convCases) await assertParity(`dW ${c.name}`, filterGrad(c));
});

function inputGrad(c: (typeof convCases)[number]) {
  return () =>
    tf
      .engine()
      .runKernel(
        "Conv2DBackpropInput",
        { dy: seeded(convOutShape(c), 13), filter: seeded(c.w, 14) },
        {
          strides: c.stride,
          pad: c.pad,
          dataFormat: "NHWC",
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
}

test("Conv2DBackpropInput (replacement) matches cpu on the same cases", async () => {
  for (const c of convCases) await assertParity(`dX ${c.name}`, inputGrad(c));
});

test("Conv2DBackpropInput replacement matches the stock wasm kernel", async () => {
  await tf.setBackend("wasm");
  const stock = stockConv2DBackpropInput!;
  assert.ok(stock, "the stock kernel was kept");
  stock.setupFunc?.(tf.backend());
  for (const c of convCases.slice(0, 3)) {
    const ours = await runOn("wasm", inputGrad(c));
    const theirs = await runOn("wasm", () =>
      tf.tidy(() => {
        const dy = seeded(convOutShape(c), 13),
          filter = seeded(c.w, 14);
        const info = stock.kernelFunc({
          inputs: { dy, filter },
          backend: tf.backend(),
          attrs: {
            strides: c.stride,
            pad: c.pad,
            dataFormat: "NHWC",
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap,
        }) as tf.TensorInfo;
        return tf.engine().makeTensorFromTensorInfo(info);
      }),
    );
    assert.ok(relErr(ours.values[0]!, theirs.values[0]!) < 1e-5, c.name);
  }
});

test("conv gradients in chunks (large images) give the same result", async () => {
  const saved = [conv2DBackpropFilterTuning.maxColsFloats, conv2DBackpropInputTuning.maxColsFloats];
  try {
    conv2DBackpropFilterTuning.maxColsFloats = 64; // a few output pixels per chunk
    conv2DBackpropInputTuning.maxColsFloats = 64;
    for (const c of convCases) {
      await assertParity(`chunked dW ${c.name}`, filterGrad(c));
      await assertParity(`chunked dX ${c.name}`, inputGrad(c));
    }
  } finally {
    [conv2DBackpropFilterTuning.maxColsFloats, conv2DBackpropInputTuning.maxColsFloats] = saved as [
      number,
      number,
    ];
  }
});

test("Conv2DBackpropFilter refuses NCHW with a clear message", async () => {
  await tf.setBackend("wasm");
  assert.throws(
    () =>
      tf.tidy(() =>
        tf
          .engine()
          .runKernel(
            "Conv2DBackpropFilter",
            { x: tf.ones([1, 2, 4, 4]), dy: tf.ones([1, 3, 4, 4]) },
            {
              strides: 1,
              pad: "same",
              dataFormat: "NCHW",
              filterShape: [3, 3, 2, 3],
            } as unknown as tf.NamedAttrMap,
          ),
      ),
    /does not support dataFormat 'NCHW'/,
  );
});

const dims: Record<string, number> = { a: 2, b: 2, c: 3, d: 5, h: 3, i: 3, j: 4, k: 5, l: 2, q: 4 };
const equations = [
  "ij,jk->ik",
  "bij,bjk->bik",
  "ij->ji",
  "ij->i",
  "ij->",
  "ij,ij->ij",
  "i,j->ij",
  "bhqd,bhkd->bhqk",
  "bhqk,bhkd->bqhd",
  "abc,cd->abd",
  "ijk,jl->il",
  "ij,jk->ki",
  "i,i->",
  "ij,kj->ikj",
  "ij,j->i",
];

test("Einsum matches cpu for the equations tfjs supports", async () => {
  for (const [n, eq] of equations.entries()) {
    const shapes = eq
      .split("->")[0]!
      .split(",")
      .map((t) => t.split("").map((l) => dims[l]!));
    await assertParity(`einsum ${eq}`, () =>
      tf.einsum(eq, ...shapes.map((s, k) => seeded(s, 100 + n * 2 + k))),
    );
  }
  const ints = await runOn("wasm", () =>
    tf.einsum(
      "ij,jk->ik",
      tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"),
      tf.tensor2d([5, 6, 7, 8], [2, 2], "int32"),
    ),
  );
  assert.deepEqual(Array.from(ints.values[0]!), [19, 22, 43, 50]);
});

test("Einsum errors name the equation", async () => {
  await tf.setBackend("wasm");
  assert.throws(
    () => tf.tidy(() => tf.einsum("ij,jk->ik", tf.ones([2, 3]), tf.ones([4, 5]))),
    /3|4/,
  );
  assert.throws(
    () =>
      tf.tidy(() =>
        tf.engine().runKernel("Einsum", [tf.ones([2, 2])] as unknown as tf.NamedTensorMap, {
          equation: "ii->i",
        }),
      ),
    /ii->i.*duplicate/,
  );
});

test("kernel scratch memory is released (wasm heap tensors)", async () => {
  await tf.setBackend("wasm");
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = backend.numDataIds();
  const c = convCases[0]!;
  tf.tidy(() => {
    filterGrad(c)();
    inputGrad(c)();
    tf.einsum("bhqd,bhkd->bhqk", tf.ones([1, 2, 3, 4]), tf.ones([1, 2, 5, 4]));
    tf.unsortedSegmentSum(tf.ones([3, 2]), tf.tensor1d([0, 1, 0], "int32"), 2);
  });
  assert.equal(backend.numDataIds(), before);
});
