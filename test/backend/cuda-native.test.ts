// The CUDA addon's host side, checked without a GPU: the build script's decisions (and that an
// install without CUDA succeeds with one line saying why), the op codes of native/cuda/ops.h against
// lib/backend/cuda/catalog.ts, the built addon's kernel table against the catalog, that every .cu
// file compiles for sm_80 and sm_90 and links (where nvcc is), and the fused kernels' per-element
// math (the dropout hash, GELU, AdamW) compiled as plain C++ against the JavaScript reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BINARY, KERNELS, REDUCE, UNARY, ACT } from "../../lib/backend/cuda/catalog.ts";
import { hash32 } from "../../lib/backend/dropout.ts";
import { probeReason } from "../../lib/backend/cuda/loader.ts";
import type { CudaAddon } from "../../lib/backend/cuda/device.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const build = (await import(join(root, "native/cuda/build.mjs"))) as {
  CUDA_ADDON: string;
  cudaAddonIsCurrent(): boolean;
  nvidiaDriverPresent(): boolean;
  findNvcc(): string | undefined;
  archFlags(s?: string): string[];
  cudaBuildPlan(o: {
    env?: NodeJS.ProcessEnv;
    exists?: (p: string) => boolean;
    install?: boolean;
  }): { ok: boolean; reason?: string; arch?: string[] };
  buildCudaAddon(o?: { quiet?: boolean }): Promise<{ ok: boolean; reason?: string }>;
};

test("build decisions: off, nvcc missing, headers missing, no driver at install (unless forced), bad architectures", () => {
  const all = () => true;
  const only =
    (...present: string[]) =>
    (p: string) =>
      present.some((x) => p.endsWith(x));
  const env = (e: Record<string, string> = {}) => ({ PATH: "/nowhere", ...e }) as NodeJS.ProcessEnv;
  assert.match(
    build.cudaBuildPlan({ env: env({ SIMVLM_CUDA: "0" }), exists: all }).reason!,
    /SIMVLM_CUDA=0/,
  );
  assert.match(build.cudaBuildPlan({ env: env(), exists: () => false }).reason!, /nvcc not found/);
  assert.match(
    build.cudaBuildPlan({ env: env({ NVCC: "/x/nvcc" }), exists: only("/x/nvcc") }).reason!,
    /node_api\.h/,
  );
  const noDriver = only("/x/nvcc", "node_api.h");
  assert.match(
    build.cudaBuildPlan({ env: env({ NVCC: "/x/nvcc" }), exists: noDriver, install: true }).reason!,
    /no NVIDIA driver/,
  );
  assert.equal(
    build.cudaBuildPlan({
      env: env({ NVCC: "/x/nvcc", SIMVLM_CUDA_BUILD: "1" }),
      exists: noDriver,
      install: true,
    }).ok,
    true,
  );
  assert.equal(
    build.cudaBuildPlan({ env: env({ NVCC: "/x/nvcc" }), exists: noDriver, install: false }).ok,
    true,
    "first use builds wherever nvcc is",
  );
  assert.equal(
    build.cudaBuildPlan({
      env: env({ NVCC: "/x/nvcc" }),
      exists: only("/x/nvcc", "node_api.h", "/proc/driver/nvidia/version"),
      install: true,
    }).ok,
    true,
  );
  assert.match(
    build.cudaBuildPlan({
      env: env({ NVCC: "/x/nvcc", SIMVLM_CUDA_ARCH: "sm_nine" }),
      exists: noDriver,
    }).reason!,
    /SIMVLM_CUDA_ARCH/,
  );
  assert.deepEqual(build.archFlags("80;90"), [
    "-gencode",
    "arch=compute_80,code=sm_80",
    "-gencode",
    "arch=compute_90,code=sm_90",
    "-gencode",
    "arch=compute_90,code=compute_90",
  ]);
  assert.deepEqual(build.archFlags("90"), [
    "-gencode",
    "arch=compute_90,code=sm_90",
    "-gencode",
    "arch=compute_90,code=compute_90",
  ]);
});

