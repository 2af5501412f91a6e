/**
 * A hash of library source files: what "code version" means for checkpoints (lib/train) and for
 * the run cache (lib/experiments). Paths and contents both count, so a rename changes it too.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const cache = new Map<string, string>();

/** SHA-256 (hex) over the .ts/.mjs files under the given lib/ folders, in a stable order. */
export function libSourceHash(folders: readonly string[]): string {
  const key = folders.join(",");
  const hit = cache.get(key);
  if (hit) return hit;
  const libDir = fileURLToPath(new URL("..", import.meta.url));
  const h = createHash("sha256");
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mjs)$/.test(name)) {
        h.update(relative(libDir, p));
        h.update("\0");
        h.update(readFileSync(p));
        h.update("\0");
      }
    }
  };
  for (const d of folders) walk(join(libDir, d));
  const digest = h.digest("hex");
  cache.set(key, digest);
  return digest;
}
