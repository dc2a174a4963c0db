/** The store's error type: `code` from a closed union, a message naming the file and what was seen. */

export type StoreErrorCode =
  | "open_failed"
  | "pragma_failed"
  | "schema_too_new"
  | "schema_mismatch"
  | "migration_failed"
  | "queue_full"
  | "key_file_missing"
  | "key_file_exists"
  | "key_file_permissions"
  | "key_file_invalid"
  | "key_file_write_failed";

export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
