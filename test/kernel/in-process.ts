/**
 * The kernel without sockets, in the test's own process: the MessageHandler (handler.ts) takes
 * request messages directly and records what it would send, the main thread's side
 * (startMainThread) runs cells here, and the language worker is the real one. Messages between the
 * two sides are delivered asynchronously and in order, as postMessage does between threads.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { contextExecution } from "../../kernel/executor.ts";
import { kernelInfo, MessageHandler, type Channel } from "../../kernel/handler.ts";
import { InterruptFlag } from "../../kernel/interrupt-flag.ts";
import { startMainThread } from "../../kernel/kernel.ts";
import { LanguageClient } from "../../kernel/thread-messages.ts";
import { makeHeader, type Message } from "../../kernel/wire.ts";
import { startLanguageWorker } from "../../kernel/worker-bundles.mjs";

export interface Sent {
  channel: Channel;
  msg: Message;
}

export class InProcessKernel {
  readonly sent: Sent[] = [];
  readonly logs: string[] = [];
  readonly session = randomUUID();
  handler!: MessageHandler;
  private worker!: Worker;
  private waiters: (() => void)[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "simvlm-inproc-"));

  async start(): Promise<void> {
    this.worker = await startLanguageWorker({ cwd: this.dir, typecheck: true });
    const language = new LanguageClient(this.worker);
    const flag = new InterruptFlag();
    const receive = startMainThread({
      toWire: (m) =>
        queueMicrotask(() => {
          if (m.type !== "language_port") this.handler.handleFromMain(m);
        }),
      language,
      flag,
      version: "test",
      tsVersion: "test",
      onShutdown: () => {},
      executionForWrites: contextExecution,
    });
    this.handler = new MessageHandler({
      session: this.session,
      kernelInfo: kernelInfo({ kernel: "test", typescript: "test" }),
      transport: {
        send: (channel, msg) => {
          this.sent.push({ channel, msg });
          this.waiters.splice(0).forEach((w) => w());
        },
        close: async () => {},
      },
      toMain: (m) => queueMicrotask(() => receive(m)),
      interrupt: () => flag.request(() => process.kill(process.pid, "SIGINT")),
      log: (line) => this.logs.push(line),
    });
    this.handler.connectLanguage(language);
  }

  async stop(): Promise<void> {
    await this.worker?.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A request message as a client would send it. */
  message(
    msgType: string,
    content: Record<string, unknown>,
    parent: Partial<Message["header"]> = {},
  ): Message {
    return {
      identities: [],
      header: { ...makeHeader(msgType, this.session), username: "test" },
      parent_header: parent,
      metadata: {},
      content,
      buffers: [],
    };
  }

  async waitFor(pred: (s: Sent) => boolean, timeoutMs = 60_000): Promise<Sent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.sent.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error("timed out waiting for a message from the handler");
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Send a shell request; resolves with its reply. */
  async request(msgType: string, content: Record<string, unknown>): Promise<Message> {
    const msg = this.message(msgType, content);
    await this.handler.handleRequest("shell", msg);
    return (
      await this.waitFor(
        (s) => s.channel === "shell" && s.msg.parent_header.msg_id === msg.header.msg_id,
      )
    ).msg;
  }

  /** iopub messages for a request, up to and including its idle status. */
  async iopubOf(msgId: string): Promise<Message[]> {
    await this.waitFor(
      (s) =>
        s.channel === "iopub" &&
        s.msg.parent_header.msg_id === msgId &&
        s.msg.header.msg_type === "status" &&
        s.msg.content.execution_state === "idle",
    );
    return this.sent
      .filter((s) => s.channel === "iopub" && s.msg.parent_header.msg_id === msgId)
      .map((s) => s.msg);
  }

  /** Queue an execute_request (not waiting); returns its msg_id. */
  async send(code: string, extra: Record<string, unknown> = {}): Promise<string> {
    const msg = this.message("execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
      ...extra,
    });
    await this.handler.handleRequest("shell", msg);
    return msg.header.msg_id;
  }

  async replyOf(msgId: string): Promise<Message> {
    return (
      await this.waitFor((s) => s.channel === "shell" && s.msg.parent_header.msg_id === msgId)
    ).msg;
  }

  async execute(
    code: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ reply: Message; iopub: Message[] }> {
    const id = await this.send(code, extra);
    const reply = await this.replyOf(id);
    return { reply, iopub: await this.iopubOf(id) };
  }
}

export const types = (msgs: Message[]) => msgs.map((m) => m.header.msg_type);
export const resultText = (msgs: Message[]) =>
  msgs.find((m) => m.header.msg_type === "execute_result")?.content.data["text/plain"] as
    string | undefined;
