// Public API of lib/viz (re-exported by lib/index.ts): figures as plain data that display themselves.
export { attentionFigure, VIZ_FIGURE_BUDGET } from "./attention.ts";
export type { AttentionFigure, AttentionFigureOptions } from "./attention.ts";
export { attentionGridFigure } from "./attention-grid.ts";
export type { AttentionGridFigure, AttentionGridOptions } from "./attention-grid.ts";
export {
  VizError,
  encoderRollout as attentionRollout,
  headMean as attentionHeadMean,
  crossAttentionFor,
  attentionViews,
  upsampleBilinear as upsampleAttention,
  checkCapture as checkAttentionCapture,
  decoderPositionLabels,
} from "./attention-math.ts";
export type { AttentionView } from "./attention-math.ts";
export {
  prefixMaskFigure,
  prefixMask as prefixAttentionMask,
  MASK_KINDS as PREFIX_MASK_KINDS,
  lossByPrefixFigure,
  ablationCurveFigure,
  summariseAblation as summariseAblationRows,
} from "./prefix.ts";
export type {
  PrefixMaskFigure,
  PrefixMaskOptions,
  PrefixLossRow,
  AblationRow as AblationCurveRow,
  AblationSummary as AblationCurveSummary,
} from "./prefix.ts";
export { liveTrainingPlot } from "./live.ts";
export type {
  LiveTrainingPlot,
  LiveTrainingPlotOptions,
  TrainingRow as LiveTrainingRow,
} from "./live.ts";
export { syntheticAttentionCapture } from "./synthetic.ts";
export type { SyntheticCaptureOptions } from "./synthetic.ts";
export { vizStandaloneHtml } from "./html.ts";