test("an install without a GPU succeeds and says in one line why cuda is off", () => {
  const r = spawnSync(process.execPath, [join(root, "native/build.mjs")], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, SIMVLM_NATIVE: "0", SIMVLM_CUDA_BUILD: "" },
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n").filter((l) => /CUDA/.test(l));
  assert.equal(lines.length, 1, r.stdout);
  if (!build.cudaBuildPlan({ install: true }).ok)
    assert.match(lines[0]!, /CUDA kernels not built, the cuda backend is off: /);
});

test("native/cuda/ops.h's op codes equal lib/backend/cuda/catalog.ts's", () => {
  const h = readFileSync(join(root, "native/cuda/ops.h"), "utf8");
  const enumOf = (prefix: string) =>
    Object.fromEntries(
      [...h.matchAll(new RegExp(`\\b${prefix}_([A-Z0-9_]+) = (\\d+)`, "g"))]
        .filter((m) => m[1] !== "COUNT")
        .map((m) => [m[1], Number(m[2])]),
    );
  assert.deepEqual(enumOf("U"), { ...UNARY });
  assert.deepEqual(enumOf("B"), { ...BINARY });
  assert.deepEqual(enumOf("R"), { ...REDUCE });
  assert.deepEqual(enumOf("ACT"), { ...ACT });
});

// Compiling the kernels takes 1-2 minutes of a 2-core machine (measured 60-80 s), so without a GPU
// `npm test` compiles only when asked; an addon already built and current is checked either way.
const plan = build.cudaBuildPlan({});
const compileSkip = !plan.ok
  ? `cannot build here: ${plan.reason}`
  : build.cudaAddonIsCurrent() ||
      process.env.SIMVLM_TEST_CUDA_BUILD === "1" ||
      build.nvidiaDriverPresent()
    ? false
    : "the CUDA addon is not built and there is no GPU: SIMVLM_TEST_CUDA_BUILD=1 compiles it in this test (1-2 min), or run node native/cuda/build.mjs";
test(
  "every .cu compiles for sm_80 and sm_90 and links into the addon (needs nvcc)",
  { skip: compileSkip },
  async () => {
    if (!build.cudaAddonIsCurrent()) {
      const r = await build.buildCudaAddon({ quiet: true });
      assert.ok(r.ok, r.reason);
    }
    assert.ok(build.cudaAddonIsCurrent());
  },
);

test(
  "the built addon loads without a GPU; its kernel table is the catalog's; without a driver init is one clear error",
  { skip: build.cudaAddonIsCurrent() ? false : "the CUDA addon is not built here" },
  () => {
    const addon = createRequire(import.meta.url)(build.CUDA_ADDON) as CudaAddon;
    const table = Object.fromEntries(addon.kernels());
    assert.deepEqual(Object.keys(table).sort(), Object.keys(KERNELS).sort());
    for (const [name, args] of Object.entries(KERNELS))
      assert.equal(table[name], args.length, `kernel ${name}'s argument count`);
    const probe = addon.probe();
    const why = probeReason(probe);
    if (probe.deviceCount === 0) {
      assert.ok(why, "no device: a reason");
      assert.throws(
        () => addon.init(new Float64Array(256), [], 0, 0, false),
        (e: Error & { code?: string }) =>
          /^SIMVLM_CU/.test(e.code ?? "") && /CUDA error \w+/.test(e.message),
      );
      assert.throws(() => addon.alloc(16), /not initialised/);
    }
  },
);

