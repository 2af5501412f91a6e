/**
 * The wire worker: owns the zeromq sockets and answers every request that does not run code
 * (kernel_info, complete, inspect, is_complete, history, comm_*, interrupt, shutdown) even while
 * the main thread is busy in a cell. Execute requests are forwarded to the main thread.
 *
 * Sends on one zeromq socket must not overlap (zeromq.js rejects a send while one is pending), so
 * each socket has a queue drained by one loop; queued stream messages for the same parent and
 * stream are coalesced, so 10,000 prints become a few messages, all delivered, in order.
 */
import { readFileSync, writeSync } from "node:fs";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import * as zmq from "zeromq";
import type { LangCall, LangReply, MainToWire, WireToMain } from "./protocol.ts";
import { decode, encode, endpoint, makeMessage, Signer, validateConnection, WireError, PROTOCOL_VERSION, type Message } from "./wire.ts";
import { History } from "./history.ts";

interface Data { connectionFile: string; flag: SharedArrayBuffer; version: string; tsVersion: string }
const data = workerData as Data;
const flag = new Int32Array(data.flag);
const port = parentPort!;
// Straight to fd 2: a worker's process.stderr goes through the main thread, where a running cell
// captures stderr, and kernel logs must not land in a notebook's output.
const log = (m: string) => { try { writeSync(2, `[simvlm kernel] ${m}\n`); } catch { /* stderr closed */ } };

const conn = validateConnection(JSON.parse(readFileSync(data.connectionFile, "utf8")), data.connectionFile);
const signer = new Signer(conn.key);
const session = crypto.randomUUID();

/** One sender per socket: a queue, drained strictly one send at a time. */
class Outbox {
  private queue: Message[] = [];
  private running = false;
  private held = false;
  constructor(private readonly sock: zmq.Router | zmq.XPublisher, private readonly name: string) {}
  /** Queue without sending until release() (iopub before its first subscriber). */
  hold(): void { this.held = true; }
  release(): void { this.held = false; if (!this.running) void this.drain(); }
  push(m: Message): void {
    const last = this.queue[this.queue.length - 1];
    if (last && m.header.msg_type === "stream" && last.header.msg_type === "stream" && last.parent_header.msg_id === m.parent_header.msg_id &&
      last.content.name === m.content.name && last.content.text.length < 1 << 20) {
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
        try { await this.sock.send(encode(m, signer)); } catch (e) { if (!closing) log(`${this.name}: send failed: ${(e as Error).message}`); }
      }
    } finally { this.running = false; }
  }
  /** Resolves when everything queued so far has been handed to zeromq. */
  async flushed(): Promise<void> { while (this.running || this.queue.length) await new Promise((r) => setTimeout(r, 5)); }
}

const shell = new zmq.Router({ linger: 0 });
const control = new zmq.Router({ linger: 0 });
const stdin = new zmq.Router({ linger: 0 });
// XPUB rather than PUB: it tells us when a frontend subscribes (see below).
const iopub = new zmq.XPublisher({ linger: 1000 });
const hb = new zmq.Reply({ linger: 0 });
await Promise.all([
  shell.bind(endpoint(conn, conn.shell_port)), control.bind(endpoint(conn, conn.control_port)),
  stdin.bind(endpoint(conn, conn.stdin_port)), iopub.bind(endpoint(conn, conn.iopub_port)), hb.bind(endpoint(conn, conn.hb_port)),
]);
const out = { shell: new Outbox(shell, "shell"), control: new Outbox(control, "control"), stdin: new Outbox(stdin, "stdin"), iopub: new Outbox(iopub, "iopub") };

// A PUB socket drops what it sends before a subscriber's subscription has arrived ("slow joiner"),
// so the client that started the kernel would miss the starting/busy/idle status of its first
// kernel_info and wait (jupyter_client retries after 0.2 s). Hold iopub until the first
// subscription arrives (or 2 s pass, for a kernel nobody listens to), then send in order.
out.iopub.hold();
const releaseIopub = setTimeout(() => out.iopub.release(), 2000);
void (async () => {
  try {
    for await (const [sub] of iopub) {
      if (sub?.[0] === 1) { clearTimeout(releaseIopub); out.iopub.release(); }
    }
  } catch { /* socket closed */ }
})();

