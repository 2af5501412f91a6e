/**
 * The kernel's message handling, apart from any socket (tests drive it directly; server.ts connects
 * it to zeromq). It runs in the wire worker: it answers every request that does not run code
 * (kernel_info, complete, inspect, is_complete, history, comm_*, interrupt, shutdown) even while
 * the main thread is busy in a cell, hands execute requests to the main thread, and turns what the
 * main thread reports back (thread-messages.ts) into iopub broadcasts, execute_reply and
 * input_request messages with the right parent.
 */
import { History } from "./history.ts";
import type {
  ExecuteRequest,
  IopubContent,
  IopubType,
  KernelInfoReply,
  ReplyContent,
  Request,
} from "./jupyter-messages.ts";
import type { LanguageClient, MainToWire, WireToMain } from "./thread-messages.ts";
import { makeMessage, PROTOCOL_VERSION, type Message } from "./wire.ts";

export type Channel = "shell" | "control" | "stdin" | "iopub";

/** How the handler's messages leave (server.ts: one queue per zeromq socket). */
export interface Transport {
  send(channel: Channel, message: Message): void;
  /** Hand over everything queued, then close (shutdown). */
  close(): Promise<void>;
}

export interface HandlerOptions {
  session: string;
  kernelInfo: KernelInfoReply;
  transport: Transport;
  toMain: (m: WireToMain) => void;
  /** Interrupt the running execution (interrupt-flag.ts). */
  interrupt: () => void;
  log: (line: string) => void;
}

/** kernel_info_reply's content for these versions (of this package and of TypeScript). */
export function kernelInfo(versions: { kernel: string; typescript: string }): KernelInfoReply {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "simvlm",
    implementation_version: versions.kernel,
    language_info: {
      name: "typescript",
      version: versions.typescript,
      mimetype: "text/typescript",
      file_extension: ".ts",
      codemirror_mode: { name: "javascript", typescript: true },
      pygments_lexer: "typescript",
    },
    banner: `SimVLM (TypeScript) kernel ${versions.kernel} — Node ${process.version}, TypeScript ${versions.typescript}`,
    help_links: [{ text: "SimVLM workbench", url: "https://github.com/" }],
    debugger: false,
  };
}

/** Parents kept after an execution ended, so output its timers produce later still finds its cell. */
const RECENT_EXECUTIONS = 200;

const text = (v: unknown, fallback = "") => (v === undefined || v === null ? fallback : String(v));

/**
 * A request's content with the protocol's defaults filled in (a client may send any JSON; silent
 * forces store_history off); undefined for a type this kernel does not handle.
 */
export function readRequest(type: string, c: Record<string, unknown>): Request | undefined {
  const code = text(c.code);
  const cursor_pos = Number(c.cursor_pos ?? [...code].length);
  switch (type) {
    case "execute_request": {
      const silent = !!c.silent;
      const expressions =
        typeof c.user_expressions === "object" && c.user_expressions !== null
          ? (c.user_expressions as Record<string, unknown>)
          : {};
      return {
        type,
        content: {
          code,
          silent,
          store_history: c.store_history !== false && !silent,
          allow_stdin: c.allow_stdin !== false,
          stop_on_error: c.stop_on_error !== false,
          user_expressions: Object.fromEntries(
            Object.entries(expressions).map(([k, v]) => [k, String(v)]),
          ),
        },
      };
    }
    case "complete_request":
      return { type, content: { code, cursor_pos } };
    case "inspect_request":
      return { type, content: { code, cursor_pos, detail_level: Number(c.detail_level ?? 0) } };
    case "is_complete_request":
      return { type, content: { code } };
    case "history_request":
      return { type, content: c };
    case "shutdown_request":
      return { type, content: { restart: !!c.restart } };
    case "input_reply":
      return { type, content: { value: text(c.value) } };
    case "comm_open":
      return { type, content: { comm_id: text(c.comm_id) } };
    case "kernel_info_request":
    case "comm_info_request":
    case "comm_msg":
    case "comm_close":
    case "interrupt_request":
      return { type, content: {} };
    default:
      return undefined;
  }
}

