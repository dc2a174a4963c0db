/**
 * Stored packets: `generatePacket` builds (or returns) the packet of a (site, month, framework), and the
 * read functions the routes and the CLI use.
 *
 * Idempotent by natural key: a packet is generated once and kept (append-only table); asking again returns
 * the stored row, whoever asks and however often, and two relay processes racing on the same key store one
 * (INSERT … ON CONFLICT DO NOTHING, then read the winner). The month's auditor kit is exported once and
 * shared by the HIPAA, SOC 2 and GLBA packets of that month.
 */
import type { Framework } from "../../protocol/catalogue/mod.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import { num, str, type RelayDb, type Row } from "../db/index.ts";
import type { Clock, Random, RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { RelayLog } from "../log.ts";
import { monthBounds, monthOf, parseFramework, previousMonth } from "./month.ts";
import { gatherPacketData, type PacketData } from "./packet-data.ts";
import { buildMonthKit, kitSummary, type KitSummary } from "./packet-kit.ts";
import { renderPacketPdf } from "./packet-pdf.ts";

export interface PacketDeps {
  db: RelayDb;
  clock: Clock;
  random: Random;
  log: RelayLog;
  /** Signs each kit's manifest (the key the packet names as the relay's). */
  relayKey: RelayKey;
}

export interface GenerateRequest {
  site_id: string;
  month: string;
  framework: Framework;
  /** Who asked: a user (or API key) id, or `scheduler`. */
  actor: string;
}

/**
 * What the score of a packet rests on (PacketData.score.basis): the latest results behind it, how many of them
 * were older than their check's freshness limit at the month's end (scores/isStale), and the newest one's time.
 */
export interface ScoreBasis {
  results: number;
  stale: number;
  newest_at: string | null;
}

/**
 * Figures kept with a packet for lists. Stored packets never change, so a field added later is optional:
 * `score_basis` is absent on packets generated before it was kept, and readers show those as before.
 */
export interface PacketSummary {
  overall: number | null;
  previous: number | null;
  controls_ready: number;
  controls_total: number;
  incidents: number;
  incidents_open: number;
  bundles: number;
  appliances: number;
  score_basis?: ScoreBasis;
}

export interface PacketRecord {
  id: string;
  site_id: string;
  month: string;
  framework: Framework;
  sha256: string;
  bytes: number;
  kit_sha256: string;
  summary: PacketSummary;
  generated_at: string;
  generated_by: string;
}

const COLUMNS = "id, site_id, month, framework, sha256, bytes, kit_sha256, summary, generated_at, generated_by";

function record(row: Row): PacketRecord {
  return {
    id: str(row, "id"),
    site_id: str(row, "site_id"),
    month: str(row, "month"),
    framework: parseFramework(str(row, "framework")),
    sha256: str(row, "sha256"),
    bytes: num(row, "bytes"),
    kit_sha256: str(row, "kit_sha256"),
    summary: JSON.parse(str(row, "summary")) as PacketSummary,
    generated_at: str(row, "generated_at"),
    generated_by: str(row, "generated_by"),
  };
}

function summaryOf(d: PacketData): PacketSummary {
  return {
    overall: d.score.overall,
    previous: d.score.previous,
    controls_ready: d.controls.filter((c) => c.ready).length,
    controls_total: d.controls.length,
    incidents: d.incidents.length,
    incidents_open: d.incidents.filter((i) => i.resolved_at === null).length,
    bundles: d.manifest.bundles,
    appliances: d.manifest.appliances.length,
    score_basis: { ...d.score.basis },
  };
}

function bytesOf(value: unknown, column: string): Uint8Array<ArrayBuffer> {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  throw new TypeError(`Column ${column} should be a BLOB: current value is ${value === null ? "NULL" : typeof value}`);
}

/** The stored packet of (site, month, framework), or null. */
export async function findPacket(db: RelayDb, siteId: string, month: string, framework: Framework): Promise<PacketRecord | null> {
  const row = (await db.execute({ sql: `SELECT ${COLUMNS} FROM packets WHERE site_id = ? AND month = ? AND framework = ?`, args: [siteId, month, framework] })).rows[0];
  return row ? record(row) : null;
}

/**
 * The month's kit: the one already stored for (site, month), else exported now, with `store` to store it
 * (a no-op for a stored kit). The caller stores it once the packet's data and PDF are built: by then the
 * export's working buffers (the month's bundles, about 150 MB for 50 hosts) have been collected, so the ZIP's
 * INSERT (which the database driver copies several times) does not come on top of them (issue 7, peak memory).
 */
async function monthKit(deps: PacketDeps, siteId: string, month: string, from: number, to: number): Promise<{ summary: KitSummary; store: () => Promise<void> }> {
  const stored = (await deps.db.execute({ sql: "SELECT manifest FROM packet_kits WHERE site_id = ? AND month = ? ORDER BY created_at, sha256 LIMIT 1", args: [siteId, month] })).rows[0];
  if (stored) return { summary: JSON.parse(str(stored, "manifest")) as KitSummary, store: async () => undefined };
  const kit = await buildMonthKit(deps.db, siteId, from, to, deps.relayKey);
  const summary = kitSummary(kit);
  const store = async () => {
    await deps.db.execute({
      sql: "INSERT INTO packet_kits (sha256, site_id, month, zip, bytes, bundles, manifest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
      args: [kit.sha256, siteId, month, kit.zip, kit.zip.length, kit.bundles, JSON.stringify(summary), isoTime(deps.clock.now())],
    });
  };
  return { summary, store };
}

/**
 * The month a site's packets start at: the month it was created in, or the month its first appliance was
 * enrolled if that is earlier (an appliance cannot enrol at a site that does not exist yet, so its evidence
 * shows the site existed: a site row restored or re-created after its appliances, or a test fixture building
 * past months). Null for an unknown site.
 */
async function firstPacketMonth(db: RelayDb, siteId: string): Promise<string | null> {
  const row = (
    await db.execute({
      sql: "SELECT MIN(s.created_at, COALESCE((SELECT MIN(a.enrolled_at) FROM appliances a WHERE a.site_id = s.id), s.created_at)) AS since FROM sites s WHERE s.id = ?",
      args: [siteId],
    })
  ).rows[0];
  return row ? monthOf(Date.parse(str(row, "since"))) : null;
}

/**
 * The one check of which months may have a packet (the API, the CLI and the scheduler all come through here):
 * a closed month (RelayError `month_open` otherwise, saying which month is the latest closed one) of an
 * existing site (`site_unknown`) that had begun by then (`bad_request` naming the site's first month): a
 * packet of a month before the site existed would only say "no data" and look like a compliance gap.
 */
async function checkPacketMonth(deps: PacketDeps, siteId: string, month: string): Promise<void> {
  const { from, to } = monthBounds(month);
  const now = deps.clock.now();
  const latest = previousMonth(monthOf(now));
  const first = await firstPacketMonth(deps.db, siteId);
  if (first === null) throw new RelayError("site_unknown", `site ${JSON.stringify(siteId)} does not exist`);
  // Which closed month to offer instead: none when the site is younger than the last month's end.
  const instead = first > latest ? `no month has ended since the site was created: its first packet, for ${first}, can be made once that month has ended` : `the latest is ${latest}`;
  if (from > now) throw new RelayError("month_open", `month ${month} is in the future: a packet covers a month that has ended (${instead})`, { month, latest_month: latest });
  if (to > now) throw new RelayError("month_open", `month ${month} has not ended yet (it ends ${isoTime(to)}): a packet covers a closed month (${instead})`, { month, latest_month: latest });
  if (month < first) {
    const range = first > latest ? `no month has ended since, so its first packet can be made once ${first} has ended` : `so packets cover ${first} to ${latest}`;
    throw new RelayError("bad_request", `month ${month} is before site ${siteId} existed: its first month is ${first}, ${range}`, { month, first_month: first, latest_month: latest });
  }
}

/** Builds a packet's data and PDF without storing the packet (the month's shared kit is stored on first use). */
export async function buildPacket(deps: PacketDeps, req: Omit<GenerateRequest, "actor">): Promise<{ data: PacketData; pdf: Uint8Array; sha256: string }> {
  const { from, to } = monthBounds(req.month);
  const framework = parseFramework(req.framework);
  await checkPacketMonth(deps, req.site_id, req.month);
  const kit = await monthKit(deps, req.site_id, req.month, from, to);
  const data = await gatherPacketData(deps.db, { site_id: req.site_id, month: req.month, framework }, kit.summary);
  const pdf = await renderPacketPdf(data);
  await kit.store();
  return { data, pdf, sha256: sha256Hex(pdf) };
}

/**
 * The packet of (site, month, framework): the stored one, or generated and stored now. `created` says
 * which. Throws RelayError `month_open` for a month that has not ended, `site_unknown`, `bad_request` for a
 * month before the site existed, or ValidationError for a malformed month or framework.
 */
export async function generatePacket(deps: PacketDeps, req: GenerateRequest): Promise<{ packet: PacketRecord; created: boolean }> {
  monthBounds(req.month);
  const framework = parseFramework(req.framework);
  const existing = await findPacket(deps.db, req.site_id, req.month, framework);
  if (existing) return { packet: existing, created: false };
  const started = deps.clock.now();
  const { data, pdf, sha256 } = await buildPacket(deps, req);
  const id = newId("pkt", deps.random);
  const rs = await deps.db.execute({
    sql: `INSERT INTO packets (${COLUMNS}, pdf) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, month, framework) DO NOTHING`,
    args: [id, req.site_id, req.month, framework, sha256, pdf.length, data.manifest.kit_sha256, JSON.stringify(summaryOf(data)), isoTime(deps.clock.now()), req.actor, pdf],
  });
  const packet = await findPacket(deps.db, req.site_id, req.month, framework);
  if (!packet) throw new RelayError("internal", `packet of ${req.site_id} ${req.month} ${framework} was not stored`);
  const created = rs.rowsAffected > 0;
  if (created) deps.log.info("packet_generated", { packet_id: packet.id, site_id: req.site_id, month: req.month, framework, sha256, bytes: pdf.length, kit_sha256: packet.kit_sha256, by: req.actor, ms: deps.clock.now() - started });
  return { packet, created };
}

/** A site's packets, newest month first. */
export async function listPackets(db: RelayDb, siteId: string): Promise<PacketRecord[]> {
  const rs = await db.execute({ sql: `SELECT ${COLUMNS} FROM packets WHERE site_id = ? ORDER BY month DESC, framework`, args: [siteId] });
  return rs.rows.map(record);
}

/** A packet with its PDF bytes, or null. */
export async function packetPdf(db: RelayDb, packetId: string): Promise<{ packet: PacketRecord; pdf: Uint8Array<ArrayBuffer> } | null> {
  const row = (await db.execute({ sql: `SELECT ${COLUMNS}, pdf FROM packets WHERE id = ?`, args: [packetId] })).rows[0];
  return row ? { packet: record(row), pdf: bytesOf(row["pdf"], "pdf") } : null;
}

/** The auditor kit ZIP a packet references, or null. */
export async function packetKit(db: RelayDb, packetId: string): Promise<{ packet: PacketRecord; zip: Uint8Array<ArrayBuffer> } | null> {
  const row = (await db.execute({ sql: `SELECT ${COLUMNS.split(", ").map((c) => `p.${c}`).join(", ")}, k.zip FROM packets p JOIN packet_kits k ON k.sha256 = p.kit_sha256 WHERE p.id = ?`, args: [packetId] })).rows[0];
  return row ? { packet: record(row), zip: bytesOf(row["zip"], "zip") } : null;
}

/** File names for downloads: `osiriscare-hipaa-<site>-2026-09.pdf`, `osiriscare-kit-<site>-2026-09.zip`. */
export const packetFileName = (p: PacketRecord): string => `osiriscare-${p.framework}-${p.site_id}-${p.month}.pdf`;
export const kitFileName = (p: PacketRecord): string => `osiriscare-kit-${p.site_id}-${p.month}.zip`;
