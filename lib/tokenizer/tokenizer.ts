/**
 * The subword tokenizer: byte-pair encoding trained with Hugging Face's `tokenizers` package and
 * stored in its standard tokenizer.json format (loadable from Python with
 * `tokenizers.Tokenizer.from_file`).
 *
 * Normalisation for captions: NFKC, lowercase, every whitespace run → one space, trimmed. Words are
 * split SentencePiece-style (Metaspace: a word-start marker "▁" instead of the space), so decoding
 * restores the spaces exactly: decode(encode(t)) === normalize(t) for text whose characters were
 * seen in training (others become <unk>).
 *
 * The vocabulary always holds lowercase ASCII letters, digits and common punctuation, plus every
 * character of the training texts.
 *
 * Vocabulary size: the package's JS binding trains with its default BPE trainer (no size option), so
 * we train to completion and keep the first (vocabSize − 4 − alphabet) merges. BPE training is
 * greedy, so that prefix is exactly what a trainer stopped at vocabSize would have learned.
 *
 * The package's encode is asynchronous; `encode` here is synchronous (the training loop tokenises
 * inside synchronous batch building). It uses the package's own normalizer and pre-tokenizer and
 * applies the BPE merges in rank order, the package's algorithm; a test checks it against
 * `encodeAsync` (the package itself) on real text.
 */
import { createRequire } from "node:module";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tokenizer as HfTokenizer } from "tokenizers";
import { UserError } from "../errors.ts";

const require = createRequire(import.meta.url);
const hf = require("tokenizers") as typeof import("tokenizers");

export const SPECIAL_IDS = { PAD: 0, BOS: 1, EOS: 2, UNK: 3 } as const;
export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"] as const;

export class TokenizerError extends UserError {}

const NORMALIZER = {
  type: "Sequence",
  normalizers: [
    { type: "NFKC" },
    { type: "Lowercase" },
    { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
    { type: "Strip", strip_left: true, strip_right: true },
  ],
};
/** Characters always in the vocabulary (after normalisation, so lowercase only). */
const BASE_ALPHABET = Array.from("▁abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"-()/&%+");
const METASPACE = { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true };

function skeleton(
  model: Record<string, unknown>,
  addedTokens: unknown[] = [],
): Record<string, unknown> {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: NORMALIZER,
    pre_tokenizer: METASPACE,
    post_processor: null,
    decoder: METASPACE,
    model,
  };
}

function bpeModel(
  vocab: Record<string, number>,
  merges: [string, string][],
): Record<string, unknown> {
  return {
    type: "BPE",
    dropout: null,
    unk_token: "<unk>",
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  };
}

/** Merges are stored as [a, b] pairs (tokenizers ≥ 0.20) or "a b" strings (older files). */
function parseMerges(raw: unknown, where: string): [string, string][] {
  if (!Array.isArray(raw))
    throw new TokenizerError(`${where}: model.merges is missing or not an array`);
  return raw.map((m, i) => {
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string")
      return [m[0], m[1]];
    if (typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp > 0) return [m.slice(0, sp), m.slice(sp + 1)];
    }
    throw new TokenizerError(
      `${where}: model.merges[${i}] is not a merge pair: ${JSON.stringify(m)}`,
    );
  });
}

