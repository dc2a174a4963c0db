/**
 * The whole learning loop with real parts: the relay (Hono app, libSQL file) served over HTTP on loopback,
 * and two real appliance daemons (appliance/daemon Appliance: store, evidence log, healing engine, rule
 * book, sync client over the real transport, lab collector) at two sites of one MSP, each watching a
 * simulated lab clinic written for this test from the fixtures (fixtures/facts, fixtures/lab/effects.json).
 *
 *   lab incidents at both sites, healed at L2 (the relay's planner gateway)  → candidate (shadow, replay)
 *   → approval by an MSP technician over HTTP → signed rule set → both appliances install it and heal the
 *   next incident at L1 with the rule → the relay counts those executions
 *   → the runbook starts failing in the lab (lab `failures`, after an appliance restart) → canary disables
 *   the rule → the next rule set no longer contains it, and the appliances drop it.
 *
 * The only stand-in is the LLM behind the relay's L2 gateway (relay/l2/_llm-standin.ts: a loopback
 * chat-completions server with scripted answers), because a hosted model cannot run here. Time is a test
 * clock shared by relay and appliances (12 hours per round, so cooldowns and flap windows behave as in the
 * field) and a separate lab clock; cycles and syncs are driven explicitly so every step is deterministic.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type Config } from "../../appliance/config/index.ts";
import { Appliance } from "../../appliance/daemon/appliance.ts";
import { loadOrCreateIdentity } from "../../appliance/identity/index.ts";
import { ensurePrivateDir, openStore } from "../../appliance/store/index.ts";
import { createRelayFetch, enrollWithClaimCode, RelayHttp } from "../../appliance/sync/index.ts";
import { loopbackRelay, recordingLog, type LoopbackRelay } from "../../appliance/sync/_testing.ts";
import { asUser, count, random, userInit } from "../_testing.ts";
import { createOrganisation, createSite } from "../tenants/tenants.ts";
import { startChatStandin, type Standin } from "../l2/_llm-standin.ts";
import { runLearningCycle } from "./cycle.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const H = 3_600_000;
const CHECK = "windows.defender_realtime";
const RUNBOOK = "windows.enable_defender_realtime";

/** A simulated clinic of two Windows workstations whose Defender mode becomes unreadable and real-time protection goes off every 12 lab hours. */
function labSite(id: string, name: string, failing: boolean): unknown {
  const hosts = ["ws-01", "ws-02"];
  return {
    schema: "osiris.lab-site/v1",
    simulated: true,
    site: { id, name, timezone: "UTC" },
    hosts: hosts.map((h) => ({ id: h, name: h.toUpperCase(), platform: "windows", role: "workstation", base: join(ROOT, "fixtures/facts/windows-pass.json") })),
    drift: hosts.map((h) => ({ id: `defender-off-${h}`, host: h, every: "PT12H", start: "PT1H", set: { "defender.running_mode": null, "defender.realtime_enabled": false }, note: "Defender mode unreadable, real-time protection off" })),
    effects: join(ROOT, "fixtures/lab/effects.json"),
    failures: failing ? hosts.map((h) => ({ host: h, action: "powershell.script", params: { script: "defender.enable_realtime" }, mode: "error", detail: "simulated: tamper protection blocks the change" })) : [],
  };
}

interface Clinic {
  site_id: string;
  labDir: string;
  config: Config;
  app: Appliance;
}

interface World {
  lr: LoopbackRelay;
  llm: Standin;
  dir: string;
  lab: { t: number; now(): number };
  clinics: Clinic[];
}

async function writeLab(c: { labDir: string }, id: string, name: string, failing: boolean): Promise<void> {
  await mkdir(c.labDir, { recursive: true });
  await writeFile(join(c.labDir, "site.json"), JSON.stringify(labSite(id, name, failing), null, 1));
}

async function openAppliance(w: Pick<World, "lr" | "lab">, config: Config): Promise<Appliance> {
  return Appliance.open(config, { clock: w.lr.relay.clock, random, log: recordingLog(), labClock: w.lab });
}

