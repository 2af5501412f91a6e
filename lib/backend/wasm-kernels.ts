/** Kernels missing from tfjs-backend-wasm 4.22, registered for the "wasm" backend. (Being written.) */
export function registerWasmKernels(_notes: string[]): void {
  // Filled in by the wasm-kernels work: UnsortedSegmentSum, Conv2DBackpropFilter, Einsum.
}
