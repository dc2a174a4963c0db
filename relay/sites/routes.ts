/**
 * Routes of relay/sites/ (listed in routes.ts): the MSP and partner dashboard's API — fleet overview, site
 * detail, settings and maintenance-window preview, claim codes with QR, drop-ship acceptance, orders and the
 * approvals queue, partners / organisations / sites — and, at the end, the dashboard's own pages and assets
 * (relay/ui, public GETs on the PUBLIC_ROUTES allowlist). Every change records an audit entry carrying the
 * site's organisation, so each tenant sees its own history.
 */
import { z } from "zod";
import type { JsonObject } from "../../protocol/evidence.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { str, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { parseJsonBody } from "../http/body.ts";
import { queryParams } from "../http/query.ts";
import { MSP_STAFF, PARTNER_STAFF, SITE_OPERATORS, SITE_VIEWERS, type Principal, type RelayContext, type RouteSpec } from "../http/types.ts";
import { UI_ROUTES } from "../ui/routes.ts";
import * as S from "./api-schemas.ts";
import { decideApproval, listApprovals, proposeOrder, APPROVAL_STATES } from "./approvals.ts";
import { createCodeSchema, createCodeWithQr, listClaimCodes, qrPngDataUrl, qrRequestSchema, qrSvg, qrTextForCode } from "./claim-qr.ts";
import { revokeClaimCode } from "../enroll/claim-codes.ts";
import { refreshSiteDigest } from "./digest.ts";
import { fleetQuerySchema, listFleet } from "./fleet.ts";
import { issueOrderSchema, issueSiteOrder, listSiteOrders, orderTypesFor } from "./orders-view.ts";
import { acceptSchema, acceptToSite, waitingAppliances } from "./pending.ts";
import { settingsInputSchema, updateSettings } from "./settings.ts";
import { siteDetail } from "./site-detail.ts";
import { MAX_TREND_DAYS } from "./site-score.ts";
import { createOrgFor, createPartnerFor, createSiteFor, listOrgs, listPartners, newOrgSchema, newPartnerSchema, newSiteSchema, renameSchema } from "./tenant-admin.ts";
import { renameOrganisation, renamePartner, renameSite } from "../tenants/tenants.ts";
import { DEFAULT_PREVIEW_COUNT, previewWindows } from "./windows-preview.ts";

/** Bodies of these routes are a few short fields. */
const SMALL_BODY = 4 * 1024;
/** Settings: up to 32 windows of ≤ 512-character rules. */
const SETTINGS_BODY = 32 * 1024;
/** Routes without a body. */
const EMPTY_BODY = 1024;

const principal = (c: RelayContext): Principal => c.var.principal;
const param = (c: RelayContext, name: string): string => c.req.param(name) ?? "";
const bodyOrEmpty = (c: RelayContext): unknown => (c.var.body.length === 0 ? {} : parseJsonBody(c.var.body));

async function orgOfSite(db: RelayDb, siteId: string): Promise<string> {
  return str((await db.execute({ sql: "SELECT org_id FROM sites WHERE id = ?", args: [siteId] })).rows[0]!, "org_id");
}

/** Records an action on a site, with the site's organisation so its clients see it too. */
async function auditSite(deps: RelayDeps, p: Principal, siteId: string, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
  await audit(deps.db, deps.clock, p, { action, target, site_id: siteId, org_id: await orgOfSite(deps.db, siteId), details });
}

/** A query parameter holding a whole number from `min` to `max`. */
const wholeNumber = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d{1,6}$/, `expected a whole number from ${min} to ${max}`)
    .refine((v) => Number(v) >= min && Number(v) <= max, `expected a whole number from ${min} to ${max}`)
    .optional()
    .describe(what);

