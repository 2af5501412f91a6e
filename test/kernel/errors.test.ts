/**
 * Every way an error can escape a cell — a synchronous throw, a throw after an await, a rejection
 * nobody handles, a throw in a timer or an event handler, a throw in a display method — is reported
 * at the cell's own line and column (`cell[N]:line:col`, N its execution count), without kernel
 * frames. Run in a kernel process (the error handlers are process-wide).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec, streamText, TestKernel } from "./client.ts";

exitWhenDone();

const ks = installTempKernelspec();
after(() => ks.cleanup());
const k = new TestKernel();
before(async () => {
  await k.start(join(ks.jupyterPath, "kernels", "simvlm", "kernel.json"));
});
after(async () => {
  await k.close();
});

const types = (msgs: { header: { msg_type: string } }[]) => msgs.map((m) => m.header.msg_type);
const resultText = (msgs: { header: { msg_type: string }; content: Record<string, any> }[]) =>
  msgs.find((m) => m.header.msg_type === "execute_result")?.content.data["text/plain"] as
    string | undefined;
const stderrOf = (msgs: Parameters<typeof streamText>[0]) => streamText(msgs, "stderr");

describe(
  "errors that escape a cell point at the cell's own line and column",
  { timeout: 300_000 },
  () => {
    const noKernelFrames = (text: string) => {
      assert.doesNotMatch(text, /kernel\/|node:|tsx|cell-\d/, text);
      return text;
    };
    const errorOf = async (code: string) => {
      const { reply, iopub } = await k.execute(code);
      const error = iopub.find((m) => m.header.msg_type === "error");
      assert.ok(error, `no error for ${JSON.stringify(code)}`);
      assert.equal(reply.content.status, "error");
      return {
        count: reply.content.execution_count as number,
        traceback: noKernelFrames((error.content.traceback as string[]).join("\n")),
      };
    };
    it("a synchronous throw", async () => {
      const { count, traceback } = await errorOf(
        "const s1 = 1\nconst s2 = 2\nthrow new Error('S')",
      );
      assert.match(traceback, new RegExp(`Error\\x1b\\[0m: S\\n    at cell\\[${count}\\]:3:7$`));
    });
    it("a throw after an await, and one inside a declaration's initializer (an edited line)", async () => {
      const a = await errorOf(
        "await null\nconst v: number = (() => { throw new TypeError('A') })()",
      );
      assert.match(
        a.traceback,
        new RegExp(
          `TypeError\\x1b\\[0m: A\\n    at cell\\[${a.count}\\]:2:34\\n    at cell\\[${a.count}\\]:2:55$`,
        ),
      );
    });
    it("a cell's last expression that throws, and a loop body inside an initializer", async () => {
      const { count, traceback } = await errorOf(
        "const xs = [1, 2].map((x) => { for (let i = 0; i < 1; i++) {} return x })\nxs.map((x) => { throw new Error('L' + x) })",
      );
      assert.match(traceback, new RegExp(`at cell\\[${count}\\]:2:23`));
    });
    it("a rejection nobody handles, on the cell's third line, is reported inside the cell", async () => {
      const { reply, iopub } = await k.execute(
        "const r1 = 1\nconst r2 = 2\nPromise.reject(new Error(\"E\"))\n'after'",
      );
      assert.equal(reply.content.status, "ok");
      const stderr = noKernelFrames(stderrOf(iopub));
      assert.equal(
        stderr,
        `Uncaught (in promise) \x1b[31mError\x1b[0m: E\n    at cell[${reply.content.execution_count}]:3:16\n`,
      );
      assert.ok(
        types(iopub).indexOf("stream") < types(iopub).lastIndexOf("status"),
        "before the cell's idle",
      );
    });
    it("a rejected promise as a cell's value shows mapped frames and no async bookkeeping", async () => {
      const { reply, iopub } = await k.execute("Promise.reject(new Error('V'))");
      assert.equal(
        resultText(iopub),
        `Promise {\n  <rejected> Error: V\n      at cell[${reply.content.execution_count}]:1:16\n}`,
      );
    });
    it("an error thrown in a timer", async () => {
      const { reply, iopub } = await k.execute(
        "setTimeout(() => {\n  throw new Error('T')\n}, 5)\nawait new Promise((r) => setTimeout(r, 50))",
      );
      assert.equal(
        noKernelFrames(stderrOf(iopub)),
        `Uncaught \x1b[31mError\x1b[0m: T\n    at cell[${reply.content.execution_count}]:2:9\n`,
      );
    });
    it("an error thrown in event handlers (EventEmitter and EventTarget)", async () => {
      const emitter = await k.execute(
        "import { EventEmitter } from 'node:events'\nconst ee = new EventEmitter()\nee.on('go', () => { throw new Error('H') })\nsetTimeout(() => ee.emit('go'), 5)\nawait new Promise((r) => setTimeout(r, 50))",
      );
      assert.match(
        noKernelFrames(stderrOf(emitter.iopub)),
        new RegExp(
          `^Uncaught \\x1b\\[31mError\\x1b\\[0m: H\\n    at EventEmitter.<anonymous> \\(cell\\[${emitter.reply.content.execution_count}\\]:3:27\\)`,
        ),
      );
      const target = await k.execute(
        "const ac = new AbortController()\nac.signal.addEventListener('abort', () => { throw new Error('L') })\nac.abort()",
      );
      assert.match(
        noKernelFrames(stderrOf(target.iopub)),
        new RegExp(
          `Error\\x1b\\[0m: L\\n    at EventTarget.<anonymous> \\(cell\\[${target.reply.content.execution_count}\\]:2:51\\)`,
        ),
      );
    });
    it("an error thrown by a display method, shown with display() or as the cell's value", async () => {
      const shown = await errorOf(
        "const bad = { [Symbol.for('Jupyter.display')]() {\n  throw new Error('D')\n} }\ndisplay(bad)",
      );
      assert.match(
        shown.traceback,
        new RegExp(
          `D\\n    at \\[Jupyter.display\\] \\(cell\\[${shown.count}\\]:2:9\\)\\n    at cell\\[${shown.count}\\]:4:1$`,
        ),
      );
      const value = await errorOf(
        "({ [Symbol.for('Jupyter.display')]() { throw new Error('D2') } })",
      );
      assert.match(
        value.traceback,
        new RegExp(`D2\\n    at \\[Jupyter.display\\] \\(cell\\[${value.count}\\]:1:46\\)$`),
      );
    });
    it("errors of the user's input keep only the cell's frames", async () => {
      const cycle = await errorOf(
        "const fig: any = { data: [{ y: [1] }] }\nfig.data[0].self = fig\ndisplay.plotly(fig)",
      );
      assert.match(
        cycle.traceback,
        new RegExp(
          `^\\x1b\\[31mDisplayValueError\\x1b\\[0m: figure\\.data\\[0\\]\\.self\\.data: .*cycle.*\\n    at cell\\[${cycle.count}\\]:3:9$`,
        ),
      );
    });
  },
);
