/**
 * Everything a monthly packet shows, gathered from the relay database for (site, month, framework): the
 * site and its branding, scores and control readiness from the one scoring function (relay/scores) at the
 * month's last instant, the daily trend, incidents rebuilt from evidence, per-topic results (backups,
 * patching, encryption, time, access), appliance uptime and sync gaps with their enrollment records, and the
 * evidence manifest of the auditor kit.
 *
 * Deterministic: nothing here reads a clock; every list is sorted; the result is plain JSON, so the same
 * database contents give the same data and (packet-pdf.ts) the same PDF bytes.
 */
import { z } from "zod";
import { CATALOGUE_VERSION, CATEGORIES, CATEGORY_TITLES, CATEGORY_WEIGHTS, catalogue, type Category, type Framework } from "../../protocol/catalogue/mod.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import { RelayError } from "../errors.ts";
import { dailyHistory, isStale, scoreSite, type ControlReason, type HistoryPoint, type LatestResult } from "../scores/mod.ts";
import { type Cadence, checkCadence } from "./cadence.ts";
import { gap, scanEvidence, SYNC_GAP_MS, type EvidenceScan, type SyncGap } from "./evidence-scan.ts";
import { rebuildIncidents, type PacketIncident } from "./incidents.ts";
import { monthBounds } from "./month.ts";
import type { KitAppliance, KitSummary } from "./packet-kit.ts";

export const PACKET_DATA_SCHEMA = "osiris.packet-data/v1";
/** Rows per topic table; a site with more (check × host) pairs gets a note pointing at the kit. */
export const MAX_TOPIC_ROWS = 150;
/** Largest logo accepted from partner branding (a data URL of a PNG or JPEG). */
export const MAX_LOGO_DATA_URL_CHARS = 700_000;
/** Sync gaps listed per appliance (the longest ones); all are counted. */
export const MAX_GAPS_LISTED = 5;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The packet's topic sections and the catalogue categories each one reports. */
export const TOPICS = {
  backup: { title: "Backups and restore tests", categories: ["backup"] },
  patching: { title: "Patching", categories: ["patching"] },
  encryption: { title: "Encryption", categories: ["encryption"] },
  time: { title: "Time synchronisation", categories: ["time"] },
  access: { title: "Access: administrators, accounts and sign-in", categories: ["access_control", "accounts"] },
} as const satisfies Record<string, { title: string; categories: readonly Category[] }>;
export type Topic = keyof typeof TOPICS;

