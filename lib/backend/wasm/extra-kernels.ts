/**
 * Kernels missing from tfjs-backend-wasm 4.22, registered for the "wasm" backend so it can train:
 *   UnsortedSegmentSum    — the gradient of gather (embedding lookups)
 *   Conv2DBackpropFilter  — the filter gradient of conv2d (im2col + wasm BatchMatMul)
 *   Einsum                — as a batched matmul on wasm's BatchMatMul
 * and one replacement for speed:
 *   Conv2DBackpropInput   — the input gradient of conv2d as col2im(dy · Wᵀ); the stock kernel is a
 *                           direct loop 5–10x slower than the forward conv
 * Each is checked against the cpu backend in test/backend/. Registration is idempotent; a missing
 * kernel that some later tfjs-backend-wasm version ships itself is left alone.
 */
import * as tf from "@tensorflow/tfjs-core";
import { conv2DBackpropFilterWasm } from "./conv2d-backprop-filter.ts";
import { conv2DBackpropInputWasm } from "./conv2d-backprop-input.ts";
import { einsumWasm } from "./einsum.ts";
import { registerTfGradients } from "../gradients.ts";
import { unsortedSegmentSumWasm } from "./unsorted-segment-sum.ts";

const EXTRA_KERNELS: { name: string; kernelFunc: tf.KernelFunc }[] = [
  { name: "UnsortedSegmentSum", kernelFunc: unsortedSegmentSumWasm },
  { name: "Conv2DBackpropFilter", kernelFunc: conv2DBackpropFilterWasm },
  { name: "Einsum", kernelFunc: einsumWasm as unknown as tf.KernelFunc },
];

/**
 * The stock wasm Conv2DBackpropInput config we replaced, for comparisons. Its setupFunc has not run
 * (it was unregistered before the backend initialised): call setupFunc(backend) before kernelFunc.
 */
export let stockConv2DBackpropInput: tf.KernelConfig | undefined;

/** Names of the kernels this module registered (for `simvlm info` notes and tests). */
export const registeredWasmKernels: string[] = [];

export function registerWasmKernels(notes: string[]): void {
  // Gradients are backend-independent, but training on wasm needs them, so make sure they exist.
  // A failure here must not cost the backend itself (inference still works): say so in the notes.
  try {
    registerTfGradients();
  } catch (e) {
    notes.push(
      `tfjs gradients could not be registered (training will fail): ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`,
    );
  }
  const added: string[] = [];
  for (const k of EXTRA_KERNELS) {
    if (tf.getKernel(k.name, "wasm")) continue;
    tf.registerKernel({ kernelName: k.name, backendName: "wasm", kernelFunc: k.kernelFunc });
    added.push(k.name);
  }
  // Replace the stock input gradient (once: the stock kernel stays reachable for comparison).
  const stockInput = tf.getKernel("Conv2DBackpropInput", "wasm");
  if (stockInput && stockInput.kernelFunc !== conv2DBackpropInputWasm) {
    stockConv2DBackpropInput = stockInput;
    tf.unregisterKernel("Conv2DBackpropInput", "wasm");
    tf.registerKernel({
      kernelName: "Conv2DBackpropInput",
      backendName: "wasm",
      kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
    });
    added.push("Conv2DBackpropInput (replaced)");
  }
  registeredWasmKernels.push(...added);
  if (added.length) notes.push(`added wasm kernels: ${added.join(", ")}`);
}
