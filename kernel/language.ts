/**
 * The type-aware half of the kernel: a TypeScript LanguageService over this session's cells, for
 * type errors before a cell runs, completion and inspection.
 *
 * Each executed cell becomes a virtual module `__simvlm_cell_N.ts` in the notebook's folder (so
 * relative imports and node_modules resolve as they do at run time) with its top-level declarations
 * exported. The cell being checked starts with a one-line header that brings every earlier name into
 * scope: `declare let x: typeof import("./__simvlm_cell_3.ts").x;` for variables (reassignable, as at
 * run time), `import { f } from …` for functions, classes, types, and the cell's own imports
 * repeated. A name the current cell declares again is left out of the header, so redeclaring works.
 */
import type * as TS from "typescript";
import { statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));

/** Globals every cell sees (the executor defines them at run time). */
const GLOBALS = [
  `declare const display: import("./display-api.d.ts").Display;`,
  `declare const clearOutput: typeof import("./display-api.d.ts").clearOutput;`,
  `declare const input: typeof import("./display-api.d.ts").input;`,
].join("\n");

type Origin =
  | { kind: "var"; file: string; isConst: boolean }
  | { kind: "named"; file: string } // function, class, enum, interface, type, namespace
  | { kind: "import"; stmt: string };

export interface CellDiagnostic {
  line: number;
  column: number;
  message: string;
  code: number;
}

export class LanguageService {
  private readonly files = new Map<string, { text: string; version: number }>();
  private readonly disk = new Map<string, { mtime: number; snapshot: TS.IScriptSnapshot }>();
  /** Bumped whenever a committed cell changes what later cells see. */
  private generation = 0;
  private lastCheck: { code: string; generation: number; result: CellDiagnostic[] } | undefined;
  private readonly origins = new Map<string, Origin>();
  private readonly committed: string[] = [];
  private readonly service: TS.LanguageService;
  private readonly current: string;

