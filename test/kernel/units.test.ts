/** Unit tests of the kernel's pure parts: wire signing/decoding, history queries, cell conversion, plotly HTML. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import vm from "node:vm";
import type * as TS from "typescript";
import { decode, encode, makeMessage, Signer, validateConnection, WireError } from "../../kernel/wire.ts";
import { History } from "../../kernel/history.ts";
import { convertCell } from "../../kernel/converter.ts";
import { plotlyFigureHtml, plotlyStandaloneHtml } from "../../lib/display/plotly.ts";

const ts = createRequire(import.meta.url)("typescript") as typeof TS;

describe("wire", () => {
  const signer = new Signer("secret");
  const msg = makeMessage("execute_request", { code: "1" }, "sess", undefined, { identities: [Buffer.from("peer")] });
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
    assert.throws(() => decode(tamper([...frames.slice(0, i + 1), Buffer.from("x".repeat(64)), ...frames.slice(i + 2)]), signer), /bad signature/);
    assert.throws(() => decode([...frames.slice(0, i + 1), Buffer.alloc(0), ...frames.slice(i + 2)], signer), /missing signature/);
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
  it("validates connection files, naming the bad field", () => {
    assert.throws(() => validateConnection({ ip: "127.0.0.1", shell_port: "x" }, "conn.json"), /conn\.json: "shell_port"/);
    assert.throws(() => validateConnection({ ip: "1", shell_port: 1, control_port: 2, iopub_port: 3, stdin_port: 4, hb_port: 5, key: "k", signature_scheme: "hmac-md5" }), /hmac-md5/);
  });
});

describe("history", () => {
  const h = new History("s");
  ["a = 1", "b = 2", "a + b", "a = 1"].forEach((c, i) => h.add(i + 1, c, i === 2 ? "3" : undefined));
  it("tail, range, search with unique and n", () => {
    assert.deepEqual(h.query({ hist_access_type: "tail", n: 2 }), [[1, 3, "a + b"], [1, 4, "a = 1"]]);
    assert.deepEqual(h.query({ hist_access_type: "range", session: 1, start: 2, stop: 3, output: true }), [[1, 2, ["b = 2", null]]]);
    assert.equal(h.query({ hist_access_type: "search", pattern: "a*" }).length, 3);
    assert.deepEqual(h.query({ hist_access_type: "search", pattern: "a = ?", unique: true }), [[1, 4, "a = 1"]]);
  });
});

describe("converter", () => {
  const run = (code: string) => vm.runInThisContext(convertCell(ts, code).js) as Promise<{ value: unknown } | undefined>;
  (globalThis as any).__simvlm ??= { tick() {}, import: (s: string) => import(s) };
  it("turns declarations into globals that later cells can redeclare", async () => {
    await run("const convA: number = 1; function convF(x: number) { return x + convA }");
    assert.deepEqual(await run("convF(1)"), { value: 2 });
    await run("const convA = 'str'");
    assert.deepEqual(await run("convA"), { value: "str" });
    assert.deepEqual(await run("class ConvK { v = 3 }\nnew ConvK().v"), { value: 3 });
  });
  it("supports top-level await, destructuring and imports", async () => {
    assert.deepEqual(await run("const { convX, convY: [convZ] } = await Promise.resolve({ convX: 1, convY: [2] })\nconvX + convZ"), { value: 3 });
    assert.deepEqual(await run("import { join as convJoin } from 'node:path'\nconvJoin('a', 'b')"), { value: "a/b" });
  });
  it("keeps no result for statements and reports syntax errors with positions", async () => {
    assert.equal(await run("let convQ = 1"), undefined);
    const bad = convertCell(ts, "let x = 1\nlet = ;");
    assert.equal(bad.syntaxErrors[0]!.line, 1);
  });
  it("keeps loops inside initializers and exported declarations intact (edits never overlap)", async () => {
    const code = "const convL = [1, 2].map((x) => { let s = 0; for (let i = 0; i < x; i++) s += i; return s }), convM = 3\nexport const convE = 1\nexport function convEF() { return 2 }\nexport class ConvEC { v = 4 }\nconvL.concat([convM, convE, convEF(), new ConvEC().v])";
    assert.equal(convertCell(ts, code).js.match(/__simvlm\.tick\(\)/g)!.length, 1);
    assert.deepEqual(await run(code), { value: [0, 1, 3, 1, 2, 4] });
  });
  it("guards every loop body", () => {
    const js = convertCell(ts, "for (;;) break\nwhile (false) {}\ndo {} while (false)\nfor (const x of []) x").js;
    assert.equal(js.match(/__simvlm\.tick\(\)/g)!.length, 4);
  });
});

describe("plotly html", () => {
  const fig = { data: [{ y: [1, 2] }], layout: { title: "</script><b>" } };
  it("escapes figure data inside the script", () => {
    const html = plotlyFigureHtml(fig);
    assert.equal(html.match(/<\/script>/g)!.length, 1);
    assert.ok(html.length < 5000);
  });
  it("writes a standalone page with plotly.js inline", () => {
    const page = plotlyStandaloneHtml(fig, "A & B");
    assert.match(page, /<title>A &amp; B<\/title>/);
    assert.match(page, /window\.Plotly = Plotly/);
    assert.throws(() => plotlyStandaloneHtml({} as never), /"data" array/);
  });
});
