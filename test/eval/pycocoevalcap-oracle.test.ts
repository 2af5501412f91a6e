// Optional oracle check against the real pycocoevalcap (needs Java and `pip install pycocoevalcap`,
// neither available on the workbench machines). Run with
//   SIMVLM_PYCOCOEVALCAP_PYTHON=/path/to/python node test/run.js pycocoevalcap
// Skipped otherwise. Compares every BLEU-n, the corpus CIDEr-D and every per-image CIDEr-D (1e-6).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captionScores } from "../../lib/eval/index.ts";
import { Rng } from "../../lib/util/rng.ts";

const python = process.env.SIMVLM_PYCOCOEVALCAP_PYTHON;

const ORACLE = `
import json, sys
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
refs, cands = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
tok = PTBTokenizer()
gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in refs.items()})
res = tok.tokenize({k: [{"caption": v}] for k, v in cands.items()})
bleu, _ = Bleu(4).compute_score(gts, res)
cider, per = Cider().compute_score(gts, res)
print(json.dumps({"bleu": bleu, "cider": float(cider), "ciderPerImage": dict(zip(list(gts.keys()), [float(x) for x in per]))}))
`;

function fixture(n: number): { refs: Record<string, string[]>; cands: Record<string, string> } {
  const rng = new Rng(7);
  const words =
    "a an the man woman dog dogs cat grey red colourful horse table street picture two people standing next to on of in with riding sitting it's isn't t-shirt black-and-white 10-year-old 1,000".split(
      " ",
    );
  const ends = ["", ".", "!", " .", "...", ","];
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.next() * xs.length)]!;
  const sent = () => {
    const len = 3 + Math.floor(rng.next() * 10);
    const ws = Array.from({ length: len }, () => pick(words));
    if (rng.next() < 0.2) ws.splice(1, 0, "(" + pick(words) + ")");
    if (rng.next() < 0.2) ws.splice(2, 0, '"' + pick(words) + '"');
    const s = ws.join(" ");
    return (rng.next() < 0.5 ? s[0]!.toUpperCase() + s.slice(1) : s) + pick(ends);
  };
  const refs: Record<string, string[]> = {},
    cands: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    refs[String(1000 + i)] = Array.from({ length: 1 + Math.floor(rng.next() * 5) }, sent);
    cands[String(1000 + i)] = sent();
  }
  return { refs, cands };
}

test(
  "captionScores equals pycocoevalcap on 300 caption sets",
  {
    skip: python
      ? false
      : "set SIMVLM_PYCOCOEVALCAP_PYTHON to a python with pycocoevalcap and java",
  },
  () => {
    const { refs, cands } = fixture(300);
    const dir = mkdtempSync(join(tmpdir(), "simvlm-oracle-"));
    try {
      writeFileSync(join(dir, "refs.json"), JSON.stringify(refs));
      writeFileSync(join(dir, "cands.json"), JSON.stringify(cands));
      writeFileSync(join(dir, "oracle.py"), ORACLE);
      const r = spawnSync(
        python!,
        [join(dir, "oracle.py"), join(dir, "refs.json"), join(dir, "cands.json")],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 0, r.stderr);
      const want = JSON.parse(r.stdout.trim().split("\n").pop()!);
      const got = captionScores(refs, cands);
      for (let k = 0; k < 4; k++)
        assert.ok(
          Math.abs(got.bleu[k]! - want.bleu[k]) < 1e-6,
          `BLEU-${k + 1}: ${got.bleu[k]} vs ${want.bleu[k]}`,
        );
      assert.ok(Math.abs(got.cider - want.cider) < 1e-6, `CIDEr: ${got.cider} vs ${want.cider}`);
      for (const [id, v] of Object.entries(want.ciderPerImage as Record<string, number>))
        assert.ok(
          Math.abs(got.ciderPerImage[id]! - v) < 1e-6,
          `CIDEr[${id}]: ${got.ciderPerImage[id]} vs ${v}`,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
