/**
 * The learning loop's input: every healing attempt appliances push (`healing_attempt` outbox entries), kept
 * in `healing_attempts` with its MSP and site so it can be grouped, replayed and counted by rule id.
 *
 * Two ways in, both idempotent by (appliance_id, attempt_id):
 * - `recordHealingAttempts` inside the push transaction (ingest calls it with the entries it stored), so
 *   counters move the moment a push is acknowledged;
 * - `importPushedAttempts`, which reads `outbox_receipts` past a cursor. It catches up on anything pushed
 *   before this feature existed or while the push hook was not wired, and is what the scheduler runs first.
 * It is the one owner of pushed attempts: the dashboard's incident timeline reads them through the
 * `site_attempts` view (learning/schema.ts), so it also keeps each attempt's `deferred_until` and `detail`.
 * The facts before an attempt (`pre_state`, for shadow replay) come from its `remediation` evidence bundle,
 * which the appliance appends in the same transaction as the outbox entry; when that bundle is not stored
 * yet, replay looks it up later (`attemptFacts`).
 */
import type { JsonObject } from "../../protocol/evidence.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { healingAttemptBodySchema, type HealingAttemptBody, type OutboxEntry } from "../../protocol/sync.ts";
import { isoTime } from "../../protocol/ids.ts";
import { num, str, strOrNull, type RelayDb, type Tx } from "../db/index.ts";
import type { Clock } from "../deps.ts";
import type { AuthedAppliance } from "../http/types.ts";
import { canonicalParams, groupKey, type MinedAttempt } from "./mining.ts";

/** Longest `detail` kept per attempt (the incident timeline shows it; the full text stays in the receipt). */
export const MAX_ATTEMPT_DETAIL = 500;
/** Receipts scanned per import step (one short transaction each). */
export const IMPORT_SCAN_ROWS = 5_000;
/** Import steps per call: one call catches up at most this × IMPORT_SCAN_ROWS receipts; the next tick goes on. */
export const MAX_IMPORT_STEPS = 200;
/** Name of the import cursor in `learning_cursor`. */
const CURSOR = "outbox_receipts";

type Db = RelayDb | Tx;

/** The MSP a site belongs to. */
async function mspOfSite(db: Db, siteId: string): Promise<string | null> {
  const row = (await db.execute({ sql: "SELECT o.msp_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE s.id = ?", args: [siteId] })).rows[0];
  return row ? str(row, "msp_id") : null;
}

/**
 * The facts (by catalogue fact name) the appliance saw before an attempt, from its `remediation` bundle, or
 * null when that bundle is not at the relay. The bundle shares the attempt's `finished_at` and names the
 * attempt in `post_state.attempt_id`.
 */
export async function attemptFacts(db: Db, applianceId: string, attemptId: string, finishedAt: string): Promise<JsonObject | null> {
  const rs = await db.execute({
    sql: "SELECT line FROM evidence WHERE appliance_id = ? AND finished_at = ? AND instr(line, ?) > 0 LIMIT 8",
    args: [applianceId, finishedAt, `"attempt_id":"${attemptId}"`],
  });
  for (const r of rs.rows) {
    let bundle: unknown;
    try {
      bundle = JSON.parse(str(r, "line"));
    } catch {
      continue;
    }
    const b = bundle as { kind?: unknown; pre_state?: unknown; post_state?: { attempt_id?: unknown } };
    if (b.kind === "remediation" && b.post_state?.attempt_id === attemptId && b.pre_state !== null && typeof b.pre_state === "object" && !Array.isArray(b.pre_state)) {
      return b.pre_state as JsonObject;
    }
  }
  return null;
}

/** One attempt as stored (the columns of `healing_attempts`). */
export interface AttemptInsert {
  appliance_id: string;
  attempt_id: string;
  msp_id: string;
  site_id: string;
  outbox_seq: number | null;
  body: Omit<HealingAttemptBody, "attempt_id" | "evidence_seq" | "detail" | "deferred_until"> & Partial<Pick<HealingAttemptBody, "detail" | "deferred_until">>;
  pre_state: JsonObject | null;
  provenance: "appliance" | `simulated:${string}`;
  received_at: string;
}

/** Inserts one attempt unless it is already stored; returns whether it was new. */
export async function insertAttempt(db: Db, a: AttemptInsert): Promise<boolean> {
  const b = a.body;
  const params = canonicalParams(b.params);
  const rs = await db.execute({
    sql: `INSERT INTO healing_attempts (appliance_id, attempt_id, msp_id, site_id, outbox_seq, incident_id, host_id, check_id, platform,
            runbook, params, group_key, tier, outcome, duration_ms, rule_id, started_at, finished_at, pre_state, provenance, received_at, deferred_until, detail)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (appliance_id, attempt_id) DO NOTHING`,
    args: [
      a.appliance_id,
      a.attempt_id,
      a.msp_id,
      a.site_id,
      a.outbox_seq,
      b.incident_id,
      b.host_id,
      b.check,
      b.platform,
      b.runbook,
      params,
      b.runbook === null ? null : groupKey(b.check, b.platform, b.runbook, b.params),
      b.tier,
      b.outcome,
      b.duration_ms,
      b.rule_id,
      b.started_at,
      b.finished_at,
      a.pre_state === null ? null : JSON.stringify(a.pre_state),
      a.provenance,
      a.received_at,
      b.deferred_until ?? null,
      b.detail == null ? null : b.detail.slice(0, MAX_ATTEMPT_DETAIL),
    ],
  });
  return rs.rowsAffected > 0;
}

