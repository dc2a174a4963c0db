/**
 * Ingest of one push (`POST /api/sync/push`):
 *
 * 1. Entries at or below the stored outbox cursor were stored before (a retry, a lost acknowledgement): each
 *    must match its receipt byte for byte and is acknowledged again; a different body at a stored position is
 *    a fork (evidence) or an outbox conflict, recorded as an integrity incident.
 * 2. The remaining entries must continue the outbox exactly (cursor + 1, + 2, …); a jump is `outbox_gap` (the
 *    appliance resends from the cursor the error carries).
 * 3. Their evidence lines go through ChainVerifier, resumed from the stored chain state, with the evidence key
 *    registered at enrollment (never one in the data). A line identical to one already stored at its seq is a
 *    duplicate and is acknowledged without storing it again; a different line at a stored seq is a fork.
 * 4. Everything before the first failing entry is stored (the exact line bytes, hash, Merkle leaf hash), the
 *    Merkle accumulator and chain state advance, the outbox cursor moves to the last stored entry, and the
 *    failure (if any) is recorded as an incident — all in the same transaction. Nothing after a failure is
 *    stored, and nothing is ever repaired. The newly stored entries also feed their features in that
 *    transaction (`applyFeatures`: learning, escalations, inventory).
 * 5. With no failure, the checkpoint (if any) is witnessed (checkpoint.ts).
 *
 * Steps 1–3 and the checkpoint's signature work run BEFORE the write transaction, against the chain row as
 * read then (`plan`): they read only rows at or below the stored cursors, which are append-only. Inside the
 * transaction the row is read again; when its stamp is unchanged the plan still holds and is written as is
 * (`apply`), otherwise (another relay process or a concurrent push of the same appliance got there first) the
 * plan is made again inside the transaction. Either way every check runs against exactly the state it
 * commits on, and signature verification (the bulk of the work) never holds the write lock.
 *
 * The result is the PushAck, plus the failure the route turns into a 409/422 whose details carry the ack.
 */
import { canonicalize } from "../../protocol/canonical.ts";
import { ChainVerifier, type ChainFailure, type ChainState, type EvidenceKeyEpoch } from "../../protocol/chain.ts";
import { checkpointKey, evidenceKeysOf } from "../enroll/key-history.ts";
import { recordEvidenceSwitch } from "../enroll/key-rotation.ts";
import type { OpenedBundle } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { MerkleAccumulator } from "../../protocol/merkle.ts";
import { parsePushRequest, type OutboxEntry, type PushAck, type PushRequest } from "../../protocol/sync.ts";
import { str, type Tx } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { claimNonce } from "../auth/nonces.ts";
import { isRelayErrorCode, RelayError, type RelayErrorCode } from "../errors.ts";
import { ingestEscalation, resolveClearedEscalations } from "../escalations/escalations.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { chainRowStamp, loadChainRow, saveChainRow, type ChainRow, type Reader } from "./chain-row.ts";
import { prepareCheckpoint, storeCheckpoint, type PreparedCheckpoint } from "./checkpoint.ts";
import { incidentKind, recordIncident, type IncidentInput } from "./incidents.ts";
import { lineLeafHash } from "./leaf-hash.ts";
import { RECEIPT_COLUMNS, ReceiptRows, sameAsStored, storedEntryAt } from "./receipts.ts";
import { insertRows, type Statement } from "./rows-insert.ts";
import { ingestInventory } from "../inventory/ingest.ts";
import { recordHealingAttempts } from "../learning/attempts.ts";

export interface PushFailure {
  code: RelayErrorCode;
  message: string;
  /** The outbox entry that failed (null for a checkpoint failure). */
  outbox_seq: number | null;
  seq: number | null;
  incident_id: string | null;
}

export interface PushOutcome {
  ack: PushAck;
  failure: PushFailure | null;
  stored: number;
  duplicates: number;
  /** Whether the plan made before the transaction had to be made again inside it (the chain moved meanwhile). */
  replanned: boolean;
}

type IngestDeps = Pick<RelayDeps, "db" | "clock" | "random" | "log" | "relayKey" | "verifierFor">;

interface Failing {
  index: number;
  incident: Omit<IncidentInput, "appliance_id" | "site_id" | "kind"> & { code: RelayErrorCode };
  /** Recorded as an integrity incident (a sync-cursor problem such as an outbox gap is not). */
  isIncident: boolean;
}

/** Everything decided about a push against one chain row: what to store, and how it fails (if it does). */
interface Plan {
  row: ChainRow;
  failing: Failing | null;
  /** The statements that store the accepted entries (evidence, receipts, order results). */
  writes: Statement[];
  /** The entries stored by this push for the first time (past the cursor, before any failure), in order. */
  accepted: OutboxEntry[];
  stored: number;
  duplicates: number;
  next: ChainRow;
  checkpoint: PreparedCheckpoint | null;
  /** Evidence key switches the new lines announced. */
  switches: EvidenceKeyEpoch[];
}