test(
  "the fused kernels' element math (ops.h, compiled as C++) equals the JavaScript reference: dropout hash, GELU, AdamW",
  { skip: hasCxx() ? false : "no C++ compiler" },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "simvlm-ops-"));
    try {
      writeFileSync(
        join(dir, "t.cpp"),
        `#include <stdio.h>
#include "ops.h"
int main() {
  for (uint32_t i = 0; i < 5; i++) printf("%u %.9g\\n", sv_hash32(0x12345u + i * 77777u), sv_dropout(0xdeadbeefu, i * 13u, 1677722u, 1.0f / 0.9f));
  const float xs[] = { -6.0f, -1.5f, -0.3f, 0.0f, 0.7f, 2.5f, 9.0f };
  for (int i = 0; i < 7; i++) printf("%.9g %.9g\\n", sv_gelu(xs[i]), sv_gelu_grad(xs[i], 0.75f));
  SvAdamW h = { 0.9f, 0.1f, 0.999f, 0.001f, 0.271f, 0.002997f, 1e-8f, 0.9999f, 0.001f, 0.5f, 1, 1 };
  float p, m, v;
  sv_adamw(&h, 0.3f, -0.01f, 0.0004f, 0.25f, &p, &m, &v);
  printf("%.9g %.9g %.9g\\n", p, m, v);
  return 0;
}
`,
      );
      const cc = spawnSync(
        "c++",
        [
          "-std=c++17",
          "-O2",
          "-ffp-contract=off",
          `-I${join(root, "native/cuda")}`,
          join(dir, "t.cpp"),
          "-o",
          join(dir, "t"),
          "-lm",
        ],
        { encoding: "utf8" },
      );
      assert.equal(cc.status, 0, cc.stderr);
      const spawnOut = spawnSync(join(dir, "t"), { encoding: "utf8" }).stdout.trim().split("\n");
      // Floats are printed with 9 significant digits, which identify a float32 exactly: fround restores it.
      const out = spawnSync(join(dir, "t"), { encoding: "utf8" })
        .stdout.trim()
        .split("\n")
        .map((l) => l.split(" ").map((x) => Math.fround(Number(x))));
      for (let i = 0; i < 5; i++) {
        assert.equal(
          Number(spawnOut[i]!.split(" ")[0]),
          hash32((0x12345 + i * 77777) >>> 0),
          `hash32 #${i}`,
        );
        const key = 0xdeadbeef,
          idx = i * 13;
        const want =
          hash32((key + Math.imul(idx, 0x9e3779b9)) >>> 0) >>> 8 < 1677722
            ? 0
            : Math.fround(1 / 0.9);
        assert.equal(out[i]![1], want, `dropout element ${idx}`);
      }
      const xs = [-6, -1.5, -0.3, 0, 0.7, 2.5, 9],
        c = Math.sqrt(2 / Math.PI);
      xs.forEach((x, i) => {
        const th = Math.tanh(c * (x + 0.044715 * x ** 3));
        const g = 0.5 * x * (1 + th),
          dg = 0.75 * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x));
        assert.ok(
          Math.abs(out[5 + i]![0]! - g) <= 1e-6 * Math.max(1, Math.abs(g)),
          `gelu(${x}): ${out[5 + i]![0]} vs ${g}`,
        );
        assert.ok(
          Math.abs(out[5 + i]![1]! - dg) <= 1e-6 * Math.max(1, Math.abs(dg)),
          `gelu'(${x}): ${out[5 + i]![1]} vs ${dg}`,
        );
      });
      // AdamW, op by op in float32 as lib/train/optimizer.ts does it on the cpu backend.
      const f = Math.fround,
        g = f(f(0.25) * f(0.5));
      const m = f(f(f(-0.01) * f(0.9)) + f(g * f(0.1))),
        v = f(f(f(0.0004) * f(0.999)) + f(f(g * g) * f(0.001)));
      const upd = f(f(m / f(0.271)) / f(f(Math.sqrt(f(v / f(0.002997)))) + f(1e-8)));
      const p = f(f(f(0.3) * f(0.9999)) - f(upd * f(0.001)));
      assert.deepEqual(
        out[12],
        [p, m, v],
        "AdamW element: bit-identical to the op-by-op float32 update",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

function hasCxx(): boolean {
  return spawnSync("c++", ["--version"]).status === 0;
}