export class SimTokenizer {
  readonly vocabSize: number;
  private readonly tk: HfTokenizer;
  private readonly idToTok: string[];
  private readonly tokToId: Map<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  private constructor(
    private readonly json: string,
    where: string,
  ) {
    let parsed: { model?: { type?: string; vocab?: Record<string, number>; merges?: unknown } };
    try {
      parsed = JSON.parse(json);
    } catch (e) {
      throw new TokenizerError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    const model = parsed.model;
    if (!model || model.type !== "BPE" || !model.vocab || typeof model.vocab !== "object") {
      throw new TokenizerError(
        `${where}: expected a BPE tokenizer.json with model.vocab (written by SimTokenizer.save)`,
      );
    }
    try {
      this.tk = hf.Tokenizer.fromString(json);
    } catch (e) {
      throw new TokenizerError(
        `${where}: the tokenizers package rejected it: ${(e as Error).message}`,
      );
    }
    this.tokToId = new Map(Object.entries(model.vocab));
    this.idToTok = [];
    for (const [tok, id] of this.tokToId) this.idToTok[id] = tok;
    SPECIAL_TOKENS.forEach((t, i) => {
      if (this.tokToId.get(t) !== i)
        throw new TokenizerError(
          `${where}: special token ${t} must have id ${i}, found ${this.tokToId.get(t)}`,
        );
    });
    this.vocabSize = this.idToTok.length;
    for (let i = 0; i < this.vocabSize; i++) {
      if (this.idToTok[i] === undefined)
        throw new TokenizerError(`${where}: vocabulary ids are not contiguous (id ${i} missing)`);
    }
    parseMerges(model.merges, where).forEach(([a, b], r) => this.ranks.set(`${a}\u0000${b}`, r));
  }

  /** Read a tokenizer.json written by `save`. */
  static load(path: string): SimTokenizer {
    if (!existsSync(path)) throw new TokenizerError(`tokenizer file ${path} does not exist`);
    return new SimTokenizer(readFileSync(path, "utf8"), `tokenizer file ${path}`);
  }

  static fromJSON(json: string, where = "tokenizer JSON"): SimTokenizer {
    return new SimTokenizer(json, where);
  }

  /** Write tokenizer.json (temporary name, then rename: a crash never leaves half a file). */
  save(path: string): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, this.json);
    renameSync(tmp, path);
  }

  toJSON(): string {
    return this.json;
  }

  /** The caption normalisation: NFKC, lowercase, whitespace runs → one space, trimmed. */
  normalize(text: string): string {
    return this.tk.getNormalizer()!.normalizeString(text);
  }

  /** Text → token ids, without specials. */
  encode(text: string): number[] {
    const words = this.tk.getPreTokenizer()!.preTokenizeString(this.normalize(text));
    const out: number[] = [];
    for (const [w] of words) out.push(...this.encodeWord(w));
    return out;
  }

  /** The same through the package's own (asynchronous) encoder. */
  async encodeAsync(text: string): Promise<number[]> {
    return (await this.tk.encode(text, null, { addSpecialTokens: false })).getIds();
  }

  /** Ids → text. pad/bos/eos are dropped; unknown ids and <unk> read as "<unk>". */
  decode(ids: number[]): string {
    const toks: string[] = [];
    for (const id of ids) {
      if (id === SPECIAL_IDS.PAD || id === SPECIAL_IDS.BOS || id === SPECIAL_IDS.EOS) continue;
      toks.push(this.idToTok[id] ?? "<unk>");
    }
    return this.tk.getDecoder()!.decode(toks);
  }

  /** The raw token for an id ("▁red" marks a word start); "<unk>" for ids outside the vocabulary. */
  tokenString(id: number): string {
    return this.idToTok[id] ?? "<unk>";
  }

  tokenId(token: string): number | undefined {
    return this.tokToId.get(token);
  }

  /** BPE on one pre-tokenized word: merge the adjacent pair of lowest rank (leftmost on ties) until none applies. */
  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const syms = Array.from(word);
    for (;;) {
      let best = -1,
        bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(`${syms[i]}\u0000${syms[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      syms.splice(best, 2, syms[best]! + syms[best + 1]!);
    }
    const ids = syms.map((s) => this.tokToId.get(s) ?? SPECIAL_IDS.UNK);
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
  }
}

function runChild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = new URL("./train-child.mjs", import.meta.url).pathname;
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(
            new TokenizerError(
              `tokenizer training failed (exit ${code}): ${err.trim().slice(-500)}`,
            ),
          ),
    );
  });
}

/**
 * Train a BPE tokenizer on `texts` with at most `vocabSize` ids (4 specials, every character seen,
 * then merges in the order learned). Deterministic for the same texts.
 */
export async function trainTokenizer(
  texts: string[],
  opts: { vocabSize: number },
): Promise<SimTokenizer> {
  const { vocabSize } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < 5)
    throw new TokenizerError(`vocabSize must be an integer ≥ 5, got ${vocabSize}`);
  const lines = texts.map((t) => t.replace(/\s+/g, " ").trim()).filter((t) => t.length > 0);
  if (lines.length === 0) throw new TokenizerError("trainTokenizer: no non-empty training texts");
  const dir = mkdtempSync(join(tmpdir(), "simvlm-tok-"));
  try {
    writeFileSync(join(dir, "skeleton.json"), JSON.stringify(skeleton(bpeModel({}, []))));
    writeFileSync(join(dir, "corpus.txt"), lines.join("\n") + "\n");
    await runChild([
      join(dir, "skeleton.json"),
      join(dir, "corpus.txt"),
      join(dir, "trained.json"),
    ]);
    const trained = JSON.parse(readFileSync(join(dir, "trained.json"), "utf8")) as {
      model: { vocab: Record<string, number>; merges: unknown };
    };
    const allMerges = parseMerges(trained.model.merges, "trained tokenizer");
    const merged = new Set(allMerges.map(([a, b]) => a + b));
    // The alphabet: trained tokens that no merge produced, in the trainer's id order.
    const alphabet = Object.entries(trained.model.vocab)
      .sort((x, y) => x[1] - y[1])
      .map(([t]) => t)
      .filter((t) => !merged.has(t));
    // Plus a base alphabet, so common characters missing from a small corpus still round-trip.
    for (const ch of BASE_ALPHABET) if (!alphabet.includes(ch)) alphabet.push(ch);
    const room = vocabSize - SPECIAL_TOKENS.length - alphabet.length;
    if (room < 0) {
      throw new TokenizerError(
        `vocabSize ${vocabSize} is too small: the training texts use ${alphabet.length} distinct characters (+ 4 specials)`,
      );
    }
    const vocab: Record<string, number> = {};
    let next = 0;
    for (const t of [...SPECIAL_TOKENS, ...alphabet]) vocab[t] = next++;
    const merges = allMerges.slice(0, room);
    for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = next++;
    const added = SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }));
    return SimTokenizer.fromJSON(
      JSON.stringify(skeleton(bpeModel(vocab, merges), added)),
      "trained tokenizer",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
