/** Schema of relay/report/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const REPORT_MIGRATION: FeatureMigration = {
  name: "reports",
  sql: "SELECT 1;",
};
