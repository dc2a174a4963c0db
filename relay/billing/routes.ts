/**
 * Routes of relay/billing/: plans per client organisation, partner revenue shares, and monthly partner
 * statements (issue, list, read, correct, CSV, PDF). Every change is audited.
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { RelayError } from "../errors.ts";
import { parseJsonBody } from "../http/body.ts";
import { BILLING_READERS, type Role, type RouteSpec } from "../http/types.ts";
import { statementCsv } from "./csv.ts";
import { statementPdf } from "./pdf.ts";
import { getPlan, getTiers, planInputSchema, planSchema, putPlan, putTiers, revenueShareInputSchema, revenueShareSchema } from "./plans.ts";
import { addCorrection, correctionBodySchema, getStatement, issueBodySchema, issueStatement, listStatements, statementHeaderSchema, statementSchema } from "./statements.ts";

const EMPTY_BODY = 1024;
const SMALL_BODY = 4 * 1024;
const PLAN_EDITORS: readonly Role[] = BILLING_READERS;
const STATEMENT_READERS: readonly Role[] = ["msp_admin", "partner_admin", "partner_billing"];

async function statementOr404(db: Parameters<typeof getStatement>[0], id: string) {
  const s = await getStatement(db, id);
  if (!s) throw new RelayError("not_found", `statement ${JSON.stringify(id)} does not exist`);
  return s;
}

export const BILLING_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/orgs/:org_id/plan",
    callers: PLAN_EDITORS,
    summary: "a client organisation's billing plan (null when none is set)",
    maxBodyBytes: EMPTY_BODY,
    response: z.object({ plan: planSchema.nullable() }),
    handler: async (c, deps) => c.json({ plan: await getPlan(deps.db, c.req.param("org_id")!) }),
  },
  {
    method: "PUT",
    path: "/api/orgs/:org_id/plan",
    callers: PLAN_EDITORS,
    summary: "set a client organisation's plan: monthly price, included devices, price per extra device (integer cents), start and end dates",
    maxBodyBytes: SMALL_BODY,
    request: planInputSchema,
    response: planSchema,
    handler: async (c, deps) => {
      const orgId = c.req.param("org_id")!;
      const p = c.var.principal;
      const plan = await deps.db.transaction(async (tx) => {
        const saved = await putPlan(tx, orgId, parseJsonBody(c.var.body), p.email, deps);
        const { id: _id, org_id: _org, updated_at: _at, updated_by: _by, ...details } = saved;
        await audit(tx, deps.clock, p, { action: "billing.plan.update", target: orgId, org_id: orgId, details });
        return saved;
      });
      return c.json(plan);
    },
  },
  {
    method: "GET",
    path: "/api/partners/:partner_id/revenue-share",
    callers: ["msp_admin", "msp_tech", "partner_admin", "partner_billing"],
    summary: "a partner's revenue share tiers (percent of its clinics' amounts, by number of clinics)",
    maxBodyBytes: EMPTY_BODY,
    response: revenueShareSchema,
    handler: async (c, deps) => {
      const partnerId = c.req.param("partner_id")!;
      const { tiers, updated_at } = await getTiers(deps.db, partnerId);
      return c.json({ partner_id: partnerId, tiers: tiers.map((t) => ({ min_clinics: t.min_clinics, share_percent: t.share_bp / 100 })), updated_at });
    },
  },
  {
    method: "PUT",
    path: "/api/partners/:partner_id/revenue-share",
    callers: ["msp_admin"],
    summary: "set a partner's revenue share: [{min_clinics, share_percent}], the highest tier reached applies",
    maxBodyBytes: SMALL_BODY,
    request: revenueShareInputSchema,
    response: revenueShareSchema,
    handler: async (c, deps) => {
      const partnerId = c.req.param("partner_id")!;
      const p = c.var.principal;
      const tiers = await deps.db.transaction(async (tx) => {
        const t = await putTiers(tx, partnerId, parseJsonBody(c.var.body), p.email, deps);
        await audit(tx, deps.clock, p, { action: "billing.revenue_share.update", target: partnerId, details: { tiers: t } });
        return t;
      });
      return c.json({ partner_id: partnerId, tiers: tiers.map((t) => ({ min_clinics: t.min_clinics, share_percent: t.share_bp / 100 })), updated_at: (await getTiers(deps.db, partnerId)).updated_at });
    },
  },
  {
    method: "POST",
    path: "/api/partners/:partner_id/statements",
    status: 201,
    callers: ["msp_admin"],
    summary: "issue the partner's statement for a month that has ended ({month: YYYY-MM}); immutable once issued",
    maxBodyBytes: SMALL_BODY,
    request: issueBodySchema,
    response: statementSchema,
    handler: async (c, deps) => {
      const partnerId = c.req.param("partner_id")!;
      const p = c.var.principal;
      const { month } = parseSchema(issueBodySchema, parseJsonBody(c.var.body), "statement");
      const s = await issueStatement(deps.db, partnerId, month, p.email, deps, (tx, s) =>
        audit(tx, deps.clock, p, { action: "billing.statement.issue", target: s.id, details: { partner_id: partnerId, month, clinics: s.clinics, amount_cents: s.totals.amount_cents, share_cents: s.totals.share_cents } }),
      );
      return c.json(s, 201);
    },
  },
  {
    method: "GET",
    path: "/api/partners/:partner_id/statements",
    callers: STATEMENT_READERS,
    summary: "the partner's statements with totals, newest month first",
    maxBodyBytes: EMPTY_BODY,
    response: z.object({ statements: z.array(statementHeaderSchema) }),
    handler: async (c, deps) => c.json({ statements: await listStatements(deps.db, c.req.param("partner_id")!) }),
  },
  {
    method: "GET",
    path: "/api/statements/:statement_id",
    callers: STATEMENT_READERS,
    summary: "a statement with its lines and totals",
    maxBodyBytes: EMPTY_BODY,
    response: statementSchema,
    handler: async (c, deps) => c.json(await statementOr404(deps.db, c.req.param("statement_id")!)),
  },
  {
    method: "POST",
    path: "/api/statements/:statement_id/corrections",
    status: 201,
    callers: ["msp_admin"],
    summary: "add a correction line to an issued statement ({description, amount_cents, org_id?, share_cents?, corrects_line?})",
    maxBodyBytes: SMALL_BODY,
    request: correctionBodySchema,
    response: statementSchema,
    handler: async (c, deps) => {
      const id = c.req.param("statement_id")!;
      const p = c.var.principal;
      const s = await addCorrection(deps.db, id, parseJsonBody(c.var.body), p.email, deps, (tx, s) => {
        const line = s.lines.at(-1)!;
        return audit(tx, deps.clock, p, { action: "billing.statement.correct", target: id, details: { line_no: line.line_no, amount_cents: line.amount_cents, share_cents: line.share_cents } });
      });
      return c.json(s, 201);
    },
  },
  {
    method: "GET",
    path: "/api/statements/:statement_id/csv",
    callers: STATEMENT_READERS,
    summary: "a statement as CSV",
    maxBodyBytes: EMPTY_BODY,
    produces: "text/csv",
    handler: async (c, deps) => {
      const s = await statementOr404(deps.db, c.req.param("statement_id")!);
      return c.body(statementCsv(s), 200, { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="statement-${s.month}-${s.id}.csv"` });
    },
  },
  {
    method: "GET",
    path: "/api/statements/:statement_id/pdf",
    callers: STATEMENT_READERS,
    summary: "a statement as PDF (the same bytes every time)",
    maxBodyBytes: EMPTY_BODY,
    produces: "application/pdf",
    handler: async (c, deps) => {
      const s = await statementOr404(deps.db, c.req.param("statement_id")!);
      const pdf = await statementPdf(s);
      return c.body(pdf.buffer.slice(pdf.byteOffset, pdf.byteOffset + pdf.byteLength) as ArrayBuffer, 200, { "content-type": "application/pdf", "content-disposition": `attachment; filename="statement-${s.month}-${s.id}.pdf"` });
    },
  },
];
