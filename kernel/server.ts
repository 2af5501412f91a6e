/**
 * The wire worker: the zeromq transport. It binds the connection file's sockets, checks and decodes
 * what arrives (HMAC-SHA256 in constant time; bad or unsigned messages are dropped and logged),
 * hands each message to the MessageHandler (handler.ts) and sends what the handler queues.
 *
 * Sends on one zeromq socket must not overlap (zeromq.js rejects a send while one is pending), so
 * each socket has a queue drained by one loop; queued stream messages for the same parent and
 * stream are coalesced, so 10,000 prints become a few messages, all delivered, in order.
 */
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { UserError } from "../lib/errors.ts";
import { kernelInfo, MessageHandler, type Channel, type Transport } from "./handler.ts";
import { InterruptFlag } from "./interrupt-flag.ts";
import { LanguageClient, type MainToWire, type WireToMain } from "./thread-messages.ts";
import { decode, encode, endpoint, Signer, type ConnectionInfo, type Message } from "./wire.ts";

export interface WireWorkerData {
  connection: ConnectionInfo;
  interruptFlag: SharedArrayBuffer;
  version: string;
  tsVersion: string;
}

// Straight to fd 2: a worker's process.stderr goes through the main thread, where a running cell
// captures stderr, and kernel logs must not land in a notebook's output.
const log = (m: string) => {
  try {
    writeSync(2, `[simvlm kernel] ${m}\n`);
  } catch {
    /* stderr closed */
  }
};

/** One sender per socket: a queue, drained strictly one send at a time. */
class Outbox {
  private queue: Message[] = [];
  private running = false;
  private held = false;
  constructor(
    private readonly sock: zmq.Router | zmq.XPublisher,
    private readonly name: string,
    private readonly signer: Signer,
    private readonly isClosing: () => boolean,
  ) {}
  /** Queue without sending until release() (iopub before its first subscriber). */
  hold(): void {
    this.held = true;
  }
  release(): void {
    this.held = false;
    if (!this.running) void this.drain();
  }
  push(m: Message): void {
    const last = this.queue[this.queue.length - 1];
    if (
      last &&
      m.header.msg_type === "stream" &&
      last.header.msg_type === "stream" &&
      last.parent_header.msg_id === m.parent_header.msg_id &&
      last.content.name === m.content.name &&
      last.content.text.length < 1 << 20
    ) {
      last.content.text += m.content.text;
    } else this.queue.push(m);
    if (!this.running && !this.held) void this.drain();
  }
  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length && !this.held) {
        const m = this.queue.shift()!;
        // After shutdown closed the sockets, late output has nowhere to go: drop it quietly.
        try {
          await this.sock.send(encode(m, this.signer));
        } catch (e) {
          if (!this.isClosing()) log(`${this.name}: send failed: ${(e as Error).message}`);
        }
      }
    } finally {
      this.running = false;
    }
  }
  /** Resolves when everything queued so far has been handed to zeromq. */
  async flushed(): Promise<void> {
    while (this.running || this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }
}

/** The connection file's five sockets, bound, with a queue per sending socket. */
class ZmqTransport implements Transport {
  private closing = false;
  readonly shell = new zmq.Router({ linger: 0 });
  readonly control = new zmq.Router({ linger: 0 });
  readonly stdin = new zmq.Router({ linger: 0 });
  // XPUB rather than PUB: it tells us when a frontend subscribes (see start()).
  readonly iopub = new zmq.XPublisher({ linger: 1000 });
  readonly heartbeat = new zmq.Reply({ linger: 0 });
  private readonly out: Record<Channel, Outbox>;

  constructor(readonly signer: Signer) {
    const box = (sock: zmq.Router | zmq.XPublisher, name: string) =>
      new Outbox(sock, name, signer, () => this.closing);
    this.out = {
      shell: box(this.shell, "shell"),
      control: box(this.control, "control"),
      stdin: box(this.stdin, "stdin"),
      iopub: box(this.iopub, "iopub"),
    };
  }

  get isClosing(): boolean {
    return this.closing;
  }

  async bind(conn: ConnectionInfo): Promise<void> {
    await Promise.all([
      this.shell.bind(endpoint(conn, conn.shell_port)),
      this.control.bind(endpoint(conn, conn.control_port)),
      this.stdin.bind(endpoint(conn, conn.stdin_port)),
      this.iopub.bind(endpoint(conn, conn.iopub_port)),
      this.heartbeat.bind(endpoint(conn, conn.hb_port)),
    ]);
    // A PUB socket drops what it sends before a subscriber's subscription has arrived ("slow joiner"),
    // so the client that started the kernel would miss the starting/busy/idle status of its first
    // kernel_info and wait (jupyter_client retries after 0.2 s). Hold iopub until the first
    // subscription arrives (or 2 s pass, for a kernel nobody listens to), then send in order.
    this.out.iopub.hold();
    const release = setTimeout(() => this.out.iopub.release(), 2000);
    void (async () => {
      try {
        for await (const [sub] of this.iopub)
          if (sub?.[0] === 1) {
            clearTimeout(release);
            this.out.iopub.release();
          }
      } catch {
        /* socket closed */
      }
    })();
  }

