/**
 * Moving a model's weights in and out of checkpoints, and loadModel(dir) for inference.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { libSourceHash } from "../util/source-hash.ts";
import { initBackend, tf } from "../backend/index.ts";
import { SimVLM } from "../model/simvlm.ts";
import { validateConfig, type ModelConfig } from "../model/configs.ts";
import { SimTokenizer } from "../tokenizer/tokenizer.ts";
import { loadCheckpoint, type CheckpointMeta } from "./checkpoint.ts";
import type { NamedArray } from "./safetensors.ts";
import { CheckpointError } from "./errors.ts";

/** The model's weights as named float32 arrays (the safetensors tensor names = SimVLM.weights() names). */
export function weightsToArrays(weights: Map<string, tf.Variable>): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [name, v] of weights)
    out.set(name, { dtype: "F32", shape: [...v.shape], data: v.dataSync() as Float32Array });
  return out;
}

/** Assign saved arrays to the model's variables; every name must match in both directions, with equal shapes. */
export function assignWeights(
  weights: Map<string, tf.Variable>,
  arrays: Map<string, NamedArray>,
  file: string,
): void {
  const missing = [...weights.keys()].filter((n) => !arrays.has(n));
  if (missing.length)
    throw new CheckpointError(
      `${file}: missing ${missing.length} tensor(s) the model needs: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}`,
      file,
    );
  const extra = [...arrays.keys()].filter((n) => !weights.has(n));
  if (extra.length)
    throw new CheckpointError(
      `${file}: ${extra.length} tensor(s) the model does not have: ${extra.slice(0, 5).join(", ")}`,
      file,
    );
  for (const [name, v] of weights) {
    const a = arrays.get(name)!;
    if (a.dtype !== "F32")
      throw new CheckpointError(`${file}: tensor "${name}" is ${a.dtype}, expected F32`, file);
    if (a.shape.join(",") !== v.shape.join(","))
      throw new CheckpointError(
        `${file}: tensor "${name}" has shape [${a.shape}], the model needs [${v.shape}]`,
        file,
      );
  }
  for (const [name, v] of weights) {
    const a = arrays.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(a.data, a.shape, "float32")));
  }
}

/** Parse config.json of a checkpoint into a validated ModelConfig (errors name the file). */
export function checkpointConfig(raw: Record<string, unknown>, dir: string): ModelConfig {
  const file = path.join(dir, "config.json");
  try {
    return validateConfig(raw, file);
  } catch (e) {
    throw new CheckpointError(`${file}: ${(e as Error).message}`, file);
  }
}

export function checkpointTokenizer(json: string, dir: string): SimTokenizer {
  const file = path.join(dir, "tokenizer.json");
  try {
    return SimTokenizer.fromJSON(json, file);
  } catch (e) {
    throw new CheckpointError(`${file}: ${(e as Error).message}`, file);
  }
}

export interface LoadedModel {
  model: SimVLM;
  tokenizer: SimTokenizer;
  config: ModelConfig;
  meta: CheckpointMeta;
}

/**
 * A checkpoint's model, tokenizer, config and state.json, ready for inference (the optimizer state
 * is not read). Any missing, truncated or corrupted file → one CheckpointError naming it.
 * Initializes the backend if nothing has yet, so a fresh process can call it first.
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  await initBackend();
  const ck = loadCheckpoint(dir, { optimizer: false });
  const config = checkpointConfig(ck.config, dir);
  const tokenizer = checkpointTokenizer(ck.tokenizerJson, dir);
  const model = new SimVLM(config, ck.meta.seed ?? 0);
  try {
    assignWeights(model.weights(), ck.weights, path.join(dir, "weights.safetensors"));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, tokenizer, config, meta: ck.meta };
}

let cachedVersion: string | undefined;

/**
 * "simvlm@<package version>+<hash>": the hash covers the library sources that decide a run's numbers
 * (model, train, tokenizer, data, backend, util), so a checkpoint records which code produced it.
 */
export function trainCodeVersion(): string {
  if (cachedVersion) return cachedVersion;
  let version = "dev";
  const pkg = fileURLToPath(new URL("../../package.json", import.meta.url));
  try {
    version = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
  } catch {
    /* no package.json */
  }
  cachedVersion = `simvlm@${version}+${libSourceHash(["backend", "data", "model", "tokenizer", "train", "util"]).slice(0, 12)}`;
  return cachedVersion;
}
