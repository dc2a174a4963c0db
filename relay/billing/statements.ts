/**
 * Monthly partner statements: issued once per partner and month (after the month ended for every clinic),
 * immutable from then on (database triggers refuse UPDATE and DELETE, and more clinic lines than were counted
 * at issue); corrections are new lines. Totals are always sums of the stored lines.
 *
 * Each site's month runs on its own wall clock (`sites.timezone`; month-window.ts). What a clinic line counts:
 * - active appliances: enrolled before its site's month ended and not revoked before it began;
 * - monitored devices: devices the MSP marked `monitored` (their current status), first seen before their
 *   site's month ended and not gone before it began.
 */
import { z } from "zod";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { num, str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { computeStatement, type ClinicInput } from "./compute.ts";
import { shareOf } from "./money.ts";
import { FALLBACK_ZONE, monthWindow, utcSeconds } from "./month-window.ts";
import { getTiers, planFromRow } from "./plans.ts";

/** Statements listed at once (ten years of months). */
export const MAX_STATEMENTS_LISTED = 120;
/** Corrections per statement: a statement needing more is wrong enough to be discussed, not patched. */
export const MAX_CORRECTIONS = 100;

export const lineSchema = z.object({
  line_no: z.number(),
  kind: z.enum(["clinic", "correction"]),
  org_id: z.string().nullable(),
  org_name: z.string(),
  plan_monthly_cents: z.number().nullable(),
  included_devices: z.number().nullable(),
  extra_device_cents: z.number().nullable(),
  active_days: z.number().nullable(),
  active_appliances: z.number().nullable(),
  monitored_devices: z.number().nullable(),
  extra_devices: z.number().nullable(),
  base_cents: z.number().nullable(),
  extras_cents: z.number().nullable(),
  amount_cents: z.number(),
  share_cents: z.number(),
  note: z.string().nullable(),
  corrects_line: z.number().nullable(),
  created_at: z.string(),
});
export type StatementLine = z.output<typeof lineSchema>;

const totalsSchema = z.object({ amount_cents: z.number(), share_cents: z.number(), msp_net_cents: z.number() });
export const statementHeaderSchema = z.object({
  id: z.string(),
  partner_id: z.string(),
  partner_name: z.string(),
  month: z.string(),
  currency: z.string(),
  days_in_month: z.number(),
  clinics: z.number(),
  share_bp: z.number(),
  issued_at: z.string(),
  issued_by: z.string(),
  totals: totalsSchema,
});
export const statementSchema = statementHeaderSchema.extend({ lines: z.array(lineSchema) });
export type Statement = z.output<typeof statementSchema>;
export type StatementHeader = z.output<typeof statementHeaderSchema>;

export const issueBodySchema = z.strictObject({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "expected a month YYYY-MM like 2026-11") });
export const correctionBodySchema = z.strictObject({
  org_id: z.string().max(100).nullable().default(null),
  description: z.string().trim().min(1).max(500),
  amount_cents: z.number().int().min(-100_000_000).max(100_000_000),
  /** Default: the statement's share of the amount. */
  share_cents: z.number().int().min(-100_000_000).max(100_000_000).optional(),
  corrects_line: z.number().int().min(1).nullable().default(null),
});

function lineFromRow(r: Row): StatementLine {
  const n = (c: string) => (r[c] === null ? null : num(r, c));
  return {
    line_no: num(r, "line_no"),
    kind: str(r, "kind") as StatementLine["kind"],
    org_id: strOrNull(r, "org_id"),
    org_name: str(r, "org_name"),
    plan_monthly_cents: n("plan_monthly_cents"),
    included_devices: n("included_devices"),
    extra_device_cents: n("extra_device_cents"),
    active_days: n("active_days"),
    active_appliances: n("active_appliances"),
    monitored_devices: n("monitored_devices"),
    extra_devices: n("extra_devices"),
    base_cents: n("base_cents"),
    extras_cents: n("extras_cents"),
    amount_cents: num(r, "amount_cents"),
    share_cents: num(r, "share_cents"),
    note: strOrNull(r, "note"),
    corrects_line: n("corrects_line"),
    created_at: str(r, "created_at"),
  };
}

const HEADER_SQL = `SELECT s.*, p.name AS partner_name,
  (SELECT COALESCE(SUM(amount_cents), 0) FROM statement_lines l WHERE l.statement_id = s.id) AS amount_total,
  (SELECT COALESCE(SUM(share_cents), 0) FROM statement_lines l WHERE l.statement_id = s.id) AS share_total
  FROM partner_statements s JOIN partners p ON p.id = s.partner_id`;

