// The one prerequisite list (scripts/prereqs.mjs): every entry names real Debian packages, a
// missing tool skips its tests with the exact command that installs it, and nothing is installed
// where that is forbidden (SIMVLM_PRETEND_MISSING, SIMVLM_NO_INSTALL).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PREREQS, checkPrereqs, installCommand } from "../../scripts/prereqs.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Evaluate `expr` against a fresh import of the module, with `env` (and no status passed down). */
function withEnv(env: Record<string, string>, expr: string): unknown {
  const code = `const m = await import("./scripts/prereqs.mjs"); console.log(JSON.stringify(${expr}));`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.SIMVLM_PREREQS;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    cwd: root,
    env: childEnv,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("a missing prerequisite skips with the exact install command; a present one does not skip", () => {
  const sudo = process.getuid?.() === 0 ? "" : "sudo ";
  const got = withEnv(
    { SIMVLM_PRETEND_MISSING: "chromium,notebook" },
    `[m.skipUnless("chromium"), m.skipUnless("notebook", "chromium"), m.installHint("chromium")]`,
  ) as string[];
  assert.equal(
    got[0],
    `needs chromium, not installed here; install with: ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends chromium`,
  );
  assert.equal(
    got[1],
    `needs notebook, chromium, not installed here; install with: ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends jupyter-notebook chromium`,
  );
  assert.equal(
    got[2],
    `; install with: ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends chromium`,
  );
  // Without pretending, the answer is the machine's own: skip exactly when the check fails.
  const real = checkPrereqs();
  const skips = withEnv(
    {},
    `Object.fromEntries(Object.keys(m.PREREQS).map((n) => [n, m.skipUnless(n)]))`,
  ) as Record<string, string | false>;
  for (const n of Object.keys(PREREQS) as (keyof typeof PREREQS)[])
    assert.equal(skips[n] === false, real[n], n);
  assert.equal(
    installCommand(["torch", "redis"]).endsWith(
      "install -y --no-install-recommends python3-torch redis-server",
    ),
    true,
  );
});

test("nothing is installed when pretending or when installs are off; the status says what is missing", () => {
  const all = withEnv({ SIMVLM_PRETEND_MISSING: "all" }, `m.ensurePrereqs({ log: () => {} })`) as {
    missing: string[];
    installed: string[];
    note: string;
    status: Record<string, boolean>;
  };
  assert.deepEqual(all.missing.sort(), Object.keys(PREREQS).sort());
  assert.deepEqual(all.installed, []);
  assert.equal(all.note, "not installing (SIMVLM_PRETEND_MISSING is set)");
  assert.ok(Object.values(all.status).every((v) => v === false));
  const off = withEnv(
    { SIMVLM_NO_INSTALL: "1", SIMVLM_PRETEND_MISSING: "" },
    `m.ensurePrereqs({ log: () => {} }).note`,
  );
  assert.match(String(off), /^all present$|^not installing \(SIMVLM_NO_INSTALL=1\)$/);
  // The status run.js passes down is what the tests read.
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const m = await import("./scripts/prereqs.mjs"); console.log(m.skipUnless("torch"))`,
    ],
    {
      cwd: root,
      env: { ...process.env, SIMVLM_PREREQS: JSON.stringify({ torch: false }) },
      encoding: "utf8",
    },
  );
  assert.match(r.stdout, /^needs torch, not installed here; install with: .*python3-torch/);
});

test(
  "every prerequisite names Debian packages that apt knows, and says what uses it",
  {
    skip:
      spawnSync("apt-cache", ["--version"]).status === 0
        ? false
        : "no apt-cache (not a Debian machine)",
  },
  () => {
    const all = [...new Set(Object.values(PREREQS).flatMap((p) => p.apt))];
    const r = spawnSync("apt-cache", ["show", "--no-all-versions", ...all], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    const known = new Set([...r.stdout.matchAll(/^Package: (\S+)$/gm)].map((m) => m[1]));
    for (const [name, p] of Object.entries(PREREQS)) {
      assert.ok(p.apt.length > 0 && p.usedBy.length > 0, name);
      assert.ok(p.python || p.file || p.command, `${name}: no way to check it`);
      for (const pkg of p.apt) assert.ok(known.has(pkg), `${name}: apt does not know ${pkg}`);
    }
  },
);
