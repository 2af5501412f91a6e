// Run functions for the queue tests, registered in worker processes with `simvlm worker --module`.
// "marked" leaves a line in DIR/starts.log when it starts and in DIR/ends.log when it finishes, so
// a test counts how often each run really ran; it writes a per-step train.jsonl like a real run.
import { appendFileSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { registerRun } from "../../../lib/experiments/registry.ts"; // not the index: it would load the model in every run

registerRun("marked", async (p, info) => {
  const dir = String(p.dir),
    id = `x=${p.x} seed ${info.seed}`;
  appendFileSync(join(dir, "starts.log"), `${id} pid ${process.pid}\n`);
  const steps = Number(p.steps ?? 2);
  for (let s = 1; s <= steps; s++) {
    if (info.signal?.aborted) throw new Error("interrupted");
    await new Promise((r) => setTimeout(r, Number(p.sleepMs ?? 0)));
    appendFileSync(join(info.dir, "train.jsonl"), `${JSON.stringify({ step: s, loss: 1 / s })}\n`);
    info.onProgress?.({ step: s, total: steps });
  }
  const starts = existsSync(join(dir, "starts.log"))
    ? readFileSync(join(dir, "starts.log"), "utf8")
        .split("\n")
        .filter((l) => l.startsWith(`${id} `)).length
    : 0;
  if (p.alwaysFail) throw new Error(`boom: ${id} always fails`);
  if (starts <= Number(p.failTimes ?? 0))
    throw new Error(`flaky: ${id} fails on attempt ${starts}`);
  appendFileSync(join(dir, "ends.log"), `${id}\n`);
  writeFileSync(join(info.dir, "weights.bin"), "not a result file");
  return { metrics: { value: Number(p.x) * 10 + info.seed, steps }, extra: { pid: process.pid } };
});
