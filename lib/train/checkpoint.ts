/**
 * Checkpoints: a directory that holds everything needed to use or continue a run.
 *
 *   DIR/config.json            the model config (plain object)
 *   DIR/tokenizer.json         the tokenizer (tokenizers' JSON)
 *   DIR/weights.safetensors    model weights, named as SimVLM.weights() names them
 *   DIR/optimizer.safetensors  AdamW state: exp_avg.<param>, exp_avg_sq.<param>
 *   DIR/state.json             step, seed, schedule, RNG states, data spec + cursor, code version,
 *                              and the size + SHA-256 of each file above (to detect corruption)
 *
 * Crash safety: each save writes a complete new directory `DIR/checkpoints/step-NNNNNN` (under a
 * temporary name, fsynced, then renamed), then atomically swaps the symlink `DIR/latest` to it, then
 * deletes older ones. The five names in DIR are relative symlinks through `latest`, so readers
 * (and PyTorch) simply open DIR/weights.safetensors. A crash at any moment leaves either the old or
 * the new checkpoint complete. A plain directory holding the five files (e.g. copied with `cp -rL`)
 * loads too, and the first save into it converts it to this layout.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "./safetensors.ts";
import { CheckpointError } from "./errors.ts";

export const CHECKPOINT_FILES = [
  "config.json",
  "tokenizer.json",
  "weights.safetensors",
  "optimizer.safetensors",
  "state.json",
] as const;
export const CHECKPOINT_FORMAT = "simvlm-checkpoint/1";

/** What state.json holds. Training fills `train`; a bare model export may leave it out. */
export interface CheckpointMeta {
  format: string;
  /** Updates done. */
  step: number;
  seed: number;
  codeVersion: string;
  createdAt: string;
  /** Training state needed to resume bit-exactly (schedule, RNG states, data cursor, options). */
  train?: Record<string, unknown>;
  /** Size and SHA-256 of every other file, checked on load. */
  files: Record<string, { bytes: number; sha256: string }>;
}

export interface CheckpointContent {
  config: Record<string, unknown>;
  /** The tokenizer's JSON text (tokenizer.json). */
  tokenizerJson: string;
  weights: Map<string, NamedArray>;
  /** Empty for a checkpoint saved without optimizer state. */
  optimizer: Map<string, NamedArray>;
  meta: Omit<CheckpointMeta, "files" | "format" | "createdAt"> &
    Partial<Pick<CheckpointMeta, "files" | "format" | "createdAt">>;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function writeFileSynced(file: string, data: Uint8Array | string): void {
  const fd = fs.openSync(file, "w");
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

/** Is there a checkpoint in `dir` (its state.json resolves)? */
export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, "state.json"));
}

/**
 * Save a checkpoint into `dir` (created if needed) crash-safely; returns the resolved directory of
 * the new checkpoint. Older checkpoints beyond `keep` (default 1) are deleted after the switch.
 */
