/**
 * The healing engine end to end over a real store, with stand-ins for the evidence log and the host
 * (`StandInEvidenceSink`, `StandInHost`: see _test-fakes.ts). Re-checks use the catalogue's real evaluator.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { controlKeysFor, type Json } from "../../protocol/catalogue/mod.ts";
import { createSigner, keyId } from "../../protocol/crypto.ts";
import { sha256 } from "../../protocol/hash.ts";
import { RULESET_SCHEMA, signRuleset, type Rule } from "../../protocol/ruleset.ts";
import { LIN, scanOf, T0, WIN, type StepEffect } from "./_test-fakes.ts";
import { withHarness, type Harness } from "./_test-harness.ts";
import { parseConfig } from "../config/index.ts";
import type { SiteSettings } from "./engine.ts";
import { COOLDOWN_MS, FLAP_MAX_REOPENS, MAX_ACTIONS_PER_SCAN } from "./policy.ts";
import { nextWindows, parseWindow } from "../../protocol/windows/windows.ts";

const MIN = 60_000;
const FW = "windows.firewall_profiles";
const fwOff = () => ({ firewall: { domain_enabled: false, private_enabled: true, public_enabled: false } });
const fwOn = { domain_enabled: true, private_enabled: true, public_enabled: true };
const enableFirewall: StepEffect = (facts) => {
  facts.firewall = { ...fwOn };
  return { ok: true, detail: "profiles enabled" };
};
const scan = (h: Harness, checks: string[], target = WIN) => h.engine.handleScan(h.host.scan(target, checks));
const outcomes = (h: Harness) => h.sink.remediations().map((b) => b.outcome);
const stepCalls = (h: Harness) => h.host.calls.length;

test("a failing result opens one incident per host + check; repeats only update it; a pass resolves it", async () => {
  await withHarness({ facts: fwOff(), site: { healing_mode: "observe" } }, async (h) => {
    assert.equal((await scan(h, [FW])).opened, [FW]);
    h.clock.advance(15 * MIN);
    assert.equal((await scan(h, [FW])).opened, []);
    const rows = await h.rows("SELECT status FROM incidents");
    assert.equal(rows.map((r) => r.status), ["open"]);
    h.host.facts.firewall = { ...fwOn };
    h.clock.advance(15 * MIN);
    assert.equal((await scan(h, [FW])).resolved, [FW]);
    const entries = h.sink.entries("incident");
    assert.equal(entries.map((e) => e.status), ["open", "resolved"], "sent on open and on resolve, not on every failing scan");
    assert.is(entries[0]!.incident_id, entries[1]!.incident_id);
    assert.is(entries[1]!.occurrences, 2);
    assert.is(entries[1]!.resolved_at, new Date(T0 + 30 * MIN).toISOString());
    assert.equal((await h.rows("SELECT status, resolved_at FROM incidents")).map((r) => r.status), ["resolved"]);
  });
});

test("an unreachable host opens no incidents, resolves none and heals nothing", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall } }, async (h) => {
    await h.engine.handleScan(scanOf(WIN, [{ check: FW, status: "error", expected: [], actual: {}, controls: [], reason: "host unreachable" }], {}, true));
    const r = await h.engine.handleScan(scanOf(WIN, [], {}, false));
    assert.is(r.skipped, "unreachable");
    assert.equal(await h.rows("SELECT * FROM incidents"), []);
    assert.is(h.sink.bundles.length + h.sink.outbox.length, 0);
    assert.is(stepCalls(h), 0);
  });
});

test("enforce: an L1 fix is success only after the re-check passes, recorded as one remediation bundle + healing_attempt in one append", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall } }, async (h) => {
    const r = await scan(h, [FW]);
    assert.equal(r.healing.map((x) => [x.tier, x.runbook, x.outcome]), [["L1", "windows.enable_firewall_profiles", "success"]]);
    const [bundle] = h.sink.remediations();
    assert.is(bundle!.host_id, WIN.id);
    assert.is(bundle!.check, FW);
    assert.equal(bundle!.pre_state, { "firewall.domain_enabled": false, "firewall.private_enabled": true, "firewall.public_enabled": false });
    assert.equal(
      { d: bundle!.post_state["firewall.domain_enabled"], p: bundle!.post_state["firewall.public_enabled"], recheck: bundle!.post_state.recheck },
      { d: true, p: true, recheck: "pass" },
    );
    assert.is(bundle!.action_taken, "windows.enable_firewall_profiles");
    assert.is(bundle!.rollback_available, false);
    assert.is(bundle!.outcome, "success");
    assert.equal(bundle!.controls, controlKeysFor(FW));
    const call = h.sink.calls.find((c) => c.drafts.length === 1)!;
    assert.equal(call.outbox.map((o) => o.type), ["healing_attempt"], "attempt entry in the same append as its bundle");
    const body = call.outbox[0]!.body;
    assert.equal(
      { ...body, duration_ms: typeof body.duration_ms },
      {
        attempt_id: bundle!.post_state.attempt_id as Json,
        incident_id: h.sink.entries("incident")[0]!.incident_id!,
        host_id: WIN.id,
        check: FW,
        platform: "windows",
        runbook: "windows.enable_firewall_profiles",
        params: {},
        tier: "L1",
        outcome: "success",
        duration_ms: "number",
        rule_id: "builtin.windows.firewall_profiles",
        started_at: new Date(T0).toISOString(),
        finished_at: new Date(T0).toISOString(),
        deferred_until: null,
        evidence_seq: null,
        detail: "re-check passes",
      },
    );
    const [row] = await h.rows("SELECT outcome, finished_at, evidence_seq, tier, rule_id FROM healing_attempts");
    assert.equal({ ...row }, { outcome: "success", finished_at: new Date(T0).toISOString(), evidence_seq: bundle!.seq, tier: "L1", rule_id: "builtin.windows.firewall_profiles" });
    assert.equal((await h.rows("SELECT status FROM incidents")).map((x) => x.status), ["open"], "resolved only when the next scan shows pass");
    h.clock.advance(15 * MIN);
    assert.equal((await scan(h, [FW])).resolved, [FW]);
  });
});

test("observe never acts and never reports success, and records its advisory only once", async () => {
  const cases: [string, string, Record<string, Record<string, Json>>, typeof WIN][] = [
    ["plain runbook", FW, fwOff(), WIN],
    ["runbook with rollback", "windows.screen_lock", { screenlock: { timeout_s: 0 } }, WIN],
    ["disruptive runbook", "windows.smb1_disabled", { smb: { v1_enabled: true } }, WIN],
    ["needs-approval runbook", "linux.sshd_password_auth", { sshd: { installed: true, password_authentication: "yes", kbd_interactive_authentication: "no" } }, LIN],
  ];
  for (const [name, check, facts, target] of cases) {
    await withHarness({ facts, site: { healing_mode: "observe", allow_disruptive_outside_window: true } }, async (h) => {
      const first = await scan(h, [check], target);
      assert.equal(first.healing.map((x) => [x.outcome, x.recorded]), [["alert", true]], name);
      h.clock.advance(15 * MIN);
      const second = await scan(h, [check], target);
      assert.equal(second.healing.map((x) => [x.outcome, x.recorded]), [["alert", false]], `${name}: not recorded again`);
      assert.is(stepCalls(h), 0, `${name}: no step ran`);
      assert.equal(outcomes(h), ["alert"], name);
      const advisory = h.sink.remediations()[0]!;
      assert.is(advisory.post_state.gate, "mode");
      assert.is(advisory.action_taken, null, `${name}: evidence never says a runbook was taken`);
      assert.is(typeof advisory.post_state.proposed_runbook, "string", name);
    });
  }
});

test("advise recommends (pending_approval) without acting; a signed approval for that host and check lets it run", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall }, site: { healing_mode: "advise" } }, async (h) => {
    assert.equal((await scan(h, [FW])).healing.map((x) => x.outcome), ["pending_approval"]);
    assert.is(stepCalls(h), 0);
    assert.equal((await h.rows("SELECT status FROM incidents")).map((x) => x.status), ["pending_approval"]);
    await h.approvals.grant({ runbook: "windows.enable_firewall_profiles", host_id: WIN.id, check: FW, approved_until: new Date(T0 + 3_600_000).toISOString(), order_id: "ord_approve0001" });
    h.clock.advance(MIN);
    assert.equal((await scan(h, [FW])).healing.map((x) => x.outcome), ["success"]);
    assert.is(h.sink.remediations().at(-1)!.order_id, "ord_approve0001");
  });
});

test("a disruptive fix outside every window is deferred to the next window start (evidence, attempt entry, incident) and runs inside it", async () => {
  const window = { rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22;BYMINUTE=0", duration: "PT4H", tz: "America/New_York" };
  const start = nextWindows(parseWindow(window), new Date(T0), 1)[0]!.start.getTime();
  const disable: StepEffect = (facts) => ((facts.smb = { v1_enabled: false }), { ok: true, detail: "SMB1 off" });
  await withHarness({ facts: { smb: { v1_enabled: true } }, effects: { "powershell.script:smb.disable_v1": disable }, site: { maintenance_windows: [window] } }, async (h) => {
    const r = await scan(h, ["windows.smb1_disabled"]);
    assert.equal(r.healing.map((x) => x.outcome), ["deferred"]);
    const bundle = h.sink.remediations()[0]!;
    assert.is(bundle.post_state.next_window_start, new Date(start).toISOString());
    assert.is(h.sink.entries("healing_attempt")[0]!.deferred_until, new Date(start).toISOString());
    const [inc] = await h.rows("SELECT status, next_attempt_at FROM incidents");
    assert.equal({ ...inc }, { status: "deferred", next_attempt_at: new Date(start).toISOString() });
    h.clock.advance(60 * MIN);
    assert.equal((await scan(h, ["windows.smb1_disabled"])).healing, [], "not due before the window");
    assert.is(stepCalls(h), 0);
    h.clock.t = start + 5 * MIN;
    assert.equal((await scan(h, ["windows.smb1_disabled"])).healing.map((x) => x.outcome), ["success"]);
    assert.equal(h.host.calls.map((c) => c.params.script), ["smb.snapshot", "smb.disable_v1"]);
  });
});

test("the config's site section is the engine's SiteSettings: a window written in YAML defers in the site's zone", async () => {
  const config = parseConfig(
    ["state_dir: /var/lib/osiris", "site:", "  timezone: America/New_York", "  healing_mode: enforce", "  maintenance_windows:", "    - rrule: FREQ=WEEKLY;BYDAY=SA;BYHOUR=22;BYMINUTE=0", "      duration: PT4H"].join("\n"),
    "test.yaml",
  );
  const settings: SiteSettings = config.site;
  await withHarness({ facts: { smb: { v1_enabled: true } }, site: settings }, async (h) => {
    const r = await scan(h, ["windows.smb1_disabled"]);
    assert.equal(r.healing.map((x) => x.outcome), ["deferred"]);
    assert.is(h.sink.remediations()[0]!.post_state.next_window_start, "2026-11-29T03:00:00.000Z"); // Saturday 22:00 in New York
  });
});

test("an approval unlocks a needs_approval runbook for exactly that host and check, until it expires", async () => {
  const setOption: StepEffect = (facts, p) => {
    const key = p.option === "PasswordAuthentication" ? "password_authentication" : "kbd_interactive_authentication";
    facts.sshd = { ...facts.sshd, [key]: p.value as string };
    return { ok: true, detail: `${String(p.option)} ${String(p.value)}` };
  };
  const bad = () => ({ sshd: { installed: true, password_authentication: "yes", kbd_interactive_authentication: "yes", permit_root_login: "no" } });
  const CHECK = "linux.sshd_password_auth";
  const RB = "linux.sshd_disable_password_auth";
  await withHarness({ facts: bad(), effects: { "sshd.set_option": setOption } }, async (h) => {
    const until = new Date(T0 + 3_600_000).toISOString();
    assert.equal((await scan(h, [CHECK], LIN)).healing.map((x) => [x.outcome, x.recorded]), [["pending_approval", true]]);
    const wrong = [
      { runbook: RB, host_id: "host_other0001", check: CHECK, approved_until: until, order_id: "ord_other0001" },
      { runbook: "linux.sshd_disable_root_login", host_id: LIN.id, check: "linux.sshd_root_login", approved_until: until, order_id: "ord_other0002" },
      { runbook: RB, host_id: LIN.id, check: CHECK, approved_until: new Date(T0).toISOString(), order_id: "ord_expired01" },
      { runbook: RB, host_id: LIN.id, check: CHECK, approved_until: until, order_id: "ord_params001", params: { unexpected: 1 } },
    ];
    for (const approval of wrong) {
      await h.approvals.grant(approval);
      h.clock.advance(1000);
      const r = await scan(h, [CHECK], LIN);
      assert.equal(r.healing.map((x) => [x.outcome, x.recorded]), [["pending_approval", false]], approval.order_id);
    }
    assert.is(stepCalls(h), 0);
    await h.approvals.grant({ runbook: RB, host_id: LIN.id, check: CHECK, approved_until: until, order_id: "ord_approve0002" });
    assert.equal((await scan(h, [CHECK], LIN)).healing.map((x) => x.outcome), ["success"]);
    assert.is(h.sink.remediations().at(-1)!.order_id, "ord_approve0002");
    h.clock.advance(MIN);
    await scan(h, [CHECK], LIN); // passes: resolved
    h.host.facts = bad();
    h.clock.t = T0 + 2 * 3_600_000; // approval expired, cooldown over
    assert.equal((await scan(h, [CHECK], LIN)).healing.map((x) => x.outcome), ["pending_approval"]);
  });
});

test("cooldown: the same rule does not run again on a host within COOLDOWN_MS", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall } }, async (h) => {
    assert.equal((await scan(h, [FW])).healing.map((x) => x.outcome), ["success"]);
    h.clock.advance(MIN);
    await scan(h, [FW]); // pass → resolved
    h.host.facts = fwOff();
    h.clock.advance(4 * MIN);
    const r = await scan(h, [FW]);
    assert.equal(r.healing.map((x) => x.outcome), ["deferred"]);
    assert.is(h.sink.remediations().at(-1)!.post_state.gate, "cooldown");
    assert.is((await h.rows("SELECT next_attempt_at FROM incidents"))[0]!.next_attempt_at, new Date(T0 + COOLDOWN_MS).toISOString());
    assert.is(stepCalls(h), 1);
    h.clock.t = T0 + COOLDOWN_MS;
    assert.equal((await scan(h, [FW])).healing.map((x) => x.outcome), ["success"]);
  });
});

test("three failed attempts in 24 h stop healing and escalate with the tier history", async () => {
  await withHarness({ facts: fwOff() /* the runner says ok and changes nothing */ }, async (h) => {
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await scan(h, [FW]);
      seen.push(...r.healing.map((x) => x.outcome));
      h.clock.advance(COOLDOWN_MS + MIN);
    }
    assert.equal(seen, ["failed", "failed", "failed"]);
    assert.equal(outcomes(h), ["failed", "failed", "failed", "escalated"], "escalated at once after the third failure");
    const [esc] = h.sink.entries("escalation");
    assert.is(esc!.check, FW);
    assert.is(esc!.host_id, WIN.id);
    assert.is(esc!.severity, "high");
    assert.is(esc!.attempts, 3);
    assert.match(String(esc!.reason), /^\[failure_budget\] .*tiers: L1 windows.enable_firewall_profiles failed; L1 windows.enable_firewall_profiles failed; L1 windows.enable_firewall_profiles failed$/);
    assert.is(esc!.incident_id, h.sink.entries("incident")[0]!.incident_id);
    assert.equal(h.sink.entries("incident").map((e) => e.status), ["open", "escalated"]);
    for (let i = 0; i < 4; i++) {
      h.clock.advance(3 * 3_600_000);
      await scan(h, [FW]);
    }
    assert.is(stepCalls(h), 3, "no further attempt within the budget window");
    assert.is(h.sink.entries("escalation").length, 1, "escalated once");
  });
});

