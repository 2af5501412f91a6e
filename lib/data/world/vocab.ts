/**
 * The vocabulary of the built-in world, kept small on purpose so a small model learns it in
 * minutes: 8 shapes × 8 colours × 3 sizes, 3×3 coarse positions.
 */
export const WORLD_SHAPES = [
  "circle",
  "square",
  "triangle",
  "diamond",
  "star",
  "cross",
  "hexagon",
  "heart",
] as const;
export const WORLD_COLORS = [
  "red",
  "orange",
  "yellow",
  "green",
  "blue",
  "purple",
  "pink",
  "gray",
] as const;
export const WORLD_SIZES = ["small", "medium", "large"] as const;

export type WorldShape = (typeof WORLD_SHAPES)[number];
export type WorldColor = (typeof WORLD_COLORS)[number];
export type WorldSize = (typeof WORLD_SIZES)[number];

/** Base RGB per colour name; objects get a small seeded jitter around it. */
export const COLOR_RGB: Record<WorldColor, [number, number, number]> = {
  red: [214, 39, 40],
  orange: [245, 130, 20],
  yellow: [235, 205, 30],
  green: [44, 160, 44],
  blue: [31, 90, 200],
  purple: [130, 60, 180],
  pink: [240, 110, 190],
  gray: [110, 110, 110],
};

/** Radius (fraction of image side) of the circle that bounds each size. */
export const SIZE_RADIUS: Record<WorldSize, number> = { small: 0.09, medium: 0.14, large: 0.2 };

/**
 * Colour+shape pairs that never appear in the train split (compositional zero-shot tests): every
 * shape and every colour still appears in train, only these combinations are new at test time.
 */
export const HELD_OUT_PAIRS: ReadonlyArray<{ color: WorldColor; shape: WorldShape }> = [
  { color: "red", shape: "triangle" },
  { color: "blue", shape: "star" },
  { color: "green", shape: "heart" },
  { color: "yellow", shape: "square" },
  { color: "purple", shape: "circle" },
];

export function isHeldOutPair(color: string, shape: string): boolean {
  return HELD_OUT_PAIRS.some((p) => p.color === color && p.shape === shape);
}

/** Coarse position words from a centre in [0,1]². */
export function horizontalWord(x: number): "left" | "center" | "right" {
  return x < 1 / 3 ? "left" : x > 2 / 3 ? "right" : "center";
}
export function verticalWord(y: number): "top" | "middle" | "bottom" {
  return y < 1 / 3 ? "top" : y > 2 / 3 ? "bottom" : "middle";
}
/** "top left", "left", "center", "bottom", … */
export function positionPhrase(x: number, y: number): string {
  const h = horizontalWord(x),
    v = verticalWord(y);
  if (h === "center" && v === "middle") return "center";
  if (v === "middle") return h;
  if (h === "center") return v;
  return `${v} ${h}`;
}

export const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five"] as const;
