/**
 * Einsum for wasm, for the equations tfjs's einsum accepts (one or two operands, explicit "->",
 * no ellipsis, no repeated label inside one operand). Instead of the cpu backend's
 * broadcast-multiply-then-sum, a two-operand equation becomes one batched matrix product:
 *
 *   labels in both operands and the output  → batch dims
 *   labels in both operands, not the output → contracted (the matmul's inner dim)
 *   labels in one operand and the output    → that operand's free dims (matmul rows / columns)
 *   labels in one operand only              → summed away first
 *
 * Each operand is transposed to [batch, free, contracted] / [batch, contracted, free], the product
 * runs on wasm's BatchMatMul, and the result is transposed to the output's label order.
 */
import * as tf from "@tensorflow/tfjs-core";
import { release, reshapeInfo, runWasmKernel, type TensorInfo, type WasmBackend } from "./heap.ts";

interface Operand {
  t: TensorInfo;
  labels: string[];
}

export function einsumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const tensors = args.inputs as unknown as TensorInfo[];
  const equation = String((args.attrs as { equation: string }).equation);
  const { inputs: terms, output } = parseEquation(equation, tensors.length);
  const dims = new Map<string, number>();
  terms.forEach((term, k) => {
    const t = tensors[k]!;
    if (t.shape.length !== term.length)
      throw new Error(
        `einsum "${equation}": operand ${k} has rank ${t.shape.length} but its subscripts "${term.join("")}" name ${term.length} axes`,
      );
    term.forEach((l, ax) => {
      const seen = dims.get(l);
      if (seen !== undefined && seen !== t.shape[ax])
        throw new Error(
          `einsum "${equation}": label ${l} has size ${seen} and ${t.shape[ax]} (operand ${k}, axis ${ax})`,
        );
      dims.set(l, t.shape[ax]!);
    });
  });

  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo) => {
    temps.push(t);
    return t;
  };
  try {
    const ops: Operand[] = terms.map((labels, k) => ({ t: tensors[k]!, labels }));
    // Float path: the native matmul is float32-only; int operands are computed in float32 and cast back.
    const outDtype = tensors.every((t) => t.dtype === "int32") ? "int32" : "float32";
    for (const op of ops) {
      if (op.t.dtype !== "float32")
        op.t = keep(runWasmKernel(backend, "Cast", { x: op.t }, { dtype: "float32" }));
    }
    // Sum away labels that appear in only one operand and not in the output.
    for (const [k, op] of ops.entries()) {
      const other = ops[1 - k];
      const axes = op.labels
        .map((l, ax) => (!output.includes(l) && !other?.labels.includes(l) ? ax : -1))
        .filter((ax) => ax >= 0);
      if (axes.length) {
        op.t = keep(runWasmKernel(backend, "Sum", { x: op.t }, { axis: axes, keepDims: false }));
        op.labels = op.labels.filter((_, ax) => !axes.includes(ax));
      }
    }
    let result: Operand;
    if (ops.length === 1) {
      result = ops[0]!;
    } else {
      const [a, b] = ops as [Operand, Operand];
      const batch = output.filter((l) => a.labels.includes(l) && b.labels.includes(l));
      const contracted = a.labels.filter((l) => b.labels.includes(l) && !output.includes(l));
      const freeA = a.labels.filter((l) => !b.labels.includes(l));
      const freeB = b.labels.filter((l) => !a.labels.includes(l));
      const size = (ls: string[]) => tf.util.sizeFromShape(ls.map((l) => dims.get(l)!));
      const a3 = keep(
        arrange(
          backend,
          a,
          [...batch, ...freeA, ...contracted],
          [size(batch), size(freeA), size(contracted)],
          keep,
        ),
      );
      const b3 = keep(
        arrange(
          backend,
          b,
          [...batch, ...contracted, ...freeB],
          [size(batch), size(contracted), size(freeB)],
          keep,
        ),
      );
      const prod = keep(
        runWasmKernel(
          backend,
          "BatchMatMul",
          { a: a3, b: b3 },
          { transposeA: false, transposeB: false },
        ),
      );
      const labels = [...batch, ...freeA, ...freeB];
      result = {
        t: keep(
          reshapeInfo(
            backend,
            prod,
            labels.map((l) => dims.get(l)!),
          ),
        ),
        labels,
      };
    }
    // Final layout: output label order (a transpose, or a copy when already in order).
    const perm = output.map((l) => result.labels.indexOf(l));
    let out = perm.every((p, i) => p === i)
      ? runWasmKernel(backend, "Identity", { x: result.t })
      : runWasmKernel(backend, "Transpose", { x: result.t }, { perm });
    if (outDtype === "int32") {
      const f = out;
      out = runWasmKernel(backend, "Cast", { x: f }, { dtype: "int32" });
      release(backend, f);
    }
    return out;
  } finally {
    for (const t of temps) release(backend, t);
  }
}

/** Transpose an operand to `order` (a permutation of its labels) and view it as `shape3`. */
function arrange(
  backend: WasmBackend,
  op: Operand,
  order: string[],
  shape3: number[],
  keep: (t: TensorInfo) => TensorInfo,
): TensorInfo {
  const perm = order.map((l) => op.labels.indexOf(l));
  const t = perm.every((p, i) => p === i)
    ? op.t
    : keep(runWasmKernel(backend, "Transpose", { x: op.t }, { perm }));
  return reshapeInfo(backend, t, shape3);
}

/** Parse "ab,bc->ac" into label lists, with tfjs einsum's restrictions and errors that name the problem. */
export function parseEquation(
  equation: string,
  numTensors: number,
): { inputs: string[][]; output: string[] } {
  const eq = equation.replace(/\s/g, "");
  const parts = eq.split("->");
  if (parts.length !== 2)
    throw new Error(`einsum "${equation}": the equation must contain exactly one "->"`);
  const [lhs, rhs] = parts as [string, string];
  if (lhs.includes("...") || rhs.includes("..."))
    throw new Error(`einsum "${equation}": the ellipsis notation ("...") is not supported`);
  const inputs = lhs.split(",").map((s) => s.split(""));
  if (inputs.length !== numTensors)
    throw new Error(
      `einsum "${equation}": expected ${inputs.length} input tensors, received ${numTensors}`,
    );
  if (inputs.length > 2)
    throw new Error(`einsum "${equation}": more than 2 input tensors are not supported`);
  for (const term of inputs) {
    if (new Set(term).size !== term.length)
      throw new Error(
        `einsum "${equation}": duplicate axes in input component "${term.join("")}" are not supported`,
      );
    for (const l of term)
      if (!/^[A-Za-z]$/.test(l))
        throw new Error(`einsum "${equation}": "${l}" is not a subscript letter`);
  }
  const output = rhs.split("");
  if (new Set(output).size !== output.length)
    throw new Error(`einsum "${equation}": duplicate labels in the output "${rhs}"`);
  for (const l of output) {
    if (!inputs.some((t) => t.includes(l)))
      throw new Error(
        `einsum "${equation}": output label ${l} is not present in the input subscripts`,
      );
  }
  return { inputs, output };
}
