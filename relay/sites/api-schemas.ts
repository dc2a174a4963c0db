/**
 * Response schemas of the dashboard API, for the OpenAPI document (routes.ts). The TypeScript types the
 * handlers build (fleet.ts, site-detail.ts, …) are the source of truth; these describe their JSON shape.
 */
import { z } from "zod";

const time = z.string().meta({ description: "RFC 3339 UTC time" });
const trendPoint = z.object({ day: z.string(), overall: z.number().nullable() });

export const fleetResponse = z.object({
  generated_at: time,
  sites: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      timezone: z.string(),
      org_id: z.string(),
      org_name: z.string(),
      partner_id: z.string().nullable(),
      partner_name: z.string().nullable(),
      healing_mode: z.string(),
      score: z.number().nullable().meta({ description: "0..100; null when there is no data (never 100)" }),
      trend: z.array(trendPoint),
      failing: z.number().meta({ description: "latest check results that fail" }),
      unchecked: z.number().meta({ description: "latest check results that could not be evaluated (check error or host unreachable); they count as not passing" }),
      open_incidents: z.number(),
      pending_approvals: z.number(),
      integrity_incidents: z.number(),
      appliances: z.number(),
      never_connected: z.array(z.object({ id: z.string(), enrolled_at: time })).meta({ description: "active appliances enrolled but never in contact with the relay (they need attention)" }),
      connection: z.enum(["online", "offline", "never", "no_appliance"]),
      last_contact: time.nullable(),
      last_sync: time.nullable(),
      simulated: z.boolean(),
    }),
  ),
});

export const siteDetailResponse = z.object({
  site: z.object({ id: z.string(), name: z.string(), timezone: z.string(), org_id: z.string(), org_name: z.string(), partner_id: z.string().nullable(), partner_name: z.string().nullable() }),
  settings: z.object({ healing_mode: z.string(), l2_enabled: z.boolean(), maintenance_windows: z.array(z.object({ rrule: z.string(), duration: z.string(), tz: z.string() })), timezone: z.string() }),
  windows_preview: z.array(z.object({ description: z.string(), windows: z.array(z.object({ start: time, end: time, text: z.string() })) }).nullable()),
  score: z.object({ overall: z.number().nullable(), categories: z.array(z.object({ id: z.string(), title: z.string(), score: z.number().nullable() })), controls: z.array(z.object({ key: z.string(), ready: z.boolean(), reason: z.string() })) }),
  trend: z.array(trendPoint),
  devices: z.array(z.object({ host_id: z.string(), results: z.array(z.object({ check: z.string(), status: z.string(), finished_at: time })) })),
  appliances: z.array(z.object({ id: z.string(), fingerprint: z.string(), connection: z.string(), evidence: z.object({ verified_seq: z.number(), checkpoint: z.object({ size: z.number(), received_at: time }).nullable() }) })),
  incidents: z.array(z.object({ incident_id: z.string(), check: z.string(), status: z.string(), tier: z.string().nullable(), outcome: z.string().nullable() })),
  simulated: z.boolean(),
  digest_behind: z.boolean(),
  generated_at: time,
});

export const siteConfigResponse = z.object({ site_id: z.string(), healing_mode: z.string(), l2_enabled: z.boolean(), maintenance_windows: z.array(z.object({ rrule: z.string(), duration: z.string(), tz: z.string() })) });
export const windowPreviewResponse = z.object({ description: z.string(), windows: z.array(z.object({ start: time, end: time, text: z.string() })) });
export const claimCodeCreated = z.object({ id: z.string(), code: z.string().meta({ description: "shown once; the relay keeps only its hash" }), expires_at: time, qr_text: z.string(), qr_svg: z.string(), qr_png_data_url: z.string() });
export const claimCodeList = z.object({ claim_codes: z.array(z.object({ id: z.string(), state: z.enum(["active", "used", "expired", "revoked"]), created_at: time, expires_at: time, used_by: z.string().nullable() })) });
export const pendingList = z.object({ pending: z.array(z.object({ id: z.string(), fingerprint_hint: z.string().meta({ description: "first characters only: the whole fingerprint is read on the appliance" }), macs: z.array(z.string()), first_seen: time, last_seen: time })) });
export const orderTypeList = z.object({
  order_types: z.array(
    z.object({
      type: z.string(),
      title: z.string(),
      description: z.string(),
      privileged: z.boolean(),
      default_ttl_s: z.number(),
      params_schema: z.record(z.string(), z.unknown()).meta({ description: "JSON Schema (draft 2020-12) of the order's params: POST /api/sites/{site_id}/orders validates them against it" }),
      allowed: z.boolean(),
    }),
  ),
});
export const orderList = z.object({ orders: z.array(z.object({ order_id: z.string(), type: z.string(), status: z.enum(["pending", "done", "expired", "cancelled"]), issued_at: time, result: z.object({ outcome: z.string(), detail: z.string() }).nullable() })) });
export const orderIssued = z.object({ order_id: z.string(), expires_at: time, type: z.string(), appliance_id: z.string() });
export const approvalList = z.object({ approvals: z.array(z.object({ id: z.string(), state: z.enum(["pending", "approved", "rejected"]), order_type: z.string(), reason: z.string(), order_id: z.string().nullable() })) });
export const approvalDecided = z.object({ approval: z.object({ id: z.string(), state: z.string(), order_id: z.string().nullable() }), order_id: z.string().nullable() });
export const partnerList = z.object({ partners: z.array(z.object({ id: z.string(), name: z.string(), organisations: z.number() })) });
export const orgList = z.object({ organisations: z.array(z.object({ id: z.string(), name: z.string(), partner_id: z.string().nullable(), sites: z.array(z.object({ id: z.string(), name: z.string() })) })) });
