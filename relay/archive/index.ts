/** relay/archive/: the WORM archive of evidence and countersigned checkpoints (S3 Object Lock, COMPLIANCE). */
export { startArchiver, ARCHIVE_INTERVAL_MS, ARCHIVE_BATCH, FAILED_AFTER_ATTEMPTS, type Archiver, type ArchiverOptions, type ArchiveTickReport } from "./archiver.ts";
export { archiveConfig, archiveCredentials, ARCHIVE_ACCESS_KEY_ENV, ARCHIVE_SECRET_KEY_ENV, ARCHIVE_CREDENTIALS_FILE_ENV, DEFAULT_ARCHIVE_REGION, DEFAULT_RETENTION_DAYS, type ArchiveConfig, type ArchiveSettings } from "./config.ts";
export { archiveStatus, archiveQueueDepth, archiveMetricLines, type ArchiveStatus, type ArchiveQueueDepth } from "./status.ts";
export { S3Error, type S3Config } from "./s3.ts";
