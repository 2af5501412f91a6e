/**
 * DIR/train.jsonl: one JSON `TrainLogRow` per update, appended by `pretrain` as it trains. Read back
 * by a resumed `pretrain` (to keep the rows up to its checkpoint), by the grid's "pretrain" run (its
 * summary metrics) and by notebooks replaying a finished run's curve.
 */
import fs from "node:fs";
import path from "node:path";
import type { TrainLogRow } from "./loop.ts";

/** The log file of a run folder. */
export function trainLogPath(dir: string): string {
  return path.join(dir, "train.jsonl");
}

/**
 * The rows of DIR/train.jsonl in file order, optionally only those with step ≤ `upTo`. A line that
 * is not JSON (torn by a crash mid-write) is skipped. No file: [].
 */
export function readTrainLog(dir: string, opts: { upTo?: number } = {}): TrainLogRow[] {
  const file = trainLogPath(dir);
  if (!fs.existsSync(file)) return [];
  const rows: TrainLogRow[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    let row: TrainLogRow;
    try {
      row = JSON.parse(line) as TrainLogRow;
    } catch {
      continue;
    }
    if (opts.upTo === undefined || row.step <= opts.upTo) rows.push(row);
  }
  return rows;
}
