/**
 * Schema 20 (numbered in db/migrations.ts): evidence's (appliance_id, finished_at) index made sparse. Only every
 * SPARSE_EVERY-th bundle is indexed; finished-bounds.ts turns a time range into seqs from it.
 */
import type { FeatureMigration } from "../db/migrations.ts";

/** One bundle in this many has its finished_at indexed (seq 1, 65, 129, …). */
export const SPARSE_EVERY = 64;

export const SPARSE_FINISHED_INDEX_MIGRATION: FeatureMigration = {
  name: "evidence_finished_sparse",
  sql: `
DROP INDEX evidence_finished;
CREATE INDEX evidence_finished_sparse ON evidence (appliance_id, finished_at) WHERE seq % ${SPARSE_EVERY} = 1;
`,
};
