/**
 * Cell conversion: TypeScript → JavaScript that the executor runs with `vm` in the kernel's own
 * realm (so `instanceof`, Buffers and typed arrays behave as in a script).
 *
 * 1. `ts.transpileModule` strips types (imports used only as types disappear) and gives a source map.
 * 2. The JavaScript is rewritten with text edits that never change line breaks:
 *    - top-level `const/let/var`, functions, classes and imports become globals, so later cells see
 *      them and may redeclare them (`const x = 1` → `(x = 1)`, with `var x` in the header);
 *    - `import … from "m"` → `({ … } = await __simvlm.import("m"))` (the kernel resolves "simvlm",
 *      "tslab" and packages from the notebook's folder);
 *    - the body runs in an async arrow function (top-level await); a final expression is returned;
 *    - every loop body starts with `__simvlm.tick()`, which throws once the cell is interrupted, so an
 *      interrupted loop really stops, sync or async.
 */
import type * as TS from "typescript";

export interface ConvertedJs {
  js: string;
  /** Header lines before the cell body in `js`. */
  lineOffset: number;
  /** Source map from the body to the TypeScript cell (the transpiler's, lines unchanged by edits). */
  sourceMap: unknown;
  names: string[];
  hasResult: boolean;
  /** Syntax errors (type errors come from the language service). */
  syntaxErrors: { line: number; column: number; message: string; code: number }[];
}

interface Edit { start: number; end: number; text: string }

export function convertCell(ts: typeof TS, code: string, fileName = "cell.ts"): ConvertedJs {
  const out = ts.transpileModule(code, {
    fileName, reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true, inlineSources: false,
      moduleDetection: ts.ModuleDetectionKind.Force, esModuleInterop: true,
      // Keep every import a cell writes (only `import type` goes): a later cell may use the names.
      verbatimModuleSyntax: true,
      useDefineForClassFields: true, experimentalDecorators: false,
    },
  });
  const syntaxErrors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error).map((d) => {
    const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
    return { line: pos.line, column: pos.character, message: ts.flattenDiagnosticMessageText(d.messageText, "\n"), code: d.code };
  });
  const js = out.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
  const sf = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits: Edit[] = [];
  const names = new Set<string>();
  const functions: string[] = [];
  const text = (n: TS.Node) => js.slice(n.getStart(sf), n.end);
  const replace = (n: TS.Node, repl: string) => {
    const start = n.getStart(sf);
    const lost = (js.slice(start, n.end).match(/\n/g) ?? []).length - (repl.match(/\n/g) ?? []).length;
    edits.push({ start, end: n.end, text: repl + "\n".repeat(Math.max(0, lost)) });
  };
  const stripExport = (n: TS.Node) => {
    for (const m of (ts.canHaveModifiers(n) ? ts.getModifiers(n) : undefined) ?? []) {
      if (m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword) edits.push({ start: m.getStart(sf), end: m.end, text: "" });
    }
  };
  const bindingNames = (b: TS.BindingName, acc: string[]) => {
    if (ts.isIdentifier(b)) acc.push(b.text);
    else for (const el of b.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, acc);
    return acc;
  };

  const statements = sf.statements;
  // transpileModule appends `export {};` to force module semantics; it is not the cell's last expression.
  const meaningful = statements.filter((s) => !(ts.isExportDeclaration(s) && !s.moduleSpecifier && s.exportClause && ts.isNamedExports(s.exportClause) && !s.exportClause.elements.length));
  const last = meaningful[meaningful.length - 1];
  let hasResult = false;
  for (const st of statements) {
    if (ts.isVariableStatement(st)) {
      const decls = st.declarationList.declarations;
      const parts: string[] = [];
      decls.forEach((d, i) => {
        bindingNames(d.name, []).forEach((x) => names.add(x));
        if (i > 0) parts.push(js.slice(decls[i - 1]!.end, d.getStart(sf)));
        parts.push(d.initializer ? text(d) : `${text(d.name)} = void 0`);
      });
      replace(st, `;(${parts.join("")});`);
    } else if (ts.isFunctionDeclaration(st) && st.name) {
      names.add(st.name.text); functions.push(st.name.text); stripExport(st);
    } else if (ts.isClassDeclaration(st) && st.name) {
      names.add(st.name.text); stripExport(st);
      edits.push({ start: st.getStart(sf), end: st.getStart(sf), text: `${st.name.text} = ` });
      edits.push({ start: st.end, end: st.end, text: ";" });
    } else if (ts.isImportDeclaration(st)) {
      replace(st, importToAssignment(ts, st, names));
    } else if (ts.isExportDeclaration(st)) {
      replace(st, "");
    } else if (ts.isExportAssignment(st)) {
      replace(st, st === last ? `return { value: (${text(st.expression)}) };` : `;(${text(st.expression)});`);
      hasResult ||= st === last;
    } else if (st === last && ts.isExpressionStatement(st)) {
      replace(st, `return { value: (${text(st.expression)}) };`);
      hasResult = true;
    }
  }
  // Loop guards everywhere (functions declared in the cell included).
  const visit = (n: TS.Node): void => {
    if (ts.isIterationStatement(n, false)) {
      const body = n.statement;
      if (ts.isBlock(body)) edits.push({ start: body.getStart(sf) + 1, end: body.getStart(sf) + 1, text: "__simvlm.tick();" });
      else {
        edits.push({ start: body.getStart(sf), end: body.getStart(sf), text: "{__simvlm.tick();" });
        edits.push({ start: body.end, end: body.end, text: "}" });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);

  let body = js;
  for (const e of edits.sort((a, b) => b.start - a.start || b.end - a.end)) body = body.slice(0, e.start) + e.text + body.slice(e.end);
  const declared = [...names];
  const header = `${declared.length ? `var ${declared.join(", ")};` : ""}(async () => {${functions.map((f) => `globalThis[${JSON.stringify(f)}] = ${f};`).join("")}`;
  return {
    js: `${header}\n${body}\n})()`, lineOffset: 1, sourceMap: out.sourceMapText ? JSON.parse(out.sourceMapText) : undefined,
    names: declared, hasResult, syntaxErrors,
  };
}

function importToAssignment(ts: typeof TS, st: TS.ImportDeclaration, names: Set<string>): string {
  const spec = JSON.stringify((st.moduleSpecifier as TS.StringLiteral).text);
  const load = `await __simvlm.import(${spec})`;
  const clause = st.importClause;
  if (!clause) return `${load};`;
  const parts: string[] = [];
  let ns: string | undefined;
  if (clause.name) { parts.push(`default: ${clause.name.text}`); names.add(clause.name.text); }
  const b = clause.namedBindings;
  if (b && ts.isNamespaceImport(b)) { ns = b.name.text; names.add(ns); }
  else if (b) for (const el of b.elements) {
    parts.push(`${JSON.stringify((el.propertyName ?? el.name).text)}: ${el.name.text}`);
    names.add(el.name.text);
  }
  if (ns && parts.length) return `;({ ${parts.join(", ")} } = ${ns} = ${load});`;
  if (ns) return `;(${ns} = ${load});`;
  return `;({ ${parts.join(", ")} } = ${load});`;
}