export class MessageHandler {
  private language: LanguageClient | undefined;
  private readonly history: History;
  /** Execute requests by execution id, kept until RECENT_EXECUTIONS later ones have ended. */
  private readonly executions = new Map<number, { parent: Message; request: ExecuteRequest }>();
  private readonly endedOrder: number[] = [];
  private nextExecutionId = 1;
  private runningExecutions = 0;
  /** Unanswered input_request msg_id → the main thread's input id and its execution (one at a time, see cells.ts). */
  private readonly inputRequests = new Map<string, { inputId: number; executionId: number }>();

  constructor(private readonly options: HandlerOptions) {
    this.history = new History();
  }

  /** The language worker is reachable (the main thread sends its port after start-up). */
  connectLanguage(client: LanguageClient): void {
    this.language = client;
  }

  private publish<K extends IopubType>(type: K, content: IopubContent[K], parent?: Message): void {
    this.options.transport.send(
      "iopub",
      makeMessage<IopubType>(type, content, this.options.session, parent, {
        identities: [Buffer.from(type)],
      }),
    );
  }
  private status(state: IopubContent["status"]["execution_state"], parent?: Message): void {
    this.publish("status", { execution_state: state }, parent);
  }

  /** The kernel is up: the first status. */
  start(): void {
    this.status("starting");
  }

  /** A shell or control request. */
  async handleRequest(channel: "shell" | "control", msg: Message): Promise<void> {
    const reply = <K extends keyof ReplyContent>(replyType: K, content: ReplyContent[K]) =>
      this.options.transport.send(
        channel,
        makeMessage<keyof ReplyContent>(replyType, content, this.options.session, msg),
      );
    const request = readRequest(msg.header.msg_type, msg.content);
    if (request?.type === "execute_request") {
      const executionId = this.nextExecutionId++;
      this.executions.set(executionId, { parent: msg, request: request.content });
      this.options.toMain({ type: "execute", executionId, request: request.content });
      return;
    }
    if (request?.type === "shutdown_request")
      return this.shutdown(channel, msg, request.content.restart);
    // Status around other requests only while no cell runs, so frontends never see a false "idle".
    const quiet = this.runningExecutions > 0;
    if (!quiet) this.status("busy", msg);
    try {
      switch (request?.type) {
        case "kernel_info_request":
          reply("kernel_info_reply", this.options.kernelInfo);
          break;
        case "comm_info_request":
          reply("comm_info_reply", { status: "ok", comms: {} });
          break;
        // No comm targets: close it, as ipykernel does.
        case "comm_open":
          this.publish("comm_close", { comm_id: request.content.comm_id, data: {} }, msg);
          break;
        case "comm_msg":
        case "comm_close":
          break;
        case "history_request":
          reply("history_reply", { status: "ok", history: this.history.query(request.content) });
          break;
        case "is_complete_request":
          try {
            reply(
              "is_complete_reply",
              await this.askLanguage("is_complete", { code: request.content.code }),
            );
          } catch {
            reply("is_complete_reply", { status: "unknown" });
          }
          break;
        case "complete_request": {
          const { code, cursor_pos: cursor } = request.content;
          try {
            reply("complete_reply", {
              status: "ok",
              ...(await this.askLanguage("complete", { code, cursor })),
            });
          } catch (e) {
            reply("complete_reply", {
              status: "error",
              ...failure(e),
              matches: [],
              cursor_start: cursor,
              cursor_end: cursor,
              metadata: {},
            });
          }
          break;
        }
        case "inspect_request": {
          const { code, cursor_pos: cursor, detail_level: detail } = request.content;
          try {
            reply("inspect_reply", {
              status: "ok",
              ...(await this.askLanguage("inspect", { code, cursor, detail })),
            });
          } catch (e) {
            reply("inspect_reply", {
              status: "error",
              ...failure(e),
              found: false,
              data: {},
              metadata: {},
            });
          }
          break;
        }
        case "interrupt_request":
          this.options.interrupt();
          reply("interrupt_reply", { status: "ok" });
          break;
        default:
          this.options.log(
            `ignoring ${request ? `${request.type} on ${channel}` : `unknown message type ${msg.header.msg_type}`}`,
          );
      }
    } finally {
      if (!quiet) this.status("idle", msg);
    }
  }

