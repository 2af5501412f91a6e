/** Unit tests of the kernel's pure parts: wire signing/decoding, history queries, cell conversion, plotly HTML. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import vm from "node:vm";
import type * as TS from "typescript";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  decode,
  encode,
  makeMessage,
  readConnectionFile,
  Signer,
  validateConnection,
  WireError,
} from "../../kernel/wire.ts";
import { readRequest } from "../../kernel/handler.ts";
import { formatError, mappedCellCount, registerCell } from "../../kernel/traceback.ts";
import { UserError } from "../../lib/errors.ts";
import { History } from "../../kernel/history.ts";
import { convertCell } from "../../kernel/converter.ts";
import { plotlyFigureHtml, plotlyStandaloneHtml } from "../../lib/display/plotly.ts";

const ts = createRequire(import.meta.url)("typescript") as typeof TS;

describe("wire", () => {
  const signer = new Signer("secret");
  const msg = makeMessage("execute_request", { code: "1" }, "sess", undefined, {
    identities: [Buffer.from("peer")],
  });
  it("round-trips a signed message with identities and buffers", () => {
    const frames = encode({ ...msg, buffers: [Buffer.from([1, 2])] }, signer);
    const back = decode(frames, signer);
    assert.deepEqual(back.identities.map(String), ["peer"]);
    assert.equal(back.header.msg_type, "execute_request");
    assert.deepEqual(back.content, { code: "1" });
    assert.deepEqual([...back.buffers[0]!], [1, 2]);
  });
  it("rejects bad, missing and foreign signatures, and malformed frames, with WireError", () => {
    const frames = encode(msg, signer);
    const i = frames.findIndex((f) => f.toString() === "<IDS|MSG>");
    const tamper = (f: Buffer[]) => f;
    assert.throws(
      () =>
        decode(
          tamper([...frames.slice(0, i + 1), Buffer.from("x".repeat(64)), ...frames.slice(i + 2)]),
          signer,
        ),
      /bad signature/,
    );
    assert.throws(
      () => decode([...frames.slice(0, i + 1), Buffer.alloc(0), ...frames.slice(i + 2)], signer),
      /missing signature/,
    );
    assert.throws(() => decode(frames, new Signer("other")), WireError);
    assert.throws(() => decode([Buffer.from("x")], signer), /delimiter/);
    assert.throws(() => decode(frames.slice(0, i + 3), signer), /too few frames/);
    const content = frames.slice();
    content[i + 5] = Buffer.from("[1]");
    content[i + 1] = Buffer.from(signer.sign(content.slice(i + 2, i + 6)));
    assert.throws(() => decode(content, signer), /content is not a JSON object/);
  });
  it("accepts unsigned messages only when the key is empty", () => {
    const open = new Signer("");
    assert.equal(decode(encode(msg, open), open).header.msg_type, "execute_request");
  });
  it("reads a connection file once, every failure a WireError (a UserError) naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "simvlm-conn-"));
    try {
      const file = join(dir, "c.json");
      assert.throws(
        () => readConnectionFile(file),
        (e: Error) =>
          e instanceof WireError &&
          e instanceof UserError &&
          e.message.startsWith(`${file}: cannot read`),
      );
      writeFileSync(file, "{oops");
      assert.throws(
        () => readConnectionFile(file),
        (e: Error) => e instanceof WireError && e.message.startsWith(`${file}: not JSON`),
      );
      writeFileSync(
        file,
        JSON.stringify({
          ip: "127.0.0.1",
          shell_port: 1,
          control_port: 2,
          iopub_port: 3,
          stdin_port: 4,
          hb_port: 5,
          key: "k",
        }),
      );
      assert.deepEqual(
        [readConnectionFile(file).transport, readConnectionFile(file).signature_scheme],
        ["tcp", "hmac-sha256"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("validates connection files, naming the bad field", () => {
    assert.throws(
      () => validateConnection({ ip: "127.0.0.1", shell_port: "x" }, "conn.json"),
      /conn\.json: "shell_port"/,
    );
    assert.throws(
      () =>
        validateConnection({
          ip: "1",
          shell_port: 1,
          control_port: 2,
          iopub_port: 3,
          stdin_port: 4,
          hb_port: 5,
          key: "k",
          signature_scheme: "hmac-md5",
        }),
      /hmac-md5/,
    );
  });
});

describe("requests as read", () => {
  it("fill the protocol's defaults; silent forces store_history off", () => {
    assert.deepEqual(readRequest("execute_request", { code: "1" }), {
      type: "execute_request",
      content: {
        code: "1",
        silent: false,
        store_history: true,
        allow_stdin: true,
        stop_on_error: true,
        user_expressions: {},
      },
    });
    assert.deepEqual(
      readRequest("execute_request", {
        code: "1",
        silent: true,
        store_history: true,
        user_expressions: { a: "x", b: 2 },
      })!.content,
      {
        code: "1",
        silent: true,
        store_history: false,
        allow_stdin: true,
        stop_on_error: true,
        user_expressions: { a: "x", b: "2" },
      },
    );
    assert.deepEqual(readRequest("complete_request", { code: "é😀" }), {
      type: "complete_request",
      content: { code: "é😀", cursor_pos: 2 },
    });
    assert.deepEqual(readRequest("input_reply", {}), {
      type: "input_reply",
      content: { value: "" },
    });
    assert.equal(readRequest("debug_request", {}), undefined);
  });
});

describe("tracebacks", () => {
  it("keep the source maps of the last 1,000 cells; older frames read cell[?]", () => {
    const code = {
      js: "(async () => {\nthrow new Error('x')\n})()",
      lineOffset: 1,
      editMap: {
        version: 3,
        file: "",
        sourceRoot: "",
        sources: ["c"],
        sourcesContent: [],
        names: [],
        mappings: "AAAA",
      },
      sourceMap: undefined,
    };
    for (let id = 900_001; id <= 901_200; id++) registerCell(id, id, code);
    assert.equal(mappedCellCount(), 1000);
    const err = new Error("old");
    err.stack = "Error: old\n    at cell-900001:2:1\n    at cell-901200:2:1";
    assert.deepEqual(
      formatError(err).traceback.slice(1),
      ["    at cell[?]", "    at cell[901200]:1"],
      "(no transpiler map here: the line only)",
    );
  });
});

describe("history", () => {
  const h = new History();
  ["a = 1", "b = 2", "a + b", "a = 1"].forEach((c, i) =>
    h.add(i + 1, c, i === 2 ? "3" : undefined),
  );
  it("tail, range, search with unique and n", () => {
    assert.deepEqual(h.query({ hist_access_type: "tail", n: 2 }), [
      [1, 3, "a + b"],
      [1, 4, "a = 1"],
    ]);
    assert.deepEqual(
      h.query({ hist_access_type: "range", session: 1, start: 2, stop: 3, output: true }),
      [[1, 2, ["b = 2", null]]],
    );
    assert.equal(h.query({ hist_access_type: "search", pattern: "a*" }).length, 3);
    assert.deepEqual(h.query({ hist_access_type: "search", pattern: "a = ?", unique: true }), [
      [1, 4, "a = 1"],
    ]);
  });
});

describe("converter", () => {
  const run = (code: string) =>
    vm.runInThisContext(convertCell(ts, code).js) as Promise<{ value: unknown } | undefined>;
  (globalThis as any).__simvlm ??= { tick() {}, import: (s: string) => import(s) };
  it("turns declarations into globals that later cells can redeclare", async () => {
    await run("const convA: number = 1; function convF(x: number) { return x + convA }");
    assert.deepEqual(await run("convF(1)"), { value: 2 });
    await run("const convA = 'str'");
    assert.deepEqual(await run("convA"), { value: "str" });
    assert.deepEqual(await run("class ConvK { v = 3 }\nnew ConvK().v"), { value: 3 });
  });
  it("supports top-level await, destructuring and imports", async () => {
    assert.deepEqual(
      await run(
        "const { convX, convY: [convZ] } = await Promise.resolve({ convX: 1, convY: [2] })\nconvX + convZ",
      ),
      { value: 3 },
    );
    assert.deepEqual(
      await run("import { join as convJoin } from 'node:path'\nconvJoin('a', 'b')"),
      { value: "a/b" },
    );
  });
  it("sends dynamic import() through the kernel's resolver", async () => {
    const js = convertCell(ts, "const m = await import('node:path'); m.join('a', 'b')").js;
    assert.match(js, /__simvlm\.import\('node:path'\)/);
    assert.deepEqual(
      await run("const convDyn = await import('node:path'); convDyn.join('a', 'b')"),
      {
        value: "a/b",
      },
    );
  });
  it("keeps no result for statements and reports syntax errors with positions", async () => {
    assert.equal(await run("let convQ = 1"), undefined);
    const bad = convertCell(ts, "let x = 1\nlet = ;");
    assert.equal(bad.syntaxErrors[0]!.line, 1);
  });
  it("keeps loops inside initializers and exported declarations intact (edits never overlap)", async () => {
    const code =
      "const convL = [1, 2].map((x) => { let s = 0; for (let i = 0; i < x; i++) s += i; return s }), convM = 3\nexport const convE = 1\nexport function convEF() { return 2 }\nexport class ConvEC { v = 4 }\nconvL.concat([convM, convE, convEF(), new ConvEC().v])";
    assert.equal(convertCell(ts, code).js.match(/__simvlm\.tick\(\)/g)!.length, 1);
    assert.deepEqual(await run(code), { value: [0, 1, 3, 1, 2, 4] });
  });
  it("guards every loop body", () => {
    const js = convertCell(
      ts,
      "for (;;) break\nwhile (false) {}\ndo {} while (false)\nfor (const x of []) x",
    ).js;
    assert.equal(js.match(/__simvlm\.tick\(\)/g)!.length, 4);
  });
});

describe("plotly html", () => {
  const fig = { data: [{ y: [1, 2] }], layout: { title: "</script><b>" } };
  it("escapes figure data inside the script", () => {
    const html = plotlyFigureHtml(fig);
    assert.equal(html.match(/<\/script>/g)!.length, 1);
    // A few KB: the drawing script, with the code that stores a live figure's picture (~2.5 KB).
    assert.ok(html.length < 6000, `${html.length} characters`);
  });
  it("writes a standalone page with plotly.js inline", () => {
    const page = plotlyStandaloneHtml(fig, "A & B");
    assert.match(page, /<title>A &amp; B<\/title>/);
    assert.match(page, /window\.Plotly = Plotly/);
    assert.throws(() => plotlyStandaloneHtml({} as never), /"data" array/);
  });
});
