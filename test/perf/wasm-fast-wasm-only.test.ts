// The same parity checks with the native BLAS path off, so the pure-wasm fast path is tested too.
process.env.SIMVLM_NATIVE = "0";
await import("./wasm-fast.test.ts");
