/** Schema of relay/inventory/ (numbered in db/migrations.ts). Placeholder until the feature lands: replace the SQL. */
import type { FeatureMigration } from "../db/migrations.ts";

export const INVENTORY_BILLING_MIGRATION: FeatureMigration = {
  name: "inventory_billing",
  sql: "SELECT 1;",
};
