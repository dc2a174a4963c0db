/**
 * Tenants: MSP → partner (optional) → client organisation → site. Each is created with an opaque id minted
 * here (never a name or slug, which change) under a parent that must exist. Sites also carry the
 * configuration their appliances pull.
 */
import { z } from "zod";
import { isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { siteConfigSchema, TIME_ZONE_PATTERN, type SiteConfig } from "../../protocol/sync.ts";
import { num, str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { discoveryExclusions } from "../inventory/devices.ts";

/** Longest tenant or site name. */
export const MAX_NAME_LENGTH = 200;

const nameSchema = z.string().trim().min(1).max(MAX_NAME_LENGTH);

function checkName(what: string, name: string): string {
  const r = nameSchema.safeParse(name);
  if (!r.success) throw new RelayError("schema", `name: a ${what} name must be 1 to ${MAX_NAME_LENGTH} characters: current value is ${JSON.stringify(name)}`);
  return r.data;
}

/**
 * Names are unique within their parent, ignoring case and surrounding spaces: two "Main office" sites of one
 * clinic (or two "Alder Clinic" organisations of one partner) cannot be told apart in the fleet list, the
 * escalations or the monthly packet. Checked in the writing transaction; RelayError `name_taken` (409).
 * Per kind: its table, the SQL and the row columns naming its parent (`parentOf` reads the parent values from
 * `columns`, for a rename), and the error for an id that does not exist.
 */
const SIBLINGS = {
  partner: { table: "partners", parent: "msp_id = ?", under: "this MSP", columns: "name, msp_id", parentOf: (r: Row) => [str(r, "msp_id")], unknown: "tenant_unknown" },
  organisation: {
    table: "organisations",
    parent: "msp_id = ? AND partner_id IS ?",
    under: "",
    columns: "name, msp_id, partner_id",
    parentOf: (r: Row) => [str(r, "msp_id"), strOrNull(r, "partner_id")],
    unknown: "tenant_unknown",
  },
  site: { table: "sites", parent: "org_id = ?", under: "this organisation", columns: "name, org_id", parentOf: (r: Row) => [str(r, "org_id")], unknown: "site_unknown" },
} as const;

async function refuseTakenName(tx: Tx, what: keyof typeof SIBLINGS, name: string, parent: (string | null)[], exceptId: string | null): Promise<void> {
  const s = SIBLINGS[what];
  const rs = await tx.execute({ sql: `SELECT id FROM ${s.table} WHERE ${s.parent} AND lower(trim(name)) = lower(?) AND id <> ? LIMIT 1`, args: [...parent, name, exceptId ?? ""] });
  const other = rs.rows[0];
  if (!other) return;
  const under = what === "organisation" ? (parent[1] === null ? "this MSP's direct clients" : "this partner") : s.under;
  throw new RelayError("name_taken", `There is already a ${what} named ${JSON.stringify(name)} in ${under}: choose another name`, { [`${what === "organisation" ? "org" : what}_id`]: str(other, "id") });
}

async function mustExist(tx: Tx, table: "msps" | "partners" | "organisations", id: string, what: string): Promise<void> {
  const rs = await tx.execute({ sql: `SELECT 1 FROM ${table} WHERE id = ?`, args: [id] });
  if (rs.rows.length === 0) throw new RelayError("tenant_unknown", `${what} ${JSON.stringify(id)} does not exist`);
}

/** Creates an MSP. */
export async function createMsp(db: RelayDb, input: { name: string }, env: Env): Promise<{ id: string }> {
  const id = newId("msp", env.random);
  await db.execute({ sql: "INSERT INTO msps (id, name, created_at) VALUES (?, ?, ?)", args: [id, checkName("MSP", input.name), isoTime(env.clock.now())] });
  return { id };
}

/** Creates a partner (reseller) under an MSP. */
export async function createPartner(db: RelayDb, input: { msp_id: string; name: string }, env: Env): Promise<{ id: string }> {
  const id = newId("ptn", env.random);
  const name = checkName("partner", input.name);
  await db.transaction(async (tx) => {
    await mustExist(tx, "msps", input.msp_id, "MSP");
    await refuseTakenName(tx, "partner", name, [input.msp_id], null);
    await tx.execute({ sql: "INSERT INTO partners (id, msp_id, name, created_at) VALUES (?, ?, ?, ?)", args: [id, input.msp_id, name, isoTime(env.clock.now())] });
  });
  return { id };
}

/** Creates a client organisation under an MSP, optionally through one of its partners. */
export async function createOrganisation(db: RelayDb, input: { msp_id: string; partner_id?: string | null; name: string }, env: Env): Promise<{ id: string }> {
  const id = newId("org", env.random);
  const name = checkName("organisation", input.name);
  await db.transaction(async (tx) => {
    await mustExist(tx, "msps", input.msp_id, "MSP");
    if (input.partner_id) {
      // One answer whether the partner is unknown or another MSP's: the caller learns nothing about other tenants.
      const rs = await tx.execute({ sql: "SELECT 1 FROM partners WHERE id = ? AND msp_id = ?", args: [input.partner_id, input.msp_id] });
      if (rs.rows.length === 0) throw new RelayError("tenant_unknown", `partner ${JSON.stringify(input.partner_id)} does not exist under this MSP`);
    }
    await refuseTakenName(tx, "organisation", name, [input.msp_id, input.partner_id ?? null], null);
    await tx.execute({
      sql: "INSERT INTO organisations (id, msp_id, partner_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
      args: [id, input.msp_id, input.partner_id ?? null, name, isoTime(env.clock.now())],
    });
  });
  return { id };
}

/**
 * A site's time zone: an IANA name (wire format, protocol `TIME_ZONE_PATTERN`) that this relay's time zone
 * data knows, since its maintenance windows and reports are computed in it. The one check of it: the API
 * and `osiris relay admin create-site` both come through `createSite`. RelayError `schema` otherwise.
 */
export function checkTimeZone(timezone: string): string {
  if (!TIME_ZONE_PATTERN.test(timezone) || timezone.length > 64) {
    throw new RelayError("schema", `timezone: expected an IANA time zone like America/Chicago: current value is ${JSON.stringify(timezone)}`);
  }
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw new RelayError("schema", `timezone: not a time zone this relay knows: current value is ${JSON.stringify(timezone)}`);
  }
  return timezone;
}

/** Creates a site of a client organisation (healing mode `observe` until an MSP changes it). */
export async function createSite(db: RelayDb, input: { org_id: string; name: string; timezone?: string }, env: Env): Promise<{ id: string }> {
  const id = newId("site", env.random);
  const name = checkName("site", input.name);
  const timezone = checkTimeZone(input.timezone ?? "UTC");
  await db.transaction(async (tx) => {
    await mustExist(tx, "organisations", input.org_id, "organisation");
    await refuseTakenName(tx, "site", name, [input.org_id], null);
    await tx.execute({ sql: "INSERT INTO sites (id, org_id, name, timezone, created_at) VALUES (?, ?, ?, ?, ?)", args: [id, input.org_id, name, timezone, isoTime(env.clock.now())] });
  });
  return { id };
}

/** Renames a partner, organisation or site under the same uniqueness rule as its creation; returns the name it had and its row. */
async function rename(db: RelayDb, what: keyof typeof SIBLINGS, id: string, newName: string): Promise<{ from: string; name: string; row: Row }> {
  const name = checkName(what, newName);
  const s = SIBLINGS[what];
  return db.transaction(async (tx) => {
    const row = (await tx.execute({ sql: `SELECT ${s.columns} FROM ${s.table} WHERE id = ?`, args: [id] })).rows[0];
    if (!row) throw new RelayError(s.unknown, `${what} ${JSON.stringify(id)} does not exist`);
    await refuseTakenName(tx, what, name, s.parentOf(row), id);
    await tx.execute({ sql: `UPDATE ${s.table} SET name = ? WHERE id = ?`, args: [name, id] });
    return { from: str(row, "name"), name, row };
  });
}

/** Renames a site (unique within its organisation); returns the name it had. */
export async function renameSite(db: RelayDb, siteId: string, newName: string): Promise<{ from: string; name: string; org_id: string }> {
  const { from, name, row } = await rename(db, "site", siteId, newName);
  return { from, name, org_id: str(row, "org_id") };
}

/** Renames a client organisation (unique among its partner's, or the MSP's direct clients); returns the name it had. */
export async function renameOrganisation(db: RelayDb, orgId: string, newName: string): Promise<{ from: string; name: string }> {
  const { from, name } = await rename(db, "organisation", orgId, newName);
  return { from, name };
}

/** Renames a partner (unique within its MSP); returns the name it had. Its branding's shown name is its own setting. */
export async function renamePartner(db: RelayDb, partnerId: string, newName: string): Promise<{ from: string; name: string }> {
  const { from, name } = await rename(db, "partner", partnerId, newName);
  return { from, name };
}

/** Whether a site exists. */
export async function siteExists(db: RelayDb | Tx, siteId: string): Promise<boolean> {
  const rs = await db.execute({ sql: "SELECT 1 FROM sites WHERE id = ?", args: [siteId] });
  return rs.rows.length > 0;
}

/** Changes how a site's appliances heal; they pick it up at their next pull. */
export async function updateSiteSettings(
  db: RelayDb,
  siteId: string,
  settings: { healing_mode?: "observe" | "advise" | "enforce"; maintenance_windows?: { rrule: string; duration: string; tz?: string }[] },
): Promise<SiteConfig> {
  if (!(await siteExists(db, siteId))) throw new RelayError("site_unknown", `site ${JSON.stringify(siteId)} does not exist`);
  if (settings.healing_mode !== undefined) await db.execute({ sql: "UPDATE sites SET healing_mode = ? WHERE id = ?", args: [settings.healing_mode, siteId] });
  if (settings.maintenance_windows !== undefined) await db.execute({ sql: "UPDATE sites SET maintenance_windows = ? WHERE id = ?", args: [JSON.stringify(settings.maintenance_windows), siteId] });
  return siteConfig(db, siteId); // validates what was stored against the wire schema
}

/** The configuration a site's appliances pull (protocol `siteConfigSchema`). */
export async function siteConfig(db: RelayDb | Tx, siteId: string): Promise<SiteConfig> {
  const rs = await db.execute({ sql: "SELECT * FROM sites WHERE id = ?", args: [siteId] });
  const row = rs.rows[0];
  if (!row) throw new RelayError("site_unknown", `site ${JSON.stringify(siteId)} does not exist`);
  // Devices the MSP excluded from discovery (fragile medical devices): appliances never probe them again.
  const excluded = await discoveryExclusions(db, siteId);
  return parseSchema(
    siteConfigSchema,
    {
      site_id: str(row, "id"),
      healing_mode: str(row, "healing_mode"),
      maintenance_windows: JSON.parse(str(row, "maintenance_windows")) as unknown,
      l2_enabled: num(row, "l2_enabled") === 1,
      deployment_mode: str(row, "deployment_mode"),
      reseller_id: strOrNull(row, "reseller_id"),
      timezone: str(row, "timezone"),
      disabled_checks: JSON.parse(str(row, "disabled_checks")) as unknown,
      ...(excluded.length > 0 ? { discovery_exclude: excluded } : {}),
    },
    `configuration of site ${siteId}`,
  );
}
