/**
 * The Jupyter messages this kernel receives and sends, typed by msg_type (messaging protocol 5.3,
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html). Requests arrive from the network
 * and are read defensively (every field optional); what the kernel sends is checked by these types.
 */

export type MimeData = Record<string, unknown>;
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

// ---- requests (shell, control, stdin) ----

export interface ExecuteRequest {
  code: string;
  /** Run as quietly as possible: no execute_input, no execute_result, no history, counter unchanged. */
  silent: boolean;
  /** Whether the run gets an execution count and a history entry (forced false by silent). */
  store_history: boolean;
  user_expressions: Record<string, string>;
  allow_stdin: boolean;
  /** Abort the requests already queued when this one fails. */
  stop_on_error: boolean;
}
export interface CompleteRequest {
  code: string;
  cursor_pos: number;
}
export interface InspectRequest {
  code: string;
  cursor_pos: number;
  detail_level: number;
}
export interface IsCompleteRequest {
  code: string;
}
/** As sent; history.ts checks each field it uses (a client may send any JSON). */
export interface HistoryRequest {
  output?: unknown;
  raw?: unknown;
  hist_access_type?: unknown;
  session?: unknown;
  start?: unknown;
  stop?: unknown;
  n?: unknown;
  pattern?: unknown;
  unique?: unknown;
}
export interface ShutdownRequest {
  restart: boolean;
}
export interface InputReply {
  value: string;
}
export interface CommOpen {
  comm_id: string;
}

/** Content of every request type the kernel handles, by msg_type, as handler.ts's readRequest returns it. */
export interface RequestContent {
  execute_request: ExecuteRequest;
  kernel_info_request: Record<string, never>;
  complete_request: CompleteRequest;
  inspect_request: InspectRequest;
  is_complete_request: IsCompleteRequest;
  history_request: HistoryRequest;
  comm_info_request: Record<string, never>;
  comm_open: CommOpen;
  comm_msg: Record<string, never>;
  comm_close: Record<string, never>;
  shutdown_request: ShutdownRequest;
  interrupt_request: Record<string, never>;
  input_reply: InputReply;
}
export type RequestType = keyof RequestContent;
/** A request as read: its type and its content, as one value. */
export type Request = { [K in RequestType]: { type: K; content: RequestContent[K] } }[RequestType];

// ---- replies ----

export type ExecuteReply =
  | {
      status: "ok";
      execution_count: number;
      payload: { source: "page"; data: MimeData; start: number }[];
      user_expressions: Record<string, unknown>;
    }
  | ({ status: "error"; execution_count: number } & ErrorContent)
  | { status: "aborted"; execution_count: number };

export interface LanguageInfo {
  name: string;
  version: string;
  mimetype: string;
  file_extension: string;
  codemirror_mode: string | Record<string, unknown>;
  pygments_lexer: string;
}
export interface KernelInfoReply {
  status: "ok";
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: LanguageInfo;
  banner: string;
  help_links: { text: string; url: string }[];
  debugger: boolean;
}
export interface CompleteResult {
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
}
export interface InspectResult {
  found: boolean;
  data: Record<string, string>;
  metadata: Record<string, unknown>;
}
export interface IsCompleteResult {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}
export type HistoryEntry = [
  session: number,
  line: number,
  input: string | [input: string, output: string | null],
];

/** What a request that fails reports alongside the reply's own fields (status "error"). */
type Failed<T> = ({ status: "ok" } & T) | ({ status: "error" } & ErrorContent & T);

export interface ReplyContent {
  execute_reply: ExecuteReply;
  kernel_info_reply: KernelInfoReply;
  complete_reply: Failed<CompleteResult>;
  inspect_reply: Failed<InspectResult>;
  is_complete_reply: IsCompleteResult;
  history_reply: { status: "ok"; history: HistoryEntry[] };
  comm_info_reply: { status: "ok"; comms: Record<string, { target_name: string }> };
  shutdown_reply: { status: "ok"; restart: boolean };
  interrupt_reply: { status: "ok" };
  input_request: { prompt: string; password: boolean };
}

// ---- iopub broadcasts ----

export interface DisplayContent {
  data: MimeData;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

export interface IopubContent {
  status: { execution_state: "starting" | "busy" | "idle" };
  execute_input: { code: string; execution_count: number };
  execute_result: { execution_count: number; data: MimeData; metadata: Record<string, unknown> };
  display_data: DisplayContent;
  update_display_data: DisplayContent;
  stream: { name: "stdout" | "stderr"; text: string };
  error: ErrorContent;
  clear_output: { wait: boolean };
  comm_close: { comm_id: string; data: Record<string, unknown> };
}
export type IopubType = keyof IopubContent;

/** One iopub broadcast: its type and content, as one value (so the pair stays consistent). */
export type IopubMessage = {
  [K in IopubType]: { msgType: K; content: IopubContent[K] };
}[IopubType];

/** Any message this kernel sends, by msg_type. */
export interface OutgoingContent extends ReplyContent, IopubContent {}
