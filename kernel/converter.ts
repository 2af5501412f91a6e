/**
 * Cell conversion: TypeScript → JavaScript that the executor runs with `vm` in the kernel's own
 * realm (so `instanceof`, Buffers and typed arrays behave as in a script).
 *
 * 1. `ts.transpileModule` strips types (imports used only as types disappear) and gives a source map.
 * 2. The JavaScript is rewritten with small, non-overlapping edits (magic-string), which keep line
 *    breaks and record an edit map, so a position in the code that runs maps back exactly
 *    (edit map, then the transpiler's map):
 *    - top-level `const/let/var`, functions, classes and imports become globals, so later cells see
 *      them and may redeclare them (`const x = 1` → `;(x = 1);`, with `var x` in the header);
 *    - `import … from "m"` → `({ … } = await __simvlm.import("m"))` and `import(m)` →
 *      `__simvlm.import(m)` (the kernel resolves "simvlm", the "tslab" compatibility module and
 *      packages from the notebook's folder);
 *    - the body runs in an async arrow function (top-level await); a final expression is returned;
 *    - every loop body starts with `__simvlm.tick()`, which throws once the cell is interrupted, so an
 *      interrupted loop really stops, sync or async.
 */
import MagicString from "magic-string";
import type { SourceMapPayload } from "node:module";
import type * as TS from "typescript";
import type { Diagnostic } from "./thread-messages.ts";

export interface ConvertedJs {
  js: string;
  /** Header lines before the cell body in `js`. */
  lineOffset: number;
  /** Source map from the transpiled JavaScript to the TypeScript cell (the transpiler's). */
  sourceMap: SourceMapPayload | undefined;
  /** Source map from the body of `js` (after lineOffset) to the transpiled JavaScript (the edits). */
  editMap: SourceMapPayload;
  /** Syntax errors (type errors come from the language service). */
  syntaxErrors: Diagnostic[];
}

const GUARD = "__simvlm.tick();";

