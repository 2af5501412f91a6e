/**
 * Tracebacks that point into cells. A cell runs as a vm script named `cell-<executionId>`, so V8's
 * frames read `cell-7:4:16` (a position in the generated JavaScript); here they become
 * `cell[N]:3:16` — N the execution_count the frontend shows, then the line and column in the
 * TypeScript the user wrote — and the kernel's own frames (kernel/, node internals, the tsx
 * loader) are left out. Errors caused by the user's input (`UserError`) keep only the cell frames:
 * their message already names the input, and library internals would only hide it.
 */
import { SourceMap, type SourceMapPayload } from "node:module";
import { fileURLToPath } from "node:url";
import { UserError } from "../lib/errors.ts";
import type { ErrorContent } from "./jupyter-messages.ts";
import type { Converted } from "./thread-messages.ts";

const KERNEL_DIR = fileURLToPath(new URL(".", import.meta.url));

/**
 * Cells whose frames can still be mapped, by execution id. A function defined in an old cell may
 * throw much later, so entries outlive their execution; past MAX_CELLS the oldest go (their frames
 * then read `cell[?]`). Source maps are parsed only when a traceback first needs them.
 */
const MAX_CELLS = 1000;
interface CellEntry {
  executionCount: number;
  lineOffset: number;
  /** The script's last line (the wrapper's `})()`), 1-based. */
  lastLine: number;
  payloads: { edits: SourceMapPayload; transpiled?: SourceMapPayload };
  maps?: { edits: SourceMap; transpiled?: SourceMap };
}
const cells = new Map<number, CellEntry>();

/** The vm filename of an execution's script (what V8 puts in its frames). */
export function cellFileName(executionId: number): string {
  return `cell-${executionId}`;
}
const CELL_POSITION = /cell-(\d+):(\d+):(\d+)/g;

export function registerCell(
  executionId: number,
  executionCount: number,
  code: Pick<Converted, "js" | "lineOffset" | "editMap" | "sourceMap">,
): void {
  let lastLine = 1;
  for (let i = code.js.indexOf("\n"); i >= 0; i = code.js.indexOf("\n", i + 1)) lastLine++;
  cells.set(executionId, {
    executionCount,
    lineOffset: code.lineOffset,
    lastLine,
    payloads: { edits: code.editMap, transpiled: code.sourceMap },
  });
  if (cells.size > MAX_CELLS) cells.delete(cells.keys().next().value!);
}

/** How many cells can be mapped now (bounded by MAX_CELLS; for tests). */
export function mappedCellCount(): number {
  return cells.size;
}

type Entry = { generatedColumn?: number; originalLine?: number; originalColumn?: number };

/**
 * `cell[N]:line:col` in the TypeScript cell for a 1-based position in the script that ran: through
 * the edit map to the transpiled JavaScript (the edits copy text verbatim, so the column within a
 * segment carries over), then through the transpiler's map. Undefined for the wrapper's own lines.
 */
function cellPosition(executionId: number, line: number, column: number): string | undefined {
  const cell = cells.get(executionId);
  if (!cell) return "cell[?]";
  const bodyLine = line - 1 - cell.lineOffset;
  if (bodyLine < 0 || line >= cell.lastLine) return undefined;
  cell.maps ??= {
    edits: new SourceMap(cell.payloads.edits),
    transpiled: cell.payloads.transpiled && new SourceMap(cell.payloads.transpiled),
  };
  const col = Math.max(0, column - 1);
  const edited = cell.maps.edits.findEntry(bodyLine, col) as Entry;
  if (edited.originalLine === undefined) return `cell[${cell.executionCount}]:${bodyLine + 1}`;
  const js = {
    line: edited.originalLine,
    column: edited.originalColumn! + (col - edited.generatedColumn!),
  };
  const entry = cell.maps.transpiled?.findEntry(js.line, js.column) as Entry | undefined;
  if (entry?.originalLine === undefined) return `cell[${cell.executionCount}]:${js.line + 1}`;
  return `cell[${cell.executionCount}]:${entry.originalLine + 1}:${entry.originalColumn! + 1}`;
}

const isFrame = (line: string) => /^\s+at /.test(line);
const isKernelFrame = (line: string) =>
  line.includes(KERNEL_DIR) || /\(node:|at node:|node_modules\/tsx\//.test(line);
/** A frame in the cell wrapper (header or the closing call), which the user did not write. */
const isWrapperFrame = (line: string) =>
  [...line.matchAll(CELL_POSITION)].some(
    ([, id, l, c]) => cellPosition(Number(id), Number(l), Number(c)) === undefined,
  );
const mapCellPositions = (text: string) =>
  text.replace(
    CELL_POSITION,
    (whole, id, line, col) => cellPosition(Number(id), Number(line), Number(col)) ?? whole,
  );

/** An error as Jupyter's error content: the traceback's frames point into cells, without kernel internals. */
export function formatError(e: unknown): ErrorContent {
  if (!(e instanceof Error))
    return {
      ename: "Error",
      evalue: String(e),
      traceback: [`\x1b[31mUncaught\x1b[0m ${String(e)}`],
    };
  const ename = e.name || "Error";
  let frames = String(e.stack ?? "")
    .split("\n")
    .filter((l) => isFrame(l) && !isKernelFrame(l) && !isWrapperFrame(l));
  if (e instanceof UserError) frames = frames.filter((l) => /cell-\d+:/.test(l));
  frames = frames.map(mapCellPositions);
  const head = `\x1b[31m${ename}\x1b[0m: ${e.message}`;
  return {
    ename,
    evalue: e.message,
    traceback: [head, ...frames.filter((f, i) => f !== frames[i - 1])],
  };
}

/**
 * The same mapping inside any text that shows a stack (util.inspect of an Error, or of a rejected
 * promise, as a cell's result): cell positions mapped, kernel frames dropped. Text without a cell
 * frame is returned as it is.
 */
export function mapStackText(text: string): string {
  if (!text.includes("cell-")) return text;
  return text
    .split("\n")
    .filter((l) => !(isFrame(l) && (isKernelFrame(l) || isWrapperFrame(l))))
    .map(mapCellPositions)
    .join("\n");
}