const color = z.string().regex(/^#[0-9a-fA-F]{6}$/);
const brandingSchema = z.object({
  name: z.string().min(1).max(200).optional(),
  logo_data_url: z.string().max(MAX_LOGO_DATA_URL_CHARS).regex(/^data:image\/(png|jpeg);base64,[A-Za-z0-9+/]+={0,2}$/).optional(),
  primary: color.optional(),
  accent: color.optional(),
});

export interface Branding {
  name: string;
  logo_data_url: string | null;
  primary: string;
  accent: string;
}

/** OsirisCare's own colours, for sites sold directly (or partners without branding). */
export const DEFAULT_BRANDING = { primary: "#1f4e79", accent: "#2e8b57" } as const;

export interface ControlCheck {
  check: string;
  title: string;
  hosts: number;
  pass: number;
  fail: number;
  error: number;
  not_applicable: number;
  last_at: string | null;
}

export interface ControlRow {
  id: string;
  title: string;
  /** HIPAA: administrative / physical / technical; SOC 2 and GLBA: the criteria group. */
  group: string;
  ready: boolean;
  reason: ControlReason;
  blocking: string[];
  /** Mapped checks with results this month, or blocking the control. */
  checks: ControlCheck[];
  /** Mapped checks that do not apply to this site's platforms. */
  out_of_scope: number;
}

export interface TopicRow {
  check: string;
  title: string;
  host_id: string;
  /** At the month's end, as scored (an unreachable host's checks are `error`). */
  status: string;
  last_at: string;
  pass: number;
  fail: number;
  error: number;
  actual: string;
}

export interface ApplianceRow {
  appliance_id: string;
  fingerprint: string;
  key_id: string;
  enrolled_at: string;
  enrolled_via: string;
  /** Who issued the claim code or accepted the pending appliance (an id), when recorded. */
  enrolled_by: string | null;
  state: string;
  revoked_at: string | null;
  bundles: number;
  kinds: Record<string, number>;
  first_finished: string | null;
  last_finished: string | null;
  /** Hours of the month (since enrollment, until revocation) with at least one bundle, and their share. */
  hours_expected: number;
  hours_with_evidence: number;
  uptime_pct: number | null;
  sync_gaps: number;
  longest_gap_ms: number;
  gaps: SyncGap[];
  max_delay_ms: number;
  ntp: { samples: number; max_abs_ms: number | null; last_ms: number | null };
  /** Bundles of the month from the lab simulation (a test lab, not the clinic's computers). */
  simulated_bundles: number;
}

export interface PacketData {
  schema: typeof PACKET_DATA_SCHEMA;
  site: { id: string; name: string; timezone: string; org_name: string; msp_name: string; partner_name: string | null };
  branding: Branding;
  month: string;
  period: { from: string; to: string; days: number };
  framework: Framework;
  catalogue_version: string;
  /**
   * Some evidence behind the packet comes from the lab simulation: the month's bundles, or the results read
   * from before it (the previous score, the trend's start, a score carried from earlier results, incidents
   * carried into the month). Every page says so (packet-pdf.ts).
   */
  simulated: boolean;
  score: {
    overall: number | null;
    /** The score at the end of the previous month (the trend's starting point). */
    previous: number | null;
    categories: { category: Category; title: string; weight: number; score: number | null; pass: number; fail: number; error: number; not_applicable: number; hosts: number }[];
    trend: HistoryPoint[];
    unknown_checks: string[];
    /**
     * The results the score is built on (the latest applicable result of each check on each computer), how
     * many of them are older than their check's freshness limit at the month's end, and the newest one's time.
     * Out-of-date results still count (the one scoring function); the packet says so wherever it shows the score.
     */
    basis: { results: number; stale: number; newest_at: string | null };
  };
  controls: ControlRow[];
  /** How often the month's evidence shows each computer being checked (the configured interval never reaches the relay). */
  cadence: Cadence;
  incidents: PacketIncident[];
  remediations: { total: number; by_tier: Record<string, number>; by_outcome: Record<string, number>; dropped: number };
  topics: Record<Topic, { rows: TopicRow[]; total: number }>;
  hosts: string[];
  appliances: ApplianceRow[];
  manifest: {
    kit_sha256: string;
    kit_bytes: number;
    bundles: number;
    appliances: KitAppliance[];
    warnings: string[];
    /** The relay key that signed the kit's manifest (witness name); null for a kit summary stored before it was recorded. */
    signed_by: string | null;
    integrity_incidents: { appliance_id: string; kind: string; code: string; seq: number; first_seen: string; last_seen: string; occurrences: number }[];
  };
}

function parseBranding(raw: string | null, fallbackName: string): Branding {
  let value: unknown = {};
  try {
    value = raw === null ? {} : JSON.parse(raw);
  } catch {
    value = {};
  }
  const b = brandingSchema.safeParse(value);
  const ok = b.success ? b.data : {};
  return { name: ok.name ?? fallbackName, logo_data_url: ok.logo_data_url ?? null, primary: ok.primary ?? DEFAULT_BRANDING.primary, accent: ok.accent ?? DEFAULT_BRANDING.accent };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface PacketRequest {
  site_id: string;
  month: string;
  framework: Framework;
}

/** Gathers a packet's data. `kit` is the month's auditor kit (packet-kit.ts), built by the caller. */
export async function gatherPacketData(db: RelayDb, req: PacketRequest, kit: KitSummary): Promise<PacketData> {
  const { from, to, days } = monthBounds(req.month);
  const siteRow = (
    await db.execute({
      sql: `SELECT s.id, s.name, s.timezone, o.name AS org_name, m.name AS msp_name, p.name AS partner_name, p.branding
              FROM sites s JOIN organisations o ON o.id = s.org_id JOIN msps m ON m.id = o.msp_id LEFT JOIN partners p ON p.id = o.partner_id
             WHERE s.id = ?`,
      args: [req.site_id],
    })
  ).rows[0];
  if (!siteRow) throw new RelayError("site_unknown", `site ${JSON.stringify(req.site_id)} does not exist`);
  const partnerName = strOrNull(siteRow, "partner_name");
  const branding = parseBranding(strOrNull(siteRow, "branding"), partnerName ?? str(siteRow, "msp_name"));

  const applianceRows = (
    await db.execute({
      sql: `SELECT a.id, a.fingerprint, a.evidence_key_id, a.enrolled_at, a.enrolled_via, a.state, a.revoked_at,
                   (SELECT c.created_by FROM claim_codes c WHERE c.used_by = a.id) AS claim_by,
                   (SELECT p.accepted_by FROM pending_appliances p WHERE p.appliance_id = a.id) AS accepted_by
              FROM appliances a WHERE a.site_id = ? AND a.enrolled_at < ? ORDER BY a.id`,
      args: [req.site_id, iso(to)],
    })
  ).rows;
  const scan = await scanEvidence(db, applianceRows.map((r) => str(r, "id")), from, to);

  const end = scoreSite(scan.inputs, { now: new Date(to - 1) });
  const history = dailyHistory(scan.inputs, { from: day(from - DAY_MS), to: day(to - 1) });
  const incidents = rebuildIncidents(scan.series.values(), [...scan.earlier_remediations, ...scan.remediations], from, to, scan.evidence_before_lookback);

  const integrity = (
    await db.execute({
      sql: "SELECT appliance_id, kind, code, seq, first_seen, last_seen, occurrences FROM integrity_incidents WHERE site_id = ? AND first_seen < ? AND last_seen >= ? ORDER BY first_seen, id",
      args: [req.site_id, iso(to), iso(from)],
    })
  ).rows.map((r) => ({ appliance_id: str(r, "appliance_id"), kind: str(r, "kind"), code: str(r, "code"), seq: num(r, "seq"), first_seen: str(r, "first_seen"), last_seen: str(r, "last_seen"), occurrences: num(r, "occurrences") }));

  const by_tier: Record<string, number> = {};
  const by_outcome: Record<string, number> = {};
  for (const m of scan.remediations) {
    by_tier[m.tier ?? "none"] = (by_tier[m.tier ?? "none"] ?? 0) + 1;
    by_outcome[m.outcome] = (by_outcome[m.outcome] ?? 0) + 1;
  }

  const appliances = applianceRows.map((r) => applianceRow(r, scan, from, to));
  return {
    schema: PACKET_DATA_SCHEMA,
    site: { id: str(siteRow, "id"), name: str(siteRow, "name"), timezone: str(siteRow, "timezone"), org_name: str(siteRow, "org_name"), msp_name: str(siteRow, "msp_name"), partner_name: partnerName },
    branding,
    month: req.month,
    period: { from: iso(from), to: iso(to), days },
    framework: req.framework,
    catalogue_version: CATALOGUE_VERSION,
    simulated: scan.simulated_earlier > 0 || appliances.some((a) => a.simulated_bundles > 0),
    score: {
      overall: end.overall,
      previous: history[0]?.overall ?? null,
      categories: CATEGORIES.map((c) => ({ category: c, title: CATEGORY_TITLES[c], weight: CATEGORY_WEIGHTS[c], ...end.categories[c] })),
      trend: history.slice(1),
      unknown_checks: end.unknown_checks,
      basis: scoreBasis(end.latest, to - 1),
    },
    controls: controlRows(req.framework, end.controls, scan),
    cadence: checkCadence(scan.series.values(), from, to),
    incidents,
    remediations: { total: scan.remediations.length + scan.remediations_dropped, by_tier: sortedRecord(by_tier), by_outcome: sortedRecord(by_outcome), dropped: scan.remediations_dropped },
    topics: topicRows(scan, end.latest),
    hosts: scan.hosts,
    appliances,
    manifest: { kit_sha256: kit.sha256, kit_bytes: kit.bytes, bundles: kit.bundles, appliances: kit.appliances, warnings: kit.warnings, signed_by: kit.signed_by ?? null, integrity_incidents: integrity },
  };
}

function scoreBasis(latest: readonly LatestResult[], now: number): PacketData["score"]["basis"] {
  const counted = latest.filter((r) => r.status !== "not_applicable");
  const stale = counted.filter((r) => isStale(r, catalogue.findCheck(r.check)!, now)).length; // latest holds known checks only
  const newest = counted.reduce<string | null>((m, r) => (m === null || r.finished_at > m ? r.finished_at : m), null);
  return { results: counted.length, stale, newest_at: newest };
}

function sortedRecord(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => byText(a, b)));
}

