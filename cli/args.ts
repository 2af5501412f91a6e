/**
 * A small flag parser shared by every command: `--name value`, `--name=value`, boolean `--flag`,
 * and positionals. Unknown flags are an error naming the flag, so typos never pass silently.
 */
import { UserError } from "../lib/errors.ts";
export interface FlagSpec {
  /** Flags that take a value, e.g. { steps: "number", out: "string" }. */
  values?: Record<string, "string" | "number">;
  /** Flags that take no value. */
  booleans?: string[];
  /** Flags that may repeat (value collected into an array). */
  repeatable?: string[];
}

export interface ParsedArgs {
  flags: Record<string, string | number | boolean | string[]>;
  positionals: string[];
}

/** A bad command line (unknown flag, missing value, a flag that does not fit the command). */
export class UsageError extends UserError {}

export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const values = spec.values ?? {};
  const booleans = new Set(spec.booleans ?? []);
  const repeatable = new Set(spec.repeatable ?? []);
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq === -1 ? undefined : eq);
    if (booleans.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const kind = values[name];
    if (!kind) {
      const known = [...Object.keys(values), ...booleans].map((k) => `--${k}`).join(", ");
      throw new UsageError(`unknown flag --${name}${known ? ` (known: ${known})` : ""}`);
    }
    const raw = eq !== -1 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    let v: string | number = raw;
    if (kind === "number") {
      v = Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
    }
    if (repeatable.has(name)) ((flags[name] ??= []) as string[]).push(String(v));
    else flags[name] = v;
  }
  return { flags, positionals };
}

export function str(p: ParsedArgs, name: string, fallback?: string): string {
  const v = p.flags[name];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required`);
  }
  return String(v);
}

export function num(p: ParsedArgs, name: string, fallback?: number): number {
  const v = p.flags[name];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required`);
  }
  return Number(v);
}

export function bool(p: ParsedArgs, name: string): boolean {
  return p.flags[name] === true;
}

/**
 * Run `fn` (a library call) and reword an error about one of its options as one about the flag that
 * set it: `flags` maps option → flag name, e.g. { batchSize: "batch" } turns "batchSize must be an
 * integer ≥ 1, got 0" into "--batch must be an integer ≥ 1, got 0". The library validates each
 * value once (UserError.option names it); the command only parses.
 */
export async function flagNames<T>(
  flags: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const option = e instanceof UserError ? e.option : undefined;
    const flag = option !== undefined ? flags[option] : undefined;
    if (flag !== undefined && (e as Error).message.startsWith(option!)) {
      throw new UsageError(`--${flag}${(e as Error).message.slice(option!.length)}`, { cause: e });
    }
    throw e;
  }
}

/** A flag's value when given, else undefined. */
export function optNum(p: ParsedArgs, name: string): number | undefined {
  return p.flags[name] === undefined ? undefined : num(p, name);
}

/** A string flag's value when given, else undefined. */
export function optStr(p: ParsedArgs, name: string): string | undefined {
  return p.flags[name] === undefined ? undefined : str(p, name);
}
