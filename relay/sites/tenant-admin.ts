/**
 * What an MSP (or partner) administrator needs to set up clients from the dashboard: partners, client
 * organisations and their sites, created through relay/tenants with the caller's tenant enforced here
 * (a partner admin creates organisations only under its own partner) and listed through `visibleOrgsWhere`.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { TIME_ZONE_PATTERN } from "../../protocol/sync.ts";
import { visibleOrgsWhere } from "../auth/scope.ts";
import { num, str, strOrNull, type RelayDb } from "../db/index.ts";
import type { Env } from "../deps.ts";
import { RelayError } from "../errors.ts";
import type { Principal } from "../http/types.ts";
import { createOrganisation, createPartner, createSite, MAX_NAME_LENGTH } from "../tenants/tenants.ts";

/** Most organisations one list returns. */
export const MAX_ORGS_LISTED = 1000;

const name = z.string().trim().min(1).max(MAX_NAME_LENGTH);
export const newPartnerSchema = z.strictObject({ name });
export const newOrgSchema = z.strictObject({ name, partner_id: z.string().max(100).nullable().optional() });
export const renameSchema = z.strictObject({ name });
export const newSiteSchema = z.strictObject({ name, timezone: z.string().max(64).regex(TIME_ZONE_PATTERN, "expected an IANA time zone like America/Chicago").default("UTC") });

export interface PartnerView {
  id: string;
  name: string;
  created_at: string;
  organisations: number;
}

export interface OrgView {
  id: string;
  name: string;
  partner_id: string | null;
  partner_name: string | null;
  created_at: string;
  sites: { id: string; name: string; timezone: string }[];
}

export async function listPartners(db: RelayDb, p: Principal): Promise<PartnerView[]> {
  const mine = p.role.startsWith("partner_");
  const rs = await db.execute({
    sql: `SELECT pt.id, pt.name, pt.created_at, (SELECT COUNT(*) FROM organisations o WHERE o.partner_id = pt.id) AS orgs
          FROM partners pt WHERE pt.msp_id = ? ${mine ? "AND pt.id = ?" : ""} ORDER BY lower(pt.name), pt.id`,
    args: mine ? [p.msp_id, p.partner_id ?? "-"] : [p.msp_id],
  });
  return rs.rows.map((r) => ({ id: str(r, "id"), name: str(r, "name"), created_at: str(r, "created_at"), organisations: num(r, "orgs") }));
}

export async function createPartnerFor(db: RelayDb, p: Principal, body: unknown, env: Env): Promise<{ id: string; name: string }> {
  const input = parseSchema(newPartnerSchema, body, "partner");
  const { id } = await createPartner(db, { msp_id: p.msp_id, name: input.name }, env);
  return { id, name: input.name };
}

export async function listOrgs(db: RelayDb, p: Principal): Promise<OrgView[]> {
  const v = visibleOrgsWhere(p);
  const rs = await db.execute({
    sql: `SELECT o.id, o.name, o.partner_id, o.created_at, pt.name AS partner_name FROM organisations o LEFT JOIN partners pt ON pt.id = o.partner_id
          WHERE ${v.sql} ORDER BY lower(o.name), o.id LIMIT ${MAX_ORGS_LISTED}`,
    args: v.args,
  });
  const sites = await db.execute({
    sql: `SELECT s.id, s.name, s.timezone, s.org_id FROM sites s JOIN organisations o ON o.id = s.org_id WHERE ${v.sql} ORDER BY lower(s.name), s.id`,
    args: v.args,
  });
  const byOrg = new Map<string, OrgView["sites"]>();
  for (const s of sites.rows) byOrg.set(str(s, "org_id"), [...(byOrg.get(str(s, "org_id")) ?? []), { id: str(s, "id"), name: str(s, "name"), timezone: str(s, "timezone") }]);
  return rs.rows.map((r) => ({ id: str(r, "id"), name: str(r, "name"), partner_id: strOrNull(r, "partner_id"), partner_name: strOrNull(r, "partner_name"), created_at: str(r, "created_at"), sites: byOrg.get(str(r, "id")) ?? [] }));
}

/** Creates an organisation: MSP admins under any of their partners (or none), partner admins under their own. */
export async function createOrgFor(db: RelayDb, p: Principal, body: unknown, env: Env): Promise<{ id: string; name: string; partner_id: string | null }> {
  const input = parseSchema(newOrgSchema, body, "organisation");
  let partnerId = input.partner_id ?? null;
  if (p.role === "partner_admin") {
    if (partnerId !== null && partnerId !== p.partner_id) throw new RelayError("forbidden", "partner_id: you may only create organisations of your own partner");
    partnerId = p.partner_id;
  }
  const { id } = await createOrganisation(db, { msp_id: p.msp_id, partner_id: partnerId, name: input.name }, env);
  return { id, name: input.name, partner_id: partnerId };
}

export async function createSiteFor(db: RelayDb, orgId: string, body: unknown, env: Env): Promise<{ id: string; name: string; timezone: string; org_id: string }> {
  const input = parseSchema(newSiteSchema, body, "site");
  // createSite checks that the relay knows the time zone (one check for the API and the CLI).
  const { id } = await createSite(db, { org_id: orgId, name: input.name, timezone: input.timezone }, env);
  return { id, name: input.name, timezone: input.timezone, org_id: orgId };
}