/**
 * Records the `healing_attempt` entries of a push (other entry types are ignored). Call it inside the push
 * transaction, after the entries' rows (evidence included) are written, with only the entries that were
 * stored. Returns how many attempts were new.
 */
export async function recordHealingAttempts(tx: Tx, appliance: Pick<AuthedAppliance, "id" | "site_id">, entries: readonly OutboxEntry[], receivedAt: string): Promise<number> {
  const attempts = entries.filter((e): e is Extract<OutboxEntry, { type: "healing_attempt" }> => e.type === "healing_attempt");
  if (attempts.length === 0) return 0;
  const mspId = await mspOfSite(tx, appliance.site_id);
  if (mspId === null) throw new Error(`Internal: appliance ${appliance.id} belongs to site ${appliance.site_id}, which has no organisation`);
  let added = 0;
  for (const e of attempts) {
    const b = e.body;
    const pre = await attemptFacts(tx, appliance.id, b.attempt_id, b.finished_at);
    if (await insertAttempt(tx, { appliance_id: appliance.id, attempt_id: b.attempt_id, msp_id: mspId, site_id: appliance.site_id, outbox_seq: e.outbox_seq, body: b, pre_state: pre, provenance: "appliance", received_at: receivedAt })) added++;
  }
  return added;
}

/**
 * Imports attempts from `outbox_receipts` past the cursor (rowid order: receipts are append-only, and SQLite
 * has one writer, so rowids commit in order). Each step is one transaction that moves the cursor with the
 * rows it covers. Returns how many attempts were new.
 */
export async function importPushedAttempts(db: RelayDb, clock: Clock): Promise<number> {
  let added = 0;
  for (let step = 0; step < MAX_IMPORT_STEPS; step++) {
    const done = await db.transaction(async (tx) => {
      const cur = (await tx.execute({ sql: "SELECT value FROM learning_cursor WHERE name = ?", args: [CURSOR] })).rows[0];
      const from = cur ? num(cur, "value") : 0;
      const top = Number((await tx.execute("SELECT COALESCE(MAX(rowid), 0) AS top FROM outbox_receipts")).rows[0]?.["top"] ?? 0);
      if (top <= from) return true;
      const to = Math.min(top, from + IMPORT_SCAN_ROWS);
      const rs = await tx.execute({
        sql: `SELECT r.appliance_id, r.outbox_seq, r.body, r.received_at, a.site_id FROM outbox_receipts r JOIN appliances a ON a.id = r.appliance_id
              WHERE r.rowid > ? AND r.rowid <= ? AND r.type = 'healing_attempt' ORDER BY r.rowid`,
        args: [from, to],
      });
      const msps = new Map<string, string | null>();
      for (const r of rs.rows) {
        const siteId = str(r, "site_id");
        if (!msps.has(siteId)) msps.set(siteId, await mspOfSite(tx, siteId));
        const mspId = msps.get(siteId);
        if (!mspId) continue;
        const body = parseSchema(healingAttemptBodySchema, JSON.parse(str(r, "body")), "stored healing_attempt receipt");
        const applianceId = str(r, "appliance_id");
        const pre = await attemptFacts(tx, applianceId, body.attempt_id, body.finished_at);
        const fresh = await insertAttempt(tx, {
          appliance_id: applianceId,
          attempt_id: body.attempt_id,
          msp_id: mspId,
          site_id: siteId,
          outbox_seq: num(r, "outbox_seq"),
          body,
          pre_state: pre,
          provenance: "appliance",
          received_at: strOrNull(r, "received_at") ?? isoTime(clock.now()),
        });
        if (fresh) added++;
      }
      await tx.execute({ sql: "INSERT INTO learning_cursor (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", args: [CURSOR, to] });
      return to >= top;
    });
    if (done) break;
  }
  return added;
}

/** The MSP's attempts finished at or after `since`, as mining reads them (ordered, so results are stable). */
export async function loadMinedAttempts(db: Db, mspId: string, since: string): Promise<MinedAttempt[]> {
  const rs = await db.execute({
    sql: `SELECT site_id, check_id, platform, runbook, params, tier, outcome, finished_at, provenance FROM healing_attempts
          WHERE msp_id = ? AND finished_at >= ? AND runbook IS NOT NULL ORDER BY finished_at, appliance_id, attempt_id`,
    args: [mspId, since],
  });
  return rs.rows.map((r) => ({
    site_id: str(r, "site_id"),
    check: str(r, "check_id"),
    platform: str(r, "platform"),
    runbook: strOrNull(r, "runbook"),
    params: str(r, "params"),
    tier: str(r, "tier") as MinedAttempt["tier"],
    outcome: str(r, "outcome"),
    finished_at: str(r, "finished_at"),
    simulated: str(r, "provenance").startsWith("simulated:"),
  }));
}

/** MSPs that have healing attempts or candidates (the ones a learning cycle looks at), sorted. */
export async function activeMsps(db: Db): Promise<string[]> {
  const rs = await db.execute("SELECT DISTINCT msp_id FROM healing_attempts UNION SELECT DISTINCT msp_id FROM learning_candidates ORDER BY 1");
  return rs.rows.map((r) => str(r, "msp_id"));
}
