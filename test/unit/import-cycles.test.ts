// No import cycles in lib/: every static import, re-export and dynamic import("…") with a literal
// path (type-only imports included) is an edge; a cycle fails the test and is printed file by file.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../..", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return sourceFiles(p);
      return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith(".d.ts") ? [p] : [];
    });
}

/** file → the files under `dir` it imports (relative specifiers only; packages and files outside are not edges). */
function importGraph(dir: string): Map<string, string[]> {
  const files = new Set(sourceFiles(dir));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const specs = ts
      .preProcessFile(readFileSync(f, "utf8"), true, true)
      .importedFiles.map((i) => i.fileName);
    graph.set(
      f,
      specs
        .filter((s) => s.startsWith("."))
        .map((s) => resolve(dirname(f), s))
        .filter((p) => files.has(p)),
    );
  }
  return graph;
}

/** Each cycle (one per strongly connected component, Tarjan), as the list of files around it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(),
    low = new Map<string, number>(),
    stack: string[] = [],
    onStack = new Set<string>();
  const cycles: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v))
      cycles.push(cyclePath(graph, new Set(component), v));
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return cycles;
}

/** One concrete cycle through `start` inside its component (breadth-first back to start). */
function cyclePath(graph: Map<string, string[]>, component: Set<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        let u = v;
        while (u !== start) {
          u = prev.get(u)!;
          path.unshift(u);
        }
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const show = (cycle: string[]) => cycle.map((f) => relative(root, f)).join(" → ");

test("lib/ has no import cycles", () => {
  const cycles = findCycles(importGraph(join(root, "lib")));
  assert.deepEqual(cycles.map(show), [], `import cycles in lib/:\n${cycles.map(show).join("\n")}`);
});

test("the cycle check finds a cycle, through a dynamic import and a type-only import too", () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-cycles-"));
  try {
    mkdirSync(join(dir, "sub"));
    writeFileSync(
      join(dir, "a.ts"),
      `export const a = async () => (await import("./sub/b.ts")).b;\n`,
    );
    writeFileSync(
      join(dir, "sub", "b.ts"),
      `import type { C } from "../c.ts";\nexport const b = 1 as unknown as C;\n`,
    );
    writeFileSync(join(dir, "c.ts"), `export { a } from "./a.ts";\nexport type C = number;\n`);
    writeFileSync(join(dir, "d.ts"), `import { a } from "./a.ts";\nexport const d = a;\n`);
    const cycles = findCycles(importGraph(dir));
    assert.equal(cycles.length, 1);
    assert.deepEqual(
      new Set(cycles[0]!.map((f) => relative(dir, f))),
      new Set(["a.ts", "sub/b.ts", "c.ts"]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
