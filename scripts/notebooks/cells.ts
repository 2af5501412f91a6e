/**
 * Notebook sources in a reviewable text form (the "percent" format jupytext uses, with `//`
 * comments): a line `// %% [markdown]` starts a markdown cell whose lines are written as `// text`,
 * a line `// %%` starts a code cell (TypeScript run by the simvlm kernel). `sourcesToNotebook`
 * turns that into an nbformat 4.5 notebook with empty outputs; `notebookSources` reads the cell
 * list back from a notebook, so a test can check that a committed notebook matches its source.
 */
export interface CellSource { kind: "markdown" | "code"; source: string }

export class NotebookSourceError extends Error {
  constructor(message: string) { super(message); this.name = "NotebookSourceError"; }
}

const MARKER = /^\/\/ %%(?: \[(markdown|code)\])?\s*$/;

/** Parse a percent-format source file into cells. */
export function parseCells(text: string, file = "source"): CellSource[] {
  const cells: CellSource[] = [];
  let cur: { kind: CellSource["kind"]; lines: string[]; line: number } | undefined;
  const flush = () => {
    if (!cur) return;
    while (cur.lines.length && cur.lines[cur.lines.length - 1]!.trim() === "") cur.lines.pop();
    while (cur.lines.length && cur.lines[0]!.trim() === "") cur.lines.shift();
    if (!cur.lines.length) throw new NotebookSourceError(`${file}:${cur.line}: empty ${cur.kind} cell`);
    cells.push({ kind: cur.kind, source: cur.lines.join("\n") });
  };
  text.split(/\r?\n/).forEach((line, i) => {
    const m = MARKER.exec(line);
    if (m) { flush(); cur = { kind: m[1] === "markdown" ? "markdown" : "code", lines: [], line: i + 1 }; return; }
    if (!cur) {
      if (line.trim() === "") return;
      throw new NotebookSourceError(`${file}:${i + 1}: text before the first "// %%" cell marker`);
    }
    if (cur.kind === "markdown") {
      if (line.trim() !== "" && !line.startsWith("//")) throw new NotebookSourceError(`${file}:${i + 1}: a markdown line must start with "//"`);
      cur.lines.push(line.replace(/^\/\/ ?/, ""));
    } else cur.lines.push(line);
  });
  flush();
  if (!cells.length) throw new NotebookSourceError(`${file}: no cells`);
  return cells;
}

/** nbformat splits sources into lines that keep their newline (all but the last). */
function sourceLines(s: string): string[] {
  const parts = s.split("\n");
  return parts.map((p, i) => (i < parts.length - 1 ? p + "\n" : p)).filter((p) => p !== "");
}

export interface NotebookJson {
  cells: Record<string, unknown>[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export const KERNELSPEC_METADATA = { name: "simvlm", display_name: "SimVLM (TypeScript)", language: "typescript" };

/** Every built code cell's metadata. scrolled: false — the classic Notebook would put a tall output (a figure) in a small scroll box. */
export const CODE_CELL_METADATA: Readonly<Record<string, unknown>> = { scrolled: false };

/** An unexecuted notebook for the simvlm kernel. Cell ids are stable (`<slug>-<index>`). */
export function sourcesToNotebook(cells: CellSource[], slug: string): NotebookJson {
  return {
    cells: cells.map((c, i) => {
      const id = `${slug}-${String(i + 1).padStart(2, "0")}`;
      return c.kind === "markdown"
        ? { cell_type: "markdown", id, metadata: {}, source: sourceLines(c.source) }
        : { cell_type: "code", id, metadata: { ...CODE_CELL_METADATA }, execution_count: null, outputs: [], source: sourceLines(c.source) };
    }),
    metadata: {
      kernelspec: { ...KERNELSPEC_METADATA },
      language_info: { name: "typescript", file_extension: ".ts", mimetype: "text/typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** The cells of a notebook as sources (to compare with the source file). */
export function notebookSources(nb: NotebookJson): CellSource[] {
  return nb.cells.map((c) => ({
    kind: c.cell_type === "markdown" ? "markdown" : "code",
    source: Array.isArray(c.source) ? (c.source as string[]).join("") : String(c.source ?? ""),
  }));
}
