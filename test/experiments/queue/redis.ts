// Test helpers: a Redis of the test's own on a free loopback port, and `simvlm` worker processes.
import { createServer } from "node:net";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Redis } from "ioredis";
import { spawnTracked, type Tracked } from "../../procs.ts";

export const BIN = new URL("../../../bin/simvlm.js", import.meta.url).pathname;
export const RUNS_MODULE = new URL("./runs.ts", import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface TestRedis {
  url: (db?: number) => string;
  port: number;
  password: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * redis-server on a free loopback port with a password; `persist` keeps its data in an append-only
 * file in `dir`, so restart() (stop, then start on the same port and folder) keeps the queue.
 */
export async function startRedis(
  dir: string,
  {
    persist = false,
    password = "s3cret-pw",
    tls,
  }: { persist?: boolean; password?: string; tls?: { cert: string; key: string } } = {},
): Promise<TestRedis> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  let server: Tracked | undefined;
  // With tls: only a TLS port (the certificate is its own CA; clients trust it through NODE_EXTRA_CA_CERTS).
  const listen = tls
    ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        tls.cert,
        "--tls-key-file",
        tls.key,
        "--tls-ca-cert-file",
        tls.cert,
        "--tls-auth-clients",
        "no",
      ]
    : ["--port", String(port)];
  const start = async () => {
    server = spawnTracked(
      "redis-server",
      [
        ...listen,
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        persist ? "yes" : "no",
        "--requirepass",
        password,
        "--logfile",
        join(dir, "redis.log"),
      ],
      { name: "redis-server", stdio: "ignore", deadlineMs: 600_000 },
    );
    await until(
      async () => {
        const c = new Redis({
          port,
          host: "127.0.0.1",
          password,
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
          ...(tls ? { tls: { ca: readFileSync(tls.cert) } } : {}),
        });
        c.on("error", () => {});
        try {
          await c.connect();
          return (await c.ping()) === "PONG";
        } catch {
          return false;
        } finally {
          c.disconnect();
        }
      },
      `redis-server on port ${port}`,
      20_000,
    );
  };
  await start();
  return {
    port,
    password,
    url: (db = 0) => `${tls ? "rediss" : "redis"}://:${password}@127.0.0.1:${port}/${db}`,
    stop: async () => {
      await server?.stop(5000);
    },
    restart: async () => {
      await server?.stop(5000);
      await start();
    },
  };
}

/** A `simvlm worker` process, started in the temp folder (not the checkout); `out()` is everything it printed so far. */
export function startWorker(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Tracked & { out: () => string } {
  const w = spawnTracked(process.execPath, [BIN, "worker", ...args], {
    name: "simvlm worker",
    stdio: ["ignore", "pipe", "pipe"],
    deadlineMs: 300_000,
    env,
    cwd: tmpdir(),
  });
  let text = "";
  w.proc.stdout!.on("data", (b: Buffer) => {
    text += b.toString();
  });
  w.proc.stderr!.on("data", (b: Buffer) => {
    text += b.toString();
  });
  return Object.assign(w, { out: () => text });
}
