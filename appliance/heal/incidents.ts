/**
 * Incidents: one per host + check (table `incidents`, unique on both). A failing result opens it, or reopens
 * a resolved one; further failures only update it; a passing (or no longer applicable) result resolves it.
 * `error` results (unreachable host, facts missing) change nothing: not knowing is neither a fail nor a pass.
 *
 * Engine-only state that the table has no column for lives beside the row in `kv` (key
 * `heal.incident:<host>:<check>`), written in the same transaction as the row:
 * - `wire_id`: the incident's id on the wire (`inc_…`), new for each episode (open → resolved);
 * - `occurrences`: failing results since it opened;
 * - `reopens`: when it reopened (fail → pass → fail), for flap suppression; kept across episodes, bounded.
 *   A scan that fails after a fix passed its re-check counts too (the pass was the re-check's), so a fix that
 *   something undoes between scans cannot "succeed" forever;
 * - `healed_at`: when a fix last passed its re-check, until the next scan;
 * - `last`: the last gate or escalation outcome recorded, so a repeated decision is not recorded every scan;
 * - `quiet_until`: while flapping or over its failure budget, a reopen does not clear `last`;
 * - `unsent`: the `incident` outbox body still to hand to the evidence log. It is written with the row and
 *   cleared only after the append, so a crash in between re-sends it (the relay keeps the latest by id).
 * The wire body is sent when an episode opens and whenever its wire status (open | escalated | resolved)
 * changes — not on every failing scan, which the check_cycle evidence already records.
 */
import type { ResultSet } from "@libsql/client";
import { z } from "zod";
import { isoTime, newId, parseIsoTime } from "../../protocol/ids.ts";
import { jsonEqual } from "../../protocol/rules.ts";
import { INCIDENT_SEVERITIES, incidentBodySchema, type IncidentBody, type IncidentSeverity } from "../../protocol/sync.ts";
import type { Store, Tx } from "../store/index.ts";
import type { Clock } from "../engine/types.ts";
import { FLAP_MAX_REOPENS, FLAP_WINDOW_MS } from "./policy.ts";

export const INCIDENT_STATUSES = ["open", "deferred", "pending_approval", "escalated", "resolved"] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

const lastSchema = z.strictObject({ outcome: z.string(), code: z.string() });
const stateSchema = z.strictObject({
  wire_id: z.string(),
  severity: z.enum(INCIDENT_SEVERITIES),
  occurrences: z.number().int().min(1),
  reopens: z.array(z.number()),
  last: lastSchema.nullable(),
  quiet_until: z.number().nullable(),
  /** When a runbook last fixed it (re-check passed) and no scan has failed since. */
  healed_at: z.number().nullable().default(null),
  unsent: incidentBodySchema.nullable(),
});
export type IncidentState = z.output<typeof stateSchema>;

export interface Incident {
  /** Row id in `incidents`. */
  id: number;
  host_id: string;
  check: string;
  status: IncidentStatus;
  opened_at: string;
  updated_at: string;
  resolved_at: string | null;
  /** Healing attempts that ran steps in this episode. */
  attempts: number;
  last_outcome: string | null;
  /** When the engine should look at it again (ms), or null: at the next scan. */
  next_attempt_at: number | null;
  state: IncidentState;
}

/** What may change on an incident after a decision. */
export interface IncidentPatch {
  status?: IncidentStatus;
  next_attempt_at?: number | null;
  last_outcome?: string;
  /** Add one to `attempts` (a runbook ran). */
  acted?: boolean;
  last?: { outcome: string; code: string } | null;
  quiet_until?: number | null;
  /** A runbook just fixed it (its re-check passed). */
  healed?: boolean;
}

/** The wire status of a row status: deferred and pending_approval are still open to the relay. */
function wireStatus(status: IncidentStatus): IncidentBody["status"] {
  return status === "resolved" ? "resolved" : status === "escalated" ? "escalated" : "open";
}

const stateKey = (host: string, check: string) => `heal.incident:${host}:${check}`;

export interface IncidentBookOptions {
  store: Store;
  clock: Clock;
  random: (n: number) => Uint8Array;
}

/** The incidents table, as the healing engine uses it. */
export class IncidentBook {
  constructor(readonly opts: IncidentBookOptions) {}

  /** The incident for host + check, or null if it never failed. */
  async get(host: string, check: string): Promise<Incident | null> {
    return this.#tx((tx) => this.#read(tx, host, check));
  }

  /** Checks of `host` whose incident is not resolved: one query per scan instead of one per passing result. */
  async unresolvedChecks(host: string): Promise<Set<string>> {
    const rs = await this.opts.store.execute({ sql: "SELECT check_id FROM incidents WHERE host_id = ? AND status != 'resolved'", args: [host] });
    return new Set(rs.rows.map((r) => String(r[0])));
  }

