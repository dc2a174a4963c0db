/**
 * One site in full (`GET /api/sites/:site_id`): its settings, score by category, controls ready or not,
 * devices with their latest check results, the incident timeline (tier L1/L2/L3 and outcome of each healing
 * attempt), and per appliance the evidence chain the relay verified (size, head, last countersigned
 * checkpoint) with any integrity incident. Reads the digest after refreshing it (digest.ts).
 */
import { CATEGORY_TITLES, CATEGORIES, findCheck, getControl, type Category, type Framework } from "../../protocol/catalogue/mod.ts";
import { keyFingerprint } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import type { CheckStatus } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { HealingMode, HealingModeSource, SiteConfig } from "../../protocol/sync.ts";
import { num, str, strOrNull, type RelayDb, type Row } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { currentEvidenceKey } from "../enroll/key-rotation.ts";
import { listIncidents, type IncidentRecord } from "../ingest/incidents.ts";
import { siteConfig } from "../tenants/tenants.ts";
import { refreshSiteDigest, resultValues } from "./digest.ts";
import { connectionOf, type ConnectionState } from "./fleet.ts";
import { firstInputDay, siteScore } from "./site-score.ts";
import { previewWindows, type WindowPreview } from "./windows-preview.ts";

/** Incidents shown on the timeline (open ones first, then the newest). */
export const MAX_TIMELINE_INCIDENTS = 100;
/** Healing attempts shown per incident (the newest). */
export const MAX_ATTEMPTS_PER_INCIDENT = 10;
/** Integrity incidents listed per appliance. */
export const MAX_INTEGRITY_LISTED = 50;

export interface CheckResultView {
  check: string;
  title: string;
  category: Category;
  status: CheckStatus;
  finished_at: string;
  /** True when the host could not be reached after its last real result. */
  unreachable: boolean;
  expected: string | null;
  actual: string | null;
}

export interface DeviceView {
  host_id: string;
  hostname: string | null;
  platform: string | null;
  os_version: string | null;
  last_check: string | null;
  pass: number;
  failing: number;
  results: CheckResultView[];
}

export interface AttemptView {
  attempt_id: string;
  runbook: string | null;
  tier: string;
  outcome: string;
  started_at: string;
  finished_at: string;
  deferred_until: string | null;
  detail: string | null;
}

export interface IncidentView {
  appliance_id: string;
  incident_id: string;
  host_id: string | null;
  check: string;
  title: string;
  severity: string;
  status: string;
  opened_at: string;
  updated_at: string;
  resolved_at: string | null;
  occurrences: number;
  /** The highest tier that handled it (L3 > L2 > L1); null when nothing was attempted yet. */
  tier: string | null;
  /** Outcome of the newest attempt; null when nothing was attempted yet. */
  outcome: string | null;
  attempts: AttemptView[];
}

export interface ApplianceView {
  id: string;
  fingerprint: string;
  state: string;
  enrolled_at: string;
  enrolled_via: string;
  /** When it was revoked (null while active). */
  revoked_at: string | null;
  last_sync: string | null;
  last_contact: string | null;
  connection: ConnectionState;
  simulated: boolean;
  version: string | null;
  ntp_offset_ms: number | null;
  /** The healing mode the appliance last reported healing with, and why (null before its first report). */
  healing_mode: { mode: HealingMode; source: HealingModeSource } | null;
  last_cycle_at: string | null;
  evidence: {
    /** Bundles verified and stored, in one unbroken chain. */
    verified_seq: number;
    head_hash: string | null;
    acked_outbox_seq: number;
    /** The newest checkpoint the relay countersigned. */
    checkpoint: { size: number; received_at: string; witness_key_id: string } | null;
  };
  integrity_incidents: Omit<IncidentRecord, "site_id">[];
}

export interface ControlView {
  key: string;
  framework: Framework;
  id: string;
  title: string;
  ready: boolean;
  reason: string;
  blocking: string[];
}

export interface SiteDetail {
  site: { id: string; name: string; timezone: string; created_at: string; org_id: string; org_name: string; partner_id: string | null; partner_name: string | null };
  settings: SiteConfig;
  /** The next occurrences of each configured window (null for one that no longer parses). */
  windows_preview: (WindowPreview | null)[];
  score: {
    overall: number | null;
    categories: { id: Category; title: string; score: number | null; pass: number; fail: number; error: number; not_applicable: number; hosts: number }[];
    controls: ControlView[];
    unknown_checks: string[];
  };
  trend: { day: string; overall: number | null }[];
  devices: DeviceView[];
  appliances: ApplianceView[];
  incidents: IncidentView[];
  simulated: boolean;
  /** True when the digest has not caught up with everything pushed (a big backlog); numbers may lag. */
  digest_behind: boolean;
  generated_at: string;
}

const TIER_RANK: Readonly<Record<string, number>> = { L1: 1, L2: 2, L3: 3 };