const siteDetailQuery = z.object({ days: wholeNumber(1, MAX_TREND_DAYS, `length of the score trend in days (default 30, at most ${MAX_TREND_DAYS})`) });
const previewQuery = z.strictObject({
  rrule: z.string().min(1).max(512).describe("the window's recurrence rule (RFC 5545 RRULE)"),
  duration: z.string().min(1).max(32).describe("how long each window lasts, e.g. 2h"),
  tz: z.string().min(1).max(64).optional().describe("IANA time zone (default: the site's)"),
  count: wholeNumber(1, 20, `how many occurrences (default ${DEFAULT_PREVIEW_COUNT})`),
});
const approvalsQuery = z.object({ state: z.enum(APPROVAL_STATES).optional().describe("only requests in this state") });
const decisionSchema = z.strictObject({ note: z.string().max(2000).optional(), valid_for_s: z.number().int().min(300).max(604_800).optional() });
const proposalSchema = z.strictObject({ appliance_id: z.string().min(1).max(100), type: z.string().min(1).max(60), params: z.record(z.string(), z.json()).default({}), reason: z.string().min(1).max(2000) });

export const SITE_API_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/sites",
    callers: SITE_VIEWERS,
    summary: "fleet overview: every visible site with score (null = no data), 30-day trend, incidents, connection and last sync (?q=&status=online|offline|attention|no_data|simulated&partner_id=&org_id=)",
    maxBodyBytes: EMPTY_BODY,
    query: fleetQuerySchema,
    response: S.fleetResponse,
    handler: async (c, deps) => c.json(await listFleet(deps.db, principal(c), queryParams(c, fleetQuerySchema), deps)),
  },
  {
    method: "GET",
    path: "/api/sites/:site_id",
    callers: SITE_VIEWERS,
    summary: "one site: settings, score by category, controls, devices and check results, incident timeline, appliances and evidence chain status (?days= trend length)",
    maxBodyBytes: EMPTY_BODY,
    query: siteDetailQuery,
    response: S.siteDetailResponse,
    handler: async (c, deps) => c.json(await siteDetail(deps.db, param(c, "site_id"), deps, { days: Number(queryParams(c, siteDetailQuery).days ?? 30) })),
  },
  {
    method: "PUT",
    path: "/api/sites/:site_id/settings",
    callers: SITE_OPERATORS,
    summary: "change healing mode, L2 on/off and maintenance windows (validated like the appliance does); appliances pick it up at their next pull",
    maxBodyBytes: SETTINGS_BODY,
    request: settingsInputSchema,
    response: S.siteConfigResponse,
    // updateSettings records its audit entry (with the site's organisation) in the same transaction.
    handler: async (c, deps) => c.json(await updateSettings(deps.db, deps.clock, principal(c), param(c, "site_id"), parseJsonBody(c.var.body))),
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/windows/preview",
    callers: SITE_OPERATORS,
    summary: "next occurrences of a maintenance window (?rrule=&duration=&tz=&count=), each as a human-readable line",
    maxBodyBytes: EMPTY_BODY,
    query: previewQuery,
    response: S.windowPreviewResponse,
    handler: async (c, deps) => {
      const q = queryParams(c, previewQuery);
      const tz = q.tz ?? str((await deps.db.execute({ sql: "SELECT timezone FROM sites WHERE id = ?", args: [param(c, "site_id")] })).rows[0]!, "timezone");
      return c.json(previewWindows({ rrule: q.rrule, duration: q.duration, tz }, new Date(deps.clock.now()), Number(q.count ?? DEFAULT_PREVIEW_COUNT)));
    },
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/claim-codes",
    status: 201,
    callers: SITE_OPERATORS,
    summary: "create a single-use claim code for the site; the answer carries the code (shown once) with its QR as SVG and PNG",
    maxBodyBytes: SMALL_BODY,
    request: createCodeSchema,
    response: S.claimCodeCreated,
    handler: async (c, deps) => {
      const siteId = param(c, "site_id");
      const created = await createCodeWithQr(deps.db, siteId, principal(c).user_id, bodyOrEmpty(c), deps, deps.publicUrl);
      await auditSite(deps, principal(c), siteId, "claim_code.create", created.id, { expires_at: created.expires_at });
      return c.json(created, 201);
    },
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/claim-codes",
    callers: SITE_OPERATORS,
    summary: "the site's claim codes (state, expiry, which appliance used it); never the code itself",
    maxBodyBytes: EMPTY_BODY,
    response: S.claimCodeList,
    handler: async (c, deps) => c.json({ claim_codes: await listClaimCodes(deps.db, param(c, "site_id"), deps.clock.now()) }),
  },
  {
    method: "POST",
    path: "/api/claim-codes/:claim_code_id/revoke",
    callers: SITE_OPERATORS,
    summary: "revoke a claim code (idempotent)",
    maxBodyBytes: EMPTY_BODY,
    handler: async (c, deps) => {
      const id = param(c, "claim_code_id");
      const r = await revokeClaimCode(deps.db, { id }, deps);
      const siteId = str((await deps.db.execute({ sql: "SELECT site_id FROM claim_codes WHERE id = ?", args: [id] })).rows[0]!, "site_id");
      await auditSite(deps, principal(c), siteId, "claim_code.revoke", id);
      return c.json(r);
    },
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/claim-codes/qr.svg",
    callers: SITE_OPERATORS,
    summary: "QR code (SVG) of a live claim code of this site; the code goes in the body, never in the URL",
    maxBodyBytes: SMALL_BODY,
    request: qrRequestSchema,
    produces: "image/svg+xml",
    handler: async (c, deps) => {
      const text = await qrTextForCode(deps.db, param(c, "site_id"), parseJsonBody(c.var.body), deps.clock.now(), deps.publicUrl);
      return c.body(await qrSvg(text), 200, { "Content-Type": "image/svg+xml" });
    },
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/claim-codes/qr.png",
    callers: SITE_OPERATORS,
    summary: "QR code (PNG) of a live claim code of this site; the code goes in the body, never in the URL",
    maxBodyBytes: SMALL_BODY,
    request: qrRequestSchema,
    produces: "image/png",
    handler: async (c, deps) => {
      const text = await qrTextForCode(deps.db, param(c, "site_id"), parseJsonBody(c.var.body), deps.clock.now(), deps.publicUrl);
      const url = await qrPngDataUrl(text);
      const bytes = Uint8Array.from(atob(url.slice(url.indexOf(",") + 1)), (ch) => ch.charCodeAt(0));
      return c.body(bytes, 200, { "Content-Type": "image/png" });
    },
  },
  {
    method: "GET",
    path: "/api/pending-appliances",
    callers: MSP_STAFF,
    summary: "drop-shipped appliances waiting to be accepted (fingerprint, MACs, first and last seen)",
    maxBodyBytes: EMPTY_BODY,
    response: S.pendingList,
    handler: async (c, deps) => c.json({ pending: await waitingAppliances(deps.db) }),
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/pending-appliances/accept",
    callers: MSP_STAFF,
    summary: "accept a pending appliance to this site; the body repeats the fingerprint read on the appliance, which must match",
    maxBodyBytes: SMALL_BODY,
    request: acceptSchema,
    handler: async (c, deps) => {
      const siteId = param(c, "site_id");
      const accepted = await acceptToSite(deps.db, siteId, parseJsonBody(c.var.body), { clock: deps.clock, accepted_by: principal(c).user_id });
      await auditSite(deps, principal(c), siteId, "pending_appliance.accept", accepted.id, { fingerprint: accepted.fingerprint });
      return c.json(accepted);
    },
  },
  {
    method: "GET",
    path: "/api/order-types",
    callers: SITE_OPERATORS,
    summary: "the catalogue's order types with their parameter schemas, and whether the caller may issue each",
    maxBodyBytes: EMPTY_BODY,
    response: S.orderTypeList,
    handler: async (c) => c.json({ order_types: orderTypesFor(principal(c)) }),
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/orders",
    callers: SITE_OPERATORS,
    summary: "the site's orders, newest first, with status (pending, done, expired, cancelled) and the appliance's result",
    maxBodyBytes: EMPTY_BODY,
    response: S.orderList,
    handler: async (c, deps) => c.json({ orders: await listSiteOrders(deps.db, param(c, "site_id"), deps.clock.now()) }),
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/orders",
    status: 201,
    callers: SITE_OPERATORS,
    summary: "issue a signed order to one of the site's appliances (privileged types: MSP administrators only)",
    maxBodyBytes: SMALL_BODY,
    request: issueOrderSchema,
    response: S.orderIssued,
    handler: async (c, deps) => {
      const siteId = param(c, "site_id");
      const issued = await issueSiteOrder(deps, principal(c), siteId, parseJsonBody(c.var.body));
      await auditSite(deps, principal(c), siteId, "order.issue", issued.order_id, { type: issued.type, appliance_id: issued.appliance_id });
      return c.json(issued, 201);
    },
  },
  {
    method: "GET",
    path: "/api/sites/:site_id/approvals",
    callers: SITE_OPERATORS,
    summary: "the site's approval requests, pending first (?state=pending|approved|rejected)",
    maxBodyBytes: EMPTY_BODY,
    query: approvalsQuery,
    response: S.approvalList,
    handler: async (c, deps) => {
      const { state } = queryParams(c, approvalsQuery);
      const siteId = param(c, "site_id");
      await refreshSiteDigest(deps.db, siteId, deps);
      return c.json({ approvals: await listApprovals(deps.db, siteId, state ? { state } : {}) });
    },
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/approvals",
    status: 201,
    callers: SITE_OPERATORS,
    summary: "propose an order for someone allowed to sign it to approve (nothing is signed yet)",
    maxBodyBytes: SMALL_BODY,
    request: proposalSchema,
    handler: async (c, deps) => {
      const siteId = param(c, "site_id");
      const p = principal(c);
      const input = parseSchema(proposalSchema, parseJsonBody(c.var.body), "proposal");
      const { id } = await proposeOrder(deps.db, { site_id: siteId, appliance_id: input.appliance_id, order_type: input.type, params: input.params as JsonObject, reason: input.reason, source: `user:${p.user_id}` }, deps);
      await auditSite(deps, p, siteId, "approval.propose", id, { type: input.type, appliance_id: input.appliance_id });
      return c.json({ id }, 201);
    },
  },
  ...(["approve", "reject"] as const).map(
    (verb): RouteSpec => ({
      method: "POST",
      path: `/api/approvals/:approval_id/${verb}`,
      callers: SITE_OPERATORS,
      peopleOnly: true,
      summary: verb === "approve" ? "approve a request: the relay signs its order (approve_runbook or the proposed type) for the appliance" : "reject a request, with a note",
      maxBodyBytes: SMALL_BODY,
      request: decisionSchema,
      response: S.approvalDecided,
      handler: async (c, deps) => {
        const p = principal(c);
        const input = parseSchema(decisionSchema, bodyOrEmpty(c), "decision");
        const decided = await decideApproval(deps, p, param(c, "approval_id"), verb === "approve" ? { approve: true, ...input } : { approve: false, ...(input.note ? { note: input.note } : {}) });
        await auditSite(deps, p, decided.request.site_id, `approval.${verb}`, decided.request.id, { order_type: decided.request.order_type, order_id: decided.order_id });
        return c.json({ approval: decided.request, order_id: decided.order_id });
      },
    }),
  ),
  {
    method: "GET",
    path: "/api/partners",
    callers: [...MSP_STAFF, ...PARTNER_STAFF],
    summary: "partners of the MSP (partner users: their own)",
    maxBodyBytes: EMPTY_BODY,
    response: S.partnerList,
    handler: async (c, deps) => c.json({ partners: await listPartners(deps.db, principal(c)) }),
  },
  {
    method: "POST",
    path: "/api/partners",
    status: 201,
    callers: ["msp_admin"],
    summary: "create a partner (reseller) under the MSP",
    maxBodyBytes: SMALL_BODY,
    request: newPartnerSchema,
    handler: async (c, deps) => {
      const created = await createPartnerFor(deps.db, principal(c), parseJsonBody(c.var.body), deps);
      await audit(deps.db, deps.clock, principal(c), { action: "partner.create", target: created.id, details: { name: created.name } });
      return c.json(created, 201);
    },
  },
  {
    method: "GET",
    path: "/api/orgs",
    callers: SITE_VIEWERS,
    summary: "client organisations the caller may see, with their sites",
    maxBodyBytes: EMPTY_BODY,
    response: S.orgList,
    handler: async (c, deps) => c.json({ organisations: await listOrgs(deps.db, principal(c)) }),
  },
  {
    method: "POST",
    path: "/api/orgs",
    status: 201,
    callers: ["msp_admin", "partner_admin"],
    summary: "create a client organisation (partner admins: under their own partner)",
    maxBodyBytes: SMALL_BODY,
    request: newOrgSchema,
    handler: async (c, deps) => {
      const created = await createOrgFor(deps.db, principal(c), parseJsonBody(c.var.body), deps);
      await audit(deps.db, deps.clock, principal(c), { action: "org.create", target: created.id, org_id: created.id, details: { name: created.name, partner_id: created.partner_id } });
      return c.json(created, 201);
    },
  },
  {
    method: "POST",
    path: "/api/orgs/:org_id/sites",
    status: 201,
    callers: ["msp_admin", "partner_admin"],
    summary: "create a site of a client organisation (healing mode observe until changed)",
    maxBodyBytes: SMALL_BODY,
    request: newSiteSchema,
    handler: async (c, deps) => {
      const created = await createSiteFor(deps.db, param(c, "org_id"), parseJsonBody(c.var.body), deps);
      await audit(deps.db, deps.clock, principal(c), { action: "site.create", target: created.id, site_id: created.id, org_id: created.org_id, details: { name: created.name, timezone: created.timezone } });
      return c.json(created, 201);
    },
  },
  // Who may create a partner, an organisation or a site may rename it (partner admins: their own partner's
  // clinics, by the path's scope). A partner's own admins set the name their clients see in its branding.
  renameRoute({ what: "partner", param: "partner_id", callers: ["msp_admin"], taken: "the MSP already has a partner of that name", rename: renamePartner, scope: () => ({}) }),
  renameRoute({
    what: "organisation",
    param: "org_id",
    callers: ["msp_admin", "partner_admin"],
    taken: "its partner, or the MSP's direct clients, already have one of that name",
    rename: renameOrganisation,
    scope: (id) => ({ org_id: id }),
  }),
  renameRoute({
    what: "site",
    param: "site_id",
    callers: ["msp_admin", "partner_admin"],
    taken: "its organisation already has a site of that name",
    rename: renameSite,
    scope: (id, r) => ({ site_id: id, org_id: r.org_id }),
  }),
];