async function setUp(): Promise<World> {
  const llm = await startChatStandin((req) => {
    // The stand-in model picks Defender's runbook when it is offered, and declines anything else.
    const offered = req.raw.includes(RUNBOOK);
    return { content: JSON.stringify(offered ? { runbook_id: RUNBOOK, params: {}, confidence: 0.93, reasoning: "Real-time protection is off; turn it back on." } : { runbook_id: null, params: {}, confidence: 0, reasoning: "no safe fix" }) };
  });
  const lr = await loopbackRelay();
  const relay = lr.relay;
  relay.deps.l2 = { endpoints: { "*": { url: llm.url, model: "standin", timeout_ms: 5_000, json_mode: true, max_tokens: 800 } }, fetch, readSecret: async () => "" };
  const env = { clock: relay.clock, random };
  const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Lakeside Pediatrics" }, env);
  const site2 = await createSite(relay.db, { org_id: org2.id, name: "Lakeside main" }, env);
  await relay.db.execute({ sql: "UPDATE sites SET healing_mode = 'enforce', l2_enabled = 1 WHERE id IN (?, ?)", args: [relay.siteId, site2.id] });
  const dir = await mkdtemp(join(tmpdir(), "osiris-learning-e2e-"));
  const lab = { t: relay.clock.now(), now() { return this.t; } };
  const clinics: Clinic[] = [];
  for (const [i, siteId] of [relay.siteId, site2.id].entries()) {
    const base = join(dir, `clinic${i + 1}`);
    const labDir = join(base, "lab");
    await writeLab({ labDir }, `site_learnlab${i + 1}`, `Learning lab ${i + 1} (simulated)`, false);
    const yaml = `state_dir: ${join(base, "state")}\nrelay:\n  url: ${lr.url}\n  sync_interval_s: 10\nlab:\n  site_dir: ${labDir}\n`;
    const config = parseConfig(yaml, join(base, "appliance.yaml"), { baseDir: base });
    // What `osiris appliance enroll --code` does, with a claim code for this clinic's site.
    await ensurePrivateDir(config.state_dir);
    const store = await openStore(config.database, { log: { info: () => undefined } });
    try {
      const identity = await loadOrCreateIdentity(config.state_dir, store, { random, clock: relay.clock });
      const http = new RelayHttp({ url: lr.url, fetch: createRelayFetch(), clock: relay.clock, random });
      await enrollWithClaimCode({ relay: http, identity, store, stateDir: config.state_dir, clock: relay.clock }, await relay.claimCode(siteId));
    } finally {
      store.close();
    }
    clinics.push({ site_id: siteId, labDir, config, app: await openAppliance({ lr, lab }, config) });
  }
  return { lr, llm, dir, lab, clinics };
}

async function tearDown(w: World): Promise<void> {
  for (const c of w.clinics) await c.app.stop().catch(() => undefined);
  await w.lr.close();
  await w.llm.close();
  await rm(w.dir, { recursive: true, force: true });
}

/** Both appliances push and pull; nothing stays unsent. */
async function syncAll(w: World): Promise<void> {
  for (const c of w.clinics) {
    const r = await c.app.sync!.client.sync();
    assert.is(c.app.sync!.client.status().halted, null, `sync of ${c.site_id} halted: ${JSON.stringify(r).slice(0, 300)}`);
  }
}

/** 12 hours pass (relay, appliances and lab); the drift fires once more on every host; both appliances scan and heal. */
async function round(w: World, labStart: number, k: number): Promise<{ tier: string | null; outcome: string; rule: string | null }[]> {
  w.lr.relay.clock.t += 12 * H;
  w.lab.t = labStart + H + (k - 1) * 12 * H + 60_000;
  const heals: { tier: string | null; outcome: string; rule: string | null }[] = [];
  for (const c of w.clinics) {
    const report = await c.app.runCycle({ all: true });
    for (const h of report.healing.filter((x) => x.check === CHECK)) {
      // The rule that chose the runbook, as the appliance recorded it (and pushed with the attempt).
      const rs = await c.app.store.execute({ sql: "SELECT rule_id FROM healing_attempts WHERE json_extract(detail, '$.attempt_id') = ?", args: [h.attempt_id] });
      heals.push({ tier: h.tier, outcome: h.outcome, rule: (rs.rows[0]?.["rule_id"] as string | null | undefined) ?? null });
    }
  }
  await syncAll(w);
  return heals;
}

const learn = (w: World) => runLearningCycle({ db: w.lr.relay.db, clock: w.lr.relay.clock, relayKey: w.lr.relay.relayKey, log: w.lr.relay.log });
const llmCallsFor = (w: World) => w.llm.requests.filter((r) => r.raw.includes(RUNBOOK)).length;

async function candidateOverHttp(w: World, id: string) {
  const user = await asUser(w.lr.relay, "msp_tech");
  const res = await fetch(`${w.lr.url}/api/learning/candidates/${id}`, userInit(user));
  assert.is(res.status, 200, await res.clone().text());
  return (await res.json()) as { state: string; executions: { executions: number; successes: number; failures: number; sites: number }; ledger: { to: string; actor_kind: string; proof: Record<string, unknown> }[] };
}