const history = new History(session);
/** Execute requests by id, kept until their reply is sent. */
const pending = new Map<number, Message>();
const recent: number[] = [];
let closing = false;
let nextReq = 1;
let busyExecutions = 0;
const inputWaiters = new Map<string, number>(); // input_request msg_id → req

function publish(type: string, content: Record<string, unknown>, parent?: Message, metadata?: Record<string, unknown>): void {
  out.iopub.push(makeMessage(type, content, session, parent, { identities: [Buffer.from(type)], metadata }));
}
const status = (state: string, parent?: Message) => publish("status", { execution_state: state }, parent);
const toMain = (m: WireToMain) => port.postMessage(m);

// ---- language worker link (completion, inspection, is_complete) ----
let lang: MessagePort | undefined;
let langId = 1;
const langWaiters = new Map<number, (r: LangReply) => void>();
function ask(req: LangCall): Promise<any> {
  if (!lang) return Promise.reject(new Error("language service not ready"));
  const id = langId++;
  return new Promise((resolve, reject) => {
    langWaiters.set(id, (r) => r.ok ? resolve(r.value) : reject(new Error(r.error)));
    lang!.postMessage({ ...req, id });
  });
}

function kernelInfo(): Record<string, unknown> {
  return {
    status: "ok", protocol_version: PROTOCOL_VERSION, implementation: "simvlm", implementation_version: data.version,
    language_info: {
      name: "typescript", version: data.tsVersion, mimetype: "text/typescript", file_extension: ".ts",
      codemirror_mode: { name: "javascript", typescript: true }, pygments_lexer: "typescript",
    },
    banner: `SimVLM (TypeScript) kernel ${data.version} — Node ${process.version}, TypeScript ${data.tsVersion}`,
    help_links: [{ text: "SimVLM workbench", url: "https://github.com/" }],
    debugger: false,
  };
}

async function handleShell(msg: Message, box: Outbox): Promise<void> {
  const type = msg.header.msg_type;
  const reply = (content: Record<string, unknown>) => box.push(makeMessage(type.replace(/_request$/, "_reply"), content, session, msg));
  if (type === "execute_request") {
    const req = nextReq++;
    pending.set(req, msg);
    const c = msg.content;
    toMain({ t: "execute", req, code: String(c.code ?? ""), silent: !!c.silent, storeHistory: c.store_history !== false && !c.silent,
      allowStdin: c.allow_stdin !== false, stopOnError: c.stop_on_error !== false, userExpressions: c.user_expressions ?? {} });
    return;
  }
  // Status around non-execute requests only while no cell runs, so frontends never see a false "idle".
  const quiet = busyExecutions > 0;
  if (!quiet) status("busy", msg);
  try {
    switch (type) {
      case "kernel_info_request": reply(kernelInfo()); break;
      case "comm_info_request": reply({ status: "ok", comms: {} }); break;
      case "comm_open": publish("comm_close", { comm_id: msg.content.comm_id, data: {} }, msg); break; // no comm targets: close it, as ipykernel does
      case "comm_msg": case "comm_close": break;
      case "history_request": reply({ status: "ok", history: history.query(msg.content) }); break;
      case "is_complete_request": {
        try { reply({ status: "ok", ...(await ask({ t: "is_complete", code: String(msg.content.code ?? "") })) }); }
        catch { reply({ status: "unknown" }); }
        break;
      }
      case "complete_request": {
        const code = String(msg.content.code ?? ""); const cursor = Number(msg.content.cursor_pos ?? code.length);
        try { reply({ status: "ok", ...(await ask({ t: "complete", code, cursor })) }); }
        catch (e) { reply({ status: "error", ename: "Error", evalue: (e as Error).message, traceback: [], matches: [], cursor_start: cursor, cursor_end: cursor, metadata: {} }); }
        break;
      }
      case "inspect_request": {
        const code = String(msg.content.code ?? ""); const cursor = Number(msg.content.cursor_pos ?? code.length);
        try { reply({ status: "ok", ...(await ask({ t: "inspect", code, cursor, detail: Number(msg.content.detail_level ?? 0) })) }); }
        catch (e) { reply({ status: "error", ename: "Error", evalue: (e as Error).message, traceback: [], found: false, data: {}, metadata: {} }); }
        break;
      }
      case "shutdown_request": await shutdown(msg, box); return;
      case "interrupt_request": interrupt(); reply({ status: "ok" }); break;
      default: log(`ignoring unknown message type ${type}`);
    }
  } finally { if (!quiet) status("idle", msg); }
}

