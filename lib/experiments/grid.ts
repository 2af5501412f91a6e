/**
 * Ablation grids as plain JSON: a base parameter object, axes whose values are merged into it
 * (every combination), or an explicit list of variants, crossed with seeds.
 *
 *   { "name": "prefix", "run": "pretrainEval", "base": { "steps": 300, "prefix": { "mode": "random" } },
 *     "axes": { "prefix": [{ "mode": "fixed", "k": 0 }, { "mode": "random" }] }, "seeds": [0, 1, 2] }
 */
import { UserError } from "../errors.ts";

export type Params = Record<string, unknown>;

export interface GridSpec {
  name: string;
  /** Name of a registered run function (see registerRun), e.g. "pretrainEval". */
  run: string;
  base?: Params;
  /** Each axis: a dotted parameter path → the values it takes; the grid is their product. */
  axes?: Record<string, unknown[]>;
  /** Alternatively (or additionally) explicit variants, each a partial override of base, with a label. */
  variants?: {
    label?: string;
    params: Params;
    /** This variant's seeds (default: the grid's). */ seeds?: number[];
  }[];
  seeds?: number[];
  /** Module (path) to import in worker processes so custom run functions are registered there too. */
  module?: string;
}

export interface RunSpec {
  run: string;
  /** Short human label: what differs from the base. */
  label: string;
  params: Params;
  seed: number;
  /** Parameter paths whose values differ from base, with their values. */
  diff: Params;
}

/** A grid file or spec with a bad field (the message names the grid and the field). */
export class GridError extends UserError {}

export function validateGrid(g: unknown, where = "grid"): GridSpec {
  if (!g || typeof g !== "object" || Array.isArray(g))
    throw new GridError(`${where}: expected a JSON object`);
  const o = g as Record<string, unknown>;
  if (typeof o.name !== "string" || !o.name)
    throw new GridError(`${where}: field "name" must be a non-empty string`);
  if (typeof o.run !== "string" || !o.run)
    throw new GridError(`${where}: field "run" must name a run function`);
  if (
    o.base !== undefined &&
    (typeof o.base !== "object" || o.base === null || Array.isArray(o.base))
  )
    throw new GridError(`${where}: field "base" must be an object`);
  if (o.axes !== undefined) {
    if (typeof o.axes !== "object" || o.axes === null)
      throw new GridError(`${where}: field "axes" must be an object of arrays`);
    for (const [k, v] of Object.entries(o.axes))
      if (!Array.isArray(v) || v.length === 0)
        throw new GridError(`${where}: axes.${k} must be a non-empty array`);
  }
  if (o.variants !== undefined && !Array.isArray(o.variants))
    throw new GridError(`${where}: field "variants" must be an array`);
  for (const [i, v] of ((o.variants as unknown[]) ?? []).entries()) {
    if (!v || typeof v !== "object" || typeof (v as Params).params !== "object")
      throw new GridError(`${where}: variants[${i}] must be { label?, params: {...}, seeds? }`);
    const vs = (v as Params).seeds;
    if (
      vs !== undefined &&
      (!Array.isArray(vs) || !vs.length || vs.some((s) => !Number.isInteger(s)))
    )
      throw new GridError(`${where}: variants[${i}].seeds must be a non-empty array of integers`);
  }
  if (
    o.seeds !== undefined &&
    (!Array.isArray(o.seeds) || o.seeds.some((s) => !Number.isInteger(s)))
  )
    throw new GridError(`${where}: field "seeds" must be an array of integers`);
  return o as unknown as GridSpec;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function isPlainObject(v: unknown): v is Params {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else replaces. */
export function mergeParams(base: Params, over: Params): Params {
  const out = clone(base);
  for (const [k, v] of Object.entries(over)) {
    out[k] =
      isPlainObject(v) && isPlainObject(out[k]) ? mergeParams(out[k] as Params, v) : clone(v);
  }
  return out;
}

export function setPath(obj: Params, path: string, value: unknown): Params {
  const parts = path.split(".");
  const out = clone(obj);
  let cur: Params = out;
  for (const p of parts.slice(0, -1)) {
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p] as Params;
  }
  const last = parts[parts.length - 1]!;
  cur[last] =
    isPlainObject(value) && isPlainObject(cur[last])
      ? mergeParams(cur[last] as Params, value)
      : clone(value);
  return out;
}

/** Flatten nested objects to dotted paths (arrays stay whole values). */
export function flattenParams(p: Params, prefix = ""): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length) Object.assign(out, flattenParams(v, key));
    else out[key] = v;
  }
  return out;
}

export function diffParams(base: Params, params: Params): Params {
  const a = flattenParams(base),
    b = flattenParams(params);
  const out: Params = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = b[k];
  }
  return out;
}

function labelOf(diff: Params): string {
  const parts = Object.entries(diff).map(
    ([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`,
  );
  return parts.length ? parts.join(", ") : "base";
}

/** Every run of the grid, in a stable order (variants/axes outer, seeds inner). */
export function expandGrid(grid: GridSpec): RunSpec[] {
  const base = grid.base ?? {};
  let points: { label?: string; params: Params; seeds?: number[] }[] = [];
  const axes = Object.entries(grid.axes ?? {});
  if (axes.length) {
    points = [{ params: base }];
    for (const [path, values] of axes) {
      points = points.flatMap((pt) => values.map((v) => ({ params: setPath(pt.params, path, v) })));
    }
  }
  for (const v of grid.variants ?? [])
    points.push({ label: v.label, params: mergeParams(base, v.params), seeds: v.seeds });
  if (!points.length) points = [{ params: base }];
  const seeds = grid.seeds?.length ? grid.seeds : [0];
  const runs: RunSpec[] = [];
  for (const pt of points) {
    const diff = diffParams(base, pt.params);
    for (const seed of pt.seeds ?? seeds)
      runs.push({ run: grid.run, label: pt.label ?? labelOf(diff), params: pt.params, seed, diff });
  }
  return runs;
}
