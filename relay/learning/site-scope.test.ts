/**
 * Site-scoped rules end to end on a real relay served on loopback: a fix proven at one site alone becomes a
 * rule only that site's appliances receive; a fix proven at two sites still reaches both; another MSP never
 * sees either. Appliances pull over HTTP and verify each set the way an appliance does (relay keys from the
 * pull, version above the one in force). Every number below is worked out by hand from the pushed attempts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromHex } from "../../protocol/encoding.ts";
import { verifyRuleset } from "../../protocol/ruleset.ts";
import { parsePullResponse } from "../../protocol/sync.ts";
import { loopbackRelay, type LoopbackRelay } from "../../appliance/sync/_testing.ts";
import { asUser, enrolledAppliance, overHttp, random, userInit, type TestAppliance, type TestUser } from "../_testing.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { runLearningCycle } from "./cycle.ts";
import { candidateId, candidateKey, groupKey } from "./mining.ts";
import { ledger } from "./transitions.ts";
import { pushAttempts } from "./_testing.ts";

const H = 3_600_000;
const DEFENDER = { check: "windows.defender_realtime", runbook: "windows.enable_defender_realtime" };
const UPDATE = { check: "windows.update_service", runbook: "windows.restart_windows_update", facts: { "wu.service_start_mode": null } };
const DEFENDER_KEY = groupKey(DEFENDER.check, "windows", DEFENDER.runbook, {});
const UPDATE_KEY = groupKey(UPDATE.check, "windows", UPDATE.runbook, {});

/** What an appliance that runs `version` gets from a pull: the newer verified set's version and rule ids, or null. */
async function pulled(a: TestAppliance, version: number | null): Promise<{ version: number; ids: string[] } | null> {
  const res = await a.request("GET", `/api/sync/pull${version === null ? "" : `?ruleset_version=${version}`}`);
  assert.is(res.status, 200, await res.clone().text());
  const p = parsePullResponse(await res.json());
  if (!p.ruleset) return null;
  const v = await verifyRuleset(p.ruleset, { relayKeys: p.relay_keys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) })), currentVersion: version });
  return { version: v.payload.version, ids: v.payload.rules.map((r) => r.id) };
}

async function decide(lr: LoopbackRelay, user: TestUser, id: string, verb: "approve" | "retire", reason: string): Promise<{ candidate_id: string; state: string; ruleset_version: number | null; published: boolean }> {
  const res = await fetch(`${lr.url}/api/learning/candidates/${id}/${verb}`, userInit(user, "POST", { reason }));
  assert.is(res.status, 200, await res.clone().text());
  return (await res.json()) as { candidate_id: string; state: string; ruleset_version: number | null; published: boolean };
}

/** The test MSP's Main Street site and a second one, Lakeside, each with an appliance talking over HTTP. */
async function twoSites(lr: LoopbackRelay): Promise<{ lakeside: { id: string }; main: TestAppliance; lake: TestAppliance }> {
  const env = { clock: lr.relay.clock, random };
  const org2 = await createOrganisation(lr.relay.db, { msp_id: lr.relay.mspId, name: "Lakeside Pediatrics" }, env);
  const lakeside = await createSite(lr.relay.db, { org_id: org2.id, name: "Lakeside main" }, env);
  const http = overHttp(lr.url);
  return { lakeside, main: await enrolledAppliance(lr.relay, http), lake: await enrolledAppliance(lr.relay, http, lakeside.id) };
}

