/**
 * Routes of relay/report/ (listed in routes.ts): a site's monthly packets, generating one on demand, and
 * downloading a packet's PDF and its auditor kit. Everyone who may see the site may read its packets; MSP and
 * partner staff may generate them (audited).
 */
import { z } from "zod";
import { parseSchema } from "../../protocol/schema.ts";
import { audit } from "../auth/audit.ts";
import { RelayError } from "../errors.ts";
import { parseJsonBody } from "../http/body.ts";
import { SITE_OPERATORS, SITE_VIEWERS, type RelayContext, type RouteSpec } from "../http/types.ts";
import { frameworkSchema, monthSchema } from "./month.ts";
import { generatePacket, kitFileName, listPackets, packetFileName, packetKit, packetPdf, type PacketRecord } from "./packets.ts";

const EMPTY_BODY = 1024;
const SMALL_BODY = 1024;

export const packetRequestSchema = z.strictObject({ month: monthSchema, framework: frameworkSchema.default("hipaa") });

const packetSchema = z.object({
  id: z.string(),
  site_id: z.string(),
  month: z.string(),
  framework: frameworkSchema,
  sha256: z.string(),
  bytes: z.number(),
  kit_sha256: z.string(),
  summary: z.object({
    overall: z.number().nullable(),
    previous: z.number().nullable(),
    controls_ready: z.number(),
    controls_total: z.number(),
    incidents: z.number(),
    incidents_open: z.number(),
    bundles: z.number(),
    appliances: z.number(),
    score_basis: z
      .object({
        results: z.number().describe("latest check results behind the score"),
        stale: z.number().describe("of those, results older than their check's freshness limit at the month's end"),
        newest_at: z.string().nullable().describe("when the newest of them finished (UTC)"),
      })
      .optional()
      .describe("what the score rests on; absent on packets generated before it was kept"),
  }),
  generated_at: z.string(),
  generated_by: z.string(),
  pdf_url: z.string(),
  kit_url: z.string(),
});

const withUrls = (p: PacketRecord) => ({ ...p, pdf_url: `/api/packets/${p.id}/pdf`, kit_url: `/api/packets/${p.id}/kit` });

function download(bytes: Uint8Array<ArrayBuffer>, type: string, name: string, sha256: string): Response {
  return new Response(bytes, {
    status: 200,
    headers: {
      "content-type": type,
      "content-length": String(bytes.length),
      "content-disposition": `attachment; filename="${name}"`,
      "x-content-sha256": sha256,
      "cache-control": "private, max-age=86400, immutable",
    },
  });
}

const param = (c: RelayContext, name: string) => c.req.param(name) ?? "";

export const REPORT_ROUTES: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/api/sites/:site_id/packets",
    callers: SITE_VIEWERS,
    summary: "the site's monthly compliance packets, newest month first",
    maxBodyBytes: EMPTY_BODY,
    response: z.object({ packets: z.array(packetSchema) }),
    handler: async (c, deps) => c.json({ packets: (await listPackets(deps.db, param(c, "site_id"))).map(withUrls) }, 200),
  },
  {
    method: "POST",
    path: "/api/sites/:site_id/packets",
    callers: SITE_OPERATORS,
    summary: "generate the packet of a closed month (or return the stored one): 201 when generated, 200 when it existed",
    maxBodyBytes: SMALL_BODY,
    request: packetRequestSchema,
    response: packetSchema,
    handler: async (c, deps) => {
      const body = parseSchema(packetRequestSchema, parseJsonBody(c.var.body), "packet request");
      const siteId = param(c, "site_id");
      const principal = c.var.principal;
      const { packet, created } = await generatePacket(deps, { site_id: siteId, month: body.month, framework: body.framework, actor: principal.api_key_id ?? principal.user_id });
      await audit(deps.db, deps.clock, principal, {
        action: "packet.generate",
        target: packet.id,
        site_id: siteId,
        details: { month: packet.month, framework: packet.framework, created, sha256: packet.sha256, kit_sha256: packet.kit_sha256 },
      });
      return c.json(withUrls(packet), created ? 201 : 200);
    },
  },
  {
    method: "GET",
    path: "/api/packets/:packet_id/pdf",
    callers: SITE_VIEWERS,
    summary: "a packet's PDF (X-Content-SHA256 is the stored SHA-256)",
    maxBodyBytes: EMPTY_BODY,
    produces: "application/pdf",
    handler: async (c, deps) => {
      const found = await packetPdf(deps.db, param(c, "packet_id"));
      if (!found) throw new RelayError("not_found", `packet ${JSON.stringify(param(c, "packet_id"))} does not exist`);
      return download(found.pdf, "application/pdf", packetFileName(found.packet), found.packet.sha256);
    },
  },
  {
    method: "GET",
    path: "/api/packets/:packet_id/kit",
    callers: SITE_VIEWERS,
    summary: "the auditor kit (ZIP) a packet references: the month's evidence, checkpoints and keys; verify with osiris evidence verify",
    maxBodyBytes: EMPTY_BODY,
    produces: "application/zip",
    handler: async (c, deps) => {
      const found = await packetKit(deps.db, param(c, "packet_id"));
      if (!found) throw new RelayError("not_found", `packet ${JSON.stringify(param(c, "packet_id"))} does not exist`);
      return download(found.zip, "application/zip", kitFileName(found.packet), found.packet.kit_sha256);
    },
  },
];
