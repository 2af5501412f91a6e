import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs, bool, num, str, UsageError } from "../args.ts";
import { MODEL_CONFIGS } from "../../lib/model/configs.ts";

const HELP = `usage: simvlm bench <train-step|torch|all|decode> [--steps N] [--warmup N] [--json]
       [--config NAME] [--batch N] [--text N]          (train-step, torch: another shape)
       [--device cuda] [--dtype fp32|tf32|bf16] [--compile]   (torch: PyTorch on the GPU)
       [--compile] [--only reference,base,max-batch]    (all, on the cuda backend)
  train-step  time the reference training step: lib/model's SimVLM "reference" config (d_model 256,
              4 heads, 4+4 layers, FFN 1024, 64 patches + 32 tokens, vocab 4000) and lib/train's
              trainStep (batch 16, AdamW, clipping, dropout 0.1) on the selected backend
              (SIMVLM_BACKEND); median of --steps (default 10) after --warmup (default 3)
  torch       the same model and step in PyTorch (bench/torch-ref.py via /usr/bin/python3)
  all         train-step, then torch, in one run; prints the ratio (npm run bench). On the cuda
              backend: the reference step in fp32 and bf16, the Base shape at batch 64 and the
              largest batch that fits, each against PyTorch on the same GPU (bench/gpu-bench.ts)
  decode      greedy decoding tokens/s at batch 1 and 16 (lib/decode, reference config)`;

const PYTHON = process.env.SIMVLM_PYTHON ?? "/usr/bin/python3";
const torchScript = fileURLToPath(new URL("../../bench/torch-ref.py", import.meta.url));

interface TorchResult {
  ms_per_step: number;
  gflops: number;
  examples_per_s: number;
  backend: string;
}

function runTorch(
  steps: number,
  warmup: number,
  json: boolean,
  dropout: number,
  extra: string[] = [],
): TorchResult | undefined {
  const r = spawnSync(
    PYTHON,
    [
      torchScript,
      "--steps",
      String(steps),
      "--warmup",
      String(warmup),
      "--dropout",
      String(dropout),
      "--json",
      ...extra,
    ],
    { encoding: "utf8" },
  );
  if (r.error || r.status !== 0) {
    const why = r.error
      ? r.error.message
      : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`);
    if (!json)
      console.error(
        `torch reference skipped: ${why} (needs ${PYTHON} with torch; SIMVLM_PYTHON overrides)`,
      );
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as TorchResult;
}

export default async function bench(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: {
      steps: "number",
      warmup: "number",
      config: "string",
      batch: "number",
      text: "number",
      device: "string",
      dtype: "string",
      only: "string",
    },
    booleans: ["json", "help", "compile"],
  });
  const [which] = args.positionals;
  if (bool(args, "help") || !which) {
    console.log(HELP);
    return which || bool(args, "help") ? 0 : 1;
  }
  const steps = num(args, "steps", 10),
    warmup = num(args, "warmup", 3),
    json = bool(args, "json");
  if (steps < 1 || warmup < 0) throw new UsageError("--steps must be >= 1 and --warmup >= 0");
  // PyTorch trains with the same dropout as the reference config.
  const dropout = MODEL_CONFIGS.reference.dropout;
  const log = json ? undefined : (s: string) => process.stderr.write(`  ${s}\n`);
  const shape = {
    config: args.flags.config === undefined ? undefined : str(args, "config"),
    batch: args.flags.batch === undefined ? undefined : num(args, "batch"),
    textLen: args.flags.text === undefined ? undefined : num(args, "text"),
  };
  const torchShape = [
    ...(shape.config ? ["--config", shape.config] : []),
    ...(shape.batch ? ["--batch", String(shape.batch)] : []),
    ...(shape.textLen ? ["--text", String(shape.textLen)] : []),
  ];
  switch (which) {
    case "train-step": {
      const { benchTrainStep, formatTrainStep } = await import("../../bench/train-step.ts");
      const r = await benchTrainStep({ steps, warmup, log, ...shape });
      console.log(json ? JSON.stringify(r) : formatTrainStep(r));
      return 0;
    }
    case "torch": {
      const gpu = [
        ...(args.flags.device ? ["--device", str(args, "device")] : []),
        ...(args.flags.dtype ? ["--dtype", str(args, "dtype")] : []),
        ...(bool(args, "compile") ? ["--compile"] : []),
      ];
      const r = runTorch(steps, warmup, json, dropout, [...torchShape, ...gpu]);
      if (!r) return 1;
      console.log(
        json
          ? JSON.stringify(r)
          : `pytorch: ${r.ms_per_step} ms/step, ${r.examples_per_s} examples/s, ${r.gflops} GFLOP/s`,
      );
      return 0;
    }
    case "all": {
      const { initBackend } = await import("../../lib/backend/index.ts");
      if ((await initBackend()).name === "cuda") {
        const { benchGpuAll, formatRow } = await import("../../bench/gpu-bench.ts");
        const only = args.flags.only === undefined ? undefined : str(args, "only").split(",");
        // Progress (each finished row included) goes to stderr even with --json, so a run cut short keeps what it measured.
        const rows = await benchGpuAll({
          steps,
          warmup,
          compile: bool(args, "compile"),
          log: (m) => process.stderr.write(`  ${m}\n`),
          only,
        });
        if (json) console.log(JSON.stringify({ bench: "gpu", rows }));
        else for (const r of rows) console.log(formatRow(r));
        return 0;
      }
      const { benchTrainStep, formatTrainStep } = await import("../../bench/train-step.ts");
      const ours = await benchTrainStep({ steps, warmup, log });
      if (!json) console.log(formatTrainStep(ours));
      const torch = runTorch(steps, warmup, json, dropout);
      const ratio = torch ? Math.round((ours.ms_per_step / torch.ms_per_step) * 100) / 100 : null;
      if (json) console.log(JSON.stringify({ simvlm: ours, torch: torch ?? null, ratio }));
      else if (torch) {
        console.log(
          `pytorch (${torch.backend}): ${torch.ms_per_step} ms/step, ${torch.gflops} GFLOP/s`,
        );
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