test("a fix proven at one site becomes a rule only that site receives; a fix proven at two reaches both; another MSP sees neither", async () => {
  const lr = await loopbackRelay();
  const relay = lr.relay;
  try {
    const { lakeside, main, lake } = await twoSites(lr);
    const env = { clock: relay.clock, random };
    const otherMsp = await createMsp(relay.db, { name: "Other MSP" }, env);
    const otherOrg = await createOrganisation(relay.db, { msp_id: otherMsp.id, name: "Other clinic" }, env);
    const otherSite = await createSite(relay.db, { org_id: otherOrg.id, name: "Other site" }, env);
    const stranger = await enrolledAppliance(relay, overHttp(lr.url), otherSite.id);

    // Defender: 5 L2 successes at Lakeside only → 5 runs, 5 L2, 100 %, 1 site: not fleet-wide (needs 2), but
    // Lakeside's own runs meet every other threshold. Update service: 3 at Main Street + 2 at Lakeside → 5
    // runs, 5 L2, 100 %, 2 sites: fleet-wide. The other MSP: 5 Defender successes at its one site.
    const t0 = relay.clock.now();
    const hours = [30, 24, 18, 12, 6];
    await pushAttempts(lake, hours.map((h) => ({ ...DEFENDER, at: t0 - h * H })));
    await pushAttempts(main, hours.slice(0, 3).map((h) => ({ ...UPDATE, at: t0 - h * H })));
    await pushAttempts(lake, [5, 4].map((h) => ({ ...UPDATE, at: t0 - h * H })));
    await pushAttempts(stranger, hours.map((h) => ({ ...DEFENDER, at: t0 - h * H })));

    const SITE = candidateId(relay.mspId, candidateKey(DEFENDER_KEY, lakeside.id));
    const FLEET = candidateId(relay.mspId, UPDATE_KEY);
    const OTHER = candidateId(otherMsp.id, candidateKey(DEFENDER_KEY, otherSite.id));
    assert.is.not(SITE, candidateId(relay.mspId, DEFENDER_KEY), "a site-scoped candidate has its own id");

    const report = await runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    const mine = report.msps.find((m) => m.msp_id === relay.mspId)!;
    assert.equal([...mine.proposed].sort(), [FLEET, SITE].sort());
    assert.equal([...mine.shadowed].sort(), [FLEET, SITE].sort());
    assert.equal(report.msps.find((m) => m.msp_id === otherMsp.id)!.proposed, [OTHER]);

    // The dashboard names the scope; the site-scoped candidate's numbers are Lakeside's.
    const tech = await asUser(relay, "msp_tech");
    const list = await fetch(`${lr.url}/api/learning/candidates`, userInit(tech));
    assert.is(list.status, 200, await list.clone().text());
    const { candidates } = (await list.json()) as { candidates: { id: string; scope_site: { id: string; name: string } | null; occurrences: number; sites: { name: string }[]; replay: { agree: number; pass: boolean } }[] };
    const site = candidates.find((c) => c.id === SITE)!;
    const fleet = candidates.find((c) => c.id === FLEET)!;
    assert.equal([site.scope_site, site.occurrences, site.sites.map((s) => s.name), site.replay.agree, site.replay.pass], [{ id: lakeside.id, name: "Lakeside main" }, 5, ["Lakeside main"], 5, true]);
    assert.equal([fleet.scope_site, fleet.occurrences, fleet.sites.length, fleet.replay.agree, fleet.replay.pass], [null, 5, 2, 5, true]);
    assert.is(candidates.length, 2, "the other MSP's candidate is not listed");

    // Approve the site-scoped one: only Lakeside's set carries it (version 1); the MSP set stays empty (none).
    const approvedSite = await decide(lr, tech, SITE, "approve", "Lakeside's Defender keeps switching off");
    assert.equal(approvedSite, { candidate_id: SITE, state: "active", ruleset_version: 1, published: true });
    assert.is(await pulled(main, null), null, "Main Street gets nothing scoped to Lakeside");
    assert.equal(await pulled(lake, null), { version: 1, ids: [SITE] });
    assert.is(await pulled(stranger, null), null);
    assert.equal((await ledger(relay.db, SITE))[3]!.proof["scope_site_id"], lakeside.id);

    // Approve the fleet-wide one: the MSP set (2) has it; Lakeside's next set (3) has both.
    const approvedFleet = await decide(lr, tech, FLEET, "approve", "proven at both clinics");
    assert.equal([approvedFleet.ruleset_version, approvedFleet.published], [2, true]);
    assert.equal(await pulled(main, null), { version: 2, ids: [FLEET] });
    assert.equal(await pulled(lake, 1), { version: 3, ids: [FLEET, SITE].sort() });
    assert.is(await pulled(lake, 3), null, "nothing newer for Lakeside");
    assert.is(await pulled(stranger, null), null, "another MSP never sees either rule");

    // The other MSP approves its own site-scoped rule (version 4): it reaches only its site.
    const otherTech = await asUser(relay, "msp_tech", { msp_id: otherMsp.id, email: "tech@other.example" });
    assert.is((await decide(lr, otherTech, OTHER, "approve", "ours")).ruleset_version, 4);
    assert.equal(await pulled(stranger, null), { version: 4, ids: [OTHER] });
    assert.is(await pulled(main, 2), null);
    assert.is(await pulled(lake, 3), null);

    // Executions come back to the right rule: 2 L1 runs of the site rule at Lakeside, 1 of the fleet rule at Main Street.
    relay.clock.t += H;
    await pushAttempts(lake, [{ ...DEFENDER, tier: "L1", rule_id: SITE }, { ...DEFENDER, tier: "L1", rule_id: SITE, outcome: "failed" }]);
    await pushAttempts(main, [{ ...UPDATE, tier: "L1", rule_id: FLEET }]);
    const counters = async (id: string) => {
      const res = await fetch(`${lr.url}/api/learning/candidates/${id}`, userInit(tech));
      assert.is(res.status, 200, await res.clone().text());
      const d = (await res.json()) as { scope_site: unknown; executions: { executions: number; successes: number; failures: number; sites: number } };
      return [d.executions.executions, d.executions.successes, d.executions.failures, d.executions.sites];
    };
    assert.equal(await counters(SITE), [2, 1, 1, 1]);
    assert.equal(await counters(FLEET), [1, 1, 0, 1]);

    // Retiring the site rule gives Lakeside a set without it (5); Main Street has nothing new.
    const retired = await decide(lr, tech, SITE, "retire", "fixed the root cause at Lakeside");
    assert.equal([retired.state, retired.ruleset_version, retired.published], ["retired", 5, true]);
    assert.equal(await pulled(lake, 3), { version: 5, ids: [FLEET] });
    assert.is(await pulled(main, 2), null);
  } finally {
    await lr.close();
  }
});

