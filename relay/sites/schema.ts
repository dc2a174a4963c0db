/** Schema of relay/sites/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const SITES_MIGRATION: FeatureMigration = {
  name: "sites_dashboard",
  sql: "SELECT 1;",
};
