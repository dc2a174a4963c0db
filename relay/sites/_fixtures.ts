/**
 * Test fixtures for relay/sites (not shipped behaviour): pushing check cycles, incidents and healing attempts
 * from a simulated appliance (relay/_testing.ts TestAppliance, built from protocol functions only), the way
 * the real appliance's sync client sends them.
 */
import type { CheckStatus, JsonValue } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { HealingAttemptBody, IncidentBody, OutboxEntry } from "../../protocol/sync.ts";
import type { TestAppliance } from "../_testing.ts";

export interface Cycle {
  host: string;
  /** Time the cycle finished (ms). */
  at: number;
  results: { check: string; status: CheckStatus; actual?: JsonValue }[];
  /** A cycle of an unreachable host: outcome error, no results. */
  unreachable?: boolean;
  simulated?: boolean;
}

/** Signs check_cycle bundles for the cycles (in order) and pushes them with the appliance's checkpoint. */
export async function pushCycles(a: TestAppliance, cycles: readonly Cycle[]): Promise<void> {
  for (let i = 0; i < cycles.length; i += 200) {
    const batch = cycles.slice(i, i + 200);
    const entries: OutboxEntry[] = [];
    for (const c of batch) {
      const t = isoTime(c.at);
      const [b] = await a.makeBundles(1, {
        kind: "check_cycle",
        host_id: c.host,
        outcome: c.unreachable ? "error" : c.results.some((r) => r.status === "fail") ? "fail" : "pass",
        timestamps: { started_at: t, finished_at: t },
        results: c.unreachable ? [] : c.results.map((r) => ({ check: r.check, status: r.status, expected: true, actual: r.actual ?? (r.status === "pass"), controls: [] })),
        post_state: c.simulated === false ? {} : { simulated: true },
      });
      entries.push(...a.entries([b!]));
    }
    const res = await a.push(entries, await a.checkpoint());
    if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
  }
}

/** Pushes non-evidence outbox entries (incidents, healing attempts, …). */
export async function pushEntries(a: TestAppliance, bodies: readonly ({ type: "incident"; body: IncidentBody } | { type: "healing_attempt"; body: HealingAttemptBody })[]): Promise<void> {
  const entries = bodies.map((b) => ({ outbox_seq: ++a.outboxSeq, ...b }) as OutboxEntry);
  const res = await a.push(entries);
  if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
}

let n = 0;
const id = (prefix: string) => `${prefix}_${(++n).toString(36).padStart(10, "0")}`;

export function incident(over: Partial<IncidentBody> & { check: string; host_id: string; at: number }): IncidentBody {
  const t = isoTime(over.at);
  const { at: _at, ...rest } = over;
  return { incident_id: id("inc"), severity: "high", status: "open", opened_at: t, updated_at: t, resolved_at: null, occurrences: 1, evidence_seq: null, ...rest };
}

export function attempt(over: Partial<HealingAttemptBody> & { check: string; host_id: string; at: number }): HealingAttemptBody {
  const t = isoTime(over.at);
  const { at: _at, ...rest } = over;
  return {
    attempt_id: id("att"),
    incident_id: null,
    platform: over.check.split(".")[0]!,
    runbook: null,
    params: {},
    tier: "L1",
    outcome: "success",
    duration_ms: 1200,
    rule_id: null,
    started_at: t,
    finished_at: t,
    deferred_until: null,
    evidence_seq: null,
    detail: null,
    ...rest,
  };
}

/** A small deterministic PRNG (mulberry32) for generated histories. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