function controlRows(framework: Framework, readiness: ReturnType<typeof scoreSite>["controls"], scan: EvidenceScan): ControlRow[] {
  const perCheck = new Map<string, ControlCheck>();
  for (const c of scan.checks.values()) {
    let row = perCheck.get(c.check);
    if (!row) perCheck.set(c.check, (row = { check: c.check, title: catalogue.findCheck(c.check)?.title ?? c.check, hosts: 0, pass: 0, fail: 0, error: 0, not_applicable: 0, last_at: null }));
    row.hosts++;
    row.pass += c.pass;
    row.fail += c.fail;
    row.error += c.error;
    row.not_applicable += c.not_applicable;
    if (c.last && (row.last_at === null || c.last.finished_at > row.last_at)) row.last_at = c.last.finished_at;
  }
  const platforms = new Set([...perCheck.keys()].map((id) => catalogue.findCheck(id)?.platform));
  return catalogue.listControls(framework).map((control) => {
    const r = readiness[`${framework}:${control.id}`] ?? { ready: false, reason: "no_data" as const, blocking: [] };
    const mapped = catalogue.checksForControl(framework, control.id);
    const checks = mapped
      .filter((c) => perCheck.has(c.id) || r.blocking.includes(c.id))
      .map((c) => perCheck.get(c.id) ?? { check: c.id, title: c.title, hosts: 0, pass: 0, fail: 0, error: 0, not_applicable: 0, last_at: null })
      .sort((a, b) => byText(a.check, b.check));
    return {
      id: control.id,
      title: control.title,
      group: control.framework === "hipaa" ? control.safeguard : control.group,
      ready: r.ready,
      reason: r.reason,
      blocking: r.blocking,
      checks,
      out_of_scope: mapped.filter((c) => !platforms.has(c.platform)).length,
    };
  });
}

