/**
 * Shapes of the relay API's answers. The dashboard API's types are the relay's own (relay/sites, relay/auth),
 * imported as types only so nothing of the relay ends up in a browser bundle. Features built by other parts
 * of the relay are described here by the fields the UIs use (their routes own the full shape).
 */
import type { AuditRecord } from "../../relay/auth/audit.ts";
import type { Branding } from "../../relay/auth/branding.ts";
import type { UserRecord } from "../../relay/auth/users.ts";
import type { ApprovalRequest } from "../../relay/sites/approvals.ts";
import type { ClaimCodeRecord, ClaimCodeWithQr } from "../../relay/sites/claim-qr.ts";
import type { FleetSite } from "../../relay/sites/fleet.ts";
import type { OrderTypeView, OrderView } from "../../relay/sites/orders-view.ts";
import type { SiteDetail } from "../../relay/sites/site-detail.ts";
import type { OrgView, PartnerView } from "../../relay/sites/tenant-admin.ts";
import type { WindowPreview } from "../../relay/sites/windows-preview.ts";
import type { PendingRecord } from "../../relay/enroll/provision.ts";
import type { WaitingAppliance } from "../../relay/sites/pending.ts";
import type { SiteConfig } from "../../protocol/sync.ts";
import type { Role } from "../../relay/http/types.ts";
import type { z } from "zod";
import type { EscalationView } from "../../relay/escalations/escalations.ts";
import type { PacketRecord } from "../../relay/report/packets.ts";
import type { CandidateDetail, CandidateSummary } from "../../relay/learning/queries.ts";
import type { LearningThresholds as ThresholdValues } from "../../relay/learning/thresholds.ts";
import type { deviceEventSchema, DeviceView as InventoryDevice, inventoryAlertSchema } from "../../relay/inventory/devices.ts";
import type { DeviceStatus } from "../../relay/inventory/diff.ts";
import type { ChannelView, newChannelSchema } from "../../relay/notify/channels.ts";
import type { DeliveryView } from "../../relay/notify/deliver.ts";
import type { Statement, StatementHeader, StatementLine } from "../../relay/billing/statements.ts";
import type { Plan, revenueShareSchema } from "../../relay/billing/plans.ts";

export type { ApprovalRequest, AuditRecord, Branding, ClaimCodeRecord, ClaimCodeWithQr, FleetSite, OrderTypeView, OrderView, OrgView, PartnerView, PendingRecord, Role, WaitingAppliance, SiteConfig, SiteDetail, UserRecord, WindowPreview };
export type { ApplianceView, AttemptView, CheckResultView, ControlView, DeviceView, IncidentView } from "../../relay/sites/site-detail.ts";

export interface Session {
  user: UserRecord;
  csrf_token: string;
  branding: Branding;
}

export interface FleetFilter {
  q?: string;
  status?: "online" | "offline" | "attention" | "no_data" | "simulated";
  partner_id?: string;
  org_id?: string;
}

export interface SettingsChange {
  healing_mode?: SiteConfig["healing_mode"];
  l2_enabled?: boolean;
  maintenance_windows?: { rrule: string; duration: string; tz?: string }[];
}

// ---- other features' routes (fields the UIs read) ------------------------------------------------------

export const CREDENTIAL_KINDS = ["ssh_password", "ssh_key", "winrm_basic", "winrm_ntlm"] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export interface CredentialSummary {
  id: string;
  target: string;
  kind: CredentialKind;
  username: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_validation: { status: "pending" | "success" | "failed" | "expired"; host_id: string; requested_at: string; completed_at: string | null; code: string | null; detail: string | null } | null;
}

/** An L3 escalation ticket with its SLA timers (relay/escalations). */
export type Escalation = EscalationView;

/** A monthly compliance packet (relay/report): the record plus where its PDF and auditor kit download. */
export type Packet = PacketRecord & { pdf_url: string; kit_url: string };

