/**
 * The kernel's message handling without sockets (test/kernel/in-process.ts): execution, the
 * silent / store_history matrix for every iopub type, the counter and history, completion,
 * input_reply matching, the aborted queue. (Errors that escape a cell are tested in a kernel process
 * of their own, errors.test.ts: they reach process-wide handlers that the test runner also has.)
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { InProcessKernel, resultText, types } from "./in-process.ts";

const k = new InProcessKernel();
before(async () => {
  await k.start();
});
after(async () => {
  await k.stop();
});

const history = async () =>
  (
    await k.request("history_request", {
      hist_access_type: "tail",
      n: 1000,
      output: false,
      raw: true,
    })
  ).content.history as [number, number, string][];

describe("execute, without sockets", { timeout: 120_000 }, () => {
  it("runs a cell: busy, execute_input, stream, execute_result, idle; the counter and history advance", async () => {
    const { reply, iopub } = await k.execute(
      "const base: number = 40\nconsole.log('out')\nbase + 2",
    );
    assert.equal(reply.content.status, "ok");
    assert.deepEqual(types(iopub), [
      "status",
      "execute_input",
      "stream",
      "execute_result",
      "status",
    ]);
    assert.equal(resultText(iopub), "42");
    assert.equal(reply.content.execution_count, 1);
    assert.deepEqual((await history()).at(-1), [
      1,
      1,
      "const base: number = 40\nconsole.log('out')\nbase + 2",
    ]);
  });

  it("silent: only status, streams, display/update/clear_output and errors; no execute_input or result; counter and history unchanged", async () => {
    const before = await history();
    const out = await k.execute("console.log('o'); console.error('e'); base + 1", { silent: true });
    assert.deepEqual(types(out.iopub), ["status", "stream", "stream", "status"]);
    assert.equal(out.reply.content.execution_count, 1);
    const shown = await k.execute("display.html('<b>x</b>', { displayId: 'd1' })", {
      silent: true,
    });
    assert.deepEqual(types(shown.iopub), ["status", "display_data", "status"]);
    const updated = await k.execute(
      "display.html('<i>y</i>', { displayId: 'd1', update: true }); clearOutput()",
      { silent: true },
    );
    assert.deepEqual(types(updated.iopub), [
      "status",
      "update_display_data",
      "clear_output",
      "status",
    ]);
    const failed = await k.execute("throw new RangeError('silent failure')", { silent: true });
    assert.deepEqual(types(failed.iopub), ["status", "error", "status"]);
    assert.deepEqual(
      [
        failed.reply.content.status,
        failed.reply.content.ename,
        failed.reply.content.execution_count,
      ],
      ["error", "RangeError", 1],
    );
    const declared = await k.execute("const silentValue = 7", {
      silent: true,
      store_history: true,
    });
    assert.equal(declared.reply.content.execution_count, 1, "silent forces store_history off");
    assert.deepEqual(await history(), before);
    assert.equal(
      resultText((await k.execute("silentValue")).iopub),
      "7",
      "a silent cell still runs",
    );
  });

  it("store_history: false publishes execute_input and the result with the current count, and leaves counter and history alone", async () => {
    const before = await history();
    const count = (await k.execute("0")).reply.content.execution_count as number;
    const h0 = await history();
    const { reply, iopub } = await k.execute("console.log('p'); 2 + 2", { store_history: false });
    assert.deepEqual(types(iopub), [
      "status",
      "execute_input",
      "stream",
      "execute_result",
      "status",
    ]);
    assert.equal(
      iopub.find((m) => m.header.msg_type === "execute_input")!.content.execution_count,
      count,
    );
    assert.equal(
      iopub.find((m) => m.header.msg_type === "execute_result")!.content.execution_count,
      count,
    );
    assert.equal(reply.content.execution_count, count);
    const failed = await k.execute("throw new Error('x')", { store_history: false });
    assert.deepEqual(types(failed.iopub), ["status", "execute_input", "error", "status"]);
    assert.deepEqual(await history(), h0);
    assert.equal(h0.length, before.length + 1);
    assert.equal((await k.execute("1")).reply.content.execution_count, count + 1);
  });

  it("a cell declared under a reused count keeps earlier cells' types (one language-service module per execution)", async () => {
    await k.execute("const typedEarlier: string = 'a'");
    await k.execute("const typedSilent: number = 1", { store_history: false });
    const { reply } = await k.execute("typedEarlier.toUpperCase() + typedSilent.toFixed(0)");
    assert.equal(reply.content.status, "ok", JSON.stringify(reply.content));
  });

  it("a failure aborts the requests already queued (busy, aborted reply, idle; no execute_input) unless it was silent", async () => {
    const failing = await k.send("throw new Error('first')");
    const queued = await k.send("globalThis.ranQueued = true");
    assert.equal((await k.replyOf(failing)).content.status, "error");
    const aborted = await k.replyOf(queued);
    assert.equal(aborted.content.status, "aborted");
    assert.deepEqual(types(await k.iopubOf(queued)), ["status", "status"]);
    const silentFail = await k.send("throw new Error('quiet')", { silent: true });
    const after = await k.send("(globalThis as any).ranQueued ?? 'not run'");
    assert.equal((await k.replyOf(silentFail)).content.status, "error");
    assert.equal((await k.replyOf(after)).content.status, "ok");
    assert.equal(resultText(await k.iopubOf(after)), "'not run'");
  });

  it("completes and answers history requests", async () => {
    await k.execute("const sample = { alpha: 1, alpine: 'x', beta: true }");
    const r = await k.request("complete_request", { code: "sample.al", cursor_pos: 9 });
    assert.deepEqual(
      [
        r.content.status,
        [...r.content.matches].sort(),
        r.content.cursor_start,
        r.content.cursor_end,
      ],
      ["ok", ["alpha", "alpine"], 7, 9],
    );
    const search = await k.request("history_request", {
      hist_access_type: "search",
      pattern: "const sample*",
      output: false,
      raw: true,
    });
    assert.equal(search.content.history.length, 1);
    const withOutput = await k.request("history_request", {
      hist_access_type: "tail",
      n: 1,
      output: true,
      raw: true,
    });
    assert.deepEqual(withOutput.content.history[0][2], [
      "const sample = { alpha: 1, alpine: 'x', beta: true }",
      null,
    ]);
  });
});

describe("input over stdin, without sockets", { timeout: 120_000 }, () => {
  const inputRequests = () => k.sent.filter((s) => s.channel === "stdin").map((s) => s.msg);
  it("an input_reply with an empty parent header answers the one pending input_request (jupyter_client's input())", async () => {
    const seen = inputRequests().length;
    const id = await k.send("const who = await input('who? ');\n`hi ${who}`", {
      allow_stdin: true,
    });
    await k.waitFor(() => inputRequests().length > seen);
    const req = inputRequests().at(-1)!;
    assert.deepEqual(
      [req.header.msg_type, req.content.prompt, req.parent_header.msg_id],
      ["input_request", "who? ", id],
    );
    k.handler.handleStdin(k.message("input_reply", { value: "ada" }, {}));
    assert.equal(resultText(await k.iopubOf(id)), "'hi ada'");
  });
  it("two input() calls at once ask one at a time; replies that match nothing are dropped and logged", async () => {
    const seen = inputRequests().length;
    k.handler.handleStdin(k.message("input_reply", { value: "stray" }, {}));
    assert.match(k.logs.at(-1)!, /dropped an input_reply: no input_request is pending/);
    const id = await k.send(
      "const [a1, a2] = await Promise.all([input('a? '), input('b? ')]);\na1 + a2",
      { allow_stdin: true },
    );
    await k.waitFor(() => inputRequests().length > seen);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      inputRequests().length,
      seen + 1,
      "the second input_request waits for the first answer",
    );
    k.handler.handleStdin(k.message("input_reply", { value: "x" }, { msg_id: "not-a-request" }));
    assert.match(k.logs.at(-1)!, /its parent not-a-request is no pending input_request/);
    k.handler.handleStdin(k.message("input_reply", { value: "1" }, inputRequests().at(-1)!.header));
    await k.waitFor(() => inputRequests().length > seen + 1);
    assert.equal(inputRequests().at(-1)!.content.prompt, "b? ");
    k.handler.handleStdin(k.message("input_reply", { value: "2" }, {}));
    assert.equal(resultText(await k.iopubOf(id)), "'12'");
  });
});

describe("display values, without sockets", { timeout: 120_000 }, () => {
  it("display.plotly sends a Float32Array as an array, in the Plotly JSON and in the HTML", async () => {
    const { iopub } = await k.execute(
      "display.plotly({ data: [{ type: 'scatter', y: new Float32Array([0.5, 0.25, 0.125]) }] })",
    );
    const data = iopub.find((m) => m.header.msg_type === "display_data")!.content.data;
    assert.deepEqual(data["application/vnd.plotly.v1+json"].data[0].y, [0.5, 0.25, 0.125]);
    assert.match(data["text/html"], /"y":\[0\.5,0\.25,0\.125\]/);
  });
});

describe("dynamic import", { timeout: 120_000 }, () => {
  it('resolves dynamic import() in a cell as a static import would ("simvlm" is the library)', async () => {
    const { reply, iopub } = await k.execute(
      "const dyn = await import('simvlm'); const p = await import('node:path'); [typeof dyn.pretrain, p.join('a', 'b')].join(' ')",
    );
    assert.equal(reply.content.status, "ok", JSON.stringify(reply.content));
    assert.equal(resultText(iopub), "'function a/b'");
  });
});