/**
 * `PUT /api/<partners|orgs|sites>/:id/name`: renames under the uniqueness rule of creation (409 name_taken),
 * audited as `<partner|org|site>.rename` with the name before and after.
 */
function renameRoute<R extends { from: string; name: string }>(o: {
  what: "partner" | "organisation" | "site";
  param: "partner_id" | "org_id" | "site_id";
  callers: RouteSpec["callers"];
  taken: string;
  rename: (db: RelayDb, id: string, name: string) => Promise<R>;
  /** The audit entry's tenant columns. */
  scope: (id: string, renamed: R) => { org_id?: string; site_id?: string };
}): RouteSpec {
  const short = o.what === "organisation" ? "org" : o.what;
  return {
    method: "PUT",
    path: `/api/${short}s/:${o.param}/name`,
    callers: o.callers,
    summary: `rename a ${o.what === "organisation" ? "client organisation" : o.what} (409 name_taken when ${o.taken})`,
    maxBodyBytes: SMALL_BODY,
    request: renameSchema,
    response: z.object({ id: z.string(), name: z.string() }),
    handler: async (c, deps) => {
      const id = param(c, o.param);
      const { name } = parseSchema(renameSchema, parseJsonBody(c.var.body), o.what);
      const r = await o.rename(deps.db, id, name);
      await audit(deps.db, deps.clock, principal(c), { action: `${short}.rename`, target: id, ...o.scope(id, r), details: { from: r.from, to: r.name } });
      return c.json({ id, name: r.name });
    },
  };
}

/** The dashboard API, then its pages and assets (public GETs, relay/ui). */
export const SITE_ROUTES: readonly RouteSpec[] = [...SITE_API_ROUTES, ...UI_ROUTES];
