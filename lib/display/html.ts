/**
 * The one escaper for text placed in HTML or XML (SVG) markup: element content and quoted
 * attribute values alike. `'` becomes `&#39;` rather than `&apos;`, which HTML 4 lacks; a numeric
 * reference means the same in HTML5, XML 1.0 and SVG (librsvg included).
 */
const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