test("lab incidents at two sites → candidate → approval → signed rule set → L1 heals at both sites, counted → failures → auto_disabled → dropped", async () => {
  const started = Date.now();
  const w = await setUp();
  try {
    await syncAll(w); // site configuration (enforce, L2 on) reaches the appliances
    for (const c of w.clinics) assert.is(c.app.site().healing_mode, "enforce");
    const labStart = w.lab.t;

    // 1. Two rounds of lab incidents: the built-in rule needs Defender's mode to read "Normal", so L2 finds the fix.
    const early = [...(await round(w, labStart, 1)), ...(await round(w, labStart, 2))];
    assert.equal(early, Array.from({ length: 8 }, () => ({ tier: "L2", outcome: "success", rule: null })), "every incident healed at L2");
    const llmBefore = llmCallsFor(w);
    assert.is(llmBefore, 8);

    // 2. The relay learns: one candidate for (check, platform, runbook, {}), replayed in shadow.
    const learned = await learn(w);
    assert.is(await count(w.lr.relay.db, "healing_attempts"), 8, "every pushed healing attempt reached the learning tables at push time");
    assert.is(learned.imported, 0, "nothing was left for the receipts import to catch up");
    const report = learned.msps[0]!;
    assert.is(report.proposed.length, 1);
    const id = report.proposed[0]!;
    assert.equal(report.shadowed, [id]);
    const shadow = await candidateOverHttp(w, id);
    assert.is(shadow.state, "shadow");
    const replay = shadow.ledger[1]!.proof["replay"] as { agree: number; pass: boolean };
    assert.equal([replay.agree, replay.pass], [8, true], "the rule would have chosen what worked, every time");

    // 3. A technician approves over HTTP: a new signed rule set carries the rule.
    const tech = await asUser(w.lr.relay, "msp_tech");
    const approve = await fetch(`${w.lr.url}/api/learning/candidates/${id}/approve`, userInit(tech, "POST", { reason: "proven at both clinics" }));
    assert.is(approve.status, 200, await approve.clone().text());
    const v1 = ((await approve.json()) as { ruleset_version: number }).ruleset_version;

    // 4. Both appliances pull and install it at once.
    await syncAll(w);
    for (const c of w.clinics) {
      assert.is(c.app.rules.version, v1);
      assert.ok(c.app.rules.rules().some((r) => r.id === id && r.source === "promoted"), "the promoted rule is in force");
    }

    // 5. The next incident is healed at L1 by the rule at both sites, without asking L2.
    const l1 = await round(w, labStart, 3);
    assert.equal(l1, Array.from({ length: 4 }, () => ({ tier: "L1", outcome: "success", rule: id })));
    assert.is(llmCallsFor(w), llmBefore, "no L2 call for an incident a rule now covers");
    await learn(w);
    const counted = await candidateOverHttp(w, id);
    assert.equal([counted.state, counted.executions.executions, counted.executions.successes, counted.executions.sites], ["active", 4, 4, 2], "the relay counted the rule's runs");

    // 6. The fix stops working (tamper protection in the lab); the appliances restart with that lab.
    for (const c of w.clinics) await c.app.stop();
    for (const [i, c] of w.clinics.entries()) {
      await writeLab(c, `site_learnlab${i + 1}`, `Learning lab ${i + 1} (simulated)`, true);
      c.app = await openAppliance(w, c.config);
    }
    const labStart2 = w.lab.t;
    const failing = await round(w, labStart2, 1);
    assert.equal(failing.map((h) => [h.tier, h.outcome, h.rule]), Array.from({ length: 4 }, () => ["L1", "failed", id]));

    // 7. Canary: 4 of the first 8 runs succeeded (50 % < 70 %): disabled, and the next rule set drops it.
    const judged = (await learn(w)).msps[0]!;
    assert.equal(judged.disabled, [id]);
    assert.is(judged.published, true);
    const v2 = judged.ruleset_version!;
    assert.ok(v2 > v1);
    await syncAll(w);
    for (const c of w.clinics) {
      assert.is(c.app.rules.version, v2);
      assert.not.ok(c.app.rules.rules().some((r) => r.id === id), "the disabled rule is gone from the appliance");
    }
    const final = await candidateOverHttp(w, id);
    assert.equal(final.ledger.map((l) => `${l.to}:${l.actor_kind}`), ["proposed:system", "shadow:system", "approved:user", "active:system", "auto_disabled:system"]);
    assert.equal([final.executions.executions, final.executions.successes, final.executions.failures], [8, 4, 4]);

    // 8. With the rule gone, the next incident goes back to L2.
    const after = await round(w, labStart2, 2);
    assert.ok(after.length > 0 && after.every((h) => h.tier === "L2"), JSON.stringify(after));
    const ms = Date.now() - started;
    console.log(`  learning loop e2e: ${ms} ms`);
    assert.ok(ms < 120_000, `took ${ms} ms`);
  } finally {
    await tearDown(w);
  }
});

test.run();