  send(channel: Channel, message: Message): void {
    this.out[channel].push(message);
  }

  async close(): Promise<void> {
    await Promise.all([
      this.out.shell.flushed(),
      this.out.control.flushed(),
      this.out.iopub.flushed(),
    ]);
    this.closing = true;
    // Close every socket here: a worker torn down with open zeromq sockets aborts the process.
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.heartbeat]) {
      try {
        s.close();
      } catch {
        /* already closed */
      }
    }
  }

  /** Decode and hand over every message a socket receives; bad ones are logged and dropped. */
  async serve(
    name: "shell" | "control" | "stdin",
    handle: (msg: Message) => Promise<void> | void,
  ): Promise<void> {
    try {
      for await (const frames of this[name]) {
        if (this.closing) break;
        let msg: Message;
        try {
          msg = decode(frames as Buffer[], this.signer);
        } catch (e) {
          log(
            `${name}: dropped a message: ${e instanceof UserError ? e.message : ((e as Error).stack ?? String(e))}`,
          );
          continue;
        }
        Promise.resolve(handle(msg)).catch((e) =>
          log(`${name}: ${msg.header.msg_type} failed: ${(e as Error).stack ?? e}`),
        );
      }
    } catch (e) {
      if (!this.closing) log(`${name}: ${(e as Error).message}`);
    }
  }

  async echoHeartbeats(): Promise<void> {
    try {
      for await (const frames of this.heartbeat) await this.heartbeat.send(frames as Buffer[]);
    } catch (e) {
      if (!this.closing) log(`heartbeat: ${(e as Error).message}`);
    }
  }
}

/**
 * Exit when the Jupyter server that started this kernel is gone, as ipykernel's ParentPollerUnix
 * does: jupyter_client names it in JPY_PARENT_PID. A hard-killed server cannot shut its kernels
 * down, and nothing else would. Polled here, once a second, because the main thread may be busy in a
 * cell for minutes; a process that is reparented (its parent died) or whose named parent no longer
 * exists counts as orphaned.
 */
function exitWithParent(): void {
  const parent = Number(process.env.JPY_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 1) return;
  const startPpid = process.ppid;
  const alive = () => {
    if (process.ppid !== startPpid) return false;
    try {
      process.kill(parent, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "EPERM";
    }
  };
  setInterval(() => {
    if (alive()) return;
    log(`the process that started this kernel (pid ${parent}) is gone: exiting`);
    // process.exit() in a worker ends only the worker; SIGTERM ends the process (the kernel sets no handler for it).
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => process.kill(process.pid, "SIGKILL"), 3000);
  }, 1000).unref();
}

async function main(data: WireWorkerData): Promise<void> {
  const port = parentPort!;
  const transport = new ZmqTransport(new Signer(data.connection.key));
  await transport.bind(data.connection);
  const flag = new InterruptFlag(data.interruptFlag);
  // An interrupt no loop guard took in time wakes the main thread: by a message when this worker
  // watches SIGINT itself, else by SIGINT, which also breaks synchronous cell code (interrupt-flag.ts).
  const wakeByMessage = () => port.postMessage({ type: "interrupt" } satisfies WireToMain);
  const watching = flag.watchSignals(() => flag.request(wakeByMessage));
  if (!watching)
    log(
      "cannot watch SIGINT off the main thread: a signal-mode interrupt reaches a library loop only once it yields",
    );
  const wake = watching ? wakeByMessage : () => process.kill(process.pid, "SIGINT");
  const handler = new MessageHandler({
    session: crypto.randomUUID(),
    kernelInfo: kernelInfo({ kernel: data.version, typescript: data.tsVersion }),
    transport,
    log,
    toMain: (m: WireToMain) => port.postMessage(m),
    interrupt: () => flag.request(wake),
  });
  port.on("message", (m: MainToWire) => {
    if (m.type === "language_port") handler.connectLanguage(new LanguageClient(m.port));
    else handler.handleFromMain(m);
  });
  handler.start();
  exitWithParent();
  void transport.serve("shell", (m) => handler.handleRequest("shell", m));
  void transport.serve("control", (m) => handler.handleRequest("control", m));
  void transport.serve("stdin", (m) => handler.handleStdin(m));
  void transport.echoHeartbeats();
}

await main(workerData as WireWorkerData);
