// Each training default is stated once (lib/train/defaults.ts): the library uses it, --help prints it,
// and docs/train.md's Defaults tables list it. This checks the docs against the code, row for row.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import {
  OPTIMIZER_DEFAULTS,
  PRETRAIN_DEFAULTS,
  FINETUNE_DEFAULTS,
  type Default,
} from "../../lib/train/defaults.ts";
import { AdamW } from "../../lib/train/optimizer.ts";

const docs = readFileSync(new URL("../../docs/train.md", import.meta.url), "utf8");
const fmt = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** The rows of the table that follows the line naming `name` in docs/train.md: [option, default, why]. */
function docTable(name: string): string[][] {
  const lines = docs.split("\n");
  const at = lines.findIndex((l) => l.includes(`\`${name}\``) && l.startsWith("**"));
  assert.ok(at >= 0, `docs/train.md has no table headed by ${name}`);
  const rows: string[][] = [];
  for (let i = at + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith("|")) {
      if (rows.length) break;
      continue;
    }
    const cells = l
      .slice(1, -1)
      .split(" | ")
      .map((c) => c.trim());
    if (cells[0] === "option" || /^-+$/.test(cells[0]!.replace(/\|/g, ""))) continue;
    rows.push(cells.map((c, j) => (j < 2 ? c.replace(/^`|`$/g, "") : c)));
  }
  return rows;
}

for (const [name, defaults] of Object.entries({
  PRETRAIN_DEFAULTS,
  FINETUNE_DEFAULTS,
  OPTIMIZER_DEFAULTS,
})) {
  test(`docs/train.md lists ${name} exactly`, () => {
    const want = Object.entries(defaults as Record<string, Default<unknown>>).map(([k, d]) => [
      k,
      fmt(d.value),
      d.why,
    ]);
    assert.deepEqual(docTable(name), want);
  });
}

test("AdamW and the CLI help read the same defaults", () => {
  const opt = new AdamW(new Map());
  assert.deepEqual(
    [opt.beta1, opt.beta2, opt.eps, opt.weightDecay, opt.clipNorm],
    [
      OPTIMIZER_DEFAULTS.beta1.value,
      OPTIMIZER_DEFAULTS.beta2.value,
      OPTIMIZER_DEFAULTS.eps.value,
      OPTIMIZER_DEFAULTS.weightDecay.value,
      OPTIMIZER_DEFAULTS.clipNorm.value,
    ],
  );
  const help = (cmd: string) =>
    spawnSync(
      process.execPath,
      [new URL("../../bin/simvlm.js", import.meta.url).pathname, cmd, "--help"],
      { encoding: "utf8" },
    ).stdout;
  const pre = help("pretrain"),
    fine = help("finetune");
  assert.match(pre, new RegExp(`--batch B .*\\(default ${PRETRAIN_DEFAULTS.batchSize.value}\\)`));
  assert.match(pre, new RegExp(`--lr LR .*\\(default ${PRETRAIN_DEFAULTS.lr.value}\\)`));
  assert.match(fine, new RegExp(`--lr LR .*\\(default ${FINETUNE_DEFAULTS.lr.value};`));
  assert.match(fine, new RegExp(`--steps N .*\\(default ${FINETUNE_DEFAULTS.steps.value}\\)`));
});
