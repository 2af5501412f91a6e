import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs, bool, num, UsageError } from "../args.ts";
import { MODEL_CONFIGS } from "../../lib/model/configs.ts";

const HELP = `usage: simvlm bench <train-step|torch|all|decode> [--steps N] [--warmup N] [--json]
  train-step  time the reference training step: lib/model's SimVLM "reference" config (d_model 256,
              4 heads, 4+4 layers, FFN 1024, 64 patches + 32 tokens, vocab 4000) and lib/train's
              trainStep (batch 16, AdamW, clipping, dropout 0.1) on the selected backend
              (SIMVLM_BACKEND); median of --steps (default 10) after --warmup (default 3)
  torch       the same model and step in PyTorch (bench/torch-ref.py via /usr/bin/python3)
  all         train-step, then torch, in one run; prints the ratio (npm run bench)
  decode      greedy decoding tokens/s at batch 1 and 16 (lib/decode, reference config)`;

const PYTHON = process.env.SIMVLM_PYTHON ?? "/usr/bin/python3";
const torchScript = fileURLToPath(new URL("../../bench/torch-ref.py", import.meta.url));

interface TorchResult { ms_per_step: number; gflops: number; examples_per_s: number; backend: string }

function runTorch(steps: number, warmup: number, json: boolean, dropout: number): TorchResult | undefined {
  const r = spawnSync(PYTHON, [torchScript, "--steps", String(steps), "--warmup", String(warmup), "--dropout", String(dropout), "--json"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`);
    if (!json) console.error(`torch reference skipped: ${why} (needs ${PYTHON} with torch; SIMVLM_PYTHON overrides)`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as TorchResult;
}

export default async function bench(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: { steps: "number", warmup: "number" }, booleans: ["json", "help"] });
  const [which] = args.positionals;
  if (bool(args, "help") || !which) { console.log(HELP); return which || bool(args, "help") ? 0 : 1; }
  const steps = num(args, "steps", 10), warmup = num(args, "warmup", 3), json = bool(args, "json");
  if (steps < 1 || warmup < 0) throw new UsageError("--steps must be >= 1 and --warmup >= 0");
  // PyTorch trains with the same dropout as the reference config.
  const dropout = MODEL_CONFIGS.reference.dropout;
  const log = json ? undefined : (s: string) => process.stderr.write(`  ${s}\n`);
  switch (which) {
    case "train-step": {
      const { benchTrainStep, formatTrainStep } = await import("../../bench/train-step.ts");
      const r = await benchTrainStep({ steps, warmup, log });
      console.log(json ? JSON.stringify(r) : formatTrainStep(r));
      return 0;
    }
    case "torch": {
      const r = runTorch(steps, warmup, json, dropout);
      if (!r) return 1;
      console.log(json ? JSON.stringify(r) : `pytorch: ${r.ms_per_step} ms/step, ${r.examples_per_s} examples/s, ${r.gflops} GFLOP/s`);
      return 0;
    }
    case "all": {
      const { benchTrainStep, formatTrainStep } = await import("../../bench/train-step.ts");
      const ours = await benchTrainStep({ steps, warmup, log });
      if (!json) console.log(formatTrainStep(ours));
      const torch = runTorch(steps, warmup, json, dropout);
      const ratio = torch ? Math.round((ours.ms_per_step / torch.ms_per_step) * 100) / 100 : null;
      if (json) console.log(JSON.stringify({ simvlm: ours, torch: torch ?? null, ratio }));
      else if (torch) {
        console.log(`pytorch (${torch.backend}): ${torch.ms_per_step} ms/step, ${torch.gflops} GFLOP/s`);
        console.log(`ratio simvlm/pytorch: ${ratio}x  (goal <= 1.25x, first milestone <= 2x)`);
      }
      return 0;
    }
    case "decode": {
      const { benchDecode, formatDecode } = await import("../../bench/decode.ts");
      const r = await benchDecode({ runs: Math.min(steps, 3), log });
      console.log(json ? JSON.stringify(r) : formatDecode(r));
      return 0;
    }
    default:
      throw new UsageError(`unknown bench "${which}" (choices: train-step, torch, all, decode)`);
  }
}