function headerFromRow(r: Row): StatementHeader {
  const amount = num(r, "amount_total");
  const share = num(r, "share_total");
  return {
    id: str(r, "id"),
    partner_id: str(r, "partner_id"),
    partner_name: str(r, "partner_name"),
    month: str(r, "month"),
    currency: str(r, "currency"),
    days_in_month: num(r, "days_in_month"),
    clinics: num(r, "clinics"),
    share_bp: num(r, "share_bp"),
    issued_at: str(r, "issued_at"),
    issued_by: str(r, "issued_by"),
    totals: { amount_cents: amount, share_cents: share, msp_net_cents: amount - share },
  };
}

/**
 * The time zones the partner's statement spans: those of the sites of its clinics with a plan, and UTC for a
 * clinic without a site (nothing of it to count, but its month still has to end somewhere).
 */
export async function statementZones(db: RelayDb | Tx, partnerId: string): Promise<string[]> {
  const rs = await db.execute({
    sql: `SELECT DISTINCT COALESCE(s.timezone, ?) AS zone FROM organisations o JOIN billing_plans p ON p.org_id = o.id
          LEFT JOIN sites s ON s.org_id = o.id WHERE o.partner_id = ? ORDER BY zone`,
    args: [FALLBACK_ZONE, partnerId],
  });
  const zones = rs.rows.map((r) => str(r, "zone"));
  return zones.length ? zones : [FALLBACK_ZONE];
}

/** The partner's clinics with a plan, and what they used in the month (each site counted in its own zone). */
export async function clinicInputs(db: RelayDb | Tx, partnerId: string, month: string): Promise<ClinicInput[]> {
  const orgs = await db.execute({
    sql: "SELECT o.id AS org, o.name AS org_name, p.* FROM organisations o JOIN billing_plans p ON p.org_id = o.id WHERE o.partner_id = ?",
    args: [partnerId],
  });
  const used = new Map<string, { appliances: number; devices: number }>();
  // One query per distinct zone (a partner's clinics share a handful), each with that zone's month.
  for (const zone of await statementZones(db, partnerId)) {
    const w = monthWindow(month, zone);
    const start = isoTime(w.start);
    const end = isoTime(w.end);
    const rs = await db.execute({
      sql: `SELECT s.org_id AS org,
              (SELECT COUNT(*) FROM appliances a WHERE a.site_id = s.id AND a.enrolled_at < ? AND (a.revoked_at IS NULL OR a.revoked_at >= ?)) AS active_appliances,
              (SELECT COUNT(*) FROM devices d WHERE d.site_id = s.id AND d.status = 'monitored' AND d.first_seen < ? AND (d.gone_at IS NULL OR d.gone_at >= ?)) AS monitored_devices
            FROM sites s JOIN organisations o ON o.id = s.org_id
            WHERE o.partner_id = ? AND s.timezone = ?`,
      args: [end, start, end, start, partnerId, zone],
    });
    for (const r of rs.rows) {
      const u = used.get(str(r, "org")) ?? { appliances: 0, devices: 0 };
      used.set(str(r, "org"), { appliances: u.appliances + num(r, "active_appliances"), devices: u.devices + num(r, "monitored_devices") });
    }
  }
  return orgs.rows.map((r) => {
    const u = used.get(str(r, "org"));
    return { org_id: str(r, "org"), org_name: str(r, "org_name"), plan: planFromRow(r), active_appliances: u?.appliances ?? 0, monitored_devices: u?.devices ?? 0 };
  });
}

/** Runs inside the writing transaction (the route's audit entry commits with the change, or neither does). */
export type InTx = (tx: Tx, statement: Statement) => Promise<void>;

/**
 * Issues the partner's statement for `month` (after the month ended); throws statement_exists,
 * month_not_ended, currency_mismatch.
 */
