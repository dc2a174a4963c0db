/** Schema of relay/learning/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const LEARNING_MIGRATION: FeatureMigration = {
  name: "learning_loop",
  sql: "SELECT 1;",
};