function controlView(key: string, c: { ready: boolean; reason: string; blocking: string[] }): ControlView {
  const colon = key.indexOf(":");
  const framework = key.slice(0, colon) as Framework;
  const id = key.slice(colon + 1);
  let title = id;
  try {
    title = getControl(framework, id).title;
  } catch {
    // a control the catalogue no longer names keeps its citation as title
  }
  return { key, framework, id, title, ready: c.ready, reason: c.reason, blocking: c.blocking };
}

export async function siteDetail(db: RelayDb, siteId: string, env: Env, opts: { days: number }): Promise<SiteDetail> {
  const now = env.clock.now();
  const refresh = await refreshSiteDigest(db, siteId, env);
  const siteRow = (await db.execute({
    sql: `SELECT s.id, s.name, s.timezone, s.created_at, o.id AS org_id, o.name AS org_name, o.partner_id, p.name AS partner_name
          FROM sites s JOIN organisations o ON o.id = s.org_id LEFT JOIN partners p ON p.id = o.partner_id WHERE s.id = ?`,
    args: [siteId],
  })).rows[0]!;
  const { score, trend } = await siteScore(db, siteId, now, opts.days);
  const appliances = await applianceViews(db, siteId, now);
  const settings = await siteConfig(db, siteId);
  return {
    site: {
      id: str(siteRow, "id"),
      name: str(siteRow, "name"),
      timezone: str(siteRow, "timezone"),
      created_at: str(siteRow, "created_at"),
      org_id: str(siteRow, "org_id"),
      org_name: str(siteRow, "org_name"),
      partner_id: strOrNull(siteRow, "partner_id"),
      partner_name: strOrNull(siteRow, "partner_name"),
    },
    settings,
    windows_preview: settings.maintenance_windows.map((w) => {
      try {
        return previewWindows(w, new Date(now), 3);
      } catch {
        return null;
      }
    }),
    score: {
      overall: score.overall,
      categories: CATEGORIES.map((id) => ({ id, title: CATEGORY_TITLES[id], ...score.categories[id] })),
      controls: Object.entries(score.controls).map(([k, c]) => controlView(k, c)),
      unknown_checks: score.unknown_checks,
    },
    trend,
    devices: await deviceViews(db, siteId, score.latest, firstInputDay(now, 1)),
    appliances,
    incidents: await incidentViews(db, siteId),
    simulated: appliances.some((a) => a.simulated),
    digest_behind: refresh.behind,
    generated_at: isoTime(now),
  };
}

async function deviceViews(db: RelayDb, siteId: string, latest: Awaited<ReturnType<typeof siteScore>>["score"]["latest"], fromDay: string): Promise<DeviceView[]> {
  const values = await resultValues(db, siteId, fromDay);
  const hosts = new Map<string, Row>();
  for (const r of (await db.execute({ sql: "SELECT * FROM site_hosts WHERE site_id = ?", args: [siteId] })).rows) hosts.set(str(r, "host_id"), r);
  const byHost = new Map<string, DeviceView>();
  for (const l of latest) {
    const check = findCheck(l.check);
    let d = byHost.get(l.host_id);
    if (!d) {
      const h = hosts.get(l.host_id);
      d = { host_id: l.host_id, hostname: h ? str(h, "hostname") : null, platform: h ? str(h, "platform") : (check?.platform ?? null), os_version: h ? strOrNull(h, "os_version") : null, last_check: null, pass: 0, failing: 0, results: [] };
      byHost.set(l.host_id, d);
    }
    const v = l.unreachable ? undefined : values.get(`${l.check}\0${l.host_id}\0${l.finished_at}`);
    d.results.push({ check: l.check, title: check?.title ?? l.check, category: l.category, status: l.status, finished_at: l.finished_at, unreachable: l.unreachable, expected: v?.expected ?? null, actual: v?.actual ?? null });
    if (l.status === "pass") d.pass++;
    if (l.status === "fail" || l.status === "error") d.failing++;
    if (d.last_check === null || l.finished_at > d.last_check) d.last_check = l.finished_at;
  }
  const rank: Record<CheckStatus, number> = { error: 0, fail: 1, pass: 2, not_applicable: 3 };
  for (const d of byHost.values()) d.results.sort((a, b) => rank[a.status] - rank[b.status] || a.title.localeCompare(b.title));
  return [...byHost.values()].sort((a, b) => b.failing - a.failing || a.host_id.localeCompare(b.host_id));
}

