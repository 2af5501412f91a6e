/**
 * The kernel over the wire, started from the kernelspec `kernel install --prefix TMP` writes:
 * execution and state, output order and volume, errors mapped to cell lines, type errors,
 * display/update_display_data/clear_output, stdin, interrupts (sync and async, message and SIGINT),
 * bad signatures and malformed frames, completion/inspection/is_complete/history/comm, restart,
 * exit when the parent named in JPY_PARENT_PID dies.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec, streamText, TestKernel } from "./client.ts";
import { encode, makeHeader } from "../../kernel/wire.ts";

exitWhenDone();

const ks = installTempKernelspec();
const kernelJson = join(ks.jupyterPath, "kernels", "simvlm", "kernel.json");
after(() => ks.cleanup());

const types = (msgs: { header: { msg_type: string } }[]) => msgs.map((m) => m.header.msg_type);

describe("kernel protocol", { timeout: 300_000 }, () => {
  const k = new TestKernel();
  before(async () => {
    await k.start(kernelJson);
  });
  after(async () => {
    await k.close();
  });

  it("answers kernel_info with language_info and status", async () => {
    const r = await k.request("kernel_info_request", {});
    assert.equal(r.header.msg_type, "kernel_info_reply");
    assert.equal(r.content.status, "ok");
    assert.equal(r.content.protocol_version, "5.3");
    assert.equal(r.content.language_info.name, "typescript");
    assert.equal(r.content.language_info.file_extension, ".ts");
    assert.ok(
      r.content.language_info.version &&
        r.content.language_info.mimetype &&
        r.content.language_info.codemirror_mode,
    );
  });

  it("runs cells with persistent, redeclarable state and an execute_result", async () => {
    const a = await k.execute("const n: number = 20; let s = 'a'");
    assert.equal(a.reply.content.status, "ok");
    assert.deepEqual(types(a.iopub).slice(0, 2), ["status", "execute_input"]);
    const b = await k.execute("n + 22");
    const res = b.iopub.find((m) => m.header.msg_type === "execute_result")!;
    assert.equal(res.content.data["text/plain"], "42");
    assert.equal(res.content.execution_count, b.reply.content.execution_count);
    const c = await k.execute("const n = 'now a string'; n.toUpperCase()");
    assert.equal(
      c.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"],
      "'NOW A STRING'",
    );
    const d = await k.execute(
      "const t = await Promise.resolve(5); function twice(x: number) { return 2 * x }\nclass Box { constructor(public v: number) {} }",
    );
    assert.equal(d.reply.content.status, "ok");
    const e = await k.execute("twice(t) + new Box(1).v");
    assert.equal(
      e.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"],
      "11",
    );
  });

  it("delivers 10,000 printed lines, in order, before idle", async () => {
    const { reply, iopub } = await k.execute(
      "for (let i = 0; i < 10000; i++) console.log(`line ${i}`)",
    );
    assert.equal(reply.content.status, "ok");
    const lines = streamText(iopub).trimEnd().split("\n");
    assert.equal(lines.length, 10000);
    assert.ok(lines.every((l, i) => l === `line ${i}`));
    assert.equal(types(iopub).at(-1), "status");
  });

  it("streams stdout and stderr from console and process writes", async () => {
    const { iopub } = await k.execute(
      "console.log('out'); console.error('err'); process.stdout.write('raw\\n')",
    );
    assert.equal(streamText(iopub, "stdout"), "out\nraw\n");
    assert.equal(streamText(iopub, "stderr"), "err\n");
  });

  it("reports runtime errors with cell line/column, then runs the next request normally", async () => {
    const { reply, iopub } = await k.execute(
      "const ok = 1\nfunction boom() {\n  throw new RangeError('bad ' + ok)\n}\nboom()",
    );
    assert.equal(reply.content.status, "error");
    assert.equal(reply.content.ename, "RangeError");
    const err = iopub.find((m) => m.header.msg_type === "error")!;
    assert.equal(err.content.evalue, "bad 1");
    const tb = (err.content.traceback as string[]).join("\n");
    assert.match(tb, /at boom \(cell\[\d+\]:3:9\)/);
    assert.match(tb, /cell\[\d+\]:5:/);
    const next = await k.execute("ok + 1");
    assert.equal(next.reply.content.status, "ok");
  });

  it("reports type errors (and does not run the cell)", async () => {
    const { reply, iopub } = await k.execute("globalThis.ranTyped = true\nconst bad: number = 'x'");
    assert.equal(reply.content.status, "error");
    const err = iopub.find((m) => m.header.msg_type === "error")!;
    assert.equal(err.content.ename, "TypeScriptError");
    assert.match(err.content.evalue, /:2:7 .*not assignable to type 'number'/);
    const check = await k.execute("(globalThis as any).ranTyped === undefined");
    assert.equal(
      check.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"],
      "true",
    );
  });

  it('imports the library as "simvlm" and tslab\'s display API', async () => {
    const { reply, iopub } = await k.execute(
      "import { Rng } from 'simvlm'\nimport * as tslab from 'tslab'\ntslab.display.html('<i>x</i>')\nnew Rng(3).next() < 1",
    );
    assert.equal(reply.content.status, "ok", JSON.stringify(reply.content));
    assert.ok(
      iopub.some(
        (m) => m.header.msg_type === "display_data" && m.content.data["text/html"] === "<i>x</i>",
      ),
    );
  });

  it("displays, updates a display in place, and clears output", async () => {
    const { iopub } = await k.execute(
      "display.text('a', { displayId: 'p' }); display.text('b', { displayId: 'p', update: true }); clearOutput(true); display.json({ k: 1 })",
    );
    const upd = iopub.find((m) => m.header.msg_type === "update_display_data")!;
    assert.equal(upd.content.transient.display_id, "p");
    assert.equal(upd.content.data["text/plain"], "b");
    assert.ok(iopub.some((m) => m.header.msg_type === "clear_output" && m.content.wait === true));
    assert.ok(
      iopub.some(
        (m) => m.header.msg_type === "display_data" && m.content.data["application/json"]?.k === 1,
      ),
    );
  });

  it("renders values with Symbol.for('Jupyter.display') and Plotly figures offline-capable", async () => {
    const { iopub } = await k.execute(
      "({ [Symbol.for('Jupyter.display')]() { return { 'application/vnd.plotly.v1+json': { data: [{ y: [1, 3, 2] }], layout: { title: 'T' } } } } })",
    );
    const res = iopub.find((m) => m.header.msg_type === "execute_result")!;
    assert.ok(res.content.data["application/vnd.plotly.v1+json"]);
    assert.match(res.content.data["text/html"], /Plotly\.newPlot/);
    assert.doesNotMatch(
      res.content.data["text/html"],
      /window\.Plotly = Plotly/,
      "the figure itself stays small",
    );
    assert.ok(JSON.stringify(res.content.data).length < 300_000);
    assert.match(res.content.data["text/plain"], /Plotly figure "T"/);
    // Right after the session's first figure, one output of its own defines plotly.js for offline pages.
    const after = iopub
      .slice(iopub.indexOf(res) + 1)
      .filter((m) => m.header.msg_type === "display_data");
    assert.equal(after.length, 1);
    assert.match(after[0]!.content.data["text/html"], /window\.Plotly = Plotly/);
    assert.match(after[0]!.content.data["text/html"], /plotly\.js \(cartesian/);
    const again = await k.execute("display.plotly({ data: [{ type: 'bar', y: [1] }] })");
    const shown = again.iopub.filter((m) => m.header.msg_type === "display_data");
    assert.equal(shown.length, 1, "plotly.js only once per session");
    assert.doesNotMatch(shown[0]!.content.data["text/html"], /window\.Plotly = Plotly/);
    assert.ok(JSON.stringify(shown[0]!.content.data).length < 300_000);
  });

  it("shows a progress display updated in place through the ambient run context", async () => {
    const { iopub } = await k.execute(
      "import { startProgress } from 'simvlm'\nconst pr = startProgress('train', 3)\nfor (let i = 1; i <= 3; i++) pr.update({ step: i, message: `loss ${i}` })\npr.done('ok')",
    );
    const first = iopub.find((m) => m.header.msg_type === "display_data")!;
    const id = first.content.transient.display_id;
    const updates = iopub.filter(
      (m) => m.header.msg_type === "update_display_data" && m.content.transient.display_id === id,
    );
    assert.ok(updates.length >= 1);
    assert.match(updates.at(-1)!.content.data["text/plain"], /3\/3.*ok/);
    assert.doesNotMatch(
      updates.at(-1)!.content.data["text/html"],
      /<progress/,
      "a finished call collapses to one summary line, no bar",
    );
    assert.match(
      updates.at(-2)?.content.data["text/html"] ?? first.content.data["text/html"],
      /<progress/,
      "a running one shows its bar",
    );
  });

  it("reads input over stdin, and refuses clearly when stdin is not allowed", async () => {
    const id = await k.send("execute_request", {
      code: "const who = await input('who? ');\n`hi ${who}`",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: true,
      stop_on_error: true,
    });
    const frames = await Promise.race([
      k.stdin.receive(),
      k.waitReply(id).then((r) => {
        throw new Error(`no input_request: ${JSON.stringify(r.content)}`);
      }),
    ]);
    const { decode } = await import("../../kernel/wire.ts");
    const req = decode(frames as Buffer[], k.signer);
    assert.equal(req.header.msg_type, "input_request");
    assert.equal(req.content.prompt, "who? ");
    const rep = k.message("input_reply", { value: "ada" });
    rep.parent_header = req.header;
    await k.stdin.send(encode(rep, k.signer));
    await k.waitReply(id);
    const out = await k.outputsOf(id);
    assert.equal(
      out.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"],
      "'hi ada'",
    );
    const denied = await k.execute("await input('x')", { allow_stdin: false });
    assert.equal(denied.reply.content.status, "error");
    assert.match(denied.reply.content.evalue, /does not accept input/);
  });

  it("stops a busy synchronous loop on interrupt_request, keeping state", async () => {
    await k.execute("let keep = 'kept'");
    const id = await k.send("execute_request", {
      code: "let spins = 0\nconsole.log('go')\nwhile (true) { spins++ }",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    await k.waitIopub((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream");
    await new Promise((r) => setTimeout(r, 200));
    const ir = await k.request("interrupt_request", {}, "control");
    assert.equal(ir.content.status, "ok");
    const reply = await k.waitReply(id);
    assert.equal(reply.content.status, "error");
    assert.equal(reply.content.ename, "InterruptError");
    const after = await k.execute("keep + (spins > 0)");
    assert.equal(after.reply.content.status, "ok", JSON.stringify(after.reply.content));
    assert.equal(
      after.iopub.find((m) => m.header.msg_type === "execute_result")!.content.data["text/plain"],
      "'kepttrue'",
    );
  });

  it("stops a busy loop after an await (cell-defined function) on interrupt", async () => {
    const id = await k.send("execute_request", {
      code: "function spin() { for (;;) {} }\nawait new Promise((r) => setTimeout(r, 10))\nconsole.log('go')\nspin()",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    await k.waitIopub((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream");
    await new Promise((r) => setTimeout(r, 200));
    await k.request("interrupt_request", {}, "control");
    assert.equal((await k.waitReply(id)).content.status, "error");
    assert.equal((await k.execute("1 + 1")).reply.content.status, "ok");
  });

  it("really stops an async loop on interrupt (it does not run on in the background)", async () => {
    const id = await k.send("execute_request", {
      code: "let ticks = 0\nwhile (true) { if (++ticks === 1) console.log('go'); await new Promise((r) => setTimeout(r, 20)) }",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    await k.waitIopub((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream");
    await new Promise((r) => setTimeout(r, 200));
    await k.request("interrupt_request", {}, "control");
    assert.equal((await k.waitReply(id)).content.status, "error");
    const t1 = Number(
      (await k.execute("ticks")).iopub.find((m) => m.header.msg_type === "execute_result")!.content
        .data["text/plain"],
    );
    await new Promise((r) => setTimeout(r, 300));
    const t2 = Number(
      (await k.execute("ticks")).iopub.find((m) => m.header.msg_type === "execute_result")!.content
        .data["text/plain"],
    );
    assert.ok(t1 > 0);
    assert.equal(t2, t1, "the loop kept running after the interrupt");
  });

  it("stops a library loop through the ambient abort signal, at a step boundary", async () => {
    const code =
      "import { getRunContext, throwIfAborted } from 'simvlm'\nlet steps = 0\nconst sig = getRunContext().signal\n" +
      "async function train() { for (;;) { throwIfAborted(sig, 'training'); if (++steps === 1) console.log('go'); await new Promise((r) => setImmediate(r)) } }\nawait train()";
    const id = await k.send("execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    await k.waitIopub((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream");
    await k.request("interrupt_request", {}, "control");
    const reply = await k.waitReply(id);
    assert.equal(reply.content.status, "error");
    assert.equal(
      (await k.execute("steps > 0")).iopub.find((m) => m.header.msg_type === "execute_result")!
        .content.data["text/plain"],
      "true",
    );
  });

  it("stops a synchronous loop on SIGINT too", async () => {
    const id = await k.send("execute_request", {
      code: "console.log('go'); while (true) {}",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    await k.waitIopub((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream");
    await new Promise((r) => setTimeout(r, 100));
    k.proc.kill("SIGINT");
    assert.equal((await k.waitReply(id)).content.status, "error");
    assert.equal((await k.execute("keep")).reply.content.status, "ok");
  });

  it("drops messages with a bad or missing signature and survives malformed frames", async () => {
    const m = k.message("execute_request", {
      code: "globalThis.hacked = true",
      silent: false,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
    });
    // Fresh frames per send: zeromq takes ownership of the buffers it sends.
    const withSignature = (sig: Buffer) => {
      const frames = encode(m, k.signer);
      frames[frames.findIndex((f) => f.toString() === "<IDS|MSG>") + 1] = sig;
      return frames;
    };
    await k.sendRaw("shell", withSignature(Buffer.from("0".repeat(64))));
    await k.sendRaw("shell", withSignature(Buffer.alloc(0)));
    await k.sendRaw("shell", [Buffer.from("garbage")]);
    await k.sendRaw("shell", [Buffer.from("<IDS|MSG>"), Buffer.from("x")]);
    const h = Buffer.from(JSON.stringify(makeHeader("execute_request", "s")));
    await k.sendRaw("shell", [
      Buffer.from("<IDS|MSG>"),
      Buffer.from(k.signer.sign([h, Buffer.from("{"), Buffer.from("{}"), Buffer.from("{}")])),
      h,
      Buffer.from("{"),
      Buffer.from("{}"),
      Buffer.from("{}"),
    ]);
    const r = await k.execute("(globalThis as any).hacked === undefined");
    assert.equal(
      r.iopub.find((x) => x.header.msg_type === "execute_result")!.content.data["text/plain"],
      "true",
    );
    for (let i = 0; i < 50 && !/missing signature/.test(k.stderr); i++)
      await new Promise((res) => setTimeout(res, 100));
    assert.match(k.stderr, /bad signature/);
    assert.match(k.stderr, /missing signature/);
    assert.match(k.stderr, /no <IDS\|MSG> delimiter/);
    assert.match(k.stderr, /not a JSON object/);
  });

  it("completes with types and correct cursor positions", async () => {
    await k.execute("const sample = { alpha: 1, alpine: 'x', beta: true }");
    const code = "sample.al";
    const r = await k.request("complete_request", { code, cursor_pos: code.length });
    assert.equal(r.content.status, "ok");
    assert.deepEqual([...r.content.matches].sort(), ["alpha", "alpine"]);
    assert.equal(r.content.cursor_start, 7);
    assert.equal(r.content.cursor_end, 9);
    const r2 = await k.request("complete_request", { code: "'é😀'.toUpp", cursor_pos: 10 });
    assert.ok(r2.content.matches.includes("toUpperCase"));
    assert.equal(r2.content.cursor_start, 5, "cursor positions count code points");
  });

  it("inspects with type and doc comment", async () => {
    await k.execute(
      "/** Adds one to a number. */\nfunction addOne(x: number): number { return x + 1 }",
    );
    const r = await k.request("inspect_request", {
      code: "addOne(2)",
      cursor_pos: 3,
      detail_level: 0,
    });
    assert.equal(r.content.status, "ok");
    assert.equal(r.content.found, true);
    assert.match(r.content.data["text/plain"], /addOne\(x: number\): number/);
    assert.doesNotMatch(r.content.data["text/plain"], /alias|import/);
    assert.match(r.content.data["text/plain"], /Adds one/);
  });

  it("answers is_complete, history, comm_info and comm_open", async () => {
    const st = async (code: string) =>
      (await k.request("is_complete_request", { code })).content.status;
    assert.equal(await st("let a = 1"), "complete");
    assert.equal(await st("function f() {"), "incomplete");
    assert.equal(await st("let = ;"), "invalid");
    const h = await k.request("history_request", {
      hist_access_type: "tail",
      n: 2,
      output: false,
      raw: true,
    });
    assert.equal(h.content.history.length, 2);
    const s = await k.request("history_request", {
      hist_access_type: "search",
      pattern: "*addOne*",
      output: false,
      raw: true,
    });
    assert.ok(s.content.history.length >= 1);
    const ci = await k.request("comm_info_request", {});
    assert.equal(ci.header.msg_type, "comm_info_reply");
    assert.deepEqual(ci.content, { status: "ok", comms: {} });
    const openId = await k.send("comm_open", { comm_id: "c1", target_name: "nothing", data: {} });
    const close = await k.waitIopub(
      (m) => m.parent_header.msg_id === openId && m.header.msg_type === "comm_close",
    );
    assert.equal(close.content.comm_id, "c1");
  });
});

