// Grids on a Redis queue (BullMQ) with real `simvlm worker` processes and a redis-server of the
// test's own (password set, loopback, free port): bit-for-bit the local runner's metrics, a worker
// killed with SIGKILL, retries and failures, a restarted Redis, an interrupted submitter, two
// submitters sharing runs, refusals, and the errors for a bad URL or grid.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { skipUnless } from "../../scripts/prereqs.mjs";
import {
  runGrid,
  RunCache,
  runKey,
  codeVersion,
  QueueError,
  redactUrl,
  checkQueueUrl,
  type QueueEvent,
} from "../../lib/experiments/index.ts";
import { checkRedis } from "../../lib/experiments/queue/connection.ts";
import { runOnQueue } from "../../lib/experiments/queue/submit.ts";
import { expandGrid } from "../../lib/experiments/grid.ts";
import { setRunContext, getRunContext, startProgress } from "../../lib/runtime.ts";
import { Redis } from "ioredis";
import { BIN, RUNS_MODULE, startRedis, startWorker, until, type TestRedis } from "./queue/redis.ts";

const skip = skipUnless("redis");
const root = mkdtempSync(join(tmpdir(), "simvlm-queue-"));
let redis: TestRedis;
let shared: ReturnType<typeof startWorker> | undefined;

