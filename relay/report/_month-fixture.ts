/**
 * Test fixture (not shipped behaviour): a relay database holding one month (September 2026) of evidence
 * from two simulated appliances pushing through the real ingest route, built so every figure of the packet
 * can be computed by hand. The expectations are spelled out in `SEPTEMBER`.
 *
 * Appliance A (enrolled 2026-08-31 12:00) scans two hosts every hour on the hour, 2026-09-01 00:00 through
 * 2026-10-01 00:00, and pushes after each cycle with a checkpoint:
 *   ws1 (Windows): bitlocker, update_service, local_admins, guest_account, time_sync — all pass, except
 *     update_service fails 2026-09-10 00:00 … 09-11 05:00 (30 results); L1 deferred at 09-10 00:01, L1
 *     success at 09-11 05:30; passes again from 09-11 06:00.
 *   lin1 (Linux): backup_status, disk_encryption, time_sync — all pass, except backup_status fails from
 *     2026-09-29 12:00 on (escalated, L3, at 09-29 12:01).
 *   A is down 2026-09-25 00:00 … 05:59 (no cycles, no pushes) and offline 2026-09-20 00:00 … 09-21 11:00
 *   (keeps scanning; the backlog is pushed at 09-21 12:00). ntp_offset_ms is 15, except 480 on 09-05 12:00.
 * Appliance B (enrolled 2026-09-15 10:00) writes one `system` bundle an hour from 09-15 10:00 through
 * 2026-10-01 00:00, pushing each with a checkpoint.
 */
import { applianceOrigin, formatCheckpointBody, signNote } from "../../protocol/checkpoint.ts";
import type { CheckResult } from "../../protocol/evidence.ts";
import type { OutboxEntry } from "../../protocol/sync.ts";
import { controlKeysFor } from "../../protocol/catalogue/mod.ts";
import { enrolledAppliance, testRelay, type TestAppliance, type TestRelay } from "../_testing.ts";

const HOUR = 3_600_000;
const at = (text: string) => Date.parse(text);

/** Hand-computed figures of the fixture month. */
export const SEPTEMBER = {
  month: "2026-09",
  /** (15×100 + 13×0 + 12×100 + 7×100 + 3×100) / (15 + 13 + 12 + 7 + 3): backup is the only failing category. */
  overall: 74,
  /** 714 hourly cycles × 2 hosts + 3 remediation bundles. */
  a_bundles: 1431,
  /** 09-15 10:00 … 09-30 23:00. */
  b_bundles: 374,
  a_uptime_pct: (714 / 720) * 100,
  update_incident: { opened_at: "2026-09-10T00:00:00.000Z", resolved_at: "2026-09-11T06:00:00.000Z", ttf_ms: 30 * HOUR, failing: 30 },
  backup_incident: { opened_at: "2026-09-29T12:00:00.000Z", failing: 36 },
  a_gaps_ms: [37 * HOUR, 7 * HOUR],
  a_max_delay_ms: 36 * HOUR,
} as const;

function result(check: string, pass: boolean, actual: CheckResult["actual"], expected: CheckResult["expected"] = true): CheckResult {
  return { check, status: pass ? "pass" : "fail", expected, actual, controls: controlKeysFor(check) };
}

function ws1Results(t: number): CheckResult[] {
  const updateFails = t >= at("2026-09-10T00:00:00Z") && t < at("2026-09-11T06:00:00Z");
  return [
    result("windows.bitlocker", true, { protection: "on", volumes: ["C:"] }),
    result("windows.update_service", !updateFails, updateFails ? "stopped" : "running", "running"),
    result("windows.local_admins", true, ["Administrator", "itadmin"], ["Administrator", "itadmin"]),
    result("windows.guest_account", true, { enabled: false }, { enabled: false }),
    result("windows.time_sync", true, { offset_ms: 120 }, { max_offset_ms: 5000 }),
  ];
}