  private askLanguage: LanguageClient["ask"] = (type, request) =>
    this.language
      ? this.language.ask(type, request)
      : Promise.reject(new Error("language service not ready"));

  private async shutdown(
    channel: "shell" | "control",
    msg: Message,
    restart: boolean,
  ): Promise<void> {
    this.options.transport.send(
      channel,
      makeMessage("shutdown_reply", { status: "ok", restart }, this.options.session, msg),
    );
    this.status("idle", msg);
    await this.options.transport.close();
    this.options.toMain({ type: "shutdown", restart });
  }

  /** A message on the stdin channel: the answer to an input_request. */
  handleStdin(msg: Message): void {
    const reply = readRequest(msg.header.msg_type, msg.content);
    if (reply?.type !== "input_reply") return;
    const parentId = msg.parent_header.msg_id;
    let requestId: string | undefined;
    if (parentId) requestId = this.inputRequests.has(parentId) ? parentId : undefined;
    // jupyter_client's KernelClient.input() and jupyter_console reply with an empty parent header:
    // that answers the one outstanding request; with several it would be a guess, so none is.
    else if (this.inputRequests.size === 1) requestId = this.inputRequests.keys().next().value!;
    if (requestId === undefined) {
      const why = parentId
        ? `its parent ${parentId} is no pending input_request`
        : this.inputRequests.size
          ? `${this.inputRequests.size} input requests are pending and it names none`
          : "no input_request is pending";
      this.options.log(`stdin: dropped an input_reply: ${why}`);
      return;
    }
    const { inputId } = this.inputRequests.get(requestId)!;
    this.inputRequests.delete(requestId);
    this.options.toMain({ type: "input_reply", inputId, value: reply.content.value });
  }

  /** What the main thread reports about an execution. */
  handleFromMain(m: Exclude<MainToWire, { type: "language_port" }>): void {
    const execution = this.executions.get(m.executionId);
    if (!execution) return;
    const { parent, request } = execution;
    switch (m.type) {
      case "begin":
        this.runningExecutions++;
        this.status("busy", parent);
        if (!request.silent)
          this.publish(
            "execute_input",
            { code: request.code, execution_count: m.executionCount },
            parent,
          );
        break;
      case "iopub":
        this.options.transport.send(
          "iopub",
          makeMessage(m.message.msgType, m.message.content, this.options.session, parent, {
            identities: [Buffer.from(m.message.msgType)],
          }),
        );
        break;
      case "input_request": {
        const inputRequest = makeMessage(
          "input_request",
          { prompt: m.prompt, password: m.password },
          this.options.session,
          parent,
        );
        this.inputRequests.set(inputRequest.header.msg_id, {
          inputId: m.inputId,
          executionId: m.executionId,
        });
        this.options.transport.send("stdin", inputRequest);
        break;
      }
      case "end":
        if (request.store_history)
          this.history.add(m.reply.execution_count, request.code, m.output);
        this.options.transport.send(
          "shell",
          makeMessage("execute_reply", m.reply, this.options.session, parent),
        );
        this.status("idle", parent);
        this.runningExecutions--;
        this.answered(m.executionId);
        break;
      case "abort":
        this.status("busy", parent);
        this.options.transport.send(
          "shell",
          makeMessage(
            "execute_reply",
            { status: "aborted", execution_count: m.executionCount },
            this.options.session,
            parent,
          ),
        );
        this.status("idle", parent);
        this.answered(m.executionId);
        break;
    }
  }

  /** An execution was answered: its input requests can no longer be (the main thread dropped them too). */
  private answered(executionId: number): void {
    for (const [msgId, r] of this.inputRequests)
      if (r.executionId === executionId) this.inputRequests.delete(msgId);
    this.endedOrder.push(executionId);
    if (this.endedOrder.length > RECENT_EXECUTIONS)
      this.executions.delete(this.endedOrder.shift()!);
  }
}

function failure(e: unknown): { ename: string; evalue: string; traceback: string[] } {
  return { ename: "Error", evalue: e instanceof Error ? e.message : String(e), traceback: [] };
}
