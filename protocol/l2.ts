/**
 * The L2 plan request an appliance sends and the answer it gets (`POST /api/l2/plan`): the one contract both
 * sides use. The appliance (appliance/heal/l2-client.ts) builds the request and parses the answer strictly;
 * the relay (relay/l2/) checks the request at its boundary. The relay trusts nothing in the request beyond the incident itself: the
 * candidate runbooks and titles it carries are ignored in favour of the relay's own catalogue.
 *
 * An answer with `runbook: null` means "escalate": the appliance hands the incident to L3 and runs nothing.
 */
import { z } from "zod";
import { PLATFORMS } from "./catalogue/mod.ts";
import { idSchema } from "./ids.ts";
import { INCIDENT_SEVERITIES } from "./sync.ts";

export const L2_REQUEST_SCHEMA = "osiris.l2.plan-request/v1";
export const L2_RESPONSE_SCHEMA = "osiris.l2.plan-response/v1";

/** Largest plan request (scrubbed facts of one check): generous, and bounded before parsing. */
export const MAX_L2_REQUEST_BYTES = 256 * 1024;
/** Most facts in one request (a check reads at most 32). */
export const MAX_L2_FACTS = 64;
/** Longest explanation returned (the appliance refuses longer). */
export const MAX_L2_REASONING_CHARS = 2_000;

export const l2PlanRequestSchema = z.strictObject({
  schema: z.literal(L2_REQUEST_SCHEMA),
  request_id: idSchema,
  incident_id: idSchema.nullable(),
  check: z.string().min(1).max(128),
  check_title: z.string().max(200),
  platform: z.enum(PLATFORMS),
  severity: z.enum(INCIDENT_SEVERITIES),
  facts: z.record(z.string().max(128), z.json()).refine((f) => Object.keys(f).length <= MAX_L2_FACTS, `at most ${MAX_L2_FACTS} facts`),
  reason: z.string().max(4_000).nullable(),
  /** Ignored: the relay offers its own catalogue's runbooks. Bounded all the same. */
  candidates: z.array(z.looseObject({ runbook: z.string().max(128) })).max(50),
});
export type L2PlanRequest = z.output<typeof l2PlanRequestSchema>;

export const l2PlanResponseSchema = z.strictObject({
  schema: z.literal(L2_RESPONSE_SCHEMA),
  request_id: z.string().max(128),
  /** A catalogue runbook for this check and platform, or null: escalate to L3. */
  runbook: z.string().max(128).nullable(),
  params: z.record(z.string().max(64), z.json()),
  confidence: z.number().min(0).max(1),
  reasoning: z.string().max(MAX_L2_REASONING_CHARS),
});
export type L2PlanResponse = z.output<typeof l2PlanResponseSchema>;
