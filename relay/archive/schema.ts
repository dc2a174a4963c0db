/** Schema of relay/archive/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const ARCHIVE_MIGRATION: FeatureMigration = {
  name: "archive",
  sql: "SELECT 1;",
};