export function saveCheckpoint(
  dir: string,
  content: CheckpointContent,
  opts: { keep?: number } = {},
): string {
  const keep = Math.max(1, opts.keep ?? 1);
  fs.mkdirSync(path.join(dir, "checkpoints"), { recursive: true });
  adoptPlainCheckpoint(dir);
  const stepName = `step-${String(content.meta.step).padStart(6, "0")}`;
  const tmp = path.join(dir, "checkpoints", `.tmp-${stepName}-${process.pid}-${Date.now()}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  const blobs: [string, Uint8Array][] = [
    ["config.json", Buffer.from(JSON.stringify(content.config, null, 2) + "\n", "utf8")],
    ["tokenizer.json", Buffer.from(content.tokenizerJson, "utf8")],
    [
      "weights.safetensors",
      encodeSafetensors(content.weights, { format: "pt", producer: "simvlm" }),
    ],
    [
      "optimizer.safetensors",
      encodeSafetensors(content.optimizer, {
        format: "pt",
        producer: "simvlm",
        step: String(content.meta.step),
      }),
    ],
  ];
  const files: CheckpointMeta["files"] = {};
  for (const [name, bytes] of blobs) {
    writeFileSynced(path.join(tmp, name), bytes);
    files[name] = { bytes: bytes.length, sha256: sha256(bytes) };
  }
  const meta: CheckpointMeta = {
    ...content.meta,
    format: CHECKPOINT_FORMAT,
    createdAt: new Date().toISOString(),
    files,
  };
  writeFileSynced(path.join(tmp, "state.json"), JSON.stringify(meta, null, 2) + "\n");
  fsyncDir(tmp);
  // Saving the same step again (say, after an interrupt right after a resume) gets a fresh name, so
  // the checkpoint `latest` points to is never touched before the new one is in place.
  let finalRel = path.join("checkpoints", stepName);
  if (fs.existsSync(path.join(dir, finalRel))) finalRel += `-${Date.now()}`;
  const finalAbs = path.join(dir, finalRel);
  fs.renameSync(tmp, finalAbs);
  fsyncDir(path.join(dir, "checkpoints"));
  switchLatest(dir, finalRel);
  pruneOld(dir, finalRel, keep);
  return finalAbs;
}

/**
 * A directory holding a checkpoint as plain files (copied with `cp -rL`, say) is turned into the
 * linked layout before the first save: the files are copied into checkpoints/, `latest` points there,
 * then each plain file is replaced by a link (rename over it). Every step keeps identical contents
 * visible under the five names, so a crash in between leaves a loadable checkpoint.
 */
function adoptPlainCheckpoint(dir: string): void {
  const plain = CHECKPOINT_FILES.filter(
    (n) => fs.lstatSync(path.join(dir, n), { throwIfNoEntry: false })?.isSymbolicLink() === false,
  );
  if (!plain.length) return;
  if (plain.length !== CHECKPOINT_FILES.length) {
    const p = path.join(dir, plain[0]!);
    throw new CheckpointError(
      `${p}: a plain file is in the way of the checkpoint (${dir} holds ${plain.join(", ")} but not a whole checkpoint); choose another directory`,
      p,
    );
  }
  const meta = readCheckpointMeta(dir);
  // A dereferenced copy also has `latest` as a real folder: the plain files stay readable meanwhile.
  const latest = path.join(dir, "latest");
  if (fs.lstatSync(latest, { throwIfNoEntry: false })?.isSymbolicLink() === false)
    fs.rmSync(latest, { recursive: true, force: true });
  const rel = path.join(
    "checkpoints",
    `step-${String(meta.step).padStart(6, "0")}-adopted-${Date.now()}`,
  );
  const tmp = path.join(dir, "checkpoints", `.tmp-adopt-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  for (const n of CHECKPOINT_FILES) fs.copyFileSync(path.join(dir, n), path.join(tmp, n));
  fsyncDir(tmp);
  fs.renameSync(tmp, path.join(dir, rel));
  const tmpLatest = path.join(dir, `.latest-${process.pid}-${Date.now()}`);
  fs.symlinkSync(rel, tmpLatest);
  fs.renameSync(tmpLatest, path.join(dir, "latest"));
  for (const n of CHECKPOINT_FILES) {
    const tmpLink = path.join(dir, `.${n}-${process.pid}-${Date.now()}`);
    fs.symlinkSync(path.join("latest", n), tmpLink);
    fs.renameSync(tmpLink, path.join(dir, n));
  }
  fsyncDir(dir);
}

/** Point DIR/latest at `rel` atomically (symlink to a temp name, then rename over), and make sure the file links exist. */
function switchLatest(dir: string, rel: string): void {
  const tmpLink = path.join(dir, `.latest-${process.pid}-${Date.now()}`);
  fs.symlinkSync(rel, tmpLink);
  fs.renameSync(tmpLink, path.join(dir, "latest"));
  for (const name of CHECKPOINT_FILES) {
    const p = path.join(dir, name);
    if (!fs.lstatSync(p, { throwIfNoEntry: false })) fs.symlinkSync(path.join("latest", name), p);
  }
  fsyncDir(dir);
}

function pruneOld(dir: string, current: string, keep: number): void {
  const root = path.join(dir, "checkpoints");
  const all = fs
    .readdirSync(root)
    .filter((n) => n.startsWith("step-"))
    .sort();
  const others = all.map((n) => path.join("checkpoints", n)).filter((r) => r !== current);
  for (const rel of others.slice(0, Math.max(0, others.length - (keep - 1))))
    fs.rmSync(path.join(dir, rel), { recursive: true, force: true });
  // Leftovers of a crashed save.
  for (const n of fs.readdirSync(root))
    if (n.startsWith(".tmp-")) fs.rmSync(path.join(root, n), { recursive: true, force: true });
}

function readChecked(dir: string, name: string, meta: CheckpointMeta | undefined): Buffer {
  const file = path.join(dir, name);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      `${file}: ${code === "ENOENT" ? "missing" : "unreadable"} (${(e as Error).message})`,
      file,
    );
  }
  const want = meta?.files?.[name];
  if (want) {
    if (bytes.length !== want.bytes) {
      throw new CheckpointError(
        `${file}: ${bytes.length < want.bytes ? "truncated" : "wrong size"}: ${bytes.length} bytes, state.json records ${want.bytes}`,
        file,
      );
    }
    if (sha256(bytes) !== want.sha256)
      throw new CheckpointError(
        `${file}: corrupted (SHA-256 differs from the one state.json records)`,
        file,
      );
  }
  return bytes;
}

function parseJson(bytes: Buffer, file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString("utf8")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(
      `${file}: truncated or corrupted JSON (${(e as Error).message})`,
      file,
    );
  }
}

/** Read state.json alone (cheap: for "which step is this checkpoint at?"). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const file = path.join(dir, "state.json");
  if (!fs.existsSync(dir)) throw new CheckpointError(`${dir}: no such checkpoint directory`, dir);
  const meta = parseJson(
    readChecked(dir, "state.json", undefined),
    file,
  ) as unknown as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `${file}: not a simvlm checkpoint (format ${JSON.stringify(meta.format)}, expected "${CHECKPOINT_FORMAT}")`,
      file,
    );
  if (!Number.isInteger(meta.step) || meta.step < 0)
    throw new CheckpointError(`${file}: corrupted (step ${JSON.stringify(meta.step)})`, file);
  if (typeof meta.files !== "object" || meta.files === null)
    throw new CheckpointError(`${file}: corrupted (no file list)`, file);
  return meta;
}

/** Load and verify a whole checkpoint. Any missing, truncated or corrupted file → CheckpointError naming it. */
export function loadCheckpoint(
  dir: string,
  opts: { optimizer?: boolean } = {},
): CheckpointContent & { meta: CheckpointMeta } {
  const meta = readCheckpointMeta(dir);
  const config = parseJson(readChecked(dir, "config.json", meta), path.join(dir, "config.json"));
  const tokenizerJson = readChecked(dir, "tokenizer.json", meta).toString("utf8");
  const wFile = path.join(dir, "weights.safetensors");
  const weights = decodeSafetensors(readChecked(dir, "weights.safetensors", meta), wFile).tensors;
  let optimizer = new Map<string, NamedArray>();
  if (opts.optimizer !== false) {
    const oFile = path.join(dir, "optimizer.safetensors");
    optimizer = decodeSafetensors(readChecked(dir, "optimizer.safetensors", meta), oFile).tensors;
  }
  return { config, tokenizerJson, weights, optimizer, meta };
}
