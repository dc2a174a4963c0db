/**
 * Test fixtures for the learning suites (not shipped behaviour): healing attempts pushed by a protocol-built
 * appliance (relay/_testing.ts TestAppliance), each as the real appliance sends it: its signed `remediation`
 * bundle (facts before in pre_state, the attempt id in post_state) and its `healing_attempt` outbox entry.
 */
import * as assert from "uvu/assert";
import type { JsonObject } from "../../protocol/evidence.ts";
import { isoTime, newId } from "../../protocol/ids.ts";
import type { HealingAttemptBody, HealingTier, OutboxEntry } from "../../protocol/sync.ts";
import { random, type TestAppliance } from "../_testing.ts";

export interface AttemptSpec {
  check?: string;
  platform?: string;
  runbook?: string | null;
  params?: JsonObject;
  tier?: HealingTier;
  outcome?: HealingAttemptBody["outcome"];
  rule_id?: string | null;
  /** Facts before the attempt (by catalogue fact name); default: Defender's mode unknown, real-time off. */
  facts?: JsonObject;
  /** When it finished (ms); default the appliance's clock. */
  at?: number;
}

export const DEFENDER_OFF_UNKNOWN_MODE: JsonObject = { "defender.running_mode": null, "defender.realtime_enabled": false, "defender.antivirus_enabled": true };

/** The evidence and outbox entries of attempts, signed by `a`, taking its next seqs. */
export async function attemptEntries(a: TestAppliance, specs: readonly AttemptSpec[]): Promise<{ entries: OutboxEntry[]; bodies: HealingAttemptBody[] }> {
  const entries: OutboxEntry[] = [];
  const bodies: HealingAttemptBody[] = [];
  for (const s of specs) {
    const finished = isoTime(s.at ?? a.clock.now());
    const started = isoTime((s.at ?? a.clock.now()) - 2_000);
    const body: HealingAttemptBody = {
      attempt_id: newId("att", random),
      incident_id: newId("inc", random),
      host_id: "ws-01",
      check: s.check ?? "windows.defender_realtime",
      platform: s.platform ?? "windows",
      runbook: s.runbook === undefined ? "windows.enable_defender_realtime" : s.runbook,
      params: s.params ?? {},
      tier: s.tier ?? "L2",
      outcome: s.outcome ?? "success",
      duration_ms: 2_000,
      rule_id: s.rule_id ?? null,
      started_at: started,
      finished_at: finished,
      deferred_until: null,
      evidence_seq: null,
      detail: null,
    };
    const [bundle] = await a.makeBundles(1, {
      kind: "remediation",
      outcome: body.outcome,
      host_id: body.host_id,
      check: body.check,
      pre_state: s.facts ?? DEFENDER_OFF_UNKNOWN_MODE,
      post_state: { attempt_id: body.attempt_id, tier: body.tier, rule_id: body.rule_id, simulated: true },
      action_taken: body.runbook,
      timestamps: { started_at: started, finished_at: finished },
    });
    entries.push(...a.entries([bundle!]), { outbox_seq: ++a.outboxSeq, type: "healing_attempt", body });
    bodies.push(body);
  }
  return { entries, bodies };
}

/** Pushes attempts (bundle + entry each) and asserts the relay stored them. */
export async function pushAttempts(a: TestAppliance, specs: readonly AttemptSpec[]): Promise<{ entries: OutboxEntry[]; bodies: HealingAttemptBody[] }> {
  const out = await attemptEntries(a, specs);
  const res = await a.push(out.entries);
  assert.is(res.status, 200, `push: ${res.status} ${await res.clone().text()}`);
  return out;
}
