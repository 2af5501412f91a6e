// The kernel's type-checker over the session's cells (kernel/language.ts): earlier cells' names
// are seen, and a notebook's own module edited during the session is checked in its new form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as TS from "typescript";
import { LanguageService } from "../../kernel/language.ts";

const ts = createRequire(import.meta.url)("typescript") as typeof TS;

test("type checks see earlier cells and re-read a local module that changed", () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-lang-"));
  try {
    const helper = join(dir, "helper.ts");
    writeFileSync(helper, "export function twice(x: number): number { return 2 * x; }\n");
    const s = new LanguageService(ts, dir);
    assert.deepEqual(
      s.diagnostics(`import { twice } from "./helper.ts";\nconst y: number = twice(2);`),
      [],
    );
    s.commit(`import { twice } from "./helper.ts";\nconst y: number = twice(2);`, 1);
    assert.deepEqual(
      s.diagnostics("const z: number = y + twice(3);"),
      [],
      "cell 1's names are in scope",
    );
    const bad = s.diagnostics("const w: string = y;");
    assert.equal(bad.length, 1);
    assert.match(bad[0]!.message, /not assignable to type 'string'/);

    assert.deepEqual(s.diagnostics("const z: number = twice(3);"), []);
    assert.deepEqual(
      s.diagnostics("const z: number = twice(3);"),
      [],
      "the same cell again (answered from the last check)",
    );
    // The module now returns a string: the same cell must now fail.
    writeFileSync(helper, "export function twice(x: number): string { return String(2 * x); }\n");
    const later = new Date(Date.now() + 5000);
    utimesSync(helper, later, later); // a distinct mtime even on coarse-grained file systems
    const after = s.diagnostics("const z: number = twice(3);");
    assert.equal(after.length, 1, JSON.stringify(after));
    assert.match(after[0]!.message, /'string' is not assignable to type 'number'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("inspection inside a call's parentheses shows the called function and its documented options, as on its name", () => {
  const dir = mkdtempSync(join(tmpdir(), "simvlm-lang-"));
  try {
    const s = new LanguageService(ts, dir);
    s.commit('import * as simvlm from "simvlm";', 1);
    const inside = "simvlm.pretrain({ steps: 1, ";
    const r = s.inspect(inside, inside.length);
    assert.equal(r.found, true);
    assert.match(
      r.data["text/plain"]!,
      /^pretrain\(opts: (simvlm\.)?PretrainOptions\): Promise<(simvlm\.)?TrainResult>\n\n/,
    );
    assert.match(r.data["text/plain"]!, /batchSize\?: number/, "the options are listed");
    assert.match(
      r.data["text/plain"]!,
      /resume\?: boolean — Continue the checkpoint in outDir/,
      "with their doc comments",
    );
    const open = "simvlm.pretrain(";
    assert.match(
      s.inspect(open, open.length).data["text/plain"]!,
      /^pretrain\(opts: (simvlm\.)?PretrainOptions\): Promise<(simvlm\.)?TrainResult>\n\n/,
      "right after the parenthesis",
    );
    const name = "simvlm.pretrain";
    assert.equal(
      s.inspect(name, name.length).data["text/plain"],
      r.data["text/plain"],
      "the same help as on the bare name",
    );
    const onArg = "simvlm.pretrain({ steps: 1, resume";
    assert.match(
      s.inspect(onArg, onArg.length).data["text/plain"]!,
      /resume\?: boolean/,
      "on a name inside the call: that name",
    );
    assert.equal(s.inspect("1 + 1", 3).found, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