test("flap suppression: a check that keeps failing again after passing stops being healed and escalates once", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall } }, async (h) => {
    const results: string[] = [];
    const record = async () => results.push(...(await scan(h, [FW])).healing.map((x) => `${x.outcome}${x.recorded ? "" : "(repeat)"}`));
    for (let cycle = 0; cycle < FLAP_MAX_REOPENS + 2; cycle++) {
      await record();
      h.clock.advance(MIN);
      await scan(h, [FW]); // passes after the fix (stays failing once healing stopped)
      h.host.facts = fwOff(); // a GPO turns it off again
      h.clock.advance(COOLDOWN_MS + MIN);
    }
    const acted = FLAP_MAX_REOPENS + 1; // the first failure and FLAP_MAX_REOPENS reopens
    assert.equal(results.slice(0, acted), Array(acted).fill("success"));
    assert.equal(results.slice(acted), ["escalated"]);
    // Someone fixes it by hand, and the GPO undoes it again: still suppressed, not escalated again.
    h.host.facts.firewall = { ...fwOn };
    await scan(h, [FW]);
    h.host.facts = fwOff();
    h.clock.advance(MIN);
    await record();
    assert.equal(results.slice(acted), ["escalated", "escalated(repeat)"]);
    assert.is(stepCalls(h), acted);
    const esc = h.sink.entries("escalation");
    assert.is(esc.length, 1);
    assert.match(String(esc[0]!.reason), /^\[flapping\]/);
  });
});

