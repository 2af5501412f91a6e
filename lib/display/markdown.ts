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

// Table cells state their alignment for every viewer: `style` where inline styles are kept
// (JupyterLab, the trusted classic Notebook, nbconvert) and, for the untrusted classic Notebook,
// which strips styles and whose stylesheet right-aligns td/th (outranking a cell's own `align`), an
// `align` attribute on a <div> around the content, which no rule there overrides.
const parser = new Marked({
  gfm: true,
  renderer: {
    tablecell(
      this: { parser: { parseInline(t: Tokens.Generic[]): string } },
      token: Tokens.TableCell,
    ) {
      const tag = token.header ? "th" : "td";
      const a = token.align && ALIGN.test(token.align) ? token.align : undefined;
      const content = this.parser.parseInline(token.tokens);
      return a
        ? `<${tag} align="${a}" style="text-align: ${a}"><div align="${a}">${content}</div></${tag}>\n`
        : `<${tag}>${content}</${tag}>\n`;
    },
  },
});

/** `markdown` (GitHub-flavoured) as an HTML fragment; raw HTML inside it passes through as written. */
export function markdownHtml(markdown: string): string {
  return parser.parse(markdown, { async: false }) as string;
}
