/**
 * Shared data shapes. Everything that flows from lib/data into training, evaluation and the
 * visualizers uses these types.
 */

/** An RGB image, 8 bits per channel, row-major height × width × 3 (no alpha). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** One training example: an image-text pair, or a text-only document when `image` is absent. */
export interface Example {
  id: string;
  image?: RgbImage;
  text: string;
  /** Extra annotations carried from the source (e.g. a JSONL record's captions/vqa, a COCO image id). */
  meta?: Record<string, unknown>;
}

/** An object placed in a built-in world scene. */
export interface SceneObject {
  shape: string;
  color: string;
  size: "small" | "medium" | "large";
  /** Centre in [0,1] image coordinates. */
  x: number;
  y: number;
}

export interface VqaItem {
  question: string;
  answers: string[];
  kind: "color" | "shape" | "count" | "position";
}
export type EntailmentLabel = "entailment" | "neutral" | "contradiction";
export interface EntailmentItem {
  premise: string;
  hypothesis: string;
  label: EntailmentLabel;
}

/** A fully annotated image from the built-in world (or a real set with what it has). */
export interface AnnotatedImage {
  id: string;
  image: RgbImage;
  /** Weak, noisy web-style alt-text: the pretraining text. */
  altText: string;
  /** Clean reference captions (COCO-style: 5 for the built-in world). */
  captions: string[];
  vqa: VqaItem[];
  entailment: EntailmentItem[];
  objects: SceneObject[];
  split: "train" | "val" | "test";
  /** True when the scene contains an attribute combination held out of training. */
  heldOut?: boolean;
}

/** Where a stream is: JSON-serialisable, stored in checkpoints, used to resume. */
export type DataCursor = Record<string, unknown>;

/** A seeded, resumable stream of examples. */
export interface ExampleStream {
  /** The next n examples (fewer only when a finite, non-repeating source is exhausted). */
  next(n: number): Promise<Example[]>;
  /** Position to resume from: opening the same spec with this cursor continues identically. */
  cursor(): DataCursor;
  /** Records skipped because they were bad (onError: "skip"). */
  skipped(): number;
  close?(): Promise<void>;
}

/** A serialisable description of a data source (stored in checkpoints, hashed by the run cache). */
export interface DataSpec {
  /** "shapes" (built-in world), "openmoji", "tuxpaint", or a path to a file/folder in a known format. */
  source: string;
  split?: "train" | "val" | "test";
  /**
   * Built-in world only: the world's data seed (default WORLD_DATA_SEED = 0) — which record is in
   * which split and what it contains. The run seed passed to openStream only fixes the order.
   */
  dataSeed?: number;
  /** Image-text examples per text-only example in a mixed stream (paper: 4096:512 → 8). 0 = no text-only. */
  textOnlyEvery?: number;
  format?: string;
  /** Shuffle-buffer size for file sources (default 256; 0 or 1 keeps file order). */
  shuffleBuffer?: number;
  /** File sources: start again (reshuffled) after the last record (default true). false ends the stream. */
  repeat?: boolean;
  /** Which text an image example carries: built-in world "alt" (default, weak alt-text) or "caption";
   *  for JSONL/CSV the record field to read (default: text, caption, alt, …). */
  text?: string;
  /** How file images become square: "cover" (centre crop; default for photos) or "contain" (pad with white; default for openmoji/tuxpaint). */
  fit?: "cover" | "contain";
  /** File sources: a text-only source (path or spec) mixed in every `textOnlyEvery` image examples. */
  textOnly?: string | DataSpec;
  [key: string]: unknown;
}