export interface ArchiveStatus {
  /** Whether the relay uploads to the archive at all (else bundles wait in its queue). */
  configured: boolean;
  pending: number;
  archived: number;
  failed: number;
  oldest_pending_age_s: number | null;
  last_error: { object_key: string; error: string; at: string | null } | null;
}

// ---- operations: learning, inventory, notification channels, billing (the relay's own shapes) ---------

/** A learning candidate with its current evidence (relay/learning/queries.ts). */
export type LearningCandidate = CandidateSummary;
/** One candidate in full: ledger (who, when, why), replay, rule, daily success series. */
export type LearningCandidateDetail = CandidateDetail;
export type LearningLedgerEntry = CandidateDetail["ledger"][number];

/** GET /api/learning/thresholds: the thresholds in force for the caller's MSP, the defaults and a sentence each. */
export interface LearningThresholds {
  thresholds: ThresholdValues;
  defaults: ThresholdValues;
  overrides: Partial<ThresholdValues>;
  auto_promote: boolean;
  descriptions: { name: string; value: number; text: string }[];
}

/** What PUT /api/learning/thresholds takes: overrides to set (`null` restores a default) and auto-promotion. */
export type LearningThresholdsChange = z.input<typeof import("../../relay/learning/thresholds.ts").policyUpdateSchema>;

/** What approve / reject / retire answer: the new state and the signed rule set version that carries it. */
export interface CandidateDecision {
  candidate_id: string;
  state: CandidateSummary["state"];
  ruleset_version: number | null;
  published: boolean;
}

/** A discovered network device (relay/inventory); `status` is the MSP's decision. */
export type { InventoryDevice, DeviceStatus };
export interface InventoryList {
  devices: InventoryDevice[];
  /** New devices are not alerted before this (the site's baseline is being learnt). */
  learning_until: string | null;
  last_scan_at: string | null;
}
export interface InventoryEvents {
  events: z.output<typeof deviceEventSchema>[];
  alerts: z.output<typeof inventoryAlertSchema>[];
}

/** A notification channel as the relay shows it: never its secret (`has_secret` says one is stored). */
export type { ChannelView };
/** What POST /api/channels takes (defaults filled in by the relay). */
export type NewChannelInput = z.input<typeof newChannelSchema>;
export type { DeliveryView as ChannelDelivery };

// ---- users, API keys and L2 planner settings (relay/auth, relay/l2) --------------------------------------

/** What POST /api/users takes: partner roles need `partner_id`, client roles `org_id`; only client users may have no password. */
export type NewUserInput = import("../../relay/auth/users.ts").NewUser;
/** A user as GET /api/users lists it: the record plus `last_login_at` (null: never signed in). */
export type UserListing = import("../../relay/auth/users.ts").UserListing;
/** An API key as the relay lists it (never the key text). */
export type ApiKeyRecord = import("../../relay/auth/api-keys.ts").ApiKeyRecord;
/** A new API key: its text is in this answer only, with when it expires. */
export type CreatedApiKey = import("../../relay/auth/api-keys.ts").CreatedApiKey;
/** GET /api/l2/settings: kill switch, budgets, confidence floor, whether a model is configured, recent usage. */
export type L2SettingsView = import("../../relay/l2/settings.ts").L2SettingsView;
/** What PUT /api/l2/settings takes (omitted fields keep their value). */
export type L2SettingsChange = z.input<typeof import("../../relay/l2/settings.ts").l2SettingsUpdateSchema>;

/** Partner billing (relay/billing). */
export type { Plan as BillingPlan, Statement, StatementHeader, StatementLine };
export type RevenueShare = z.output<typeof revenueShareSchema>;
/** What PUT /api/orgs/:org_id/plan takes: prices in integer cents, dates YYYY-MM-DD. */
export type BillingPlanInput = z.input<typeof import("../../relay/billing/plans.ts").planInputSchema>;
/** What PUT /api/partners/:partner_id/revenue-share takes: tiers with increasing `min_clinics`. */
export type RevenueShareInput = z.input<typeof import("../../relay/billing/plans.ts").revenueShareInputSchema>;
