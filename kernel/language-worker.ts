/**
 * The language worker: TypeScript lives here (loaded on first use), so the main thread never pays
 * for it and completion/inspection answer even while a cell is running. Serves the main thread
 * (convert = type-check + transpile, commit) and the wire worker (complete, inspect, is_complete).
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type * as TS from "typescript";
import { convertCell } from "./converter.ts";
import { LanguageService } from "./language.ts";
import { loadTypeScript, type LoadedTypeScript } from "./ts-loader.ts";
import type {
  Converted,
  LanguageCalls,
  LanguageReply,
  LanguageRequest,
  WirePortMessage,
} from "./thread-messages.ts";

const { cwd, typecheck } = workerData as { cwd: string; typecheck: boolean };
let loaded: LoadedTypeScript | undefined;
let service: LanguageService | undefined;
/** Code converted for an execution, until it is committed (it ran) or not. */
const pendingCode = new Map<number, string>();

function loadTs(): typeof TS {
  loaded ??= loadTypeScript();
  return loaded.ts;
}

/** Load TypeScript and build the language service now, so the first cell does not wait as long. */
function warm(): void {
  if (typecheck) languageService().diagnostics("0");
  else loadTs();
  loaded!.saveCache();
}
function languageService(): LanguageService {
  service ??= new LanguageService(loadTs(), cwd);
  return service;
}

/**
 * Conversion depends on the code alone (type checks, which depend on earlier cells, are not
 * cached), so a cell run again — the common case in a notebook — reuses it: no transpiler run and
 * none of its garbage, whose collection made one round trip in twenty several times slower.
 */
const convertedByCode = new Map<string, ReturnType<typeof convertCell>>();
const CONVERTED_MAX = 128;
function convert(code: string): ReturnType<typeof convertCell> {
  let c = convertedByCode.get(code);
  if (c)
    convertedByCode.delete(code); // re-insert: most recently used last
  else c = convertCell(loadTs(), code);
  convertedByCode.set(code, c);
  if (convertedByCode.size > CONVERTED_MAX)
    convertedByCode.delete(convertedByCode.keys().next().value!);
  return c;
}

/** Code points → UTF-16 offset (Jupyter counts cursor positions in code points). */
function toUtf16(code: string, cursor: number): number {
  let i = 0;
  for (let cp = 0; cp < cursor && i < code.length; cp++) i += code.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}
function toCodePoints(code: string, offset: number): number {
  return [...code.slice(0, offset)].length;
}

function isComplete(code: string): LanguageCalls["is_complete"]["result"] {
  const t = loadTs();
  if (!code.trim()) return { status: "complete" };
  const out = t.transpileModule(code, {
    reportDiagnostics: true,
    compilerOptions: { moduleDetection: t.ModuleDetectionKind.Force },
  });
  const errs = (out.diagnostics ?? []).filter((d) => d.category === t.DiagnosticCategory.Error);
  if (!errs.length) return { status: "complete" };
  const end = code.trimEnd().length;
  // An error at the very end means the code stops mid-construct: the user is still typing.
  if (errs.every((d) => (d.start ?? 0) >= end || d.code === 1160 /* unterminated template */)) {
    const lastLine = code.split("\n").pop() ?? "";
    const indent =
      (lastLine.match(/^\s*/)?.[0] ?? "") + (/[{([]\s*$/.test(code.trimEnd()) ? "  " : "");
    return { status: "incomplete", indent };
  }
  return { status: "invalid" };
}

function handle(request: LanguageRequest): LanguageCalls[LanguageRequest["type"]]["result"] {
  switch (request.type) {
    case "convert": {
      const { js, lineOffset, editMap, sourceMap, syntaxErrors } = convert(request.code);
      let diagnostics = syntaxErrors;
      if (!diagnostics.length && typecheck)
        diagnostics = languageService().diagnostics(request.code);
      if (!diagnostics.length) pendingCode.set(request.executionId, request.code); // only a cell that runs is committed
      return { js, lineOffset, editMap, sourceMap, diagnostics } satisfies Converted;
    }
    case "commit": {
      const code = pendingCode.get(request.executionId);
      pendingCode.delete(request.executionId);
      if (code !== undefined && typecheck) languageService().commit(code, request.executionId);
      return true;
    }
    case "complete": {
      const cursor = toUtf16(request.code, request.cursor);
      const r = languageService().complete(request.code, cursor);
      return {
        ...r,
        cursor_start: toCodePoints(request.code, r.cursor_start),
        cursor_end: toCodePoints(request.code, r.cursor_end),
      };
    }
    case "inspect":
      return languageService().inspect(request.code, toUtf16(request.code, request.cursor));
    case "is_complete":
      return isComplete(request.code);
  }
}

function serve(port: MessagePort | typeof parentPort): void {
  port!.on("message", (request: LanguageRequest | WirePortMessage) => {
    if (request.type === "wire_port") {
      serve(request.port);
      return;
    }
    let reply: LanguageReply;
    try {
      reply = { id: request.id, ok: true, value: handle(request) };
    } catch (e) {
      reply = {
        id: request.id,
        ok: false,
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      };
    }
    port!.postMessage(reply);
  });
}

serve(parentPort);
// Warm up at once: on a kernel's start the type-checker is what the first cell waits for.
// (Requests that arrive meanwhile queue behind it.)
setImmediate(() => {
  try {
    warm();
  } catch {
    /* the first real request reports the problem */
  }
});