export function convertCell(ts: typeof TS, code: string, fileName = "cell.ts"): ConvertedJs {
  const out = ts.transpileModule(code, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      sourceMap: true,
      inlineSources: false,
      moduleDetection: ts.ModuleDetectionKind.Force,
      esModuleInterop: true,
      // Keep every import a cell writes (only `import type` goes): a later cell may use the names.
      verbatimModuleSyntax: true,
      useDefineForClassFields: true,
      experimentalDecorators: false,
    },
  });
  const syntaxErrors = (out.diagnostics ?? [])
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => {
      const pos =
        d.file && d.start !== undefined
          ? d.file.getLineAndCharacterOfPosition(d.start)
          : { line: 0, character: 0 };
      return {
        line: pos.line,
        column: pos.character,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        code: d.code,
      };
    });
  const js = out.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
  const sf = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edit = new MagicString(js);
  const names = new Set<string>();
  const functions: string[] = [];
  const start = (n: TS.Node) => n.getStart(sf);
  /** Replace [from, to) — never text an edit elsewhere keeps — padding with the line breaks it removes. */
  const replace = (from: number, to: number, text: string) => {
    if (from === to) {
      edit.appendLeft(from, text);
      return;
    }
    const lost = (js.slice(from, to).match(/\n/g) ?? []).length - (text.match(/\n/g) ?? []).length;
    edit.update(from, to, text + "\n".repeat(Math.max(0, lost)));
  };
  const stripExport = (n: TS.Node) => {
    for (const m of (ts.canHaveModifiers(n) ? ts.getModifiers(n) : undefined) ?? []) {
      if (m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword)
        edit.remove(start(m), m.end);
    }
  };
  /** `prefix` + the expression `inner`, kept as written + `suffix`, in place of the statement `st`. */
  const wrap = (st: TS.Node, inner: TS.Node, prefix: string, suffix: string) => {
    replace(start(st), start(inner), prefix);
    replace(inner.end, st.end, suffix);
  };
  const bindingNames = (b: TS.BindingName, acc: string[]) => {
    if (ts.isIdentifier(b)) acc.push(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, acc);
    return acc;
  };

  const statements = sf.statements;
  // transpileModule appends `export {};` to force module semantics; it is not the cell's last expression.
  const meaningful = statements.filter(
    (s) =>
      !(
        ts.isExportDeclaration(s) &&
        !s.moduleSpecifier &&
        s.exportClause &&
        ts.isNamedExports(s.exportClause) &&
        !s.exportClause.elements.length
      ),
  );
  const last = meaningful[meaningful.length - 1];
  for (const st of statements) {
    if (ts.isVariableStatement(st)) {
      // `export const a = 1, b;` → `;(a = 1, b = void 0);` — the declarators stay as written.
      const decls = st.declarationList.declarations;
      for (const d of decls) {
        bindingNames(d.name, []).forEach((x) => names.add(x));
        if (!d.initializer) edit.appendLeft(d.end, " = void 0");
      }
      replace(start(st), start(decls[0]!), ";(");
      replace(decls[decls.length - 1]!.end, st.end, ");");
    } else if (ts.isFunctionDeclaration(st) && st.name) {
      names.add(st.name.text);
      functions.push(st.name.text);
      stripExport(st);
    } else if (ts.isClassDeclaration(st) && st.name) {
      names.add(st.name.text);
      stripExport(st);
      edit.appendLeft(start(st), `${st.name.text} = `);
      edit.appendLeft(st.end, ";");
    } else if (ts.isImportDeclaration(st)) {
      replace(start(st), st.end, importToAssignment(ts, st, names));
    } else if (ts.isExportDeclaration(st)) {
      replace(start(st), st.end, "");
    } else if (ts.isExportAssignment(st)) {
      if (st === last) wrap(st, st.expression, "return { value: (", ") };");
      else wrap(st, st.expression, ";(", ");");
    } else if (st === last && ts.isExpressionStatement(st)) {
      wrap(st, st.expression, "return { value: (", ") };");
    }
  }
  // Loop guards everywhere (functions declared in the cell included).
  const visit = (n: TS.Node): void => {
    // `import(x)` → `__simvlm.import(x)`: vm scripts have no dynamic-import callback (Node throws
    // "A dynamic import callback was not specified"), and a cell should resolve a module the same
    // way whether it imports it statically or dynamically.
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword)
      replace(start(n.expression), n.expression.end, "__simvlm.import");
    if (ts.isIterationStatement(n, false)) {
      const body = n.statement;
      if (ts.isBlock(body)) edit.appendLeft(start(body) + 1, GUARD);
      else {
        edit.prependRight(start(body), `{${GUARD}`);
        edit.appendLeft(body.end, "}");
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);

  const header = `${names.size ? `var ${[...names].join(", ")};` : ""}(async () => {${functions.map((f) => `globalThis[${JSON.stringify(f)}] = ${f};`).join("")}`;
  const map = edit.generateMap({ hires: "boundary" });
  return {
    js: `${header}\n${edit.toString()}\n})()`,
    lineOffset: 1,
    sourceMap: out.sourceMapText ? JSON.parse(out.sourceMapText) : undefined,
    editMap: {
      version: 3,
      file: "",
      sourceRoot: "",
      sources: map.sources,
      sourcesContent: [],
      names: map.names,
      mappings: map.mappings,
    },
    syntaxErrors,
  };
}

function importToAssignment(ts: typeof TS, st: TS.ImportDeclaration, names: Set<string>): string {
  const spec = JSON.stringify((st.moduleSpecifier as TS.StringLiteral).text);
  const load = `await __simvlm.import(${spec})`;
  const clause = st.importClause;
  if (!clause) return `${load};`;
  const parts: string[] = [];
  let ns: string | undefined;
  if (clause.name) {
    parts.push(`default: ${clause.name.text}`);
    names.add(clause.name.text);
  }
  const b = clause.namedBindings;
  if (b && ts.isNamespaceImport(b)) {
    ns = b.name.text;
    names.add(ns);
  } else if (b)
    for (const el of b.elements) {
      parts.push(`${JSON.stringify((el.propertyName ?? el.name).text)}: ${el.name.text}`);
      names.add(el.name.text);
    }
  if (ns && parts.length) return `;({ ${parts.join(", ")} } = ${ns} = ${load});`;
  if (ns) return `;(${ns} = ${load});`;
  return `;({ ${parts.join(", ")} } = ${load});`;
}