test("a fix that passes its re-check but is undone before the next scan counts toward flap suppression", async () => {
  await withHarness({ facts: fwOff(), effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall } }, async (h) => {
    const results: string[] = [];
    for (let cycle = 0; cycle < FLAP_MAX_REOPENS + 3; cycle++) {
      results.push(...(await scan(h, [FW])).healing.map((x) => x.outcome));
      h.host.facts = fwOff(); // undone before the next scan sees a pass: the incident never resolves
      h.clock.advance(COOLDOWN_MS + MIN);
    }
    assert.equal(results, [...Array(FLAP_MAX_REOPENS + 1).fill("success"), "escalated"]);
    assert.equal((await h.rows("SELECT status FROM incidents")).map((x) => x.status), ["escalated"]);
  });
});

test("every path to the executor goes through evaluateGates (source check: one call site, only after the gates pass)", async () => {
  const { readFile, readdir } = await import("node:fs/promises");
  const dir = new URL(".", import.meta.url);
  const sources = (await readdir(dir)).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("_"));
  const calls: string[] = [];
  for (const f of sources) {
    const text = await readFile(new URL(f, dir), "utf8");
    for (const m of text.matchAll(/executeRunbook\(/g)) if (!/export async function executeRunbook\($/.test(text.slice(0, m.index! + 15).split("\n").at(-1)!)) calls.push(f);
  }
  assert.equal(calls, ["engine.ts"]);
  const engine = await readFile(new URL("engine.ts", dir), "utf8");
  assert.is(engine.match(/this\.#act\(/g)?.length, 1, "one caller of #act");
  assert.match(engine, /if \(!decision\.go\) \{[\s\S]*?\}\n    return this\.#act\(/, "#act only after the gate decision let the fix through");
});

test("a runner that reports ok is not success: a still-failing re-check gives failed, or reverted after rollback", async () => {
  const cases: [string, string, Record<string, Record<string, Json>>, string, string[]][] = [
    ["no rollback steps", FW, fwOff(), "failed", ["firewall.enable_all_profiles"]],
    ["with rollback steps", "windows.screen_lock", { screenlock: { timeout_s: 0 } }, "reverted", ["screenlock.snapshot", "screenlock.set_timeout", "screenlock.restore_snapshot"]],
  ];
  for (const [name, check, facts, outcome, scripts] of cases) {
    await withHarness({ facts }, async (h) => {
      const r = await scan(h, [check]);
      assert.equal(r.healing.map((x) => x.outcome), [outcome], name);
      assert.equal(h.host.calls.map((c) => c.params.script), scripts, name);
      assert.not.ok(outcomes(h).includes("success"), name);
      const b = h.sink.remediations()[0]!;
      assert.is(b.post_state.recheck, "fail", name);
      assert.is(b.rollback_available, outcome === "reverted", name);
    });
  }
});

test("encryption off is never auto-fixed: it alerts and escalates once", async () => {
  await withHarness({ facts: { bitlocker: { unprotected_volumes: ["C:"] } } }, async (h) => {
    const r = await scan(h, ["windows.bitlocker"]);
    assert.equal(r.healing.map((x) => [x.tier, x.outcome, x.runbook]), [["L3", "alert", null]]);
    assert.is(stepCalls(h), 0);
    const [esc] = h.sink.entries("escalation");
    assert.match(String(esc!.reason), /^\[encryption_never_auto\]/);
    assert.is(esc!.severity, "critical");
    h.clock.advance(7 * 3_600_000);
    assert.equal((await scan(h, ["windows.bitlocker"])).healing.map((x) => x.recorded), [false]);
    assert.is(h.sink.entries("escalation").length, 1);
  });
});

test("no rule and L2 off: L3 escalation recorded once, looked at again later without repeating it", async () => {
  await withHarness({ facts: { policy: { min_password_length: 4 } } }, async (h) => {
    const r = await scan(h, ["windows.password_policy"]);
    assert.equal(r.healing.map((x) => [x.tier, x.outcome]), [["L3", "escalated"]]);
    assert.match(String(h.sink.entries("escalation")[0]!.reason), /^\[no_rule\]/);
    h.clock.advance(MIN);
    assert.equal((await scan(h, ["windows.password_policy"])).healing, [], "not due");
    h.clock.advance(7 * 3_600_000);
    assert.equal((await scan(h, ["windows.password_policy"])).healing.map((x) => x.recorded), [false]);
    assert.is(h.sink.entries("escalation").length, 1);
  });
});

test("a new rule set that holds the fix is tried at the next scan, not after the escalation's 6-hour wait", async () => {
  const relay = createSigner(sha256("engine test relay"));
  const relayKeys = [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }];
  const modeUnknown = { defender: { running_mode: null, realtime_enabled: false, antivirus_enabled: true } };
  const effects: Record<string, StepEffect> = {
    "powershell.script:defender.enable_realtime": (facts) => {
      facts.defender = { ...facts.defender, realtime_enabled: true };
      return { ok: true, detail: "real-time protection on" };
    },
  };
  await withHarness({ facts: modeUnknown, effects, relayKeys }, async (h) => {
    const check = "windows.defender_realtime";
    assert.equal((await scan(h, [check])).healing.map((x) => [x.tier, x.outcome]), [["L3", "escalated"]], "the built-in rule needs a known running mode");
    h.clock.advance(15 * MIN);
    assert.equal((await scan(h, [check])).healing, [], "escalated: waiting");

    const promoted: Rule = { id: "promoted.windows.defender_realtime_any_mode", check, platform: "windows", conditions: [], runbook: "windows.enable_defender_realtime", params: {}, priority: 50, source: "promoted" };
    await h.rules.install(await signRuleset({ schema: RULESET_SCHEMA, version: 1, issued_at: "2026-11-27T12:00:00.000Z", rules: [promoted] }, relay));
    h.clock.advance(15 * MIN);
    const r = await scan(h, [check]);
    assert.equal(r.healing.map((x) => [x.tier, x.outcome, x.runbook]), [["L1", "success", "windows.enable_defender_realtime"]]);
    assert.ok(h.log.lines.some((l) => l.msg === "heal_reconsidered"));
  });
});

test("a new rule set does not cut short the wait of an escalation it cannot answer (encryption is never auto-fixed)", async () => {
  const relay = createSigner(sha256("engine test relay"));
  await withHarness({ facts: { bitlocker: { unprotected_volumes: ["C:"] } }, relayKeys: [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }] }, async (h) => {
    await scan(h, ["windows.bitlocker"]);
    await h.rules.install(await signRuleset({ schema: RULESET_SCHEMA, version: 1, issued_at: "2026-11-27T12:00:00.000Z", rules: [] }, relay));
    h.clock.advance(15 * MIN);
    assert.equal((await scan(h, ["windows.bitlocker"])).healing, [], "still waiting");
  });
});

test("dry run reports dry_run with the steps it would run, and never success", async () => {
  await withHarness({ facts: { screenlock: { timeout_s: 0 } }, dryRun: true }, async (h) => {
    const r = await scan(h, ["windows.screen_lock"]);
    assert.equal(r.healing.map((x) => x.outcome), ["dry_run"]);
    assert.is(stepCalls(h), 0);
    const would = h.sink.remediations()[0]!.post_state.would_run as { id: string; params: Record<string, Json> }[];
    assert.equal(would.map((s) => s.id), ["snapshot", "set"]);
    assert.equal(would[1]!.params, { script: "screenlock.set_timeout", timeout_s: 600 });
  });
});

test(`one scan runs at most MAX_ACTIONS_PER_SCAN (${MAX_ACTIONS_PER_SCAN}) runbooks; the rest wait for the next scan`, async () => {
  const facts = { firewall: fwOff().firewall, screenlock: { timeout_s: 0 }, accounts: { guest_enabled: true }, host: { is_domain_controller: false }, rdp: { enabled: true, nla_required: false }, eventlog: { service_running: false } };
  const checks = [FW, "windows.screen_lock", "windows.guest_account", "windows.rdp_nla", "windows.event_log_service"];
  await withHarness({ facts }, async (h) => {
    const first = await scan(h, checks);
    assert.is(first.healing.length, MAX_ACTIONS_PER_SCAN);
    const second = await scan(h, checks);
    assert.equal(second.healing.map((x) => x.check), checks.slice(MAX_ACTIONS_PER_SCAN), "the others, while the first ones cool down");
  });
});

test("in reseller mode every recorded healing event goes to the reseller channels; in direct mode none do", async () => {
  await withHarness({ facts: fwOff(), site: { deployment_mode: "reseller" } }, async (h) => {
    for (let i = 0; i < 3; i++) {
      await scan(h, [FW]);
      h.clock.advance(COOLDOWN_MS + MIN);
    }
    assert.equal(h.published.map((e) => [e.outcome, e.tier, e.check_id]), [
      ["failed", "L1", FW],
      ["failed", "L1", FW],
      ["failed", "L1", FW],
      ["escalated", "L3", FW],
    ]);
    assert.is(h.published[0]!.site_id, "site_test00001");
    assert.is(h.published[0]!.severity, "high");
  });
  await withHarness({ facts: fwOff() }, async (h) => {
    await scan(h, [FW]);
    assert.equal(h.published, []);
  });
});

test.run();