const EVIDENCE_COLUMNS = ["appliance_id", "seq", "line", "hash", "leaf_hash", "finished_at", "received_at"] as const;

async function plan(db: Reader, deps: IngestDeps, appliance: AuthedAppliance, req: PushRequest, row: ChainRow, receivedAt: string): Promise<Plan> {
  const entries = req.entries;
  let failing: Failing | null = null;

  // 1. Already stored: compare with the receipts.
  let i = 0;
  for (; i < entries.length && entries[i]!.outbox_seq <= row.acked_outbox_seq; i++) {
    const e = entries[i]!;
    const stored = await storedEntryAt(db, appliance.id, e.outbox_seq);
    if (!stored || !sameAsStored(e, stored)) {
      const storedBundle = stored?.kind === "evidence" ? stored : null;
      failing = {
        index: i,
        isIncident: true,
        incident: {
          code: e.type === "evidence" ? "fork" : "outbox_conflict",
          message:
            e.type === "evidence"
              ? `outbox_seq ${e.outbox_seq}: different evidence bytes for an entry already stored${storedBundle ? ` (seq ${storedBundle.seq})` : ""}`
              : `outbox_seq ${e.outbox_seq}: a different ${e.type} body for an entry already stored as ${stored ? (stored.kind === "evidence" ? "evidence" : stored.type) : "nothing"}`,
          outbox_seq: e.outbox_seq,
          ...(storedBundle ? { seq: storedBundle.seq, stored_sha256: storedBundle.hash } : {}),
          line: e.type === "evidence" ? e.body : canonicalize(e.body),
        },
      };
      break;
    }
  }
  const firstNew = i;

  // 2. New entries must continue the outbox without a hole.
  let end = entries.length;
  if (!failing) {
    for (let k = firstNew; k < entries.length; k++) {
      const expected = row.acked_outbox_seq + 1 + (k - firstNew);
      if (entries[k]!.outbox_seq !== expected) {
        failing = {
          index: k,
          isIncident: false,
          incident: { code: "outbox_gap", message: `outbox_seq: expected ${expected} next, got ${entries[k]!.outbox_seq}; resend from ${row.acked_outbox_seq + 1}`, outbox_seq: entries[k]!.outbox_seq },
        };
        break;
      }
    }
    if (failing) end = failing.index;
  } else {
    end = firstNew;
  }

  // 3. Verify the new evidence lines in order (signatures checked in parallel by verifyLines).
  const keys = await evidenceKeysOf(db, appliance.id, appliance.evidence_public_key, appliance.site_id);
  const verifier = new ChainVerifier(new Map([[appliance.id, keys]]), {
    fromGenesis: true,
    resume: row.chain ? [row.chain] : [],
    ...(deps.verifierFor ? { verifierFor: deps.verifierFor } : {}),
  });
  const evidence: { index: number; line: string }[] = [];
  for (let k = firstNew; k < end; k++) {
    const e = entries[k]!;
    if (e.type === "evidence") evidence.push({ index: k, line: e.body });
  }
  const opened = new Map<number, OpenedBundle>();
  const duplicates = new Map<number, number>(); // entry index → seq already stored with these bytes
  let pos = 0;
  while (pos < evidence.length) {
    const base = pos;
    const { failure } = await verifier.verifyLines(
      evidence.slice(base).map((x) => x.line),
      { onBundle: (o, lineNumber) => void opened.set(evidence[base + lineNumber - 1]!.index, o) },
    );
    if (!failure) break;
    const bad = evidence[base + failure.line - 1]!;
    if (failure.code === "seq_duplicate" && failure.appliance_id === appliance.id && failure.seq !== undefined) {
      const stored = (await db.execute({ sql: "SELECT line, hash FROM evidence WHERE appliance_id = ? AND seq = ?", args: [appliance.id, failure.seq] })).rows[0];
      if (stored && str(stored, "line") === bad.line) {
        duplicates.set(bad.index, failure.seq);
        pos = base + failure.line;
        continue;
      }
      failing = {
        index: bad.index,
        isIncident: true,
        incident: {
          code: "fork",
          message: `seq ${failure.seq}: different bytes for a bundle the relay already holds (fork)`,
          outbox_seq: entries[bad.index]!.outbox_seq,
          seq: failure.seq,
          line: bad.line,
          ...(stored ? { stored_sha256: str(stored, "hash") } : {}),
        },
      };
    } else {
      failing = { index: bad.index, isIncident: true, incident: chainFailure(failure, appliance.id, entries[bad.index]!.outbox_seq, bad.line) };
    }
    break;
  }
  const stop = failing ? failing.index : end;

  // 4. The rows that store everything before the failure, and where the cursors move.
  const evidenceRows: (string | number)[][] = [];
  const receipts = new ReceiptRows(appliance.id, receivedAt);
  const orderWrites: Statement[] = [];
  const tree = MerkleAccumulator.fromState(row.tree.state);
  const newLeaves: Uint8Array[] = [];
  let acked = row.acked_outbox_seq;
  for (let k = firstNew; k < stop; k++) {
    const e = entries[k]!;
    if (e.type === "evidence") {
      const o = opened.get(k);
      if (o) {
        const leaf = lineLeafHash(o.line);
        tree.append(leaf.bytes);
        newLeaves.push(leaf.bytes);
        evidenceRows.push([appliance.id, o.bundle.seq, o.line, o.hash, leaf.hex, o.bundle.timestamps.finished_at, receivedAt]);
        receipts.evidence(e.outbox_seq, o.bundle.seq);
      } else {
        const seq = duplicates.get(k);
        if (seq === undefined) throw new Error(`Internal: evidence entry ${e.outbox_seq} was neither verified nor a duplicate`);
        receipts.evidence(e.outbox_seq, seq);
      }
    } else {
      if (e.type === "order_result") {
        orderWrites.push({
          sql: "UPDATE orders SET status = 'done', result = ?, completed_at = ? WHERE id = ? AND appliance_id = ? AND status = 'pending'",
          args: [canonicalize(e.body), receivedAt, e.body.order_id, appliance.id],
        });
      }
      receipts.other(e);
    }
    acked = e.outbox_seq;
  }
  const chain: ChainState | null = verifier.state(appliance.id) ?? null;
  const next: ChainRow = {
    verified_seq: chain?.seq ?? row.verified_seq,
    head_hash: chain?.head_hash ?? row.head_hash,
    chain,
    tree,
    acked_outbox_seq: acked,
    stamp: "",
  };
  if (next.tree.size !== next.verified_seq) throw new Error(`Internal: Merkle tree size ${next.tree.size} differs from verified seq ${next.verified_seq}`);
  // Evidence key switches announced by the verified lines (recorded with them, enroll/key-rotation.ts).
  const switches = verifier.learnedRotations(appliance.id);

  // 5. The checkpoint's signature, root and cosignature, only over a clean push.
  const checkpoint =
    !failing && req.checkpoint !== null
      ? await prepareCheckpoint(db, req.checkpoint, { stored: row.tree, newLeaves, after: tree }, {
          appliance: { ...appliance, evidence_public_key: checkpointKey(keys, req.checkpoint, switches, next.verified_seq) },
          relayKey: deps.relayKey,
          clock: deps.clock,
        })
      : null;

  // Receipts go last: the order-result UPDATEs and evidence rows they acknowledge are written before them.
  const writes = [...insertRows("evidence", EVIDENCE_COLUMNS, evidenceRows), ...orderWrites, ...insertRows("outbox_receipts", RECEIPT_COLUMNS, receipts.rows())];
  return { row, failing, writes, accepted: entries.slice(firstNew, stop), stored: evidenceRows.length, duplicates: duplicates.size, next, checkpoint, switches };
}

