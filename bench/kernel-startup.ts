/**
 * Benchmark: kernel start-up to the first result and the round trip of `1+1`, this kernel next to
 * Debian's ipykernel, in the same run, measured by the same jupyter_client code.
 *
 *   node --import tsx bench/kernel-startup.ts [--n 50] [--rounds 2] [--no-typecheck-too]
 *
 * The kernelspec comes from `simvlm kernel install --prefix TMP` (the user's install is untouched);
 * a second spec "simvlm-notc" runs the kernel with --no-typecheck to show what type-checking costs.
 */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { installTempKernelspec, PYTHON, repo } from "../test/kernel/client.ts";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const n = flag("n", 50),
  rounds = flag("rounds", 2);

const ks = installTempKernelspec();
try {
  const specDir = join(ks.jupyterPath, "kernels", "simvlm");
  const noTc = join(ks.jupyterPath, "kernels", "simvlm-notc");
  cpSync(specDir, noTc, { recursive: true });
  const spec = JSON.parse(readFileSync(join(noTc, "kernel.json"), "utf8"));
  spec.argv.push("--no-typecheck");
  writeFileSync(join(noTc, "kernel.json"), JSON.stringify(spec));
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < rounds; r++) {
    const out = spawnSync(
      PYTHON,
      [
        join(repo, "bench", "kernel-roundtrip.py"),
        "--n",
        String(n),
        "python3",
        "simvlm",
        "simvlm-notc",
      ],
      {
        encoding: "utf8",
        env: { ...process.env, JUPYTER_PATH: ks.jupyterPath },
        timeout: 600_000,
      },
    );
    if (out.status !== 0) throw new Error(`benchmark failed:\n${out.stderr}`);
    for (const line of out.stdout.trim().split("\n"))
      rows.push({ round: r + 1, ...JSON.parse(line) });
  }
  console.log(
    `# kernel start-up and 1+1 round trip (${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}; n=${n} per kernel per round)`,
  );
  console.log(
    "round  kernel        ready_s  first_result_s  median_ms  p95_ms  distinct_median_ms  distinct_p95_ms",
  );
  for (const row of rows) {
    console.log(
      `${String(row.round).padEnd(6)} ${String(row.kernel).padEnd(13)} ${String(row.ready_s).padStart(7)}  ${String(row.first_result_s).padStart(14)}  ${String(row.median_ms).padStart(9)}  ${String(row.p95_ms).padStart(6)}  ${String(row.distinct_median_ms).padStart(18)}  ${String(row.distinct_p95_ms).padStart(15)}`,
    );
  }
} finally {
  ks.cleanup();
}