test("a fix proven at one site is not proposed for that site when it already has a fleet-wide candidate", async () => {
  const lr = await loopbackRelay();
  const relay = lr.relay;
  try {
    const { main, lake } = await twoSites(lr);
    const learn = () => runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    // Week 1: 3 + 2 successes at two sites → the fleet-wide candidate.
    const t0 = relay.clock.now();
    await pushAttempts(main, [30, 24, 18].map((h) => ({ ...DEFENDER, at: t0 - h * H })));
    await pushAttempts(lake, [12, 6].map((h) => ({ ...DEFENDER, at: t0 - h * H })));
    assert.equal((await learn()).msps[0]!.proposed, [candidateId(relay.mspId, DEFENDER_KEY)]);
    // Ten days later only Lakeside's 5 new runs are in the window: they would prove it for Lakeside alone, but
    // the fix already has its fleet-wide candidate, so nothing new is proposed.
    relay.clock.t += 10 * 24 * H;
    const t1 = relay.clock.now();
    await pushAttempts(lake, [30, 24, 18, 12, 6].map((h) => ({ ...DEFENDER, at: t1 - h * H })));
    assert.equal((await learn()).msps[0]!.proposed, []);
  } finally {
    await lr.close();
  }
});

test("a fleet-wide rule for a fix supersedes that fix's site-scoped rule: the site rule is retired by the loop, with the reason in its ledger", async () => {
  const lr = await loopbackRelay();
  const relay = lr.relay;
  try {
    const { lakeside, main, lake } = await twoSites(lr);
    const learn = () => runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    const tech = await asUser(relay, "msp_tech");
    const SITE = candidateId(relay.mspId, candidateKey(DEFENDER_KEY, lakeside.id));
    const FLEET = candidateId(relay.mspId, DEFENDER_KEY);
    // 5 L2 successes at Lakeside alone → a rule for Lakeside only, approved: Lakeside's set 1.
    const t0 = relay.clock.now();
    await pushAttempts(lake, [30, 24, 18, 12, 6].map((h) => ({ ...DEFENDER, at: t0 - h * H })));
    assert.equal((await learn()).msps[0]!.proposed, [SITE]);
    assert.equal(await decide(lr, tech, SITE, "approve", "Lakeside's Defender keeps switching off"), { candidate_id: SITE, state: "active", ruleset_version: 1, published: true });
    assert.equal(await pulled(lake, null), { version: 1, ids: [SITE] });
    // Then 3 more at Main Street → 8 runs at 2 sites in the window: the fix is proven fleet-wide.
    await pushAttempts(main, [5, 4, 3].map((h) => ({ ...DEFENDER, at: t0 - h * H })));
    assert.equal((await learn()).msps[0]!.proposed, [FLEET]);

    // Approving the fleet rule retires Lakeside's own rule for the same fix: Lakeside runs one rule for it.
    const approved = await decide(lr, tech, FLEET, "approve", "proven at both clinics");
    assert.equal([approved.state, approved.ruleset_version], ["active", 2]);
    assert.equal(await pulled(main, null), { version: 2, ids: [FLEET] });
    assert.equal(await pulled(lake, 1), { version: 2, ids: [FLEET] }, "Lakeside gets the fleet set: no rule of its own any more");
    const last = (await ledger(relay.db, SITE)).at(-1)!;
    assert.equal([last.from, last.to, last.actor_kind], ["active", "retired", "system"]);
    assert.match(last.reason, `superseded by the fleet-wide rule ${FLEET}`);
    assert.is(last.proof["superseded_by"], FLEET);
    const res = await fetch(`${lr.url}/api/learning/candidates/${SITE}`, userInit(tech));
    assert.is(((await res.json()) as { state: string }).state, "retired", "the dashboard shows it retired");
    // The next cycle changes nothing more.
    const again = (await learn()).msps[0]!;
    assert.equal([again.proposed, again.superseded, again.published], [[], [], false]);
  } finally {
    await lr.close();
  }
});

test.run();