async function apply(tx: Tx, deps: IngestDeps, appliance: AuthedAppliance, p: Plan, now: number, receivedAt: string): Promise<Omit<PushOutcome, "replanned">> {
  await tx.batch([...p.writes, saveChainRow(appliance.id, p.next, now), { sql: "UPDATE appliances SET last_seen_at = ? WHERE id = ?", args: [receivedAt, appliance.id] }]);
  for (const e of p.switches) await recordEvidenceSwitch(tx, appliance.id, e.publicKey, e.from_seq, now);
  await applyFeatures(tx, deps, appliance, p.accepted, receivedAt);

  let failure: PushFailure | null = null;
  if (p.failing) {
    const f = p.failing;
    const incidentId = f.isIncident ? await recordIncident(tx, { ...f.incident, appliance_id: appliance.id, site_id: appliance.site_id, kind: incidentKind(f.incident.code) }, deps) : null;
    failure = { code: f.incident.code, message: f.incident.message, outbox_seq: f.incident.outbox_seq ?? null, seq: f.incident.seq ?? null, incident_id: incidentId };
  }

  let countersigned: string | null = null;
  if (!failure && p.checkpoint) {
    const cp = await storeCheckpoint(tx, p.checkpoint, { appliance, relayKey: deps.relayKey, clock: deps.clock });
    if (cp.ok) countersigned = cp.countersigned;
    else {
      const incidentId = await recordIncident(
        tx,
        {
          appliance_id: appliance.id,
          site_id: appliance.site_id,
          kind: cp.code === "checkpoint_mismatch" ? "fork" : "checkpoint",
          code: cp.code,
          message: cp.message,
          ...(cp.size !== null ? { seq: cp.size } : {}),
          line: p.checkpoint.note,
        },
        deps,
      );
      failure = { code: cp.code, message: cp.message, outbox_seq: null, seq: cp.size, incident_id: incidentId };
    }
  }
  const ack: PushAck = {
    acked_outbox_seq: p.next.acked_outbox_seq,
    evidence: { verified_seq: p.next.verified_seq, head_hash: p.next.head_hash },
    countersigned_checkpoint: countersigned,
  };
  return { ack, failure, stored: p.stored, duplicates: p.duplicates };
}

