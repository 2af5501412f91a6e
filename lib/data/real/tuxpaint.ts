/**
 * Tux Paint stamps (Debian `tuxpaint-stamps-default`): ~950 PNG/SVG pictures, each with a .txt
 * whose first line is an English description and whose `de.utf8=` / `fr.utf8=` lines are German
 * and French translations: a tiny Multi30k-like set. `lang: "de" | "fr"` picks the text language.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { DataError } from "../errors.ts";
import { decodeUtf8 } from "../io.ts";
import { splitOfKey } from "./common.ts";

export const TUXPAINT_DIR = "/usr/share/tuxpaint/stamps";
export const TUXPAINT_INSTALL = "sudo apt-get install -y tuxpaint-stamps-default";

export function ensureTuxpaint(dir = TUXPAINT_DIR, opts: { install?: boolean } = {}): string {
  if (existsSync(dir)) return dir;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (
    dir === TUXPAINT_DIR &&
    isRoot &&
    opts.install !== false &&
    process.env.SIMVLM_NO_INSTALL !== "1"
  ) {
    process.stderr.write(
      "simvlm: installing tuxpaint-stamps-default on first use: apt-get install -y tuxpaint-stamps-default\n",
    );
    spawnSync("apt-get", ["install", "-y", "tuxpaint-stamps-default"], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (existsSync(dir)) return dir;
  }
  throw new DataError(`Tux Paint stamps are not installed; run: ${TUXPAINT_INSTALL}`, {
    file: dir,
  });
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.name.endsWith(".txt")) out.push(p);
  }
  return out;
}

/** English first line, and the de/fr translations, of one description file. */
export function parseStampText(s: string): { en: string; de?: string; fr?: string } {
  const lines = s.split(/\r?\n/);
  const en = (lines[0] ?? "").trim();
  const tr = (lang: string) =>
    lines
      .find((l) => l.startsWith(`${lang}.utf8=`))
      ?.slice(lang.length + 6)
      .trim() || undefined;
  return { en, de: tr("de"), fr: tr("fr") };
}

export function tuxpaintSource(
  opts: { split?: string; lang?: string; dir?: string; install?: boolean } = {},
): RecordSource {
  const lang = opts.lang ?? "en";
  if (!["en", "de", "fr"].includes(lang))
    throw new DataError(`lang must be en, de or fr, got "${lang}"`, { file: "tuxpaint" });
  return {
    name: "tuxpaint",
    fit: "contain", // pictures on a white canvas: padding keeps the whole drawing
    async *records(): AsyncGenerator<RawRecord> {
      const dir = ensureTuxpaint(opts.dir ?? TUXPAINT_DIR, opts);
      for (const txt of await walk(dir)) {
        const base = txt.slice(0, -4);
        const image = existsSync(`${base}.png`)
          ? `${base}.png`
          : existsSync(`${base}.svg`)
            ? `${base}.svg`
            : undefined;
        if (!image) continue; // descriptions of sounds or shared text, not a stamp
        const key = relative(dir, base);
        const split = splitOfKey(key);
        if (opts.split && split !== opts.split) continue;
        const s = decodeUtf8(await readFile(txt));
        if (s === null) {
          yield {
            id: `tuxpaint-${key}`,
            file: txt,
            record: key,
            problem: "description is not valid UTF-8",
          };
          continue;
        }
        const t = parseStampText(s);
        const text = lang === "en" ? t.en : t[lang as "de" | "fr"];
        yield {
          id: `tuxpaint-${key}`,
          file: txt,
          record: key,
          imagePath: image,
          ...(text ? { text } : { problem: `no ${lang} description` }),
          meta: { en: t.en, de: t.de, fr: t.fr, split },
        };
      }
    },
  };
}