function topicRows(scan: EvidenceScan, latest: ReturnType<typeof scoreSite>["latest"]): PacketData["topics"] {
  const status = new Map(latest.map((l) => [`${l.check}\0${l.host_id}`, l.status]));
  const out = {} as PacketData["topics"];
  for (const [topic, spec] of Object.entries(TOPICS) as [Topic, (typeof TOPICS)[Topic]][]) {
    const rows: TopicRow[] = [];
    for (const [key, c] of scan.checks) {
      const check = catalogue.findCheck(c.check);
      if (!check || !(spec.categories as readonly Category[]).includes(check.category) || !c.last) continue;
      rows.push({ check: c.check, title: check.title, host_id: c.host_id, status: status.get(key) ?? c.last.status, last_at: c.last.finished_at, pass: c.pass, fail: c.fail, error: c.error, actual: c.last.actual });
    }
    rows.sort((a, b) => byText(a.check, b.check) || byText(a.host_id, b.host_id));
    out[topic] = { rows: rows.slice(0, MAX_TOPIC_ROWS), total: rows.length };
  }
  return out;
}

function applianceRow(r: Parameters<typeof str>[0], scan: EvidenceScan, from: number, to: number): ApplianceRow {
  const id = str(r, "id");
  const a = scan.appliances.find((x) => x.appliance_id === id)!;
  const enrolledAt = str(r, "enrolled_at");
  const revokedAt = strOrNull(r, "revoked_at");
  const start = Math.max(from, Math.floor(Date.parse(enrolledAt) / HOUR_MS) * HOUR_MS);
  const end = Math.max(start, Math.min(to, revokedAt === null ? to : Math.ceil(Date.parse(revokedAt) / HOUR_MS) * HOUR_MS));
  const expected = Math.round((end - start) / HOUR_MS);
  let up = 0;
  for (const h of a.hours) if (h >= start && h < end) up++;
  const gaps = [...a.gaps];
  if (a.first_push === null) {
    if (end > start) gaps.push(gap(start, end));
  } else {
    if (a.first_push - start > SYNC_GAP_MS) gaps.push(gap(start, a.first_push));
    if (a.last_push !== null && end - a.last_push > SYNC_GAP_MS) gaps.push(gap(a.last_push, end));
  }
  gaps.sort((x, y) => byText(x.from, y.from));
  const longest = [...gaps].sort((x, y) => y.ms - x.ms || byText(x.from, y.from)).slice(0, MAX_GAPS_LISTED).sort((x, y) => byText(x.from, y.from));
  return {
    appliance_id: id,
    fingerprint: str(r, "fingerprint"),
    key_id: str(r, "evidence_key_id"),
    enrolled_at: enrolledAt,
    enrolled_via: str(r, "enrolled_via"),
    enrolled_by: strOrNull(r, "claim_by") ?? strOrNull(r, "accepted_by"),
    state: str(r, "state"),
    revoked_at: revokedAt,
    bundles: a.bundles,
    kinds: sortedRecord(a.kinds),
    first_finished: a.first_finished,
    last_finished: a.last_finished,
    hours_expected: expected,
    hours_with_evidence: up,
    uptime_pct: expected > 0 ? (up / expected) * 100 : null,
    sync_gaps: gaps.length,
    longest_gap_ms: gaps.reduce((m, g) => Math.max(m, g.ms), 0),
    gaps: longest,
    max_delay_ms: a.max_delay_ms,
    ntp: a.ntp,
    simulated_bundles: a.simulated,
  };
}