async function incidentViews(db: RelayDb, siteId: string): Promise<IncidentView[]> {
  const rs = await db.execute({
    sql: `SELECT * FROM site_incidents WHERE site_id = ? ORDER BY (status <> 'resolved') DESC, updated_at DESC, incident_id LIMIT ${MAX_TIMELINE_INCIDENTS}`,
    args: [siteId],
  });
  const out: IncidentView[] = [];
  for (const r of rs.rows) {
    const applianceId = str(r, "appliance_id");
    const incidentId = str(r, "incident_id");
    const attempts = (await db.execute({
      sql: `SELECT * FROM site_attempts WHERE appliance_id = ? AND incident_id = ? ORDER BY finished_at DESC, attempt_id LIMIT ${MAX_ATTEMPTS_PER_INCIDENT}`,
      args: [applianceId, incidentId],
    })).rows.map((a): AttemptView => ({
      attempt_id: str(a, "attempt_id"),
      runbook: strOrNull(a, "runbook"),
      tier: str(a, "tier"),
      outcome: str(a, "outcome"),
      started_at: str(a, "started_at"),
      finished_at: str(a, "finished_at"),
      deferred_until: strOrNull(a, "deferred_until"),
      detail: strOrNull(a, "detail"),
    }));
    const check = str(r, "check_id");
    const tier = attempts.reduce<string | null>((best, a) => ((TIER_RANK[a.tier] ?? 0) > (best ? (TIER_RANK[best] ?? 0) : 0) ? a.tier : best), null);
    out.push({
      appliance_id: applianceId,
      incident_id: incidentId,
      host_id: strOrNull(r, "host_id"),
      check,
      title: findCheck(check)?.title ?? check,
      severity: str(r, "severity"),
      status: str(r, "status"),
      opened_at: str(r, "opened_at"),
      updated_at: str(r, "updated_at"),
      resolved_at: strOrNull(r, "resolved_at"),
      occurrences: num(r, "occurrences"),
      tier: str(r, "status") === "escalated" && tier !== "L3" ? "L3" : tier,
      outcome: attempts[0]?.outcome ?? null,
      attempts,
    });
  }
  return out;
}

async function applianceViews(db: RelayDb, siteId: string, now: number): Promise<ApplianceView[]> {
  const rs = await db.execute({
    sql: `SELECT a.id, a.evidence_public_key, a.state, a.enrolled_at, a.enrolled_via, a.revoked_at, a.last_seen_at,
            (SELECT MAX(n.seen_at) FROM request_nonces n WHERE n.appliance_id = a.id) AS last_request,
            c.verified_seq, c.head_hash, c.acked_outbox_seq,
            d.simulated, d.version, d.ntp_offset_ms, d.last_cycle_at, d.healing_mode, d.healing_mode_source
          FROM appliances a LEFT JOIN chain_state c ON c.appliance_id = a.id LEFT JOIN site_digest_cursors d ON d.appliance_id = a.id
          WHERE a.site_id = ? ORDER BY a.state = 'active' DESC, a.enrolled_at, a.id`,
    args: [siteId],
  });
  const out: ApplianceView[] = [];
  for (const r of rs.rows) {
    const id = str(r, "id");
    const cp = (await db.execute({ sql: "SELECT size, received_at, witness_key_id FROM checkpoints WHERE appliance_id = ? ORDER BY size DESC LIMIT 1", args: [id] })).rows[0];
    const lastSync = strOrNull(r, "last_seen_at");
    const lastRequest = strOrNull(r, "last_request");
    const lastContact = [lastSync, lastRequest].filter((x): x is string => x !== null).sort().at(-1) ?? null;
    const active = str(r, "state") === "active";
    out.push({
      id,
      // The evidence key in force, as the appliance's own status page shows it (it changes with a rotation).
      fingerprint: keyFingerprint(fromHex(await currentEvidenceKey(db, id, str(r, "evidence_public_key")))),
      state: str(r, "state"),
      enrolled_at: str(r, "enrolled_at"),
      enrolled_via: str(r, "enrolled_via"),
      revoked_at: strOrNull(r, "revoked_at"),
      last_sync: lastSync,
      last_contact: lastContact,
      connection: active ? connectionOf(1, lastContact, now) : "offline",
      simulated: r["simulated"] === 1 || r["simulated"] === 1n,
      version: strOrNull(r, "version"),
      ntp_offset_ms: typeof r["ntp_offset_ms"] === "number" ? r["ntp_offset_ms"] : null,
      healing_mode: r["healing_mode"] === null || r["healing_mode"] === undefined ? null : { mode: str(r, "healing_mode") as HealingMode, source: str(r, "healing_mode_source") as HealingModeSource },
      last_cycle_at: strOrNull(r, "last_cycle_at"),
      evidence: {
        verified_seq: r["verified_seq"] === null ? 0 : num(r, "verified_seq"),
        head_hash: strOrNull(r, "head_hash"),
        acked_outbox_seq: r["acked_outbox_seq"] === null ? 0 : num(r, "acked_outbox_seq"),
        checkpoint: cp ? { size: num(cp, "size"), received_at: str(cp, "received_at"), witness_key_id: str(cp, "witness_key_id") } : null,
      },
      integrity_incidents: (await listIncidents(db, id)).slice(0, MAX_INTEGRITY_LISTED).map(({ site_id: _site, ...i }) => i),
    });
  }
  return out;
}