describe("kernel restart", { timeout: 300_000 }, () => {
  it("exits on shutdown_request with restart (the manager starts a new process)", async () => {
    const k = new TestKernel();
    try {
      await k.start(kernelJson);
      const exited = new Promise<number | null>((r) => k.proc.once("exit", (code) => r(code)));
      const r = await k.request("shutdown_request", { restart: true }, "control");
      assert.deepEqual(r.content, { status: "ok", restart: true });
      assert.equal(await exited, 0);
      const k2 = new TestKernel();
      try {
        await k2.start(kernelJson);
        assert.equal(
          (await k2.execute("typeof (globalThis as any).keep")).iopub.find(
            (m) => m.header.msg_type === "execute_result",
          )!.content.data["text/plain"],
          "'undefined'",
        );
      } finally {
        await k2.close();
      }
    } finally {
      await k.close();
    }
  });

  it("exits when the process named in JPY_PARENT_PID (the Jupyter server that started it) dies", async () => {
    // A stand-in parent: jupyter_client sets JPY_PARENT_PID to the server's pid; a hard-killed
    // server cannot shut its kernels down.
    const parent = spawn("sleep", ["600"], { stdio: "ignore" });
    const k = new TestKernel();
    process.env.JPY_PARENT_PID = String(parent.pid);
    try {
      await k.start(kernelJson);
      delete process.env.JPY_PARENT_PID;
      assert.equal((await k.execute("1 + 1")).reply.content.status, "ok");
      const exited = new Promise<string>((r) =>
        k.proc.once("exit", (code, sig) => r(`${code} ${sig}`)),
      );
      parent.kill("SIGKILL");
      const how = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r("still running"), 20_000)),
      ]);
      assert.notEqual(how, "still running", "the kernel outlived its parent");
      assert.match(k.stderr, /pid \d+\) is gone: exiting/);
    } finally {
      delete process.env.JPY_PARENT_PID;
      parent.kill("SIGKILL");
      await k.close();
    }
  });
});