/**
 * The features fed by pushed entries, in the push transaction and only for entries stored for the first time
 * (a resent entry at or below the cursor is acknowledged again, never applied again; each feature is also
 * idempotent by its own key): healing attempts → learning, escalations → tickets, resolved incidents →
 * their tickets resolved, discovery reports → device inventory. Evidence is already written, so an attempt finds its `remediation` bundle.
 */
async function applyFeatures(tx: Tx, deps: IngestDeps, appliance: AuthedAppliance, accepted: readonly OutboxEntry[], receivedAt: string): Promise<void> {
  if (accepted.length === 0) return;
  await recordHealingAttempts(tx, appliance, accepted, receivedAt);
  for (const e of accepted) {
    if (e.type === "escalation") await ingestEscalation(tx, appliance, e, deps);
    else if (e.type === "incident") await resolveClearedEscalations(tx, appliance, e, deps);
    else if (e.type === "inventory") await ingestInventory(tx, appliance, e, { notify: deps });
  }
}

export async function ingestPush(deps: IngestDeps, appliance: AuthedAppliance, body: unknown): Promise<PushOutcome> {
  const req = parsePushRequest(body);
  if (req.appliance_id !== appliance.id) {
    throw new RelayError("appliance_mismatch", `appliance_id: this token belongs to ${appliance.id}, the push says ${req.appliance_id}`);
  }
  const started = deps.clock.now();
  const receivedAt = isoTime(started);
  // Outside the write transaction: read the chain row and verify against it.
  const early = await plan(deps.db, deps, appliance, req, await loadChainRow(deps.db, appliance.id), receivedAt);
  const outcome = await deps.db.transaction(async (tx) => {
    // The request's nonce, in this transaction (RouteSpec.recordsNonce): one commit per push, not two.
    if (appliance.pending_nonce && (await claimNonce(tx, appliance)) === "changed") return null;
    const replanned = (await chainRowStamp(tx, appliance.id)) !== early.row.stamp;
    const p = replanned ? await plan(tx, deps, appliance, req, await loadChainRow(tx, appliance.id), receivedAt) : early;
    return { ...(await apply(tx, deps, appliance, p, deps.clock.now(), receivedAt)), replanned };
  });
  if (outcome === null) return appliance.pending_nonce!.stale();

  const fields = {
    appliance_id: appliance.id,
    entries: req.entries.length,
    stored: outcome.stored,
    duplicates: outcome.duplicates,
    ...outcome.ack.evidence,
    acked_outbox_seq: outcome.ack.acked_outbox_seq,
    ms: deps.clock.now() - started,
    ...(outcome.replanned ? { replanned: true } : {}),
  };
  if (outcome.failure) deps.log.warn("push_refused", { ...fields, code: outcome.failure.code, failed_outbox_seq: outcome.failure.outbox_seq, seq: outcome.failure.seq, incident_id: outcome.failure.incident_id });
  else deps.log.info("push_acked", { ...fields, countersigned: outcome.ack.countersigned_checkpoint !== null });
  return outcome;
}

/** The incident for a ChainVerifier failure on one of this appliance's lines. */
function chainFailure(f: ChainFailure, applianceId: string, outboxSeq: number, line: string): Failing["incident"] {
  if (f.appliance_id !== undefined && f.appliance_id !== applianceId) {
    return { code: "appliance_mismatch", message: `outbox_seq ${outboxSeq}: the bundle is for appliance ${f.appliance_id}, not ${applianceId}`, outbox_seq: outboxSeq, line, ...(f.seq ? { seq: f.seq } : {}) };
  }
  const code: RelayErrorCode = isRelayErrorCode(f.code) ? f.code : "schema";
  return { code, message: `outbox_seq ${outboxSeq}: ${f.reason}`, outbox_seq: outboxSeq, line, ...(f.seq ? { seq: f.seq } : {}) };
}
