// Public API of lib/eval (re-exported by lib/index.ts).
export * from "./metrics/index.ts";
export * from "./tasks/index.ts";
export { tQuantile, seedInterval, percentile, pairedBootstrap, hierarchicalBootstrap, describeComparison, formatSeedInterval, type SeedInterval, type BootstrapOptions, type BootstrapDiff, type ComparisonText } from "./stats.ts";
export * from "./baselines/index.ts";
export { seedMetric, isNotApplicable, writeResultsFile, type SeedMetric, type NotApplicable, type MetricEntry, type ComparisonRecord, type ClaimRecord, type SplitRecord, type ResultsFile } from "./results.ts";