  constructor(
    private readonly ts: typeof TS,
    private readonly cwd: string,
  ) {
    this.current = join(cwd, "__simvlm_current.ts");
    // In memory (not a file under kernel/) so these globals never leak into the repo's own type-check.
    const globals = join(repo, "kernel", "__simvlm_globals.d.ts");
    this.setFile(globals, GLOBALS);
    const options: TS.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2023.d.ts"],
      types: ["node"],
      typeRoots: [join(repo, "node_modules", "@types")],
      strict: true,
      noImplicitAny: false,
      skipLibCheck: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      esModuleInterop: true,
      resolveJsonModule: true,
      moduleDetection: ts.ModuleDetectionKind.Force,
      allowJs: true,
      paths: {
        simvlm: [join(repo, "lib", "index.ts")],
        tslab: [join(repo, "kernel", "display-api.d.ts")],
        "*": [
          join(cwd, "node_modules", "*"),
          join(repo, "node_modules", "*"),
          join(repo, "node_modules", "@types", "*"),
        ],
      },
    };
    const host: TS.LanguageServiceHost = {
      getCompilationSettings: () => options,
      getScriptFileNames: () => [globals, ...this.committed, this.current],
      getScriptVersion: (f) => {
        const mem = this.files.get(f);
        if (mem) return String(mem.version);
        const disk = this.diskFile(f);
        return disk ? `disk ${disk.mtime}` : "0";
      },
      getScriptSnapshot: (f) => {
        const mem = this.files.get(f);
        return mem ? ts.ScriptSnapshot.fromString(mem.text) : this.diskFile(f)?.snapshot;
      },
      getCurrentDirectory: () => cwd,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.files.has(f) || ts.sys.fileExists(f),
      readFile: (f) => this.files.get(f)?.text ?? ts.sys.readFile(f),
      directoryExists: (d) => ts.sys.directoryExists(d),
      getDirectories: (d) => ts.sys.getDirectories(d),
      realpath: ts.sys.realpath,
    };
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry());
    this.setFile(this.current, "");
  }

  /**
   * A file on disk as one snapshot per modification time. The service asks for the snapshot of
   * every file of the program each time a cell's text is new; reading the ~3 MB of declaration
   * files again each time was most of a new cell's type-check. Files under node_modules are taken
   * as unchanging for the session; others (a notebook's own modules) are re-read when they change.
   */
  private diskFile(f: string): { mtime: number; snapshot: TS.IScriptSnapshot } | undefined {
    const hit = this.disk.get(f);
    if (hit && f.includes("/node_modules/")) return hit;
    let mtime: number;
    try {
      mtime = statSync(f).mtimeMs;
    } catch {
      return undefined;
    }
    if (hit && hit.mtime === mtime) return hit;
    const text = this.ts.sys.readFile(f);
    if (text === undefined) return undefined;
    const entry = { mtime, snapshot: this.ts.ScriptSnapshot.fromString(text) };
    this.disk.set(f, entry);
    return entry;
  }

  private setFile(name: string, text: string): void {
    const old = this.files.get(name);
    if (old?.text === text) return;
    this.files.set(name, { text, version: (old?.version ?? 0) + 1 });
  }

  /** Put `code` in the current file behind the header; returns the header's length. */
  private load(code: string): number {
    const own = new Set(topLevelNames(this.ts, code).map((d) => d.name));
    const lines: string[] = [];
    const imports = new Map<string, string[]>();
    for (const [name, o] of this.origins) {
      if (own.has(name)) continue;
      if (o.kind === "var")
        lines.push(
          `declare ${o.isConst ? "const" : "let"} ${name}: typeof import(${JSON.stringify(o.file)}).${name};`,
        );
      else if (o.kind === "named")
        (imports.get(o.file) ?? imports.set(o.file, []).get(o.file)!).push(name);
      else lines.push(o.stmt);
    }
    for (const [file, names] of imports)
      lines.push(`import { ${names.join(", ")} } from ${JSON.stringify(file)};`);
    const header = lines.join(" ") + "\n";
    this.setFile(this.current, header + code);
    return header.length;
  }

  diagnostics(code: string): CellDiagnostic[] {
    // The same cell run again against the same earlier cells and unchanged local files: same answer.
    const last = this.lastCheck;
    if (
      last &&
      last.code === code &&
      last.generation === this.generation &&
      !this.localFilesChanged()
    )
      return last.result;
    const result = this.check(code);
    this.lastCheck = { code, generation: this.generation, result };
    return result;
  }

  /** Whether a file read from disk outside node_modules (a notebook's own module) changed since it was read. */
  private localFilesChanged(): boolean {
    for (const [f, e] of this.disk) {
      if (f.includes("/node_modules/")) continue;
      try {
        if (statSync(f).mtimeMs !== e.mtime) return true;
      } catch {
        return true;
      }
    }
    return false;
  }

  private check(code: string): CellDiagnostic[] {
    const offset = this.load(code);
    const all = [
      ...this.service.getSyntacticDiagnostics(this.current),
      ...this.service.getSemanticDiagnostics(this.current),
    ];
    const out: CellDiagnostic[] = [];
    const sf = this.service.getProgram()!.getSourceFile(this.current)!;
    for (const d of all) {
      if (d.category !== this.ts.DiagnosticCategory.Error) continue;
      const start = Math.max(0, (d.start ?? offset) - offset);
      const lc = sf.getLineAndCharacterOfPosition(start + offset);
      out.push({
        line: Math.max(0, lc.line - 1),
        column: lc.character,
        message: this.ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        code: d.code,
      });
    }
    return out;
  }

  /** Record an executed cell so later cells see its names with their types (one module per execution). */
  commit(code: string, executionId: number): void {
    const file = join(this.cwd, `__simvlm_cell_${executionId}.ts`);
    const rel = `./__simvlm_cell_${executionId}.ts`;
    const decls = topLevelNames(this.ts, code);
    // A cell that declares nothing adds nothing: leaving the program unchanged keeps later checks cheap.
    if (!decls.length) return;
    this.generation++;
    // The committed copy keeps the header (earlier names) and exports its own declarations.
    const headerLength = this.load(code);
    const header = this.files.get(this.current)!.text.slice(0, headerLength);
    let body = code;
    for (const d of [...decls].sort((a, b) => b.exportAt - a.exportAt))
      if (d.exportAt >= 0) body = body.slice(0, d.exportAt) + "export " + body.slice(d.exportAt);
    const seen = new Set<string>();
    for (const d of decls) {
      if (seen.has(d.name)) continue;
      seen.add(d.name);
      this.origins.delete(d.name); // re-insert so the latest definition comes last
      if (d.kind === "import") this.origins.set(d.name, { kind: "import", stmt: d.stmt! });
      else if (d.kind === "var")
        this.origins.set(d.name, { kind: "var", file: rel, isConst: !!d.isConst });
      else this.origins.set(d.name, { kind: "named", file: rel });
    }
    this.setFile(file, header + body + "\nexport {};\n");
    this.committed.push(file);
  }

  complete(
    code: string,
    cursor: number,
  ): {
    matches: string[];
    cursor_start: number;
    cursor_end: number;
    metadata: Record<string, unknown>;
  } {
    const offset = this.load(code);
    let start = cursor;
    while (start > 0 && /[\w$]/.test(code[start - 1]!)) start--;
    let end = cursor;
    while (end < code.length && /[\w$]/.test(code[end]!)) end++;
    const prefix = code.slice(start, cursor);
    const info = this.service.getCompletionsAtPosition(this.current, offset + cursor, {
      includeCompletionsWithInsertText: false,
    });
    const entries = (info?.entries ?? []).filter(
      (e) => e.name.startsWith(prefix) && !e.name.startsWith("__simvlm") && /^[\w$]+$/.test(e.name),
    );
    entries.sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    const types = entries.slice(0, 200).map((e) => ({ start, end, text: e.name, type: e.kind }));
    return {
      matches: [...new Set(entries.map((e) => e.name))],
      cursor_start: start,
      cursor_end: end,
      metadata: { _jupyter_types_experimental: types },
    };
  }

  /**
   * Inspection (Shift-Tab): the name at the cursor, or — with the cursor inside a call's parentheses
   * and not on a name — the called function. A function's object-typed parameters also list their
   * documented properties (the options a library call takes).
   */
  inspect(
    code: string,
    cursor: number,
  ): { found: boolean; data: Record<string, string>; metadata: Record<string, unknown> } {
    const offset = this.load(code);
    const isName = (c: string | undefined) => c !== undefined && /[\w$]/.test(c);
    // Jupyter sends the cursor at the end of a name or inside it; quick info wants a position in it.
    let pos = cursor;
    if (pos > 0 && !isName(code[pos]) && isName(code[pos - 1])) pos--;
    let q = isName(code[pos])
      ? this.service.getQuickInfoAtPosition(this.current, offset + pos)
      : undefined;
    let at = offset + pos;
    if (!q) {
      const call = this.enclosingCall(offset + cursor);
      if (call) {
        at = call.expression.getEnd() - 1;
        q = this.service.getQuickInfoAtPosition(this.current, at);
      }
    }
    if (!q) return { found: false, data: {}, metadata: {} };
    // Earlier cells' functions and classes reach this cell through a header import: show them as declared.
    const sig = this.ts
      .displayPartsToString(q.displayParts)
      .replace(/^\(alias\) /, "")
      .replace(/\n(import|export) [\w$]+$/, "")
      // One form on a name and inside its call (quick info says "function f(…)" on one, "f(…)" on the other).
      .replace(/^function /, "");
    const doc = this.ts.displayPartsToString(q.documentation);
    const tags = (q.tags ?? [])
      .map((t) => `@${t.name} ${this.ts.displayPartsToString(t.text)}`.trim())
      .join("\n");
    const options = this.documentedOptions(at);
    const plain = [
      sig,
      doc,
      tags,
      ...options.map(
        (o) =>
          `${o.title}\n${o.items.map((i) => `  ${i.name}: ${i.type}${i.doc ? ` — ${i.doc}` : ""}`).join("\n")}`,
      ),
    ]
      .filter(Boolean)
      .join("\n\n");
    const md = [
      "```typescript",
      sig,
      "```",
      doc,
      tags
        ? tags
            .split("\n")
            .map((t) => `*${t}*`)
            .join("  \n")
        : "",
      ...options.map(
        (o) =>
          `**${o.title}**\n\n${o.items.map((i) => `- \`${i.name}\`: \`${i.type}\`${i.doc ? ` — ${i.doc}` : ""}`).join("\n")}`,
      ),
    ]
      .filter(Boolean)
      .join("\n");
    return { found: true, data: { "text/plain": plain, "text/markdown": md }, metadata: {} };
  }

  /** The innermost call (or `new`) whose parentheses hold `pos` (an unclosed call's reach to the end). */
  private enclosingCall(pos: number): TS.CallExpression | TS.NewExpression | undefined {
    const ts = this.ts;
    const sf = this.service.getProgram()?.getSourceFile(this.current);
    if (!sf) return undefined;
    // Nodes end at their last token: a cursor after trailing spaces of an unclosed call is still in it.
    while (pos > 0 && /\s/.test(sf.text[pos - 1]!)) pos--;
    let found: TS.CallExpression | TS.NewExpression | undefined;
    const visit = (n: TS.Node): void => {
      if (pos < n.getStart(sf) || pos > n.getEnd()) return;
      if ((ts.isCallExpression(n) || ts.isNewExpression(n)) && n.arguments) {
        const open = n.arguments.pos,
          closed = sf.text[n.getEnd() - 1] === ")";
        if (pos >= open && (closed ? pos < n.getEnd() : pos <= n.getEnd())) found = n;
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    return found;
  }

  /** For a function at `at`: its object-typed parameters' properties with their types and doc comments. */
  private documentedOptions(
    at: number,
  ): { title: string; items: { name: string; type: string; doc: string }[] }[] {
    const ts = this.ts;
    const program = this.service.getProgram();
    const sf = program?.getSourceFile(this.current);
    if (!program || !sf) return [];
    const checker = program.getTypeChecker();
    let node: TS.Node | undefined;
    const find = (n: TS.Node): void => {
      if (at >= n.getStart(sf) && at < n.getEnd()) {
        node = n;
        ts.forEachChild(n, find);
      }
    };
    find(sf);
    if (!node || !ts.isIdentifier(node)) return [];
    const signature =
      checker.getTypeAtLocation(node).getCallSignatures()[0] ??
      checker.getTypeAtLocation(node).getConstructSignatures()[0];
    if (!signature) return [];
    const out: { title: string; items: { name: string; type: string; doc: string }[] }[] = [];
    for (const param of signature.getParameters()) {
      const type = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(param, node));
      if (
        !(type.flags & ts.TypeFlags.Object) ||
        type.getCallSignatures().length ||
        checker.isArrayLikeType(type)
      )
        continue;
      const props = checker.getPropertiesOfType(type);
      if (!props.length || props.length > 80) continue;
      const items = props.map((p) => {
        const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
        const t = checker.typeToString(
          checker.getTypeOfSymbolAtLocation(p, node!),
          undefined,
          ts.TypeFormatFlags.NoTruncation,
        );
        return {
          name: p.name + (optional ? "?" : ""),
          type: optional ? t.replace(/ \| undefined$/, "") : t,
          doc: ts
            .displayPartsToString(p.getDocumentationComment(checker))
            .replace(/\s+/g, " ")
            .trim(),
        };
      });
      out.push({ title: `${param.name}: ${checker.typeToString(type)}`, items });
    }
    return out;
  }
}

interface TopDecl {
  name: string;
  kind: "var" | "named" | "import";
  isConst?: boolean;
  stmt?: string;
  exportAt: number;
}

/** Top-level names a cell declares, where to insert `export`, and import statements to repeat. */
export function topLevelNames(ts: typeof TS, code: string): TopDecl[] {
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: TopDecl[] = [];
  const isExported = (n: TS.Node) =>
    (ts.canHaveModifiers(n) ? ts.getModifiers(n) : undefined)?.some(
      (m) => m.kind === ts.SyntaxKind.ExportKeyword,
    );
  const names = (b: TS.BindingName, acc: string[]): string[] => {
    if (ts.isIdentifier(b)) acc.push(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) names(el.name, acc);
    return acc;
  };
  for (const st of sf.statements) {
    const at = isExported(st) ? -1 : st.getStart(sf);
    if (ts.isVariableStatement(st)) {
      const isConst = (st.declarationList.flags & ts.NodeFlags.Const) !== 0;
      let first = true;
      for (const d of st.declarationList.declarations)
        for (const n of names(d.name, [])) {
          out.push({ name: n, kind: "var", isConst, exportAt: first ? at : -1 });
          first = false;
        }
    } else if (
      (ts.isFunctionDeclaration(st) ||
        ts.isClassDeclaration(st) ||
        ts.isEnumDeclaration(st) ||
        ts.isInterfaceDeclaration(st) ||
        ts.isTypeAliasDeclaration(st) ||
        ts.isModuleDeclaration(st)) &&
      st.name &&
      ts.isIdentifier(st.name)
    ) {
      out.push({ name: st.name.text, kind: "named", exportAt: at });
    } else if (ts.isImportDeclaration(st) && st.importClause) {
      const spec = JSON.stringify((st.moduleSpecifier as TS.StringLiteral).text);
      const c = st.importClause;
      const typeOnly = c.isTypeOnly ? "type " : "";
      if (c.name)
        out.push({
          name: c.name.text,
          kind: "import",
          stmt: `import ${typeOnly}${c.name.text} from ${spec};`,
          exportAt: -1,
        });
      const b = c.namedBindings;
      if (b && ts.isNamespaceImport(b))
        out.push({
          name: b.name.text,
          kind: "import",
          stmt: `import ${typeOnly}* as ${b.name.text} from ${spec};`,
          exportAt: -1,
        });
      else if (b)
        for (const el of b.elements) {
          const orig = (el.propertyName ?? el.name).text;
          const t = typeOnly || (el.isTypeOnly ? "type " : "");
          out.push({
            name: el.name.text,
            kind: "import",
            stmt: `import ${t}{ ${orig === el.name.text ? orig : `${orig} as ${el.name.text}`} } from ${spec};`,
            exportAt: -1,
          });
        }
    }
  }
  return out;
}