function lin1Results(t: number): CheckResult[] {
  const backupFails = t >= at("2026-09-29T12:00:00Z");
  return [
    result("linux.backup_status", !backupFails, { last_success_hours: backupFails ? 52 : 6 }, { max_hours: 26 }),
    result("linux.disk_encryption", true, { luks: true }),
    result("linux.time_sync", true, { synchronized: true, offset_ms: 8 }),
  ];
}

/** A signed checkpoint of everything the appliance signed so far (from its maintained tree). */
function checkpointOf(a: TestAppliance): Promise<string> {
  return signNote(formatCheckpointBody({ origin: applianceOrigin(a.id), size: a.chain.length, root: a.tree.root() }), applianceOrigin(a.id), a.evidence);
}

async function push(a: TestAppliance, entries: OutboxEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 400) {
    const part = entries.slice(i, i + 400);
    const res = await a.push(part, i + 400 >= entries.length ? await checkpointOf(a) : null);
    if (res.status !== 200) throw new Error(`fixture push failed: ${res.status} ${await res.text()}`);
  }
}

export interface MonthFixture {
  relay: TestRelay;
  a: TestAppliance;
  b: TestAppliance;
}

/** Builds the fixture month on a fresh test relay (a few seconds). */
export async function septemberRelay(): Promise<MonthFixture> {
  const relay = await testRelay();
  relay.clock.t = at("2026-08-31T12:00:00Z");
  const a = await enrolledAppliance(relay);
  let b: TestAppliance | null = null;
  let backlog: OutboxEntry[] = [];
  for (let t = at("2026-09-01T00:00:00Z"); t <= at("2026-10-01T00:00:00Z"); t += HOUR) {
    relay.clock.t = t;
    if (t === at("2026-09-15T10:00:00Z")) b = await enrolledAppliance(relay);
    const down = t >= at("2026-09-25T00:00:00Z") && t < at("2026-09-25T06:00:00Z");
    if (!down) {
      const ntp = t === at("2026-09-05T12:00:00Z") ? 480 : 15;
      const cycle = (host: string, results: CheckResult[]) => a.makeBundles(1, { kind: "check_cycle", host_id: host, results, outcome: results.some((r) => r.status === "fail") ? "fail" : "pass", ntp_offset_ms: ntp });
      backlog.push(...a.entries([...(await cycle("ws1", ws1Results(t))), ...(await cycle("lin1", lin1Results(t)))]));
      const offline = t >= at("2026-09-20T00:00:00Z") && t < at("2026-09-21T12:00:00Z");
      if (!offline) {
        await push(a, backlog);
        backlog = [];
      }
    }
    for (const [when, outcome, tier, host, check, runbook] of [
      ["2026-09-10T00:01:00Z", "deferred", "L1", "ws1", "windows.update_service", "windows.restart_windows_update"],
      ["2026-09-11T05:30:00Z", "success", "L1", "ws1", "windows.update_service", "windows.restart_windows_update"],
      ["2026-09-29T12:01:00Z", "escalated", "L3", "lin1", "linux.backup_status", null],
    ] as const) {
      if (at(when) < t || at(when) >= t + HOUR) continue;
      relay.clock.t = at(when);
      const acted = outcome === "success";
      const bundle = await a.makeBundles(1, {
        kind: "remediation",
        host_id: host,
        check,
        outcome,
        controls: controlKeysFor(check),
        action_taken: acted ? runbook : null,
        post_state: { tier, attempt_id: `att_${when.slice(0, 13).replace(/\D/g, "")}`, ...(!acted && runbook ? { proposed_runbook: runbook } : {}) },
      });
      await push(a, a.entries(bundle));
      relay.clock.t = t;
    }
    if (b) {
      await push(b, b.entries(await b.makeBundles(1, { kind: "system", outcome: "success" })));
    }
  }
  if (!b) throw new Error("fixture: appliance B was never enrolled");
  return { relay, a, b };
}
