/**
 * The one serialiser for values that go to a frontend as JSON (Plotly figures, `application/json`,
 * any `+json` mime type) and for the copy of a figure inside its HTML. `JSON.stringify` gets many
 * everyday JavaScript values wrong (a Float32Array becomes {"0":…,"1":…}, a BigInt throws, a Map
 * becomes {}), so every display path turns values into plain JSON data here first. The rules:
 *
 * | value                                   | becomes                                                     |
 * |-----------------------------------------|-------------------------------------------------------------|
 * | typed array (Float32Array, Int32Array…, Buffer) | array of numbers (BigInt64Array: by the BigInt rule) |
 * | ArrayBuffer, SharedArrayBuffer, DataView | array of its bytes (0–255)                                 |
 * | BigInt                                  | number when it is a safe integer, else its decimal string   |
 * | NaN, Infinity, -Infinity (anywhere)     | null (what Plotly reads as a gap; JSON has no such numbers) |
 * | Map                                     | object when every key is a string or number, else [key, value] pairs |
 * | Set                                     | array                                                       |
 * | Date                                    | ISO 8601 string (null when invalid), as `toJSON` gives      |
 * | object with `toJSON()`                  | what it returns, serialised by these rules                  |
 * | tfjs tensor (has `arraySync()` and `shape`) | its nested array                                        |
 * | Error                                   | "Name: message"                                             |
 * | RegExp                                  | its source text, e.g. "/a+/g"                               |
 * | undefined, function, symbol             | null inside arrays, left out of objects (JSON's rule)       |
 * | a cycle                                 | DisplayValueError naming the path, e.g. data[0].marker.self |
 *
 * Objects that are repeated without a cycle are written out at each place. Symbol keys are left
 * out, as JSON does.
 */
import { UserError } from "../errors.ts";

/** A value that needs no further conversion to be JSON. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A value the display serialiser cannot turn into JSON (a cycle, a throwing toJSON), named by its path. */
export class DisplayValueError extends UserError {}

const OMIT = Symbol("omit");
type Converted = JsonValue | typeof OMIT;

/** `value` as plain JSON data by the rules above; `what` names the root in error messages. */
export function toJsonValue(value: unknown, what = "value"): JsonValue {
  let out: Converted;
  try {
    out = new Serialiser(what).convert(value, "");
  } catch (e) {
    // Thrown again from here: a stack from deep in the recursion would be all serialiser frames,
    // with the caller's line cut off by the stack trace limit.
    if (e instanceof DisplayValueError) throw new DisplayValueError(e.message, { cause: e.cause });
    throw e;
  }
  return out === OMIT ? null : out;
}

/** `toJsonValue` then `JSON.stringify`. */
export function toJson(value: unknown, what = "value"): string {
  return JSON.stringify(toJsonValue(value, what));
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER),
  MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const bigint = (n: bigint): number | string =>
  n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n.toString();
const orNull = (v: Converted): JsonValue => (v === OMIT ? null : v);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

class Serialiser {
  /** The containers being converted, to tell a cycle from a repeated value. */
  private readonly ancestors = new Set<object>();
  /** Keys from the root to the value being converted; a path string is built only for an error. */
  private readonly keys: (string | number)[] = [];
  constructor(private readonly root: string) {}

  private path(): string {
    return (
      this.root +
      this.keys
        .map((k) =>
          typeof k === "number"
            ? `[${k}]`
            : IDENTIFIER.test(k)
              ? `.${k}`
              : `[${JSON.stringify(k)}]`,
        )
        .join("")
    );
  }

  /** `key` is what a toJSON method is called with, as JSON.stringify does. */
  convert(value: unknown, key: string): Converted {
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        return finite(value);
      case "bigint":
        return bigint(value);
      case "undefined":
      case "function":
      case "symbol":
        return OMIT;
    }
    if (value === null) return null;
    const obj = value as object;
    if (ArrayBuffer.isView(obj)) {
      if (obj instanceof DataView)
        return Array.from(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength));
      const items = obj as unknown as ArrayLike<number | bigint>;
      const out = new Array<number | string | null>(items.length);
      for (let i = 0; i < items.length; i++) {
        const x = items[i]!;
        out[i] = typeof x === "bigint" ? bigint(x) : finite(x);
      }
      return out;
    }
    if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer)
      return Array.from(new Uint8Array(obj));
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
    if (obj instanceof RegExp) return String(obj);
    if (obj instanceof Error) return `${obj.name}: ${obj.message}`;
    if (this.ancestors.has(obj)) {
      throw new DisplayValueError(
        `${this.path()}: the value refers back to one of its own containers (a cycle), which JSON cannot hold`,
      );
    }
    this.ancestors.add(obj);
    try {
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function")
        return this.convert(
          this.call(() => toJSON.call(obj, key), "toJSON()"),
          key,
        );
      const tensor = obj as { arraySync?: unknown; shape?: unknown };
      if (typeof tensor.arraySync === "function" && Array.isArray(tensor.shape)) {
        return this.convert(
          this.call(() => (tensor.arraySync as () => unknown).call(obj), "arraySync()"),
          key,
        );
      }
      if (Array.isArray(obj)) return this.array(obj);
      if (obj instanceof Set) return this.array([...obj]);
      if (obj instanceof Map) {
        const entries = [...obj.entries()];
        if (entries.every(([k]) => typeof k === "string" || typeof k === "number"))
          return this.object(entries.map(([k, v]) => [String(k), v]));
        return this.array(entries);
      }
      return this.object(Object.entries(obj));
    } finally {
      this.ancestors.delete(obj);
    }
  }

  /** What a toJSON or arraySync call returns; its error names the path. */
  private call(produce: () => unknown, method: string): unknown {
    try {
      return produce();
    } catch (e) {
      throw new DisplayValueError(
        `${this.path()}.${method} failed: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  private array(items: readonly unknown[]): JsonValue[] {
    const out = new Array<JsonValue>(items.length);
    // A plain loop, not map(): holes in sparse arrays must become null too.
    for (let i = 0; i < items.length; i++) {
      const x = items[i];
      if (typeof x === "number") {
        out[i] = finite(x);
        continue;
      }
      this.keys.push(i);
      out[i] = orNull(this.convert(x, String(i)));
      this.keys.pop();
    }
    return out;
  }

  private object(entries: [string, unknown][]): { [key: string]: JsonValue } {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of entries) {
      this.keys.push(k);
      const converted = this.convert(v, k);
      this.keys.pop();
      if (converted === OMIT) continue;
      // An own "__proto__" key (JSON.parse makes them) must stay a key, not set the prototype.
      if (k === "__proto__")
        Object.defineProperty(out, k, {
          value: converted,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[k] = converted;
    }
    return out;
  }
}
