/**
 * The same execute requests, through /usr/bin/python3's jupyter_client, against Debian's ipykernel
 * and against this kernel: for silent and store_history: false requests the two must publish the
 * same iopub message types (a stream's chunking aside: see py/flags_and_input.py) with the same
 * stream text, and answer the same execution counts; and an input_reply sent by
 * KernelClient.input() (empty parent header) must reach the cell waiting in input().
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec, PYTHON, repo } from "./client.ts";

exitWhenDone();

interface Case {
  what: string;
  ts: string;
  py: string;
  kw?: Record<string, unknown>;
  input?: string;
}
const CASES: Case[] = [
  { what: "plain", ts: "console.log('out'); 40 + 2", py: "print('out'); 40 + 2" },
  {
    what: "silent: streams and a value",
    ts: "console.log('out'); console.error('err'); 41 + 1",
    py: "import sys; print('out'); print('err', file=sys.stderr); 41 + 1",
    kw: { silent: true },
  },
  {
    what: "silent: display_data",
    ts: "display.html('<b>x</b>', { displayId: 'd1' })",
    py: "from IPython.display import display, HTML; display(HTML('<b>x</b>'), display_id='d1')",
    kw: { silent: true },
  },
  {
    what: "silent: update_display_data, clear_output",
    ts: "display.html('<i>y</i>', { displayId: 'd1', update: true }); clearOutput()",
    py: "from IPython.display import update_display, clear_output; update_display(HTML('<i>y</i>'), display_id='d1'); clear_output()",
    kw: { silent: true },
  },
  {
    what: "silent: error",
    ts: "throw new RangeError('e')",
    py: "raise ValueError('e')",
    // stop_on_error: false on the errors: otherwise ipykernel may abort the next request (its
    // abort window races the idle status this script waits for), which is not what is compared here.
    kw: { silent: true, stop_on_error: false },
  },
  {
    what: "silent with store_history: true",
    ts: "1",
    py: "1",
    kw: { silent: true, store_history: true },
  },
  { what: "store_history: false: value", ts: "2 + 2", py: "2 + 2", kw: { store_history: false } },
  {
    what: "store_history: false: stream and error",
    ts: "console.log('p'); throw new Error('x')",
    py: "print('p'); 1/0",
    kw: { store_history: false, stop_on_error: false },
  },
  { what: "plain again: the counter moved once", ts: "3 + 3", py: "3 + 3" },
  {
    what: "input answered by KernelClient.input()",
    ts: "const who = await input('who? ');\n`hi ${who}`",
    py: "who = input('who? ')\nf'hi {who}'",
    kw: { allow_stdin: true },
    input: "ada",
  },
];

function runCases(kernel: string, jupyterPath: string, lang: "ts" | "py") {
  const cases = CASES.map((c) => ({
    code: c[lang],
    kw: c.kw ?? {},
    ...(c.input === undefined ? {} : { input: c.input }),
  }));
  const r = spawnSync(PYTHON, [join(repo, "test", "kernel", "py", "flags_and_input.py"), kernel], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    timeout: 240_000,
    env: {
      ...process.env,
      JUPYTER_PATH: jupyterPath,
      PYTHONDONTWRITEBYTECODE: "1",
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
    },
  });
  assert.equal(r.status, 0, `${kernel}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as {
    types: string[];
    status: string;
    count: number;
    result: string | null;
    asked: unknown[] | null;
    streams: Record<string, string>;
  }[];
}

it(
  "publishes what ipykernel publishes for silent and store_history: false, and takes KernelClient.input()'s reply",
  { timeout: 300_000 },
  () => {
    const ks = installTempKernelspec();
    try {
      const ours = runCases("simvlm", ks.jupyterPath, "ts");
      const ipykernel = runCases("python3", ks.jupyterPath, "py");
      CASES.forEach((c, i) => {
        const [a, b] = [ours[i]!, ipykernel[i]!];
        assert.deepEqual(
          { types: a.types, status: a.status, count: a.count, streams: a.streams },
          { types: b.types, status: b.status, count: b.count, streams: b.streams },
          `${c.what}: simvlm vs ipykernel`,
        );
      });
      assert.deepEqual(
        ours.map((r) => r.count),
        [1, 1, 1, 1, 1, 1, 1, 1, 2, 3],
      );
      const input = ours.at(-1)!;
      assert.deepEqual(input.asked, ["input_request", "who? ", true]);
      assert.equal(input.result, "'hi ada'");
      assert.equal(input.result, ipykernel.at(-1)!.result);
    } finally {
      ks.cleanup();
    }
  },
);
