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

export interface Escalation {
  escalation_id: string;
  site_id: string;
  host_id: string | null;
  check: string | null;
  category: string | null;
  severity: string;
  priority: "low" | "medium" | "high" | "critical";
  reason: string;
  status: "open" | "acknowledged" | "resolved";
  created_at: string;
  response_due_at: string;
  resolution_due_at: string;
  response_overdue: boolean;
  resolution_overdue: boolean;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolution_note: string | null;
}

export interface Packet {
  id: string;
  month: string;
  framework: string;
  generated_at: string;
  summary: { overall: number | null; controls_ready: number; controls_total: number; incidents: number };
  pdf_url: string;
  kit_url: string;
}

export interface ArchiveStatus {
  pending: number;
  archived: number;
  failed: number;
  oldest_pending_age_s: number | null;
  last_error: { object_key: string; error: string; at: string | null } | null;
}

export interface LearningCandidate {
  id: string;
  check: string;
  platform: string;
  runbook: string;
  state: string;
  occurrences: number;
  successes: number;
  l2_resolutions: number;
  success_pct: number;
  sites: { id: string; name: string }[];
  last_seen: string | null;
  unmet: string[];
  replay: { pass: boolean; agreement_pct: number } | null;
  executions: { executions: number; successes: number; failures: number };
}

export interface LearningCandidateDetail extends LearningCandidate {
  ledger: { seq: number; from: string | null; to: string; at: string; actor_name: string; reason: string }[];
  daily: { day: string; runs: number; successes: number; success_pct: number }[];
}

export interface LearningThresholds {
  descriptions: { name: string; value: number; text: string }[];
  auto_promote: boolean;
}