  /** Records a failing result: opens, reopens or updates the incident. */
  async recordFailure(host: string, check: string, severity: IncidentSeverity): Promise<{ incident: Incident; change: "opened" | "reopened" | "repeated" }> {
    const now = this.opts.clock.now();
    const at = isoTime(now);
    return this.#tx(async (tx) => {
      const current = await this.#read(tx, host, check);
      if (current && current.status !== "resolved") {
        const undone = current.state.healed_at !== null;
        const reopens = undone ? boundedReopens(current.state.reopens, now) : current.state.reopens;
        const state = { ...current.state, occurrences: current.state.occurrences + 1, severity, reopens, healed_at: null };
        await tx.execute({ sql: "UPDATE incidents SET updated_at = ? WHERE id = ?", args: [at, current.id] });
        await this.#writeState(tx, host, check, state);
        return { incident: { ...current, updated_at: at, state }, change: "repeated" as const };
      }
      const wire_id = newId("inc", this.opts.random);
      const reopens = current ? boundedReopens(current.state.reopens, now) : [];
      const quiet = current?.state.quiet_until ?? null;
      const keepLast = current !== null && quiet !== null && now < quiet;
      let id: number;
      if (current) {
        await tx.execute({
          sql: "UPDATE incidents SET status = 'open', opened_at = ?, updated_at = ?, resolved_at = NULL, attempts = 0, last_outcome = NULL, next_attempt_at = NULL WHERE id = ?",
          args: [at, at, current.id],
        });
        id = current.id;
      } else {
        const rs = await tx.execute({
          sql: "INSERT INTO incidents (host_id, check_id, status, opened_at, updated_at, attempts) VALUES (?, ?, 'open', ?, ?, 0) RETURNING id",
          args: [host, check, at, at],
        });
        id = Number(rs.rows[0]!.id);
      }
      const base: Incident = {
        id,
        host_id: host,
        check,
        status: "open",
        opened_at: at,
        updated_at: at,
        resolved_at: null,
        attempts: 0,
        last_outcome: null,
        next_attempt_at: null,
        state: { wire_id, severity, occurrences: 1, reopens, last: keepLast ? current!.state.last : null, quiet_until: keepLast ? quiet : null, healed_at: null, unsent: null },
      };
      base.state.unsent = wireBody(base);
      await this.#writeState(tx, host, check, base.state);
      return { incident: base, change: current ? ("reopened" as const) : ("opened" as const) };
    });
  }

  /** Records a passing (or not applicable) result: resolves an unresolved incident. Returns it, or null when nothing changed. */
  async recordPass(host: string, check: string): Promise<Incident | null> {
    const at = isoTime(this.opts.clock.now());
    return this.#tx(async (tx) => {
      const current = await this.#read(tx, host, check);
      if (!current || current.status === "resolved") return null;
      await tx.execute({ sql: "UPDATE incidents SET status = 'resolved', updated_at = ?, resolved_at = ?, next_attempt_at = NULL WHERE id = ?", args: [at, at, current.id] });
      const next: Incident = { ...current, status: "resolved", updated_at: at, resolved_at: at, next_attempt_at: null };
      next.state = { ...current.state, healed_at: null, unsent: wireBody(next) };
      await this.#writeState(tx, host, check, next.state);
      return next;
    });
  }

  /** Applies a decision's consequences; queues a wire update when the wire status changes. */
  async update(incident: Incident, patch: IncidentPatch): Promise<Incident> {
    const at = isoTime(this.opts.clock.now());
    return this.#tx(async (tx) => {
      const current = (await this.#read(tx, incident.host_id, incident.check)) ?? incident;
      const next: Incident = {
        ...current,
        status: patch.status ?? current.status,
        next_attempt_at: patch.next_attempt_at === undefined ? current.next_attempt_at : patch.next_attempt_at,
        last_outcome: patch.last_outcome ?? current.last_outcome,
        attempts: current.attempts + (patch.acted ? 1 : 0),
        updated_at: at,
        state: {
          ...current.state,
          last: patch.last === undefined ? current.state.last : patch.last,
          quiet_until: patch.quiet_until === undefined ? current.state.quiet_until : patch.quiet_until,
          healed_at: patch.healed ? this.opts.clock.now() : current.state.healed_at,
        },
      };
      if (wireStatus(next.status) !== wireStatus(current.status)) next.state.unsent = wireBody(next);
      await tx.execute({
        sql: "UPDATE incidents SET status = ?, next_attempt_at = ?, last_outcome = ?, attempts = ?, updated_at = ? WHERE id = ?",
        args: [next.status, next.next_attempt_at === null ? null : isoTime(next.next_attempt_at), next.last_outcome, next.attempts, at, next.id],
      });
      await this.#writeState(tx, next.host_id, next.check, next.state);
      return next;
    });
  }

  /**
   * Makes escalated incidents whose last escalation code is in `codes` due at the next scan (instead of after
   * their re-check wait). Returns how many it changed.
   */
  async dueAgain(codes: ReadonlySet<string>): Promise<number> {
    return this.#tx(async (tx) => {
      const rs = await tx.execute("SELECT host_id, check_id FROM incidents WHERE status = 'escalated' AND next_attempt_at IS NOT NULL");
      let changed = 0;
      for (const row of rs.rows) {
        const incident = await this.#read(tx, String(row.host_id), String(row.check_id));
        if (!incident?.state.last || !codes.has(incident.state.last.code)) continue;
        await tx.execute({ sql: "UPDATE incidents SET next_attempt_at = NULL WHERE id = ?", args: [incident.id] });
        changed++;
      }
      return changed;
    });
  }

  /** Incidents whose wire update has not been handed to the evidence log yet (at most `limit`). */
  async unsent(limit: number): Promise<IncidentBody[]> {
    const rs = await this.opts.store.execute({
      sql: "SELECT value FROM kv WHERE key LIKE 'heal.incident:%' AND json_extract(value, '$.unsent') IS NOT NULL ORDER BY updated_at LIMIT ?",
      args: [limit],
    });
    return rs.rows.map((r) => stateSchema.parse(JSON.parse(String(r.value))).unsent!);
  }

  /** Clears `body` from the queue (unless a newer update replaced it meanwhile). */
  async markSent(host: string, check: string, body: IncidentBody): Promise<void> {
    await this.#tx((tx) => this.markSentIn(tx, host, check, body));
  }

  /** `markSent` inside a caller's transaction (the evidence log's, so the entry and its clearing commit together). */
  async markSentIn(tx: Tx, host: string, check: string, body: IncidentBody): Promise<void> {
    const current = await this.#read(tx, host, check);
    if (current?.state.unsent && jsonEqual(current.state.unsent, body)) await this.#writeState(tx, host, check, { ...current.state, unsent: null });
  }

  #tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.opts.store.transaction(fn);
  }

  async #read(tx: Tx, host: string, check: string): Promise<Incident | null> {
    const rs = await tx.execute({
      sql: "SELECT i.*, kv.value AS state FROM incidents i LEFT JOIN kv ON kv.key = ? WHERE i.host_id = ? AND i.check_id = ?",
      args: [stateKey(host, check), host, check],
    });
    return rowToIncident(rs, this.opts.random);
  }

  async #writeState(tx: Tx, host: string, check: string, state: IncidentState): Promise<void> {
    await tx.execute({
      sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      args: [stateKey(host, check), JSON.stringify(state), isoTime(this.opts.clock.now())],
    });
  }
}

