import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { requestedBackend, BACKEND_NAMES, BackendError } from "../../lib/backend/index.ts";

const bin = new URL("../../bin/simvlm.js", import.meta.url).pathname;
function info(env: Record<string, string>) {
  return spawnSync(process.execPath, [bin, "info", "--json"], {
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
}

test("SIMVLM_BACKEND parsing: names, auto, and an error listing the choices", () => {
  assert.equal(requestedBackend({}), undefined);
  assert.equal(requestedBackend({ SIMVLM_BACKEND: "auto" }), undefined);
  for (const n of BACKEND_NAMES) assert.equal(requestedBackend({ SIMVLM_BACKEND: n }), n);
  assert.throws(
    () => requestedBackend({ SIMVLM_BACKEND: "nonsense" }),
    (e: unknown) => {
      assert.ok(e instanceof BackendError);
      for (const n of BACKEND_NAMES) assert.match((e as Error).message, new RegExp(`\\b${n}\\b`));
      return true;
    },
  );
});

test("auto choice here is wasm, and info explains skipped backends", () => {
  const r = info({ SIMVLM_BACKEND: "" });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // tfjs-node cannot install its native part on this machine, so wasm is the default here.
  if (!j.skipped.some((s: { name: string }) => s.name === "node")) return; // a machine with tfjs-node
  assert.equal(j.backend, "wasm");
  assert.ok(j.threads >= 1);
  assert.ok(j.versions["@tensorflow/tfjs-core"]);
  for (const s of j.skipped) assert.ok(s.reason.length > 0);
});

test("SIMVLM_BACKEND=cpu forces the cpu backend", () => {
  const r = info({ SIMVLM_BACKEND: "cpu" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).backend, "cpu");
});

test("unknown or unavailable backends fail with one clear message", () => {
  const r = info({ SIMVLM_BACKEND: "nonsense" });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Valid choices: cuda, gpu, node, webgpu, wasm, cpu/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace for a user error");
});
