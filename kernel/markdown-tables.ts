/**
 * Markdown tables read as tables: a separator row that states no alignment (`|---|`) is left to the
 * renderer, and JupyterLab right-aligns every cell then. `alignTables` gives each such column an
 * explicit alignment from its body: numbers (with units, ± spreads, percentages) right, text left.
 * Columns that already state an alignment are kept. Used by `display.markdown` (issue 17 item 3).
 */

const SEPARATOR = /^\s*\|?(\s*:?-+:?\s*\|)+\s*(:?-+:?\s*)?$/;
const NUMBER = String.raw`[-+−]?(\d[\d,]*(\.\d+)?|\.\d+)(e[-+]?\d+)?`;
const NUMERIC = new RegExp(
  String.raw`^(${NUMBER})(\s*(±|\+/-)\s*${NUMBER})?\s*(%|s|ms|min|h|×|x|KB|MB|GB)?$`,
  "i",
);
const EMPTY = /^(|—|–|-|n\/a|nan)$/i;

/** The cells of a table row (`| a | b |`), split on pipes that are not escaped. */
function cells(row: string): string[] {
  const t = row
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "");
  return t.split(/(?<!\\)\|/).map((c) => c.trim());
}

/** Whether a cell holds a number once emphasis and code marks are taken off. */
function isNumber(cell: string): boolean {
  return NUMERIC.test(cell.replace(/[*_`]/g, "").trim());
}

export function alignTables(markdown: string): string {
  const lines = markdown.split("\n");
  for (let i = 1; i < lines.length; i++) {
    if (!SEPARATOR.test(lines[i]!) || !lines[i - 1]!.includes("|")) continue;
    const seps = cells(lines[i]!);
    const body: string[][] = [];
    for (let j = i + 1; j < lines.length && lines[j]!.includes("|") && lines[j]!.trim() !== ""; j++)
      body.push(cells(lines[j]!));
    const aligned = seps.map((sep, c) => {
      if (sep.includes(":")) return sep;
      const values = body
        .map((r) => r[c] ?? "")
        .filter((v) => !EMPTY.test(v.replace(/[*_`]/g, "").trim()));
      return values.length > 0 && values.every(isNumber) ? "---:" : ":---";
    });
    lines[i] = `|${aligned.join("|")}|`;
  }
  return lines.join("\n");
}
