/** Schema of relay/escalations/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const ESCALATIONS_MIGRATION: FeatureMigration = {
  name: "l2_escalations_notifications",
  sql: "SELECT 1;",
};
