/** `simvlm start`: the same as `npm start` (scripts/start.mjs), reachable from the CLI too. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default async function start(argv: string[]): Promise<number> {
  const script = fileURLToPath(new URL("../../scripts/start.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [script, ...argv], { stdio: "inherit" });
  return r.status ?? 1;
}
