// Every tfjs kernel the product dispatches (the committed census, lib/backend/cuda/dispatched-kernels.json,
// written by bench/kernel-census.ts) is registered for the cuda backend — so a missing op is caught
// here, not on a GPU — and the census is still complete: the quick census (a training step,
// finetuning, greedy and beam decoding with attention capture) finds no kernel the list lacks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tf } from "../../lib/backend/index.ts";
import { registerCudaKernels } from "../../lib/backend/cuda/index.ts";
import { CENSUS_FILE, FUSED_KERNELS, runCensus } from "../../bench/kernel-census.ts";

const listed: string[] = JSON.parse(readFileSync(CENSUS_FILE, "utf8")).kernels;

test("every kernel the census lists is registered for cuda", () => {
  const names = new Set(registerCudaKernels());
  assert.ok(listed.length > 40, `the census lists ${listed.length} kernels`);
  for (const k of FUSED_KERNELS)
    assert.ok(listed.includes(k), `the census lists the fused kernel ${k}`);
  const missing = listed.filter((k) => !names.has(k) || !tf.getKernel(k, "cuda"));
  assert.deepEqual(
    missing,
    [],
    `kernels dispatched by the product but not registered for cuda: ${missing.join(", ")}`,
  );
});

test("the census is current: a training step, finetuning and decoding dispatch no kernel it lacks", async () => {
  const found = await runCensus({ quick: true });
  const extra = [...found.keys()].filter((k) => !listed.includes(k));
  assert.deepEqual(
    extra,
    [],
    `kernels dispatched now but missing from ${CENSUS_FILE}: ${extra.join(", ")} — rerun node --import tsx bench/kernel-census.ts --write`,
  );
});
