import { parseArgs, bool } from "../args.ts";
import { initBackend } from "../../lib/backend/index.ts";

export default async function info(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { booleans: ["json", "help"] });
  if (bool(args, "help")) {
    console.log(
      "usage: simvlm info [--json]\nPrints the chosen tensor backend, its thread count, versions, and why other backends were skipped.\nSIMVLM_BACKEND=cuda|gpu|node|webgpu|wasm|cpu forces one.",
    );
    return 0;
  }
  const b = await initBackend();
  if (bool(args, "json")) {
    console.log(
      JSON.stringify(
        {
          backend: b.name,
          tfBackend: b.tfBackend,
          threads: b.threads,
          forced: b.forced,
          versions: b.versions,
          skipped: b.skipped,
          notes: b.notes,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(
    `backend   ${b.name}${b.forced ? " (forced by SIMVLM_BACKEND)" : ""}  [tfjs: ${b.tfBackend}]`,
  );
  console.log(`threads   ${b.threads}`);
  for (const n of b.notes) console.log(`note      ${n}`);
  console.log("versions");
  for (const [k, v] of Object.entries(b.versions)) console.log(`  ${k.padEnd(32)} ${v}`);
  if (b.skipped.length) {
    console.log("skipped");
    for (const s of b.skipped) console.log(`  ${s.name.padEnd(7)} ${s.reason}`);
  }
  return 0;
}