function interrupt(): void {
  // Slots as in executor.ts: PENDING 0, SIGNALS 1, RUNNING 2, TARGET 3.
  const running = Atomics.load(flag, 2);
  if (!running) return; // nothing to interrupt
  Atomics.store(flag, 3, running);
  Atomics.store(flag, 0, 1);
  // A cell's loop guard sees PENDING within microseconds. Only if nobody took it (code without
  // guards: synchronous vm code, or an idle await) send SIGINT; sending it regardless could land on
  // the next cell after the guard already stopped this one.
  setTimeout(() => {
    if (Atomics.load(flag, 0) !== 1 || Atomics.load(flag, 2) !== running) return;
    Atomics.add(flag, 1, 1);
    process.kill(process.pid, "SIGINT");
  }, 50);
}

async function shutdown(msg: Message, box: Outbox): Promise<void> {
  const restart = !!msg.content.restart;
  box.push(makeMessage("shutdown_reply", { status: "ok", restart }, session, msg));
  status("idle", msg);
  await Promise.all([box.flushed(), out.iopub.flushed()]);
  closing = true;
  // Close every socket here: a worker torn down with open zeromq sockets aborts the process.
  for (const s of [shell, control, stdin, iopub, hb]) { try { s.close(); } catch { /* already closed */ } }
  toMain({ t: "shutdown", restart });
}

async function serve(sock: zmq.Router, box: Outbox, name: string, handler: (m: Message, b: Outbox) => Promise<void>): Promise<void> {
  try { await serveLoop(sock, box, name, handler); } catch (e) { if (!closing) log(`${name}: ${(e as Error).message}`); }
}

async function serveLoop(sock: zmq.Router, box: Outbox, name: string, handler: (m: Message, b: Outbox) => Promise<void>): Promise<void> {
  for await (const frames of sock) {
    if (closing) break;
    let msg: Message;
    try { msg = decode(frames as Buffer[], signer); } catch (e) {
      log(`${name}: dropped a message: ${e instanceof WireError ? e.message : String(e)}`);
      continue;
    }
    handler(msg, box).catch((e) => log(`${name}: ${msg.header.msg_type} failed: ${(e as Error).stack ?? e}`));
  }
}

async function handleStdin(msg: Message): Promise<void> {
  if (msg.header.msg_type !== "input_reply") return;
  const req = inputWaiters.get(String(msg.parent_header.msg_id ?? ""));
  if (req === undefined) { log("stdin: input_reply for no pending input_request"); return; }
  inputWaiters.delete(String(msg.parent_header.msg_id));
  toMain({ t: "input_reply", req, value: String(msg.content.value ?? "") });
}

async function heartbeat(): Promise<void> {
  try { for await (const frames of hb) await hb.send(frames as Buffer[]); } catch (e) { if (!closing) log(`heartbeat: ${(e as Error).message}`); }
}

port.on("message", (m: MainToWire) => {
  if (m.t === "lang") {
    lang = m.port;
    lang.on("message", (r: LangReply) => { const w = langWaiters.get(r.id); langWaiters.delete(r.id); w?.(r); });
    return;
  }
  const parent = pending.get(m.req);
  if (!parent) return;
  switch (m.t) {
    case "begin":
      busyExecutions++;
      status("busy", parent);
      publish("execute_input", { code: m.code, execution_count: m.count }, parent);
      break;
    case "iopub": publish(m.msgType, m.content, parent, m.metadata); break;
    case "input": {
      const req = makeMessage("input_request", { prompt: m.prompt, password: m.password }, session, parent);
      inputWaiters.set(req.header.msg_id, m.req);
      out.stdin.push(req);
      break;
    }
    case "end":
      if (m.storeHistory) history.add(m.count, m.code, m.output);
      out.shell.push(makeMessage("execute_reply", m.content, session, parent));
      status("idle", parent);
      // Keep recent parents: output a cell's timers produce after it finished still finds its cell.
      recent.push(m.req);
      if (recent.length > 200) pending.delete(recent.shift()!);
      busyExecutions--;
      break;
  }
});

status("starting");
void serve(shell, out.shell, "shell", handleShell);
void serve(control, out.control, "control", handleShell);
void serve(stdin, out.stdin, "stdin", (m) => handleStdin(m));
void heartbeat();
toMain({ t: "ready" });
