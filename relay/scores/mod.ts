/**
 * Compliance scores and control readiness (issue 7): the one scoring function every view, report and API
 * uses, its per-day history, and the adapter from stored evidence lines.
 */
export {
  CONTROL_REASONS,
  dailyHistory,
  isStale,
  MAX_HISTORY_DAYS,
  resultsFromBundleLines,
  SCORE_WINDOW_MS,
  scoreSite,
  type CategoryScore,
  type ControlReadiness,
  type ControlReason,
  type HistoryOptions,
  type HistoryPoint,
  type HostUnreachable,
  type LatestResult,
  type ScoreInput,
  type ScoreOptions,
  type ScoreResult,
  type ScoringCatalogue,
  type ScoringCheck,
  type SiteScore,
} from "./score.ts";
