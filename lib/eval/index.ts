// Public API of lib/eval (re-exported by lib/index.ts).
export * from "./metrics/index.ts";
export * from "./tasks/index.ts";
export {
  tQuantile,
  seedInterval,
  percentile,
  pairedBootstrap,
  hierarchicalBootstrap,
  describeComparison,
  formatSeedInterval,
  type SeedInterval,
  type BootstrapOptions,
  type BootstrapDiff,
  type ComparisonText,
} from "./stats.ts";
export * from "./baselines/index.ts";
export {
  seedMetric,
  isNotApplicable,
  writeResultsFile,
  type SeedMetric,
  type NotApplicable,
  type MetricEntry,
  type ComparisonRecord,
  type ClaimRecord,
  type SplitRecord,
  type ResultsFile,
} from "./results.ts";
export {
  statisticInterval,
  statisticDifference,
  meanStatistic,
  type ItemStatistic,
  type StatisticInterval,
} from "./item-bootstrap.ts";
export {
  reportMetric,
  compareSystems,
  claimVerdict,
  xWins,
  yWins,
  formatMetric,
  metricMean,
  metricsTable,
  intervalNote,
  type ItemInterval,
  type ReportedMetric,
  type ProtocolComparison,
  type ComparedSystem,
} from "./report.ts";
export { resultsFileProblems } from "./results-check.ts";
export {
  PROTOCOL_METRICS,
  HEADLINE_METRICS,
  metricInfo,
  tokenizerTexts,
  lossExamples,
  lossScores,
  captionSystemScores,
  groundedOfCaptions,
  mergeScores,
  blindBaselines,
  ngramTrainingTexts,
  type ScoredSystem,
  type BaselineRow,
  type MetricInfo,
  type BlindBaselineOptions,
} from "./protocol.ts";
