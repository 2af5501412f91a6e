/**
 * tfjs-core's Node bundle ships no gradient registrations (the union package @tensorflow/tfjs adds
 * them), and its ESM `dist/register_all_gradients.js` cannot be imported by Node (extensionless
 * relative imports). So we bundle that file in memory with esbuild (already here as tsx's
 * dependency) and run it once: it registers every gradient in the global registry that the
 * engine shares with our copy of tfjs-core. Belongs in lib/backend/index.ts; here until moved.
 */
import { createRequire } from "node:module";
import { tf } from "../lib/backend/index.ts";

const require = createRequire(import.meta.url);

export function ensureGradients(): void {
  if (tf.getGradient("RealDiv")) return;
  const { buildSync } = require("esbuild") as typeof import("esbuild");
  const entry = require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  const out = buildSync({ entryPoints: [entry], bundle: true, format: "cjs", platform: "node", write: false, logLevel: "silent" });
  const mod = { exports: {} };
  new Function("module", "exports", "require", out.outputFiles[0]!.text)(mod, mod.exports, require);
  if (!tf.getGradient("RealDiv")) throw new Error("registering tfjs gradients failed");
}
