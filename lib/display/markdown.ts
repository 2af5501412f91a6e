/**
 * Markdown as HTML, for the `text/html` copy the kernel puts beside every `text/markdown` output.
 * The classic Notebook ignores `text/markdown` in an untrusted notebook and shows the `text/plain`
 * source instead (notebook 6.4, outputarea.js: only text, LaTeX and raster images are "safe"
 * outputs; HTML is shown sanitised). Sanitised HTML is what every viewer renders: the classic
 * Notebook and JupyterLab trusted or not (both rank `text/html` before `text/markdown`), nbconvert's
 * HTML export and GitHub-like static viewers. Rendered with `marked` (GitHub-flavoured markdown, as
 * Jupyter's own markdown renderers use); the HTML carries no script.
 */
import { Marked, type Tokens } from "marked";

const ALIGN = /^(left|right|center)$/;

// Table cells state their alignment twice: `style` for viewers that keep inline styles (JupyterLab,
// the trusted classic Notebook, nbconvert) and `align` for those that strip them; the notebook
// stylesheets' `text-align: right` on td/th wins over a bare `align` attribute.
const parser = new Marked({
  gfm: true,
  renderer: {
    tablecell(
      this: { parser: { parseInline(t: Tokens.Generic[]): string } },
      token: Tokens.TableCell,
    ) {
      const tag = token.header ? "th" : "td";
      const a = token.align && ALIGN.test(token.align) ? token.align : undefined;
      const attrs = a ? ` align="${a}" style="text-align: ${a}"` : "";
      return `<${tag}${attrs}>${this.parser.parseInline(token.tokens)}</${tag}>\n`;
    },
  },
});

/** `markdown` (GitHub-flavoured) as an HTML fragment; raw HTML inside it passes through as written. */
export function markdownHtml(markdown: string): string {
  return parser.parse(markdown, { async: false }) as string;
}
