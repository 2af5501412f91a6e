/**
 * A small Jupyter client for the kernel tests: installs the kernelspec into a temp prefix, starts
 * the kernel exactly as Jupyter would (kernel.json argv, connection file, free ports), and talks
 * the wire protocol with zeromq (Dealer for shell/control/stdin, Subscriber for iopub).
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import * as zmq from "zeromq";
import { decode, encode, makeHeader, Signer, type Message } from "../../kernel/wire.ts";
import { spawnTracked, type Tracked } from "../procs.ts";

export const repo = fileURLToPath(new URL("../..", import.meta.url));
export const PYTHON = "/usr/bin/python3";

/** `simvlm kernel install --prefix TMP`; returns the prefix (JUPYTER_PATH is PREFIX/share/jupyter). */
export function installTempKernelspec(): {
  prefix: string;
  jupyterPath: string;
  cleanup: () => void;
} {
  const prefix = mkdtempSync(join(tmpdir(), "simvlm-ks-"));
  const r = spawnSync(
    process.execPath,
    [join(repo, "bin", "simvlm.js"), "kernel", "install", "--prefix", prefix],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`kernel install failed: ${r.stderr}`);
  return {
    prefix,
    jupyterPath: join(prefix, "share", "jupyter"),
    cleanup: () => rmSync(prefix, { recursive: true, force: true }),
  };
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import("node:net").Server>((res) => {
          const s = createServer();
          s.listen(0, "127.0.0.1", () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import("node:net").AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface Collected {
  reply: Message;
  iopub: Message[];
}

export class TestKernel {
  readonly signer: Signer;
  readonly session = randomUUID();
  proc!: ChildProcess;
  private tracked?: Tracked;
  stderr = "";
  // shell and stdin share one routing id, as jupyter_client does: input_request is routed by it.
  private readonly routingId = `test-${randomUUID()}`;
  private shell = new zmq.Dealer({ linger: 0, routingId: this.routingId });
  private control = new zmq.Dealer({ linger: 0 });
  readonly stdin = new zmq.Dealer({ linger: 0, routingId: this.routingId });
  private iopub = new zmq.Subscriber({ linger: 0 });
  private iopubMsgs: Message[] = [];
  private iopubWaiters: (() => void)[] = [];
  private replies = new Map<string, Message>();
  private replyWaiters = new Map<string, (m: Message) => void>();
  readonly dir: string;
  conn!: Record<string, unknown>;

  constructor(readonly key = randomBytes(16).toString("hex")) {
    this.signer = new Signer(key);
    this.dir = mkdtempSync(join(tmpdir(), "simvlm-kt-"));
  }

  /** Start with the installed kernelspec's argv (so the test runs what Jupyter runs). */
  async start(kernelJsonPath: string, cwd = this.dir): Promise<void> {
    const [shell_port, control_port, iopub_port, stdin_port, hb_port] = await freePorts(5);
    this.conn = {
      transport: "tcp",
      ip: "127.0.0.1",
      shell_port,
      control_port,
      iopub_port,
      stdin_port,
      hb_port,
      key: this.key,
      signature_scheme: "hmac-sha256",
    };
    const file = join(this.dir, "connection.json");
    writeFileSync(file, JSON.stringify(this.conn));
    const spec = JSON.parse(readFileSync(kernelJsonPath, "utf8")) as { argv: string[] };
    const argv = spec.argv.map((a) => a.replace("{connection_file}", file));
    // Tracked (test/procs.ts): the kernel and its workers stop even when the test never reaches close().
    this.tracked = spawnTracked(argv[0]!, argv.slice(1), {
      name: "kernel",
      deadlineMs: 900_000,
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SIMVLM_TESTING: "1" },
    });
    this.proc = this.tracked.proc;
    this.proc.stderr!.on("data", (d) => {
      this.stderr += d;
    });
    this.proc.stdout!.on("data", (d) => {
      this.stderr += d;
    });
    const url = (p: unknown) => `tcp://127.0.0.1:${p}`;
    this.shell.connect(url(shell_port));
    this.control.connect(url(control_port));
    this.stdin.connect(url(stdin_port));
    this.iopub.connect(url(iopub_port));
    this.iopub.subscribe();
    void this.pump(this.shell);
    void this.pump(this.control);
    void this.pumpIopub();
    try {
      await this.waitReady();
    } catch (e) {
      await this.tracked.stop(1000);
      throw e;
    }
  }

  private async waitReady(): Promise<void> {
    // Ready when kernel_info answers and iopub delivers (the first status may be missed: PUB/SUB join late).
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await this.request("kernel_info_request", {}, "shell", 3000);
        break;
      } catch (e) {
        if (Date.now() > deadline || this.proc.exitCode !== null)
          throw new Error(`kernel did not start: ${(e as Error).message}\n${this.stderr}`);
      }
    }
    // Make sure the iopub subscription is live before tests rely on it.
    for (;;) {
      const m = await this.request("kernel_info_request", {}, "shell", 5000);
      try {
        await this.waitIopub(
          (x) =>
            x.parent_header.msg_id === m.parent_header.msg_id && x.header.msg_type === "status",
          500,
        );
        break;
      } catch {
        if (Date.now() > deadline) throw new Error("iopub never delivered");
      }
    }
  }

  private async pump(sock: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of sock) {
        const m = decode(frames as Buffer[], this.signer);
        const id = String(m.parent_header.msg_id);
        const w = this.replyWaiters.get(id);
        if (w) {
          this.replyWaiters.delete(id);
          w(m);
        } else this.replies.set(id, m);
      }
    } catch {
      /* closed */
    }
  }

  private async pumpIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        this.iopubMsgs.push(decode(frames as Buffer[], this.signer));
        for (const w of this.iopubWaiters.splice(0)) w();
      }
    } catch {
      /* closed */
    }
  }

  message(msgType: string, content: Record<string, unknown>): Message {
    return {
      identities: [],
      header: { ...makeHeader(msgType, this.session), username: "test" },
      parent_header: {},
      metadata: {},
      content,
      buffers: [],
    };
  }

  async sendRaw(channel: "shell" | "control", frames: Buffer[]): Promise<void> {
    await this[channel].send(frames);
  }

  async send(
    msgType: string,
    content: Record<string, unknown>,
    channel: "shell" | "control" = "shell",
  ): Promise<string> {
    const m = this.message(msgType, content);
    await this[channel].send(encode(m, this.signer).slice(0));
    return m.header.msg_id;
  }

  waitReply(msgId: string, timeoutMs = 60_000): Promise<Message> {
    const have = this.replies.get(msgId);
    if (have) {
      this.replies.delete(msgId);
      return Promise.resolve(have);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.replyWaiters.delete(msgId);
        reject(new Error(`no reply to ${msgId} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.replyWaiters.set(msgId, (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }

  async request(
    msgType: string,
    content: Record<string, unknown>,
    channel: "shell" | "control" = "shell",
    timeoutMs = 60_000,
  ): Promise<Message> {
    return this.waitReply(await this.send(msgType, content, channel), timeoutMs);
  }

  /** Wait for an iopub message matching `pred` (searching what already arrived first); consumes nothing. */
  async waitIopub(pred: (m: Message) => boolean, timeoutMs = 60_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.iopubMsgs.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for an iopub message");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.iopubWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** iopub messages for a request, up to and including its idle status. */
  async outputsOf(msgId: string, timeoutMs = 60_000): Promise<Message[]> {
    await this.waitIopub(
      (m) =>
        m.parent_header.msg_id === msgId &&
        m.header.msg_type === "status" &&
        m.content.execution_state === "idle",
      timeoutMs,
    );
    return this.iopubMsgs.filter((m) => m.parent_header.msg_id === msgId);
  }

  async execute(
    code: string,
    extra: Record<string, unknown> = {},
    timeoutMs = 60_000,
  ): Promise<Collected> {
    const id = await this.send("execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
      ...extra,
    });
    const reply = await this.waitReply(id, timeoutMs);
    const iopub = await this.outputsOf(id, timeoutMs);
    return { reply, iopub };
  }

  async close(): Promise<void> {
    try {
      if (this.proc && this.proc.exitCode === null) {
        const exited = new Promise((r) => this.proc.once("exit", r));
        try {
          await this.request("shutdown_request", { restart: false }, "control", 5000);
        } catch {
          /* kill below */
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
    } finally {
      await this.tracked?.stop(1000); // the kernel if it is still up, and whatever it started
      for (const s of [this.shell, this.control, this.stdin, this.iopub]) s.close();
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Text of all stream messages of one name, in order. */
export function streamText(msgs: Message[], name = "stdout"): string {
  return msgs
    .filter((m) => m.header.msg_type === "stream" && m.content.name === name)
    .map((m) => m.content.text as string)
    .join("");
}

/**
 * Call at the top of a test file: once its tests are done, exit even if a library left a handle
 * open (zeromq's context, @jupyterlab/services' polls, fetch keep-alive), so the suite never waits
 * on a finished file. Results are already reported; process.exitCode (failures) is kept.
 */
export function exitWhenDone(): void {
  after(() => {
    setTimeout(() => process.exit(), 2000).unref();
  });
}
