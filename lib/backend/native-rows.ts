/**
 * Row-wise wasm kernels on native/rows.c: slices along the last axis, softmax cross-entropy.
 */
import type { BlasAddon } from "./wasm-fast-native.ts";

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeRows(addon: BlasAddon, notes: string[]): void {
  void addon; void notes;
}
