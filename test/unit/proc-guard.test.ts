// A failing test leaves nothing running. Each case runs a test file in its own `node --test` (as
// npm test does, with test/proc-guard.mjs loaded) that starts a process tree — a parent that
// ignores SIGTERM, a child in its group, a child in a new session — and then fails: an assertion,
// a test timeout whose `finally` never runs, a SIGTERM to the test's process, the helper's own
// deadline. Afterwards no process of the tree may be alive. The last case is the reported one:
// the classic Notebook test with a Chromium that fails to launch must not leave its server up.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { envWithToken, newToken, processesWithToken } from "../proc-guard.mjs";
import { skipUnless } from "../../scripts/prereqs.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
const guard = pathToFileURL(join(root, "test", "proc-guard.mjs")).href;
const fixture = join(root, "test", "fixtures", "proc-guard", "leaky.test.ts");

const tail = (s: string) => s.slice(-3000);
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return false;
  }
};

/** Run one test file under `node --test` with the guard; optionally SIGTERM the test file's process once `readyFile` appears. */
async function runFile(
  file: string,
  env: NodeJS.ProcessEnv,
  opts: { sigtermWhen?: string } = {},
): Promise<{ code: number | null; signal: string | null; out: string; token: string }> {
  const token = newToken("case");
  const childEnv: NodeJS.ProcessEnv = envWithToken(token, { ...process.env, ...env });
  delete childEnv.NODE_TEST_CONTEXT; // a fresh runner, not a child of ours
  const p = spawn(
    process.execPath,
    ["--import", "tsx", "--import", guard, "--test", "--test-reporter=spec", file],
    { cwd: root, env: childEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  p.stdout.on("data", (d) => {
    out += d;
  });
  p.stderr.on("data", (d) => {
    out += d;
  });
  if (opts.sigtermWhen) {
    const f = opts.sigtermWhen;
    void (async () => {
      while (!existsSync(f) && p.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(Number(readFileSync(`${f}.pid`, "utf8")), "SIGTERM");
      } catch {
        /* already gone */
      }
    })();
  }
  const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
    p.on("close", (c, s) => r([c, s])),
  );
  return { code, signal, out, token };
}

for (const [name, expectGuard] of [
  ["assert", false],
  ["timeout", true],
  ["signal", true],
  ["deadline", false],
] as const) {
  test(
    `a test that starts a process tree and then fails (${name}) leaves nothing running`,
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "simvlm-guard-"));
      const readyFile = join(dir, "ready.json");
      try {
        const r = await runFile(
          fixture,
          { FIXTURE_CASE: name, READY_FILE: readyFile, SIMVLM_TEST_GUARD_GRACE_MS: "1000" },
          name === "signal" ? { sigtermWhen: readyFile } : {},
        );
        assert.ok(existsSync(readyFile), `the tree never came up:\n${tail(r.out)}`);
        const pids = JSON.parse(readFileSync(readyFile, "utf8")) as number[];
        assert.equal(pids.length, 3);
        if (name === "deadline") assert.equal(r.code, 0, tail(r.out));
        else assert.notEqual(r.code, 0, tail(r.out));
        await new Promise((res) => setTimeout(res, 300)); // let the kernel reap what was just killed
        assert.deepEqual(processesWithToken(r.token), [], `left running:\n${tail(r.out)}`);
        for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} of the tree is alive`);
        // Where the test's own finally (or the helper's deadline) can run, the guard has nothing left to do.
        if (expectGuard)
          assert.match(r.out, /test guard \(.*\): killed [1-9]\d* process/, tail(r.out));
        else assert.ok(!/test guard/.test(r.out), tail(r.out));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

test(
  "the classic Notebook test with a Chromium that fails to launch stops its Notebook server and kernel",
  { skip: skipUnless("notebook", "chromium"), timeout: 300_000 },
  async () => {
    // /bin/false exists (so the test is not skipped) but is no browser: the launch fails after the server is up.
    const r = await runFile(join(root, "test", "kernel", "classic-notebook.test.ts"), {
      CHROMIUM_PATH: "/bin/false",
      SIMVLM_TEST_GUARD_GRACE_MS: "1000",
    });
    assert.notEqual(r.code, 0, tail(r.out));
    assert.ok(/browserType\.launch/.test(r.out), tail(r.out));
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(processesWithToken(r.token), [], `left running:\n${tail(r.out)}`);
    const guarded = /# test guard.*\n(#   .*\n)*/.exec(r.out)?.[0];
    assert.ok(!guarded, `the test itself must stop its server; the guard had to kill:\n${guarded}`);
  },
);
