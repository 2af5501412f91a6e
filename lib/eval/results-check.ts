/**
 * Check that a parsed `notebooks/results/<notebook>.json` has the shape of results.ts's ResultsFile:
 * every required field with its type, every metric either a number with its per-seed values or
 * `{ na: reason }`, every comparison with its interval and sentence, every claim with a verdict.
 * Returns the problems found (empty when well-formed), each naming the field, so a test or a reader
 * of someone else's file gets one clear list instead of a crash deep in a table.
 */
import type { ClaimRecord } from "./results.ts";

const VERDICTS: readonly ClaimRecord["verdict"][] = [
  "reproduced",
  "not reproduced",
  "inconclusive at this scale",
  "not tested",
];

export function resultsFileProblems(value: unknown): string[] {
  const problems: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    !!v && typeof v === "object" && !Array.isArray(v);
  const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  if (!isObj(value)) return ["the results file is not a JSON object"];
  const r = value;
  const need = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(r[key]))
      problems.push(`${key}: expected ${what}, got ${JSON.stringify(r[key])?.slice(0, 60)}`);
  };
  need("notebook", (v) => typeof v === "string" && v.length > 0, "a notebook name");
  need("mode", (v) => v === "full" || v === "quick", '"full" or "quick"');
  need(
    "finished",
    (v) => typeof v === "string" && !Number.isNaN(Date.parse(v as string)),
    "an ISO time",
  );
  need("codeVersion", (v) => typeof v === "string" && v.length > 0, "a code version");
  need(
    "backend",
    (v) => isObj(v) && typeof v.name === "string" && num(v.threads),
    "{ name, threads }",
  );
  need("wallSeconds", (v) => num(v) && (v as number) >= 0, "seconds ≥ 0");
  need(
    "seeds",
    (v) => Array.isArray(v) && v.length > 0 && v.every((s) => Number.isInteger(s)),
    "a non-empty list of integer seeds",
  );
  need("dataSeed", (v) => Number.isInteger(v), "an integer");
  need("settings", isObj, "an object");
  need("splits", (v) => Array.isArray(v) && v.length > 0, "a non-empty list");
  if (Array.isArray(r.splits))
    r.splits.forEach((s, i) => {
      if (
        !isObj(s) ||
        typeof s.split !== "string" ||
        !Number.isInteger(s.n) ||
        typeof s.hash !== "string" ||
        !/^[0-9a-f]{64}$/.test(s.hash) ||
        !Number.isInteger(s.dataSeed)
      ) {
        problems.push(`splits[${i}]: expected { split, n, hash (64 hex digits), dataSeed }`);
      }
    });
  need("metrics", isObj, "an object system → metric → entry");
  if (isObj(r.metrics))
    for (const [sys, ms] of Object.entries(r.metrics)) {
      if (!isObj(ms)) {
        problems.push(`metrics[${JSON.stringify(sys)}]: expected an object`);
        continue;
      }
      for (const [k, e] of Object.entries(ms)) {
        const where = `metrics[${JSON.stringify(sys)}][${JSON.stringify(k)}]`;
        if (isObj(e) && typeof e.na === "string") continue;
        if (
          !isObj(e) ||
          !num(e.mean) ||
          !Array.isArray(e.values) ||
          !e.values.length ||
          !e.values.every(num) ||
          e.n !== e.values.length ||
          typeof e.higherIsBetter !== "boolean"
        ) {
          problems.push(
            `${where}: expected { mean, n, values (one per seed), higherIsBetter, … } or { na: reason }`,
          );
        } else if (e.values.length > 1 && !(num(e.lo) && num(e.hi)))
          problems.push(`${where}: several seeds but no interval (lo, hi)`);
      }
    }
  need("comparisons", Array.isArray, "a list");
  if (Array.isArray(r.comparisons))
    r.comparisons.forEach((c, i) => {
      if (
        !isObj(c) ||
        typeof c.x !== "string" ||
        typeof c.y !== "string" ||
        typeof c.metric !== "string" ||
        typeof c.method !== "string" ||
        typeof c.sentence !== "string" ||
        !c.sentence ||
        !isObj(c.result) ||
        typeof c.result.excludesZero !== "boolean"
      )
        problems.push(
          `comparisons[${i}]: expected { x, y, metric, method, result: { diff, lo, hi, excludesZero, … }, sentence }`,
        );
    });
  need("claims", Array.isArray, "a list");
  if (Array.isArray(r.claims))
    r.claims.forEach((c, i) => {
      if (
        !isObj(c) ||
        typeof c.paper !== "string" ||
        typeof c.here !== "string" ||
        !VERDICTS.includes(c.verdict as ClaimRecord["verdict"])
      ) {
        problems.push(`claims[${i}]: expected { paper, here, verdict: ${VERDICTS.join(" | ")} }`);
      }
    });
  return problems;
}
