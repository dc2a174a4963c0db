/**
 * The seams between the appliance's parts. Each part (collectors and checks, lab, evidence log, healing,
 * orders, sync, status page) is built against these types so they can be written and tested separately
 * and wired together in `appliance/daemon.ts`.
 */
import type { Json } from "../../protocol/catalogue/schema.ts";
import type { BundleInput, CheckResult } from "../../protocol/evidence.ts";

/** A target host as the engine sees it (derived from the config's `targets` plus the appliance itself). */
export interface TargetRef {
  id: string;
  name: string;
  platform: "appliance" | "linux" | "windows" | "macos";
  collector: "local" | "ssh" | "winrm" | "lab";
  /** True when the facts come from the lab simulation: every surface must label it "simulated". */
  simulated: boolean;
}

/** Facts gathered from one target: a JSON object addressed by dotted fact names (catalogue `facts`). */
export type Facts = { [name: string]: Json };

/** The result of one check on one target, as it goes into a `check_cycle` bundle (plus the reason). */
export interface HostCheckResult extends CheckResult {
  /** Why it is not `pass`, in plain words, or null. */
  reason: string | null;
}

/** One scan of one target: either reachable with facts and per-check results, or one `error` for the host. */
export interface HostScan {
  target: TargetRef;
  started_at: string;
  finished_at: string;
  reachable: boolean;
  /** Set when the host could not be scanned at all (unreachable, auth failed, timeout, garbage output). */
  error: { code: string; message: string } | null;
  facts: Facts;
  results: HostCheckResult[];
}

/** What the healing engine asks a target to do for one runbook step. */
export interface StepRequest {
  action: string;
  params: { [name: string]: Json };
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface StepOutcome {
  ok: boolean;
  /** Short, secret-free description of what happened (kept in evidence). */
  detail: string;
}

/** Runs runbook step actions on one target (ssh/local scripts, WinRM PowerShell, or the lab simulation). */
export interface StepRunner {
  runStep(target: TargetRef, step: StepRequest): Promise<StepOutcome>;
}

/** Fields of a bundle that the evidence log fills in itself (identity, chain, keys, system identity). */
export type ChainFields = "appliance_id" | "site_id" | "seq" | "prev_hash" | "policy_version" | "ruleset_hash" | "nixos_revision" | "derivation_digest" | "deployment_mode" | "reseller_id";

/** What a part hands the evidence log to append. */
export type EvidenceDraft = Omit<BundleInput, ChainFields>;

/** An outbox entry written in the same transaction as the evidence it belongs to. */
export interface OutboxDraft {
  type: "incident" | "healing_attempt" | "escalation" | "heartbeat" | "order_result" | "inventory";
  body: { [name: string]: Json };
}

/** The evidence log as other parts use it. Every call is one transaction: bundles and outbox rows commit together. */
export interface EvidenceSink {
  append(drafts: EvidenceDraft[], outbox?: OutboxDraft[]): Promise<{ seqs: number[] }>;
}

/** Time, injected everywhere (tests move it; clock jumps are tested through it). */
export interface Clock {
  now(): number;
}

/** Structured logging: one JSON line per call on stdout in production. Never pass secrets. */
export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
