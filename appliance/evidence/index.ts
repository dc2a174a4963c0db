/** Public surface of the evidence log: append, checkpoints, verification, retention and the clock guard. */
export {
  EvidenceLog,
  INSERT_CHUNK_ROWS,
  MAX_APPEND_BYTES,
  MAX_APPEND_DRAFTS,
  MAX_APPEND_OUTBOX,
  MAX_HEAD_RETRIES,
  READ_PAGE_ROWS,
  type CheckpointRecord,
  type EvidenceLogOptions,
  type EvidenceWriter,
  type HeadInfo,
  type SystemContext,
} from "./log.ts";
export { MAX_REPORTED_REGRESSIONS, type ClockRegression, type LocalVerification } from "./verify.ts";
export { Retention, DEFAULT_RETENTION_COUNT, DEFAULT_RETENTION_DAYS, MAX_PRUNE_ROWS_PER_RUN, NONCE_GRACE_MS, PRUNE_CHUNK_ROWS, type PruneOptions, type PruneReport, type RetentionOptions } from "./retention.ts";
export { ClockGuard, type ClockGuardOptions } from "./clock-guard.ts";
export { EvidenceError, type EvidenceErrorCode } from "./errors.ts";
export { ANCHOR_KEY, HEAD_KEY } from "./state.ts";
