// The native BLAS addon checks every operand against the heap: a bad call throws, never writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadNativeAddon } from "../../lib/backend/native-addon.ts";
import { installHint } from "../../scripts/prereqs.mjs";

test("native sgemm computes a product and rejects operands outside the heap", async (t) => {
  const addon = await loadNativeAddon();
  if (typeof addon === "string") {
    t.skip(`native addon unavailable: ${addon}${installHint("native")}`);
    return;
  }
  const heap = new Uint8Array(4 * 64);
  const f = new Float32Array(heap.buffer);
  f.set([1, 2, 3, 4, 5, 6], 0); // A [2,3]
  f.set([1, 0, 0, 1, 1, 1], 8); // B [3,2]
  addon.sgemm(heap, 1, 2, 2, 3, 0, 0, 0, 32, 64, 0, 0);
  assert.deepEqual([...f.subarray(16, 20)], [4, 5, 10, 11]);
  addon.sgemm(heap, 1, 2, 2, 3, 0, 0, 0, 32, 64, 0, 0);
  addon.biasAct(heap, 64, 2, 2, 0, 1); // + [1, 2], relu
  assert.deepEqual([...f.subarray(16, 20)], [5, 7, 11, 13]);
  assert.throws(() => addon.sgemm(heap, 1, 8, 8, 8, 0, 0, 0, 0, 200, 0, 0), /outside the heap/);
  assert.throws(() => addon.sgemm(heap, 1, 2, 2, 3, 0, 0, 2, 32, 64, 0, 0), /outside the heap/); // misaligned
  assert.throws(() => addon.biasAct(heap, 250, 2, 2, -1, 0), /outside the heap/);
  assert.throws(
    () => (addon.sgemm as unknown as (...a: unknown[]) => void)(new Float32Array(4), 1),
    /expected 12/,
  );
});
