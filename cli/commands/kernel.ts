/**
 * `simvlm kernel install [--user|--sys-prefix|--prefix DIR]`, `simvlm kernel remove [same flags]`,
 * `simvlm kernel run CONNECTION_FILE` (what Jupyter runs), `simvlm kernel spec` (print kernel.json).
 */
import { UserError } from "../../lib/errors.ts";
import { parseArgs, str, UsageError } from "../args.ts";

const USAGE = `usage: simvlm kernel install [--user | --sys-prefix | --prefix DIR]
       simvlm kernel remove  [--user | --sys-prefix | --prefix DIR]
       simvlm kernel run CONNECTION_FILE [--no-typecheck]
       simvlm kernel spec`;

export default async function kernel(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  const args = parseArgs(rest, {
    values: { prefix: "string" },
    booleans: ["user", "sys-prefix", "no-typecheck", "help"],
  });
  if (args.flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (sub === "run") {
    const file = args.positionals[0];
    if (!file) throw new UsageError("kernel run needs the connection file path");
    const { runKernel } = await import("../../kernel/kernel.ts");
    try {
      await runKernel(file, { typecheck: !args.flags["no-typecheck"] });
    } catch (e) {
      // Exit now: the language worker, started before the kernel loaded (bin/simvlm.js), keeps the process alive.
      if (e instanceof UserError) {
        console.error(`simvlm kernel: ${e.message}`);
        process.exit(1);
      }
      throw e;
    }
    return await new Promise<number>(() => {}); // runs until Jupyter shuts it down
  }
  const ks = await import("../../kernel/kernelspec.ts");
  const chosen = ["user", "sys-prefix", "prefix"].filter((k) => args.flags[k] !== undefined);
  if (chosen.length > 1)
    throw new UsageError(
      `choose one of --user, --sys-prefix, --prefix (got ${chosen.map((c) => `--${c}`).join(", ")})`,
    );
  const scope: import("../../kernel/kernelspec.ts").Scope =
    args.flags.prefix !== undefined
      ? { kind: "prefix", dir: str(args, "prefix") }
      : args.flags["sys-prefix"]
        ? { kind: "sys-prefix" }
        : { kind: "user" };
  try {
    switch (sub) {
      case "install": {
        const dir = await ks.installKernelspec(scope);
        console.log(`installed kernelspec "${ks.KERNEL_NAME}" (SimVLM (TypeScript)) in ${dir}`);
        return 0;
      }
      case "remove":
      case "uninstall": {
        const dir = ks.removeKernelspec(scope);
        console.log(
          dir ? `removed ${dir}` : `no "${ks.KERNEL_NAME}" kernelspec in ${ks.kernelsDir(scope)}`,
        );
        return 0;
      }
      case "spec":
        console.log(JSON.stringify(ks.kernelJson(), null, 2));
        return 0;
      default:
        throw new UsageError(`unknown kernel subcommand "${sub}"\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`simvlm kernel: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
