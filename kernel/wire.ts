/**
 * The Jupyter wire format (messaging protocol 5.3): framing, HMAC-SHA256 signing and checking,
 * and message construction. Pure functions, no sockets, so they are tested directly.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { UserError } from "../lib/errors.ts";
import type { OutgoingContent } from "./jupyter-messages.ts";

export const PROTOCOL_VERSION = "5.3";
const DELIM = "<IDS|MSG>";

export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

/**
 * One message as framed on the wire. `content` is as decoded (untrusted: the kernel reads requests
 * through kernel/handler.ts's readers); what the kernel sends is typed by makeMessage.
 */
export interface Message<Content extends object = Record<string, any>> {
  /** Routing identities that preceded the delimiter (shell/control/stdin) or the iopub topic. */
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Content;
  buffers: Buffer[];
}

export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

/** A malformed or badly signed message, or a bad connection file: the peer's or the user's input. */
export class WireError extends UserError {}

/** Check a connection file's fields; the error names the first bad one. */
export function validateConnection(info: unknown, file = "connection file"): ConnectionInfo {
  const c = info as Record<string, unknown>;
  if (typeof c !== "object" || c === null) throw new WireError(`${file}: not a JSON object`);
  for (const f of ["shell_port", "control_port", "iopub_port", "stdin_port", "hb_port"]) {
    if (!Number.isInteger(c[f]) || (c[f] as number) < 0)
      throw new WireError(`${file}: "${f}" must be a port number`);
  }
  if (typeof c.ip !== "string" || !c.ip) throw new WireError(`${file}: "ip" missing`);
  const transport = (c.transport as string | undefined) ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc")
    throw new WireError(`${file}: transport "${transport}" is not supported`);
  const scheme = (c.signature_scheme as string | undefined) ?? "hmac-sha256";
  if (typeof c.key === "string" && c.key && scheme !== "hmac-sha256")
    throw new WireError(
      `${file}: signature_scheme "${scheme}" is not supported (only hmac-sha256)`,
    );
  return {
    ...(c as unknown as ConnectionInfo),
    transport,
    signature_scheme: scheme,
    key: typeof c.key === "string" ? c.key : "",
  };
}

/** Read and check a connection file; every failure is a WireError naming the file. */
export function readConnectionFile(file: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new WireError(`${file}: cannot read the connection file: ${(e as Error).message}`);
  }
  let info: unknown;
  try {
    info = JSON.parse(text);
  } catch (e) {
    throw new WireError(`${file}: not JSON: ${(e as Error).message}`);
  }
  return validateConnection(info, file);
}

export function endpoint(c: ConnectionInfo, port: number): string {
  return c.transport === "ipc" ? `ipc://${c.ip}-${port}` : `tcp://${c.ip}:${port}`;
}

export class Signer {
  private readonly key: Buffer;
  constructor(key: string) {
    this.key = Buffer.from(key, "utf8");
  }
  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(parts: (Buffer | string)[]): string {
    if (!this.enabled) return "";
    const h = createHmac("sha256", this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  /** Constant-time comparison of the hex signature against the expected one. */
  verify(signature: Buffer, parts: Buffer[]): boolean {
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(parts), "utf8");
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}

/**
 * Parse received frames. Throws WireError (never anything else) for malformed frames or a bad
 * signature, so the caller can log and drop them.
 */
export function decode(frames: Buffer[], signer: Signer): Message {
  const i = frames.findIndex((f) => f.length === DELIM.length && f.toString("latin1") === DELIM);
  if (i < 0) throw new WireError("no <IDS|MSG> delimiter");
  if (frames.length < i + 6)
    throw new WireError(`too few frames (${frames.length - i - 1} after the delimiter, need 5)`);
  const [sig, h, p, m, c] = frames.slice(i + 1, i + 6) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  if (!signer.verify(sig, [h, p, m, c]))
    throw new WireError(sig.length ? "bad signature" : "missing signature");
  const parse = (b: Buffer, what: string) => {
    try {
      const v = JSON.parse(b.toString("utf8"));
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      return v;
    } catch (e) {
      throw new WireError(`${what} is not a JSON object: ${(e as Error).message}`);
    }
  };
  const header = parse(h, "header");
  if (typeof header.msg_type !== "string" || typeof header.msg_id !== "string")
    throw new WireError("header lacks msg_type or msg_id");
  return {
    identities: frames.slice(0, i),
    header,
    parent_header: parse(p, "parent_header"),
    metadata: parse(m, "metadata"),
    content: parse(c, "content"),
    buffers: frames.slice(i + 6),
  };
}

export function encode(msg: Message, signer: Signer): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((o) =>
    Buffer.from(JSON.stringify(o), "utf8"),
  );
  return [
    ...msg.identities,
    Buffer.from(DELIM),
    Buffer.from(signer.sign(parts)),
    ...parts,
    ...msg.buffers,
  ];
}

export function makeHeader(msgType: string, session: string): Header {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username: "kernel",
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** Content of a message of type K: typed for what the kernel sends, free-form for anything else (a test's requests). */
export type ContentOf<K extends string> = K extends keyof OutgoingContent
  ? OutgoingContent[K]
  : Record<string, unknown>;

/** A reply or a broadcast whose parent is `parent` (identities copied for routed sockets). */
export function makeMessage<K extends string>(
  msgType: K,
  content: ContentOf<K>,
  session: string,
  parent?: Pick<Message, "header" | "identities">,
  opts: { identities?: Buffer[]; metadata?: Record<string, unknown>; buffers?: Buffer[] } = {},
): Message {
  return {
    identities: opts.identities ?? parent?.identities ?? [],
    header: makeHeader(msgType, session),
    parent_header: parent?.header ?? {},
    metadata: opts.metadata ?? {},
    content,
    buffers: opts.buffers ?? [],
  };
}
