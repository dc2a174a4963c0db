/** Schema of relay/credentials/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const CREDENTIALS_MIGRATION: FeatureMigration = {
  name: "credentials",
  sql: "SELECT 1;",
};