export async function issueStatement(db: RelayDb, partnerId: string, month: string, by: string, env: Env, inTx?: InTx): Promise<Statement> {
  const now = env.clock.now();
  // The month is over when it is over for every clinic: in the westernmost of their zones.
  const last = (await statementZones(db, partnerId)).map((z) => monthWindow(month, z)).reduce((a, b) => (b.end > a.end ? b : a));
  if (now < last.end) {
    throw new RelayError("month_not_ended", `month ${month} has not ended yet for every clinic (in ${last.zone} it ends ${utcSeconds(last.end)}): a statement is issued once the month is over`, { month, zone: last.zone, now: isoTime(now) });
  }
  const id = newId("stm", env.random);
  await db.transaction(async (tx) => {
    const existing = (await tx.execute({ sql: "SELECT id FROM partner_statements WHERE partner_id = ? AND month = ?", args: [partnerId, month] })).rows[0];
    if (existing) throw new RelayError("statement_exists", `the statement for ${month} was already issued (${str(existing, "id")}); it cannot be issued again: add a correction line to it instead`, { statement_id: str(existing, "id") });
    const computed = computeStatement(month, await clinicInputs(tx, partnerId, month), (await getTiers(tx, partnerId)).tiers);
    // Statements are permanent: an empty one (a mistyped month such as 1999-01) could never be taken back.
    if (computed.lines.length === 0) throw new RelayError("statement_empty", `no clinic of this partner had a billing plan in force in ${month}: there is nothing to bill, so no statement is issued`, { month });
    const at = isoTime(now);
    await tx.execute({
      sql: "INSERT INTO partner_statements (id, partner_id, month, currency, days_in_month, clinics, share_bp, issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      args: [id, partnerId, month, computed.currency, computed.days_in_month, computed.lines.length, computed.share_bp, at, by],
    });
    if (computed.lines.length) {
      await tx.batch(
        computed.lines.map((l, i) => ({
          sql: `INSERT INTO statement_lines (statement_id, line_no, kind, org_id, org_name, plan_monthly_cents, included_devices, extra_device_cents, active_days, active_appliances,
                  monitored_devices, extra_devices, base_cents, extras_cents, amount_cents, share_cents, created_at, created_by)
                VALUES (?, ?, 'clinic', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [id, i + 1, l.org_id, l.org_name, l.plan_monthly_cents, l.included_devices, l.extra_device_cents, l.active_days, l.active_appliances, l.monitored_devices, l.extra_devices, l.base_cents, l.extras_cents, l.amount_cents, l.share_cents, at, by],
        })),
      );
    }
    if (inTx) await inTx(tx, (await getStatement(tx, id))!);
  });
  return (await getStatement(db, id))!;
}

/** A statement with its lines and totals, or null. */
export async function getStatement(db: RelayDb | Tx, id: string): Promise<Statement | null> {
  const h = (await db.execute({ sql: `${HEADER_SQL} WHERE s.id = ?`, args: [id] })).rows[0];
  if (!h) return null;
  const lines = (await db.execute({ sql: "SELECT * FROM statement_lines WHERE statement_id = ? ORDER BY line_no", args: [id] })).rows.map(lineFromRow);
  return { ...headerFromRow(h), lines };
}

/** The partner's statements, newest month first. */
export async function listStatements(db: RelayDb, partnerId: string): Promise<StatementHeader[]> {
  const rs = await db.execute({ sql: `${HEADER_SQL} WHERE s.partner_id = ? ORDER BY s.month DESC LIMIT ${MAX_STATEMENTS_LISTED}`, args: [partnerId] });
  return rs.rows.map(headerFromRow);
}

/** Adds a correction line (the only change an issued statement takes); returns the statement. */
export async function addCorrection(db: RelayDb, id: string, raw: unknown, by: string, env: Env, inTx?: InTx): Promise<Statement> {
  const c = parseSchema(correctionBodySchema, raw, "correction");
  await db.transaction(async (tx) => {
    const s = (await tx.execute({ sql: "SELECT partner_id, share_bp FROM partner_statements WHERE id = ?", args: [id] })).rows[0];
    if (!s) throw new RelayError("not_found", `statement ${JSON.stringify(id)} does not exist`);
    const lines = (await tx.execute({ sql: "SELECT line_no, kind FROM statement_lines WHERE statement_id = ?", args: [id] })).rows;
    if (lines.filter((l) => str(l, "kind") === "correction").length >= MAX_CORRECTIONS) throw new RelayError("bad_request", `statement ${id} already has ${MAX_CORRECTIONS} corrections`);
    if (c.corrects_line !== null && !lines.some((l) => num(l, "line_no") === c.corrects_line)) throw new RelayError("schema", `corrects_line: statement ${id} has no line ${c.corrects_line}`);
    let orgName = "Adjustment";
    if (c.org_id !== null) {
      const o = (await tx.execute({ sql: "SELECT name FROM organisations WHERE id = ? AND partner_id = ?", args: [c.org_id, str(s, "partner_id")] })).rows[0];
      if (!o) throw new RelayError("schema", `org_id: ${JSON.stringify(c.org_id)} is not a clinic of this statement's partner`);
      orgName = str(o, "name");
    }
    const lineNo = lines.reduce((m, l) => Math.max(m, num(l, "line_no")), 0) + 1;
    await tx.execute({
      sql: "INSERT INTO statement_lines (statement_id, line_no, kind, org_id, org_name, amount_cents, share_cents, note, corrects_line, created_at, created_by) VALUES (?, ?, 'correction', ?, ?, ?, ?, ?, ?, ?, ?)",
      args: [id, lineNo, c.org_id, orgName, c.amount_cents, c.share_cents ?? shareOf(c.amount_cents, num(s, "share_bp")), c.description, c.corrects_line, isoTime(env.clock.now()), by],
    });
    if (inTx) await inTx(tx, (await getStatement(tx, id))!);
  });
  return (await getStatement(db, id))!;
}
