/**
 * The healing engine wired to the REAL evidence log (appliance/evidence EvidenceLog, signed and chained, on
 * the same store), the REAL order processor (appliance/orders) and, in the last test, the REAL lab (LabWorld,
 * its StepRunner, and appliance/checks scanHost for scans and re-checks). The other tests use the stand-in
 * host of _test-fakes.ts.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { catalogue, type Json } from "../../protocol/catalogue/mod.ts";
import { createSigner, generateKeyPair, keyId } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { parseBundleLine } from "../../protocol/evidence.ts";
import { buildOrder, signOrder } from "../../protocol/orders.ts";
import { RULESET_SCHEMA, signRuleset } from "../../protocol/ruleset.ts";
import { outboxEntrySchema } from "../../protocol/sync.ts";
import { scanHost } from "../checks/scan.ts";
import type { StepRunner } from "../engine/types.ts";
import { EvidenceLog } from "../evidence/index.ts";
import { loadOrCreateIdentity, type EnrolledIdentity } from "../identity/index.ts";
import { createLabGatherer, createLabStepRunner, LabWorld, loadLabSite } from "../lab/mod.ts";
import { OrderProcessor } from "../orders/index.ts";
import { openStore } from "../store/index.ts";
import { counterRandom, FakeClock, LIN, WIN, type StepEffect } from "./_test-fakes.ts";
import { harness, type Harness } from "./_test-harness.ts";
import type { SiteSettings } from "./engine.ts";
import type { Recheck } from "./executor.ts";
import { healOrderHandlers } from "./order-handlers.ts";

const FW = "windows.firewall_profiles";
const fwOff = () => ({ firewall: { domain_enabled: false, private_enabled: true, public_enabled: false } });
const enableFirewall: StepEffect = (f) => ((f.firewall = { domain_enabled: true, private_enabled: true, public_enabled: true }), { ok: true, detail: "on" });
const relay = createSigner(generateKeyPair(new Uint8Array(32).fill(5)).secretKey);

interface RealOptions {
  facts?: Record<string, Record<string, Json>>;
  effects?: Record<string, StepEffect>;
  runner?: StepRunner;
  recheck?: Recheck;
  clock?: FakeClock;
  site?: Partial<SiteSettings>;
}

async function withRealLog(fn: (h: Harness, log: EvidenceLog, identity: EnrolledIdentity) => Promise<void>, o: RealOptions = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-heal-evidence-"));
  const path = join(dir, "appliance.db");
  const store = await openStore(path, { log: { info: () => undefined } });
  try {
    const clock = o.clock ?? new FakeClock();
    const identity = await loadOrCreateIdentity(join(dir, "state"), store, { random: (n) => new Uint8Array(randomBytes(n)), clock });
    await identity.enrollStandalone("site_0123456789ab", {
      applianceId: "app_0123456789ab",
      relayKeys: [{ key_id: keyId(relay.publicKey), public_key: toHex(relay.publicKey), name: "relay-test" }],
    });
    const log = new EvidenceLog({ store, identity: identity.enrolled(), clock });
    const h = await harness({
      facts: o.facts ?? fwOff(),
      clock,
      relayKeys: [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }],
      effects: { "powershell.script:firewall.enable_all_profiles": enableFirewall, ...o.effects },
      sink: log,
      store: { store, path, done: async () => undefined },
      ...(o.runner ? { runner: o.runner } : {}),
      ...(o.recheck ? { recheck: o.recheck } : {}),
      ...(o.site ? { site: o.site } : {}),
    });
    await fn(h, log, identity.enrolled());
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function evidence(h: Harness) {
  return (await h.rows("SELECT seq, kind, line FROM evidence ORDER BY seq")).map((r) => ({ seq: Number(r.seq), kind: String(r.kind), bundle: parseBundleLine(String(r.line)) }));
}
async function outbox(h: Harness) {
  return (await h.rows("SELECT outbox_seq, type, body FROM outbox ORDER BY outbox_seq")).map((r) => outboxEntrySchema.parse({ outbox_seq: Number(r.outbox_seq), type: String(r.type), body: r.type === "evidence" ? String(r.body) : JSON.parse(String(r.body)) }));
}

test("with the real evidence log: a heal, its resolution and an encryption alert make a verifying chain and valid outbox entries", async () => {
  await withRealLog(async (h, log) => {
    const installed = await h.rules.install(await signRuleset({ schema: RULESET_SCHEMA, version: 1, issued_at: "2026-11-27T12:00:00.000Z", rules: [] }, relay));
    h.host.facts.bitlocker = { unprotected_volumes: ["D:"] };
    const r = await h.engine.handleScan(h.host.scan(WIN, [FW, "windows.bitlocker"]));
    assert.equal(r.healing.map((x) => x.outcome), ["success", "alert"]);
    h.clock.advance(15 * 60_000);
    h.host.facts.bitlocker = { unprotected_volumes: [] };
    assert.equal((await h.engine.handleScan(h.host.scan(WIN, [FW, "windows.bitlocker"]))).resolved, [FW, "windows.bitlocker"]);

    const verified = await log.verifyLocal();
    assert.ok(verified.ok, JSON.stringify(verified));
    const bundles = await evidence(h);
    assert.equal(bundles.map((b) => [b.kind, b.bundle.outcome, b.bundle.check]), [
      ["remediation", "success", FW],
      ["remediation", "alert", "windows.bitlocker"],
    ]);
    assert.ok(bundles.every((b) => b.bundle.ruleset_hash === installed.hash), "ruleset_hash of the set in force");
    const rows = await h.rows("SELECT evidence_seq FROM healing_attempts ORDER BY id");
    assert.equal(rows.map((x) => Number(x.evidence_seq)), bundles.map((b) => b.seq), "each attempt row points at its bundle");
    const entries = await outbox(h);
    assert.equal(entries.map((e) => e.type), ["incident", "incident", "evidence", "healing_attempt", "evidence", "healing_attempt", "escalation", "incident", "incident", "incident"]);
    const incidents = entries.filter((e) => e.type === "incident").map((e) => (e.body as { check: string; status: string }));
    assert.equal(incidents.map((b) => `${b.check}:${b.status}`), [`${FW}:open`, "windows.bitlocker:open", "windows.bitlocker:escalated", `${FW}:resolved`, "windows.bitlocker:resolved"]);
    assert.equal(await h.rows("SELECT key FROM kv WHERE key LIKE 'heal.incident:%' AND json_extract(value, '$.unsent') IS NOT NULL"), [], "every incident update handed over once");
  });
});

test("with the real evidence log: an interrupted attempt is recovered as failed exactly once, and the chain verifies", async () => {
  await withRealLog(async (h, log) => {
    const started = new Date(h.clock.now()).toISOString();
    await h.engine.attempts.begin(
      {
        attempt_id: "att_interrupted0001",
        incident_id: null,
        host_id: WIN.id,
        check: FW,
        platform: "windows",
        tier: "L1",
        rule_id: "builtin.windows.firewall_profiles",
        runbook: "windows.enable_firewall_profiles",
        params: {},
        order_id: null,
        started_at: started,
        finished_at: null,
        outcome: "in_progress",
        deferred_until: null,
        detail: null,
        controls: [],
        pre_state: {},
        post_state: {},
        rollback_available: false,
        escalation: null,
      },
      null,
    );
    assert.equal((await h.engine.recoverInterrupted()).interrupted, ["att_interrupted0001"]);
    assert.equal((await h.engine.recoverInterrupted()).interrupted, []);
    const bundles = await evidence(h);
    assert.equal(bundles.map((b) => b.bundle.outcome), ["failed"]);
    assert.ok((await log.verifyLocal()).ok);
  });
});

test("with the real order processor: approve_runbook unlocks exactly that fix, run_runbook runs through the gates", async () => {
  const sshdBad = { sshd: { installed: true, password_authentication: "yes", kbd_interactive_authentication: "yes" }, smb: { v1_enabled: true } };
  const setOption: StepEffect = (f, p) => {
    const key = p.option === "PasswordAuthentication" ? "password_authentication" : "kbd_interactive_authentication";
    f.sshd = { ...f.sshd, [key]: p.value as string };
    return { ok: true, detail: "set" };
  };
  const disable: StepEffect = (f) => ((f.smb = { v1_enabled: false }), { ok: true, detail: "SMB1 off" });
  await withRealLog(
    async (h, log, identity) => {
      const targets = new Map([LIN, WIN].map((t) => [t.id, t]));
      const handlers = healOrderHandlers({ engine: h.engine, approvals: h.approvals, target: (id) => targets.get(id) ?? null });
      const processor = new OrderProcessor({ evidence: log, identity, clock: h.clock, handlers });
      const random = counterRandom();
      const signed = (type: string, params: Record<string, Json>) =>
        signOrder(buildOrder({ type, params, target_appliance_id: identity.appliance_id, site_id: identity.site_id!, issued_by: "usr_0123456789ab" }, { now: h.clock.now(), random }), relay);

      assert.equal((await h.engine.handleScan(h.host.scan(LIN, ["linux.sshd_password_auth"]))).healing.map((x) => x.outcome), ["pending_approval"]);
      const approved = await processor.process(await signed("approve_runbook", { runbook: "linux.sshd_disable_password_auth", host_id: LIN.id, valid_for_s: 3600 }));
      assert.equal([approved.status, approved.outcome], ["executed", "success"]);
      h.clock.advance(60_000);
      assert.equal((await h.engine.handleScan(h.host.scan(LIN, ["linux.sshd_password_auth"]))).healing.map((x) => x.outcome), ["success"]);

      const deferred = await processor.process(await signed("run_runbook", { runbook: "windows.disable_smb1", host_id: WIN.id }));
      assert.equal([deferred.status, deferred.outcome], ["executed", "deferred"], "no window: disruptive order deferred");
      const ran = await processor.process(await signed("run_runbook", { runbook: "windows.disable_smb1", host_id: WIN.id, ignore_window: true }));
      assert.equal([ran.status, ran.outcome], ["executed", "success"]);
      const unknown = await processor.process(await signed("run_runbook", { runbook: "windows.disable_smb1", host_id: "host_nowhere01" }));
      assert.equal([unknown.status, unknown.outcome], ["executed", "rejected"]);

      const kinds = (await evidence(h)).map((b) => `${b.kind}:${b.bundle.outcome}`);
      assert.equal(kinds, [
        "remediation:pending_approval",
        "order:success",
        "remediation:success",
        "remediation:deferred",
        "order:deferred",
        "remediation:success",
        "order:success",
        "order:rejected",
      ]);
      assert.ok((await log.verifyLocal()).ok);
    },
    { facts: sshdBad, effects: { "sshd.set_option": setOption, "powershell.script:smb.disable_v1": disable } },
  );
});

test("with the real lab (LabWorld + lab StepRunner + scanHost): drift is healed, encryption alerts, a failing step rolls back", async () => {
  const site = loadLabSite(fileURLToPath(new URL("../../fixtures/lab/riverside-family-clinic", import.meta.url)));
  const clock = new FakeClock();
  const world = await LabWorld.open({ site, clock });
  const gather = createLabGatherer(world);
  const scanOpts = { gather, catalogue, clock, timeoutMs: 5_000 };
  const recheck: Recheck = async (target, checkId) => {
    const r = (await scanHost(target, scanOpts)).results.find((x) => x.check === checkId);
    if (!r) throw new Error(`${checkId} was not evaluated on ${target.id}`);
    return r;
  };
  const target = (id: string) => world.targets().find((t) => t.id === id)!;
  await withRealLog(
    async (h, log) => {
      clock.t = world.startedAt + 26 * 3_600_000 + 60_000; // past the firewall GPO drift, SMB1, guest account and BitLocker drifts
      const ws02 = await h.engine.handleScan(await scanHost(target("rfc-ws02"), scanOpts));
      assert.equal(ws02.healing.map((x) => [x.check, x.outcome]), [["windows.firewall_profiles", "success"]]);
      const ws04 = await h.engine.handleScan(await scanHost(target("rfc-ws04"), scanOpts));
      assert.equal(ws04.healing.map((x) => [x.check, x.outcome]).sort(), [["windows.bitlocker", "alert"], ["windows.guest_account", "success"]]);
      const fs01 = await h.engine.handleScan(await scanHost(target("rfc-fs01"), scanOpts));
      assert.equal(fs01.healing.map((x) => [x.check, x.outcome]), [["windows.smb1_disabled", "failed"]], "the lab's SMB step fails (access denied)");
      const smb = (await evidence(h)).map((b) => b.bundle).find((b) => b.check === "windows.smb1_disabled")!;
      const steps = smb.post_state.steps as { id: string; phase: string; ok: boolean; detail: string }[];
      assert.equal(steps.map((s) => `${s.phase}:${s.id}:${s.ok}`), ["step:snapshot:true", "step:disable:false", "rollback:restore:true"]);
      assert.match(steps[1]!.detail, /Access is denied \(simulated\)/);
      assert.is(smb.post_state.simulated, true, "lab evidence says simulated");
      clock.advance(15 * 60_000);
      assert.equal((await h.engine.handleScan(await scanHost(target("rfc-ws02"), scanOpts))).resolved, ["windows.firewall_profiles"]);
      assert.ok((await log.verifyLocal()).ok);
    },
    { clock, runner: createLabStepRunner(world), recheck, site: { allow_disruptive_outside_window: true } },
  );
});

test.run();
