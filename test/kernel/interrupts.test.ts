/**
 * Interrupting long library calls through /usr/bin/python3's jupyter_client (issue 17 item 1):
 * `KernelManager.interrupt_kernel()` in message mode (interrupt_request) and in signal mode (SIGINT to
 * the kernel's process group). Library loops never give the event loop a turn, so these pass only
 * because their per-step check reads the kernel's shared-memory interrupt flag (lib/runtime.ts
 * `isInterrupted`). Each case checks that the cell ended with an InterruptError well before its work
 * was done, and that the next cell runs: training resumes from the checkpoint saved at the step
 * boundary; decoding runs again.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitWhenDone, installTempKernelspec, PYTHON, repo } from "./client.ts";

exitWhenDone();

interface Case {
  name: string;
  code: string;
  ready?: string;
  delay?: number;
  then?: string;
}
interface Result {
  name: string;
  status: string;
  ename: string | null;
  seconds: number | null;
  text: string;
  interrupted: boolean;
  then?: { status: string; ename: string | null; result: string | null; text: string };
}

function interrupt(
  kernel: string,
  jupyterPath: string,
  mode: "message" | "signal",
  cases: Case[],
): Result[] {
  const r = spawnSync(PYTHON, [join(repo, "test", "kernel", "py", "interrupts.py"), kernel, mode], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    timeout: 400_000,
    env: {
      ...process.env,
      JUPYTER_PATH: jupyterPath,
      PYTHONDONTWRITEBYTECODE: "1",
      PYDEVD_DISABLE_FILE_VALIDATION: "1",
    },
  });
  assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
  process.stdout.write(
    r.stderr
      .split("\n")
      .filter(Boolean)
      .map((l) => `# ${mode}: ${l}\n`)
      .join(""),
  );
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Result[];
}

/** A 3000-step pretrain (minutes) that says when step 2 is done; `progress` as given. */
const pretrainCell = (dir: string, progress: boolean) =>
  [
    'import { pretrain, readCheckpointMeta, type PretrainOptions } from "simvlm"',
    `const dir = ${JSON.stringify(dir)}`,
    'const opts: PretrainOptions = { config: "tiny", data: { source: "shapes", split: "train" }, steps: 3000, batchSize: 8, seed: 0, outDir: dir,',
    `  progress: ${progress}, onStep: (row: { step: number }) => { if (row.step === 2) console.log("at step 2") } }`,
    "await pretrain(opts)",
  ].join("\n");
/** Resume the interrupted run for two more steps. */
const RESUME =
  "const at = readCheckpointMeta(dir).step\nconst more = await pretrain({ ...opts, resume: true, until: at + 2, onStep: undefined });\n`${at} -> ${more.step} ${more.stopped}`";

/** Beam search over many full-length captions in one call (~15 s on a tiny random model). */
const DECODE = [
  'import { SimVLM, trainTokenizer, generate, resolveConfig } from "simvlm"',
  'const tok = await trainTokenizer(["a red square on a blue circle", "two green triangles"], { vocabSize: 64 })',
  'const m = new SimVLM(resolveConfig("tiny"), 0)',
  'const job = () => generate(m, tok, { prefixTexts: Array.from({ length: 256 }, () => "a red"), beam: 4, maxLen: 24, minLen: 24 })',
  'console.log("decoding")',
  "await job()",
].join("\n");

function checkTraining(r: Result): void {
  assert.equal(r.interrupted, true, `${r.name}: the client interrupted it: ${r.status} ${r.text}`);
  assert.equal(r.status, "error", `${r.name}: ${r.text}`);
  assert.equal(r.ename, "InterruptError", `${r.name}: ${r.text}`);
  const m = /^(\d+) -> (\d+) until$/.exec(r.then?.result?.replace(/^'|'$/g, "") ?? "");
  assert.ok(m, `${r.name}: the next cell resumed training: ${JSON.stringify(r.then)}`);
  const at = Number(m[1]);
  assert.ok(
    at >= 2 && at < 3000,
    `${r.name}: stopped at a step boundary soon after step 2, not at the end (step ${at})`,
  );
  assert.equal(Number(m[2]), at + 2, `${r.name}: the resumed run continued from the checkpoint`);
  console.log(`# ${r.name}: stopped at step ${at}, reply ${r.seconds} s after the interrupt`);
}

it(
  "interrupt_request and SIGINT stop pretrain at a step boundary and decoding mid-call; the next cell resumes",
  { timeout: 900_000 },
  () => {
    const ks = installTempKernelspec();
    const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), "simvlm-int-")));
    try {
      const message = interrupt("simvlm", ks.jupyterPath, "message", [
        {
          name: "pretrain, no progress display (message)",
          code: pretrainCell(join(dirs[0]!, "run"), false),
          ready: "at step 2",
          then: RESUME,
        },
        { name: "generate (message)", code: DECODE, ready: "decoding", delay: 0, then: "1 + 1" },
      ]);
      checkTraining(message[0]!);
      const dec = message[1]!;
      assert.equal(dec.ename, "InterruptError", `decoding: ${dec.text}`);
      assert.equal(dec.then?.status, "ok");
      console.log(`# decoding: reply ${dec.seconds} s after the interrupt`);

      const signal = interrupt("simvlm", ks.jupyterPath, "signal", [
        {
          name: "pretrain with progress display (signal)",
          code: pretrainCell(join(dirs[1]!, "run"), true),
          ready: "at step 2",
          then: RESUME,
        },
      ]);
      checkTraining(signal[0]!);
      const at = /^(\d+)/.exec(signal[0]!.then!.result!.replace(/^'/, ""))![1];
      assert.match(
        signal[0]!.text,
        new RegExp(`interrupted at step ${at} \\(checkpoint saved in `),
        "the progress line says where training stopped and that it saved",
      );
    } finally {
      ks.cleanup();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  },
);
