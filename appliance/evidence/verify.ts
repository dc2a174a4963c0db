/**
 * Verification of the stored evidence log, as an auditor would do it (protocol `ChainVerifier`), plus the
 * checks only the appliance can make: row hashes, the persisted head, and the Merkle root. See
 * `EvidenceLog.verifyLocal`, which runs this in one transaction.
 *
 * Rows are verified from the pruning anchor (`evidence.pruned_through`) on: every kept line must be canonical
 * and signed by the appliance's evidence key, seqs must run on without gaps from the anchor, each prev_hash
 * must link (the first to the anchor's hash), each row's `hash` column must be its line's SHA-256, and the last
 * row, the persisted head and the Merkle accumulator (anchor state + kept leaves) must agree.
 *
 * Clock jumps are reported, not failed: bundles whose finished_at is more than the protocol's tolerance behind
 * an earlier one are listed in `clock_regressions` (they are what the relay flags as `time_backwards`).
 */
import { ChainVerifier, DEFAULT_TIME_TOLERANCE_MS } from "../../protocol/chain.ts";
import { bytesEqual, utf8 } from "../../protocol/encoding.ts";
import { isoTime, parseIsoTime } from "../../protocol/ids.ts";
import { leafHash, MerkleAccumulator } from "../../protocol/merkle.ts";
import type { EnrolledIdentity } from "../identity/index.ts";
import { laterTime, readAnchor, readHead, type Executor } from "./state.ts";

/** Rows read per query. */
const PAGE_ROWS = 1_000;
/** Clock regressions listed in a verification report (the count is always exact). */
export const MAX_REPORTED_REGRESSIONS = 100;

/** One bundle the relay would flag as `time_backwards` under the protocol's tolerance. */
export interface ClockRegression {
  seq: number;
  finished_at: string;
  /** Latest finished_at before it. */
  latest_before: string;
  behind_ms: number;
}

export type LocalVerification =
  | { ok: true; bundles: number; first_seq: number | null; head: { seq: number; hash: string }; clock_regressions: ClockRegression[]; clock_regression_count: number }
  | { ok: false; bundles: number; failure: { code: string; seq?: number; reason: string } };

/** Verifies the stored log; see the module comment. */
export async function verifyStored(tx: Executor, identity: Pick<EnrolledIdentity, "appliance_id" | "site_id" | "evidenceSigner" | "evidenceKeys">): Promise<LocalVerification> {
  const anchor = await readAnchor(tx);
  const head = await readHead(tx);
  const fail = (code: string, reason: string, bundles: number, seq?: number): LocalVerification => ({ ok: false, bundles, failure: { code, reason, ...(seq === undefined ? {} : { seq }) } });
  const { appliance_id, site_id, evidenceSigner } = identity;
  // Every evidence key this appliance has signed with, by seq (a rotation switches keys mid-chain).
  const keys = identity.evidenceKeys ?? { publicKey: evidenceSigner.publicKey };
  const verifier = new ChainVerifier(new Map([[appliance_id, { ...keys, siteId: site_id }]]), {
    // Structure only: clock regressions are reported separately (see above).
    timeToleranceMs: Number.MAX_SAFE_INTEGER,
    fromGenesis: anchor.seq === 0,
    resume: anchor.seq === 0 ? [] : [{ appliance_id, site_id, seq: anchor.seq, head_hash: anchor.hash, last_time: anchor.last_time ?? isoTime(0) }],
  });
  const rowHashes = new Map<number, { seq: number; hash: string }>();
  const acc = MerkleAccumulator.fromState(anchor.merkle);
  const regressions: ClockRegression[] = [];
  let regressionCount = 0;
  let latest = anchor.last_time;
  let mismatch: LocalVerification | null = null;
  let firstSeq: number | null = null;

  async function* rows(): AsyncGenerator<string> {
    let after = anchor.seq, n = 0;
    for (;;) {
      const rs = await tx.execute({ sql: "SELECT seq, line, hash FROM evidence WHERE seq > ? ORDER BY seq LIMIT ?", args: [after, PAGE_ROWS] });
      for (const row of rs.rows) {
        rowHashes.set(++n, { seq: Number(row.seq), hash: String(row.hash) });
        yield String(row.line);
      }
      if (rs.rows.length < PAGE_ROWS) return;
      after = Number(rs.rows.at(-1)!.seq);
    }
  }
  const { bundles, failure } = await verifier.verifyLines(rows(), {
    onBundle: (opened, lineNumber) => {
      const row = rowHashes.get(lineNumber)!;
      rowHashes.delete(lineNumber);
      const b = opened.bundle;
      firstSeq ??= b.seq;
      if (mismatch) return;
      if (row.seq !== b.seq || row.hash !== opened.hash) {
        mismatch = fail("row_mismatch", `row seq ${row.seq} holds bundle seq ${b.seq} with hash ${opened.hash}, but the row records hash ${row.hash}`, lineNumber, row.seq);
        return;
      }
      acc.append(leafHash(utf8(opened.line)));
      const finished = b.timestamps.finished_at;
      if (latest !== null && parseIsoTime(finished) < parseIsoTime(latest) - DEFAULT_TIME_TOLERANCE_MS) {
        regressionCount++;
        if (regressions.length < MAX_REPORTED_REGRESSIONS) regressions.push({ seq: b.seq, finished_at: finished, latest_before: latest, behind_ms: parseIsoTime(latest) - parseIsoTime(finished) });
      }
      latest = laterTime(latest, finished);
    },
  });
  if (failure) return fail(failure.code, failure.reason, bundles, failure.seq);
  if (mismatch) return mismatch;
  if (firstSeq !== null && firstSeq !== anchor.seq + 1) return fail("seq_gap", `the kept rows start at seq ${firstSeq}, but pruning stopped at seq ${anchor.seq}`, bundles, firstSeq);
  const last = verifier.state(appliance_id);
  const lastSeq = last?.seq ?? anchor.seq, lastHash = last?.head_hash ?? anchor.hash;
  if (lastSeq !== head.seq || lastHash !== head.hash) {
    return fail("head_mismatch", `the stored rows end at seq ${lastSeq} (hash ${lastHash}), but the persisted head is seq ${head.seq} (hash ${head.hash})`, bundles, lastSeq);
  }
  if (acc.size !== head.merkle.size || !bytesEqual(acc.root(), MerkleAccumulator.fromState(head.merkle).root())) {
    return fail("merkle_mismatch", `the Merkle root over the stored rows (size ${acc.size}) differs from the persisted one (size ${head.merkle.size})`, bundles);
  }
  return { ok: true, bundles, first_seq: firstSeq, head: { seq: head.seq, hash: head.hash }, clock_regressions: regressions, clock_regression_count: regressionCount };
}