function rowToIncident(rs: ResultSet, random: (n: number) => Uint8Array): Incident | null {
  const row = rs.rows[0];
  if (!row) return null;
  const status = String(row.status) as IncidentStatus;
  const next = row.next_attempt_at === null ? null : parseIsoTime(String(row.next_attempt_at));
  // A row without engine state (written by an older build, or by hand) gets fresh state; it is never trusted blind.
  const parsed = row.state === null ? null : stateSchema.safeParse(JSON.parse(String(row.state)));
  const state: IncidentState = parsed?.success
    ? parsed.data
    : { wire_id: newId("inc", random), severity: "medium", occurrences: 1, reopens: [], last: null, quiet_until: null, healed_at: null, unsent: null };
  return {
    id: Number(row.id),
    host_id: String(row.host_id),
    check: String(row.check_id),
    status: INCIDENT_STATUSES.includes(status) ? status : "open",
    opened_at: String(row.opened_at),
    updated_at: String(row.updated_at),
    resolved_at: row.resolved_at === null ? null : String(row.resolved_at),
    attempts: Number(row.attempts),
    last_outcome: row.last_outcome === null ? null : String(row.last_outcome),
    next_attempt_at: next !== null && Number.isNaN(next) ? null : next,
    state,
  };
}

/** `reopens` plus `now`, without times outside the flap window, at most FLAP_MAX_REOPENS + 2 long. */
function boundedReopens(reopens: readonly number[], now: number): number[] {
  return [...reopens.filter((t) => t > now - FLAP_WINDOW_MS), now].slice(-(FLAP_MAX_REOPENS + 2));
}

/** The `incident` outbox body for the incident as it is now. */
export function wireBody(incident: Incident): IncidentBody {
  return incidentBodySchema.parse({
    incident_id: incident.state.wire_id,
    host_id: incident.host_id,
    check: incident.check,
    severity: incident.state.severity,
    status: wireStatus(incident.status),
    opened_at: incident.opened_at,
    updated_at: incident.updated_at,
    resolved_at: incident.resolved_at,
    occurrences: incident.state.occurrences,
    evidence_seq: null,
  });
}
