// Gradients and the extra kernels must load however tsx was registered: `npx simvlm` registers
// only tsx's ESM hooks (bin/simvlm.js), the tests use `node --import tsx`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const root = new URL("../../", import.meta.url);
const script = `
import { register } from "tsx/esm/api";
register();
const { tf, initBackend } = await import(${JSON.stringify(new URL("lib/backend/index.ts", root).href)});
const info = await initBackend({ backend: "wasm" });
const g = tf.grad((t) => tf.sum(tf.gather(t, tf.tensor1d([1, 1], "int32"))))(tf.ones([3, 2]));
console.log(JSON.stringify({ backend: tf.getBackend(), grad: Array.from(g.dataSync()), notes: info.notes }));
`;

test("under ESM-only tsx registration (as bin/simvlm.js does) wasm trains: gradients and kernels load", () => {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL(".", root),
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(
    r.stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .pop()!,
  );
  assert.equal(out.backend, "wasm");
  assert.deepEqual(out.grad, [0, 0, 2, 2, 0, 0]);
  assert.ok(
    out.notes.some((n: string) => n.includes("UnsortedSegmentSum")),
    JSON.stringify(out.notes),
  );
});