before(async () => {
  if (skip) return;
  redis = await startRedis(join(root, "redis"), { persist: true });
  // One worker for the tests that do not kill theirs (db 1); a lock long enough to outlive a Redis restart.
  shared = startWorker([
    "--queue",
    redis.url(1),
    "--module",
    RUNS_MODULE,
    "--name",
    "shared",
    "--concurrency",
    "2",
    "--lock-timeout",
    "15",
  ]);
  await until(() => shared!.out().includes("worker shared on"), "the shared worker to connect");
});
after(async () => {
  await shared?.stop(10_000);
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

const lines = (p: string) =>
  existsSync(p) ? readFileSync(p, "utf8").split("\n").filter(Boolean) : [];
const markerDir = (name: string) => {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
};
const ablate = (args: string[]) =>
  spawnSync(process.execPath, [BIN, "ablate", ...args], { encoding: "utf8", timeout: 120_000 });

test(
  "queue URLs: checked, passwords never printed, one clear error when Redis cannot be reached",
  { skip, timeout: 60_000 },
  async () => {
    assert.equal(redactUrl("redis://user:hunter2@h:6379/2"), "redis://user:***@h:6379/2");
    assert.throws(
      () => checkQueueUrl("http://h:1"),
      (e: unknown) =>
        e instanceof QueueError &&
        /scheme must be redis:\/\/ or rediss:\/\//.test((e as Error).message),
    );
    assert.throws(() => checkQueueUrl("redis://:pw@h:1/x"), /database number/);
    await assert.rejects(
      checkRedis(`redis://:wrong-pw@127.0.0.1:${redis.port}/0`),
      (e: unknown) =>
        e instanceof QueueError &&
        /authentication failed/.test((e as Error).message) &&
        !(e as Error).message.includes("wrong-pw"),
    );
    // Nothing listens on port 1: one line naming the URL, without the password, and no stack.
    const grid = join(root, "url-grid.json");
    writeFileSync(grid, JSON.stringify({ name: "u", run: "echo", axes: { x: [1] } }));
    const r = ablate([
      grid,
      "--queue",
      "redis://:topsecret@127.0.0.1:1/0",
      "--cache",
      join(root, "url-cache"),
    ]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^simvlm: cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: connection refused/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!r.stderr.includes("topsecret"));
    // A malformed grid: one clear error naming the field, before anything is queued.
    writeFileSync(grid, JSON.stringify({ name: "u", run: "echo", seeds: [0, "one"] }));
    const g = ablate([grid, "--queue", redis.url(1)]);
    assert.equal(g.status, 1);
    assert.match(
      g.stderr,
      /^simvlm: .*url-grid\.json: field "seeds" must be an array of integers\n$/,
    );
  },
);

test(
  "two workers give the local runner's metrics bit for bit; results come back, checkpoints stay in the store",
  { skip, timeout: 300_000 },
  async () => {
    const store = join(root, "store");
    const base = {
      config: "tiny",
      steps: 2,
      batch: 2,
      evalN: 2,
      maxK: 1,
      captionMaxLen: 3,
      objective: "prefixlm",
      prefix: { mode: "random" },
      textOnly: true,
    };
    const grid = {
      name: "exact",
      run: "pretrainEval",
      base,
      axes: { patchEmbed: ["conv", "linear"] },
      seeds: [0],
    };
    const url = redis.url(2);
    const workers = ["a", "b"].map((n) =>
      startWorker(["--queue", url, "--store", store, "--name", `w-${n}`]),
    );
    try {
      const local = await runGrid(grid, { cacheDir: join(root, "exact-local"), progress: false });
      await until(
        () => workers.every((w) => w.out().includes(" on redis://")),
        "both workers to connect",
      );
      const remote = await runGrid(grid, {
        cacheDir: join(root, "exact-remote"),
        queue: url,
        progress: false,
      });
      assert.equal(remote.failed.length, 0, JSON.stringify(remote.failed));
      assert.equal(remote.length, 2);
      const strip = (e: unknown) => {
        const { seconds: _s, ...rest } = e as Record<string, unknown>;
        return rest;
      };
      for (const [i, r] of remote.rows.entries()) {
        const l = local.rows[i]!;
        assert.equal(r.key, l.key);
        assert.deepEqual(r.metrics, l.metrics, `metrics of ${r.label}`);
        assert.deepEqual(strip(r.extra), strip(l.extra), `extra of ${r.label}`);
        assert.match(r.remote!.worker, /^w-[ab]$/);
        assert.equal(r.remote!.store, join(store, "runs", r.key));
        assert.ok(
          existsSync(join(store, "runs", r.key, "ckpt", "weights.safetensors")),
          "the checkpoint stays in the store",
        );
        const dir = join(root, "exact-remote", "runs", r.key);
        assert.equal(
          lines(join(dir, "ckpt", "train.jsonl")).length,
          2,
          "the per-step JSONL came back",
        );
        assert.ok(
          !existsSync(join(dir, "ckpt", "weights.safetensors")),
          "checkpoints do not travel",
        );
        assert.ok(existsSync(join(dir, "run.log")));
      }
      assert.equal(
        new Set(remote.rows.map((r) => r.remote!.worker)).size,
        2,
        "both workers took a run",
      );
      // Submitted again: every run comes from the submitter's cache and none is queued.
      const events: QueueEvent[] = [];
      let fromCache = 0;
      const again = await runGrid(grid, {
        cacheDir: join(root, "exact-remote"),
        queue: url,
        progress: false,
        onQueueEvent: (e) => events.push(e),
        onRun: (_r, c) => {
          if (c) fromCache++;
        },
      });
      assert.equal(fromCache, 2);
      assert.deepEqual(
        again.rows.map((r) => r.metrics),
        remote.rows.map((r) => r.metrics),
      );
      assert.deepEqual(
        events.map((e) => e.kind),
        ["queued"],
      );
      assert.match(events[0]!.message, /^0 runs on the queue .*, 2 from the cache/);
      // Redis loses the finished jobs (flushed), and a submitter without these results in its cache
      // queues them again: the workers answer from their store and train nothing (the checkpoints
      // keep their modification time).
      const flush = new Redis(url);
      await flush.flushdb();
      flush.disconnect();
      const weights = remote.rows.map((r) =>
        join(store, "runs", r.key, "ckpt", "weights.safetensors"),
      );
      const before = weights.map((w) => statSync(w).mtimeMs);
      const fresh = await runGrid(grid, {
        cacheDir: join(root, "exact-fresh"),
        queue: url,
        progress: false,
      });
      assert.deepEqual(
        fresh.rows.map((r) => r.metrics),
        remote.rows.map((r) => r.metrics),
      );
      assert.deepEqual(
        weights.map((w) => statSync(w).mtimeMs),
        before,
        "nothing was trained again",
      );
      assert.equal(
        workers.map((w) => w.out().match(/ from the store /g)?.length ?? 0).reduce((a, b) => a + b),
        2,
        "both runs were sent from the store",
      );
    } finally {
      await Promise.all(workers.map((w) => w.stop(10_000)));
    }
  },
);

test(
  "a worker killed with SIGKILL mid-run: its runs are taken over and complete once; SIGTERM lets a worker finish",
  { skip, timeout: 180_000 },
  async () => {
    const dir = markerDir("kill");
    const url = redis.url(3);
    const grid = {
      name: "kill",
      run: "marked",
      base: { dir, steps: 6, sleepMs: 400 },
      axes: { x: [1, 2] },
    };
    const a = startWorker([
      "--queue",
      url,
      "--module",
      RUNS_MODULE,
      "--name",
      "doomed",
      "--concurrency",
      "2",
      "--lock-timeout",
      "5",
    ]);
    let b: ReturnType<typeof startWorker> | undefined;
    try {
      await until(() => a.out().includes("worker doomed on"), "worker doomed to connect");
      const events: QueueEvent[] = [];
      const done = runGrid(grid, {
        cacheDir: join(root, "kill-cache"),
        queue: url,
        progress: false,
        onQueueEvent: (e) => events.push(e),
      });
      await until(
        () => lines(join(dir, "starts.log")).length === 2,
        "both runs to start on worker doomed",
      );
      a.proc.kill("SIGKILL");
      b = startWorker([
        "--queue",
        url,
        "--module",
        RUNS_MODULE,
        "--name",
        "heir",
        "--concurrency",
        "2",
        "--lock-timeout",
        "5",
      ]);
      // A 5 s lock (3 s once flaked in CI on the loaded 2-core machine); a timeout shows both
      // workers' logs, so a run that stalled twice or was never requeued explains itself.
      await until(
        () => (b!.out().match(/takes /g) ?? []).length === 2,
        "worker heir to take both runs",
        60_000,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n--- doomed:\n${a.out()}\n--- heir:\n${b!.out()}`);
      });
      b.proc.kill("SIGTERM");
      const t = await done;
      assert.equal(t.failed.length, 0);
      assert.deepEqual(t.rows.map((r) => r.metrics.value).sort(), [10, 20]);
      assert.ok(t.rows.every((r) => r.remote!.worker === "heir"));
      assert.match(b.out(), /SIGTERM: taking no new runs; finishing /);
      await until(() => b!.proc.exitCode !== null, "worker heir to exit after finishing", 30_000);
      assert.equal(b.proc.exitCode, 0);
      assert.ok(
        events.some((e) => e.kind === "requeued" && /stalled on doomed/.test(e.message)),
        events.map((e) => e.message).join("\n"),
      );
      await new Promise((r) => setTimeout(r, 1500)); // the killed worker's run processes must not finish on their own
      assert.equal(lines(join(dir, "starts.log")).length, 4, "each run started twice");
      assert.deepEqual(
        lines(join(dir, "ends.log")).sort(),
        ["x=1 seed 0", "x=2 seed 0"],
        "and completed once",
      );
    } finally {
      await a.stop(2000);
      await b?.stop(10_000);
    }
  },
);

test(
  "a worker's second Ctrl-C stops its run now and puts it back on the queue for another worker",
  { skip, timeout: 120_000 },
  async () => {
    const dir = markerDir("ctrlc");
    const url = redis.url(4);
    const a = startWorker(["--queue", url, "--module", RUNS_MODULE, "--name", "quitter"]);
    let b: ReturnType<typeof startWorker> | undefined;
    try {
      await until(() => a.out().includes("worker quitter on"), "worker quitter to connect");
      const done = runGrid(
        { name: "ctrlc", run: "marked", base: { dir, steps: 4, sleepMs: 500, x: 1 } },
        { cacheDir: join(root, "ctrlc-cache"), queue: url, progress: false },
      );
      await until(() => lines(join(dir, "starts.log")).length === 1, "the run to start");
      a.proc.kill("SIGINT");
      await until(
        () => /SIGINT: taking no new runs; finishing base seed 0/.test(a.out()),
        "the first Ctrl-C to be acknowledged",
      );
      a.proc.kill("SIGINT");
      await until(() => a.proc.exitCode !== null, "worker quitter to stop", 30_000);
      assert.equal(a.proc.exitCode, 130);
      assert.match(a.out(), /stopped base seed 0 \(\w+\); it goes back to the queue/);
      b = startWorker(["--queue", url, "--module", RUNS_MODULE, "--name", "finisher"]);
      const t = await done;
      assert.equal(t.rows[0]!.remote!.worker, "finisher");
      assert.match(
        b.out(),
        /takes base seed 0 \(\w+\), attempt 1\/3/,
        "the stopped attempt was not counted",
      );
      assert.equal(lines(join(dir, "ends.log")).length, 1);
    } finally {
      await a.stop(2000);
      await b?.stop(10_000);
    }
  },
);

test(
  "a run that throws is retried, then listed as failed with its error; the rest of the grid finishes (CLI)",
  { skip, timeout: 120_000 },
  async () => {
    const dir = markerDir("fail");
    const gridFile = join(root, "fail-grid.json");
    writeFileSync(
      gridFile,
      JSON.stringify({
        name: "fail",
        run: "marked",
        base: { dir, steps: 1 },
        variants: [
          { label: "ok", params: { x: 1 } },
          { label: "flaky", params: { x: 2, failTimes: 1 } },
          { label: "broken", params: { x: 3, alwaysFail: true } },
        ],
      }),
    );
    const r = ablate([
      gridFile,
      "--queue",
      redis.url(1),
      "--retries",
      "1",
      "--cache",
      join(root, "fail-cache"),
      "--json",
    ]);
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as {
      ran: number;
      runs: { label: string }[];
      failed: { label: string; error: string; attempts: number }[];
    };
    assert.deepEqual(out.runs.map((x) => x.label).sort(), ["flaky", "ok"]);
    assert.equal(out.failed.length, 1);
    assert.equal(out.failed[0]!.label, "broken");
    assert.equal(out.failed[0]!.attempts, 2);
    assert.match(out.failed[0]!.error, /boom: x=3 seed 0 always fails/);
    assert.match(r.stderr, /retrying flaky seed 0 \(attempt 2\/2\) after: Error: flaky/);
    assert.match(r.stderr, /failed broken seed 0 after 2 attempts: Error: boom/);
    assert.equal(lines(join(dir, "starts.log")).length, 5, "ok once, flaky twice, broken twice");
    // Run again: the two results come from the cache, and only the failed run is queued again.
    const again = ablate([
      gridFile,
      "--queue",
      redis.url(1),
      "--retries",
      "0",
      "--cache",
      join(root, "fail-cache"),
      "--json",
    ]);
    assert.equal(again.status, 1, again.stderr);
    assert.equal(JSON.parse(again.stdout).cached, 2);
    assert.match(again.stderr, /broken seed 0 had failed before: queued again/);
    assert.equal(lines(join(dir, "starts.log")).length, 6);
  },
);

test("the grid resumes after Redis restarts mid-grid", { skip, timeout: 120_000 }, async () => {
  const dir = markerDir("restart");
  const grid = {
    name: "restart",
    run: "marked",
    base: { dir, steps: 3, sleepMs: 300 },
    axes: { x: [1, 2, 3] },
  };
  const events: QueueEvent[] = [];
  let restarted = false;
  const t = await runGrid(grid, {
    cacheDir: join(root, "restart-cache"),
    queue: redis.url(1),
    progress: false,
    onQueueEvent: (e) => {
      events.push(e);
      if (e.kind === "done" && !restarted) {
        restarted = true;
        void redis.restart();
      }
    },
  });
  assert.ok(restarted);
  assert.equal(t.failed.length, 0);
  assert.deepEqual(
    t.rows.map((r) => r.metrics.value),
    [10, 20, 30],
  );
  assert.ok(
    events.some((e) => e.kind === "connection" && /lost the queue/.test(e.message)),
    "the submitter saw Redis go",
  );
  assert.ok(events.some((e) => e.kind === "connection" && /is back/.test(e.message)));
  assert.equal(lines(join(dir, "ends.log")).length, 3, "nothing ran twice");
});

test(
  "an interrupted submitter: the same command later collects the runs without running any twice",
  { skip, timeout: 120_000 },
  async () => {
    const dir = markerDir("interrupt");
    const gridFile = join(root, "interrupt-grid.json");
    writeFileSync(
      gridFile,
      JSON.stringify({
        name: "int",
        run: "marked",
        base: { dir, steps: 2, sleepMs: 500 },
        axes: { x: [1, 2, 3] },
      }),
    );
    const args = [
      BIN,
      "ablate",
      gridFile,
      "--queue",
      redis.url(1),
      "--cache",
      join(root, "interrupt-cache"),
      "--json",
    ];
    const first = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    first.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    await until(() => /done x=1 seed 0/.test(err), "the first run to finish");
    first.kill("SIGINT");
    const code = await new Promise<number | null>((r) => first.on("exit", (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(
      err,
      /stopped waiting .* stay on the queue and keep running on the workers; rerun the same command to collect them/,
    );
    const again = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 90_000 });
    assert.equal(again.status, 0, again.stderr);
    const out = JSON.parse(again.stdout) as {
      cached: number;
      runs: { metrics: { value: number } }[];
    };
    // Runs the first submitter collected before the interrupt (x=1, and x=2 when it ended in the same look) come from the cache.
    const collected = (err.match(/done x=\d seed 0 on /g) ?? []).length;
    assert.ok(collected >= 1 && collected < 3, err);
    assert.equal(
      out.cached,
      collected,
      "the runs that finished before the interrupt came from the cache",
    );
    assert.deepEqual(
      out.runs.map((r) => r.metrics.value),
      [10, 20, 30],
    );
    assert.equal(lines(join(dir, "ends.log")).length, 3, "no run ran twice");
  },
);

test(
  "two submitters of one grid share its runs; the notebook display shows runs, workers and results",
  { skip, timeout: 120_000 },
  async () => {
    const dir = markerDir("share");
    const grid = {
      name: "share",
      run: "marked",
      base: { dir, steps: 2, sleepMs: 300 },
      axes: { x: [1, 2] },
    };
    const shown: string[] = [];
    const before = getRunContext();
    setRunContext({
      display: (bundle) => {
        shown.push(String(bundle["text/plain"]));
      },
    });
    try {
      const [t1, t2] = await Promise.all([
        runGrid(grid, { cacheDir: join(root, "share-1"), queue: redis.url(1) }),
        runGrid(grid, { cacheDir: join(root, "share-2"), queue: redis.url(1), progress: false }),
      ]);
      assert.deepEqual(
        t1.rows.map((r) => r.metrics),
        t2.rows.map((r) => r.metrics),
      );
      assert.equal(lines(join(dir, "ends.log")).length, 2, "each run ran once for both submitters");
      const cached = new RunCache(join(root, "share-2")).all();
      assert.equal(cached.length, 2);
      // The shared worker has no --store: the runs keep only their results, and say so.
      for (const r of cached)
        assert.match(r.remote!.checkpoints, /^not kept: worker shared had no --store/);
    } finally {
      setRunContext(before);
    }
    const last = shown[shown.length - 1]!;
    assert.match(last, /share: 2\/2 done/);
    assert.match(last, /done +x=1 seed 0 on shared: value 10/);
    assert.ok(
      shown.some((s) => /running +x=\d seed 0 on shared/.test(s)),
      "a running run was shown with its worker",
    );
  },
);

test(
  "a worker refuses runs of another code version, or of a run function it lacks; refused by all, they fail",
  { skip, timeout: 120_000 },
  async () => {
    const grid = { name: "stale", run: "echo", base: { steps: 1 } };
    const [spec] = expandGrid(grid);
    const missing = { ...spec!, run: "notRegistered" };
    const cache = new RunCache(join(root, "stale-cache"));
    const submit = (s: typeof spec & {}, version: string) =>
      runOnQueue(
        { queue: redis.url(1), pollMs: 300 },
        {
          grid,
          cache,
          version,
          progress: startProgress("stale", 1, { progress: false }),
          total: 1,
          cached: 0,
          display: false,
          onResult: () => {},
          todo: [{ spec: s, key: runKey(s, version) }],
        },
      );
    const [stale, unknown] = await Promise.all([
      submit(spec!, "0123456789abcdef"),
      submit(missing, codeVersion()),
    ]);
    assert.equal(stale.length, 1);
    assert.match(
      stale[0]!.error,
      /^refused by every connected worker: shared: this worker's code version [0-9a-f]{16} differs from the submitter's 0123456789abcdef/,
    );
    assert.match(
      shared!.out(),
      /refuses base seed 0 \(\w+\): this worker's code version \w+ differs from the submitter's 0123456789abcdef/,
    );
    assert.equal(unknown.length, 1);
    assert.match(
      unknown[0]!.error,
      /^refused by every connected worker: shared: no run function "notRegistered" here \(registered: echo, marked, pretrain, pretrainEval\); start the worker with --module FILE/,
    );
    assert.equal(cache.all().length, 0);
  },
);

const opensslSkip =
  spawnSync("openssl", ["version"]).status === 0
    ? false
    : "needs openssl to make a test certificate; install with: sudo apt-get install -y openssl";

test(
  "rediss:// (TLS) with a password: a worker and a submitter meet over TLS; an untrusted certificate is one clear error",
  { skip: skip || opensslSkip, timeout: 120_000 },
  async () => {
    const dir = join(root, "tls");
    mkdirSync(dir, { recursive: true });
    const cert = join(dir, "cert.pem"),
      key = join(dir, "key.pem");
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { encoding: "utf8" },
    );
    assert.equal(made.status, 0, made.stderr);
    const tlsRedis = await startRedis(join(dir, "redis"), {
      tls: { cert, key },
      password: "tls-pw",
    });
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: cert };
    const w = startWorker(["--queue", tlsRedis.url(0), "--name", "tls-worker"], env);
    try {
      // This process does not trust the certificate: the error says so and how to trust it.
      await assert.rejects(
        checkRedis(tlsRedis.url(0)),
        /cannot reach the queue at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: TLS handshake failed: .*NODE_EXTRA_CA_CERTS/,
      );
      const gridFile = join(dir, "grid.json");
      writeFileSync(
        gridFile,
        JSON.stringify({ name: "tls", run: "echo", base: { steps: 1, x: 4 } }),
      );
      await until(
        () => w.out().includes("worker tls-worker on rediss://:***@127.0.0.1"),
        "the worker to connect over TLS",
      );
      const r = spawnSync(
        process.execPath,
        [
          BIN,
          "ablate",
          gridFile,
          "--queue",
          tlsRedis.url(0),
          "--cache",
          join(dir, "cache"),
          "--json",
        ],
        { encoding: "utf8", env, timeout: 90_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).runs[0].metrics.value, 40);
      assert.ok(
        !r.stderr.includes("tls-pw") && !w.out().includes("tls-pw"),
        "the password is never printed",
      );
    } finally {
      await w.stop(10_000);
      await tlsRedis.stop();
    }
  },
);
