/**
 * OpenMoji (npm `openmoji`, ~4,000 SVG emoji with human annotations), installed on first use.
 * Each record is color/svg/<hexcode>.svg (rendered by sharp onto white) with the annotation as
 * text ("grinning face"), or annotation + tags with `text: "tags"`. Skin-tone variants are left
 * out unless `skintones: true` (they are near-duplicates).
 */
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { RawRecord } from "../decode.ts";
import type { RecordSource } from "../records.ts";
import { DataError } from "../errors.ts";
import { splitOfKey } from "./common.ts";

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
export const OPENMOJI_INSTALL = `cd ${PROJECT_ROOT} && npm install --no-save openmoji`;

function findOpenmoji(): string | undefined {
  for (const base of [PROJECT_ROOT, process.cwd()]) {
    const dir = join(base, "node_modules", "openmoji");
    if (existsSync(join(dir, "data", "openmoji.json"))) return dir;
  }
  return undefined;
}

/** The package folder, installing it (with the shared npm lock) when missing. */
export function ensureOpenmoji(opts: { install?: boolean } = {}): string {
  const found = findOpenmoji();
  if (found) return found;
  if (opts.install === false || process.env.SIMVLM_NO_INSTALL === "1") {
    throw new DataError(`the openmoji package is not installed; run: ${OPENMOJI_INSTALL}`, {
      file: "openmoji",
    });
  }
  process.stderr.write(
    `simvlm: installing the openmoji package (about 70 MB) on first use: npm install --no-save openmoji\n`,
  );
  const hasFlock = spawnSync("flock", ["--version"], { stdio: "ignore" }).status === 0;
  const cmd = hasFlock
    ? ["flock", "/tmp/simvlm-npm.lock", "npm", "install", "--no-save", "openmoji"]
    : ["npm", "install", "--no-save", "openmoji"];
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const dir = findOpenmoji();
  if (r.status !== 0 || !dir)
    throw new DataError(
      `could not install the openmoji package (npm exit ${r.status}); run it yourself: ${OPENMOJI_INSTALL}`,
      { file: "openmoji" },
    );
  return dir;
}

interface OpenmojiEntry {
  hexcode: string;
  annotation: string;
  tags?: string;
  openmoji_tags?: string;
  group?: string;
  subgroups?: string;
  skintone?: unknown;
}

export function openmojiSource(
  opts: { split?: string; text?: string; skintones?: boolean; install?: boolean } = {},
): RecordSource {
  return {
    name: "openmoji",
    fit: "contain", // pictures on a white canvas: padding keeps the whole drawing
    async *records(): AsyncGenerator<RawRecord> {
      const dir = ensureOpenmoji(opts);
      const jsonPath = join(dir, "data", "openmoji.json");
      const list = JSON.parse(readFileSync(jsonPath, "utf8")) as OpenmojiEntry[];
      if (!Array.isArray(list)) throw new DataError("expected a list of emoji", { file: jsonPath });
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (!opts.skintones && e.skintone !== "" && e.skintone !== undefined) continue;
        if (opts.split && splitOfKey(e.hexcode) !== opts.split) continue;
        const tags = [e.tags, e.openmoji_tags].filter(Boolean).join(", ");
        const text = opts.text === "tags" && tags ? `${e.annotation}, ${tags}` : e.annotation;
        yield {
          id: `openmoji-${e.hexcode}`,
          file: jsonPath,
          record: e.hexcode,
          imagePath: join(dir, "color", "svg", `${e.hexcode}.svg`),
          text,
          meta: {
            annotation: e.annotation,
            tags,
            group: e.group,
            subgroup: e.subgroups,
            split: splitOfKey(e.hexcode),
          },
        };
      }
    },
  };
}
