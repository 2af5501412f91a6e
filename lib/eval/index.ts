// Public API of lib/eval (re-exported by lib/index.ts).
export * from "./metrics/index.ts";
export * from "./tasks/index.ts";
export { tQuantile, seedInterval, percentile, pairedBootstrap, hierarchicalBootstrap, describeComparison, formatSeedInterval, type SeedInterval, type BootstrapOptions, type BootstrapDiff, type ComparisonText } from "./stats.ts";
export * from "./baselines/index.ts";
