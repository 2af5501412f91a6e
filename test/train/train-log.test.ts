// readTrainLog: the rows of DIR/train.jsonl in order, a torn line (a crash mid-write) skipped, `upTo`
// keeping the rows a resumed run keeps; no file gives no rows.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTrainLog, trainLogPath } from "../../lib/train/index.ts";

const dir = mkdtempSync(join(tmpdir(), "simvlm-train-log-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("readTrainLog: rows in order, torn line skipped, upTo, missing file", () => {
  assert.deepEqual(readTrainLog(join(dir, "none")), []);
  const row = (step: number) => ({ step, loss: 3 - step / 10, lr: 1e-3, grad_norm: 1 });
  writeFileSync(
    trainLogPath(dir),
    [row(1), row(2), row(3)].map((r) => JSON.stringify(r)).join("\n") + '\n{"step":4,"lo',
  );
  assert.equal(trainLogPath(dir), join(dir, "train.jsonl"));
  assert.deepEqual(
    readTrainLog(dir).map((r) => [r.step, r.loss]),
    [
      [1, 2.9],
      [2, 2.8],
      [3, 2.7],
    ],
  );
  assert.deepEqual(
    readTrainLog(dir, { upTo: 2 }).map((r) => r.step),
    [1, 2],
  );
});
