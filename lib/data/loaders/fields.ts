/** Field-name conventions shared by the JSONL and CSV loaders. */
import { isAbsolute, resolve } from "node:path";

export const IMAGE_FIELDS = ["image", "image_path", "img", "file_name", "filename", "file", "path"];
export const TEXT_FIELDS = [
  "text",
  "caption",
  "captions",
  "alt",
  "alt_text",
  "alttext",
  "sentence",
  "description",
];

/** The text of a record, or a reason it has none usable. */
export function pickText(
  obj: Record<string, unknown>,
  field?: string,
): { text?: string; problem?: string; field?: string } {
  const names = field ? [field] : TEXT_FIELDS;
  for (const name of names) {
    if (!(name in obj)) continue;
    const v = obj[name];
    if (typeof v === "string") return { text: v, field: name };
    if (Array.isArray(v) && v.length && v.every((x) => typeof x === "string"))
      return { text: v[0] as string, field: name };
    return { problem: `field "${name}" must be a string or a list of strings, got ${describe(v)}` };
  }
  return {
    problem: field ? `no field "${field}"` : `no text field (one of ${TEXT_FIELDS.join(", ")})`,
  };
}

export function pickImage(
  obj: Record<string, unknown>,
  baseDir: string,
  field?: string,
): { path?: string; problem?: string; field?: string } {
  for (const name of field ? [field] : IMAGE_FIELDS) {
    if (!(name in obj)) continue;
    const v = obj[name];
    if (typeof v !== "string" || !v)
      return { problem: `field "${name}" must be a non-empty path string, got ${describe(v)}` };
    return { path: isAbsolute(v) ? v : resolve(baseDir, v), field: name };
  }
  return {};
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}
