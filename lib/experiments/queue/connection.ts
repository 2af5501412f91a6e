/**
 * Connections to the queue's Redis through ioredis (the URL's checks and redaction are in url.ts).
 */
import { Redis } from "ioredis";
import type { RedisOptions } from "bullmq";
import { checkQueueUrl, QueueError, redactUrl } from "./url.ts";

export { checkQueueUrl, DEFAULT_QUEUE_NAME, QueueError, redactUrl } from "./url.ts";

/**
 * Options for BullMQ's connections. `retryStrategy` keeps reconnecting while Redis is away (a
 * restart mid-grid), at most every 2 s so a grid resumes soon after Redis is back.
 */
export function connectionOptions(url: string): RedisOptions {
  checkQueueUrl(url);
  return {
    url,
    connectTimeout: 10_000,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/** Explain a connection failure in one line (no stack, no password). */
function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { message: string };
  const m = err?.message ?? String(e);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(m))
    return "authentication failed (check the user and password in the URL)";
  if (err?.code === "ECONNREFUSED") return "connection refused (is redis-server running there?)";
  if (err?.code === "ENOTFOUND" || err?.code === "EAI_AGAIN") return "host not found";
  if (err?.code === "ECONNRESET")
    return "connection reset by the server (if it speaks TLS, use rediss://)";
  if (/ETIMEDOUT|timed? ?out/i.test(m)) return "timed out";
  if (/certificate|SSL|TLS|EPROTO/i.test(m))
    return `TLS handshake failed: ${m} (a private CA is trusted with NODE_EXTRA_CA_CERTS=ca.pem)`;
  return m.split("\n")[0]!;
}

/**
 * Connect once, without retrying, and PING: resolves when Redis answers, else throws one
 * QueueError naming the URL (password hidden). Both the submitter and the worker call it first, so
 * a wrong address fails at once instead of retrying forever.
 */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  checkQueueUrl(url);
  let lastError: unknown;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", (e) => {
    lastError = e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new QueueError(
      `cannot reach the queue at ${redactUrl(url)}: ${describe(lastError ?? e)}`,
    );
  } finally {
    client.disconnect();
  }
}
