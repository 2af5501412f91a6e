/**
 * The queue's address: a Redis URL, `redis://[user:pass@]HOST:PORT[/DB]` or `rediss://…` for TLS
 * (Redis's own URL scheme, IANA provisional registration "redis"/"rediss"). ioredis parses it and
 * honours the password, the user (Redis ≥ 6 ACLs), the database and TLS; this file only checks its
 * shape and prints it without the password (connection.ts turns "cannot connect" into one error).
 *
 * A TLS server whose certificate is signed by a private CA is trusted the Node way:
 * NODE_EXTRA_CA_CERTS=ca.pem (read when the process starts).
 */
import { UserError } from "../../errors.ts";

/** A bad queue URL, an unreachable or refusing Redis (the message names the URL, never its password). */
export class QueueError extends UserError {}

/** The BullMQ queue that grids and workers meet on unless told otherwise. */
export const DEFAULT_QUEUE_NAME = "simvlm-runs";

/** The URL with its password replaced by "***" (for messages and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    // Unparseable: still hide anything between "//" and "@".
    return url.replace(/\/\/[^@/]*@/, "//***@");
  }
}

/** Check the URL's shape: scheme redis/rediss, a host, a port and database that are numbers. */
export function checkQueueUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(
      `queue URL ${redactUrl(url)} is not a URL: expected redis://[user:pass@]HOST:PORT[/DB] or rediss://… (TLS)`,
    );
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new QueueError(
      `queue URL ${redactUrl(url)}: scheme must be redis:// or rediss:// (TLS), got ${u.protocol}//`,
    );
  if (!u.hostname) throw new QueueError(`queue URL ${redactUrl(url)}: names no host`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db))
    throw new QueueError(
      `queue URL ${redactUrl(url)}: the path must be a database number (/0, /1, …), got /${db}`,
    );
  return u;
}
