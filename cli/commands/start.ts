/** `simvlm start`: the same as `npm start` (scripts/start.mjs), reachable from the CLI too. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default async function start(argv: string[]): Promise<number> {
  const script = fileURLToPath(new URL("../../scripts/start.mjs", import.meta.url));
  // Ctrl-C reaches both processes: the script stops Jupyter and its kernels, and we wait for it
  // rather than return to the shell while it is still cleaning up.
  const ignore = () => {};
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, ignore);
  const r = spawnSync(process.execPath, [script, ...argv], { stdio: "inherit" });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, ignore);
  return r.status ?? 1;
}
