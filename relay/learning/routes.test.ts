import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { asUser, count, enrolledAppliance, errorOf, random, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { runLearningCycle } from "./cycle.ts";
import { candidateId, groupKey } from "./mining.ts";
import { pushAttempts } from "./_testing.ts";

const H = 3_600_000;
const ID_OF = (relay: TestRelay) => candidateId(relay.mspId, groupKey("windows.defender_realtime", "windows", "windows.enable_defender_realtime", {}));

/** Two named sites with 5 L2 successes between them, and one learning cycle run. */
async function withCandidate(fn: (relay: TestRelay, id: string, site2: string) => Promise<void>, failingReplay = false): Promise<void> {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const org2 = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Lakeside" }, env);
    const site2 = await createSite(relay.db, { org_id: org2.id, name: "Lakeside main" }, env);
    const a1 = await enrolledAppliance(relay);
    const a2 = await enrolledAppliance(relay, undefined, site2.id);
    const t0 = relay.clock.now();
    await pushAttempts(a1, [{ at: t0 - 50 * H }, { at: t0 - 26 * H }, { at: t0 - 2 * H }]);
    await pushAttempts(a2, [{ at: t0 - 25 * H }, { at: t0 - H }]);
    // Older failures of the same fix (outside the 7-day window, inside the 30-day replay) make the replay fail.
    if (failingReplay) {
      const a3 = await enrolledAppliance(relay);
      await pushAttempts(a3, Array.from({ length: 5 }, () => ({ outcome: "failed" as const, at: t0 - 10 * 24 * H })));
    }
    await runLearningCycle({ db: relay.db, clock: relay.clock, relayKey: relay.relayKey, log: relay.log });
    await fn(relay, ID_OF(relay), site2.id);
  } finally {
    await relay.close();
  }
}

const get = async (relay: TestRelay, path: string, user: Awaited<ReturnType<typeof asUser>>) => relay.app.request(path, userInit(user));
const post = async (relay: TestRelay, path: string, user: Awaited<ReturnType<typeof asUser>>, body?: unknown) => relay.app.request(path, userInit(user, "POST", body));

test("GET /api/learning/thresholds shows MSP staff the effective thresholds with a sentence each; clients may not look", async () => {
  const relay = await testRelay();
  try {
    const res = await get(relay, "/api/learning/thresholds", await asUser(relay, "msp_tech"));
    assert.is(res.status, 200);
    const body = (await res.json()) as { thresholds: Record<string, number>; auto_promote: boolean; descriptions: { name: string; text: string }[] };
    assert.equal([body.thresholds["min_occurrences"], body.thresholds["min_sites"], body.auto_promote], [5, 2, false]);
    assert.match(body.descriptions.find((d) => d.name === "min_success_pct")!.text, "at least 90 %");
    assert.is((await get(relay, "/api/learning/thresholds", await asUser(relay, "client_owner"))).status, 403);
    assert.is((await get(relay, "/api/learning/thresholds", await asUser(relay, "partner_admin"))).status, 403);
  } finally {
    await relay.close();
  }
});

test("PUT /api/learning/thresholds: MSP admins change overrides (audited); techs may not; a bad value changes nothing", async () => {
  const relay = await testRelay();
  try {
    const admin = await asUser(relay, "msp_admin");
    const ok = await relay.app.request("/api/learning/thresholds", userInit(admin, "PUT", { thresholds: { min_sites: 3 }, auto_promote: true }));
    assert.is(ok.status, 200, await ok.clone().text());
    assert.equal(((await ok.json()) as { overrides: unknown }).overrides, { min_sites: 3 });
    assert.is(await count(relay.db, "audit_log", "action = 'learning.thresholds.update'"), 1);
    assert.is((await relay.app.request("/api/learning/thresholds", userInit(await asUser(relay, "msp_tech"), "PUT", { auto_promote: false }))).status, 403);
    const bad = await relay.app.request("/api/learning/thresholds", userInit(admin, "PUT", { thresholds: { min_success_pct: 0 } }));
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, "min_success_pct");
    const now = (await (await get(relay, "/api/learning/thresholds", admin)).json()) as { thresholds: Record<string, number>; auto_promote: boolean };
    assert.equal([now.thresholds["min_sites"], now.thresholds["min_success_pct"], now.auto_promote], [3, 90, true]);
  } finally {
    await relay.close();
  }
});

test("GET /api/learning/candidates lists the candidate with occurrences, success rate and named sites; another MSP sees nothing", async () => {
  await withCandidate(async (relay, id) => {
    const res = await get(relay, "/api/learning/candidates", await asUser(relay, "msp_tech"));
    assert.is(res.status, 200);
    const { candidates } = (await res.json()) as { candidates: { id: string; state: string; occurrences: number; l2_resolutions: number; success_pct: number; sites: { name: string }[]; replay: { pass: boolean } }[] };
    assert.is(candidates.length, 1);
    const c = candidates[0]!;
    assert.equal([c.id, c.state, c.occurrences, c.l2_resolutions, c.success_pct, c.replay.pass], [id, "shadow", 5, 5, 100, true]);
    assert.equal(c.sites.map((s) => s.name).sort(), ["Lakeside main", "Main Street"]);
    const filtered = (await (await get(relay, "/api/learning/candidates?state=active", await asUser(relay, "msp_tech"))).json()) as { candidates: unknown[] };
    assert.is(filtered.candidates.length, 0);
    assert.is((await get(relay, "/api/learning/candidates?state=bogus", await asUser(relay, "msp_tech"))).status, 400);

    const env = { clock: relay.clock, random };
    const other = await createMsp(relay.db, { name: "Other MSP" }, env);
    const outsider = await asUser(relay, "msp_admin", { msp_id: other.id });
    assert.equal(((await (await get(relay, "/api/learning/candidates", outsider)).json()) as { candidates: unknown[] }).candidates, []);
    assert.is((await get(relay, `/api/learning/candidates/${id}`, outsider)).status, 404);
    assert.is((await post(relay, `/api/learning/candidates/${id}/approve`, outsider)).status, 404);
  });
});

test("GET /api/learning/candidates/:id gives the ledger, the rule and a 30-day daily success series", async () => {
  await withCandidate(async (relay, id) => {
    const res = await get(relay, `/api/learning/candidates/${id}`, await asUser(relay, "msp_admin"));
    assert.is(res.status, 200);
    const d = (await res.json()) as { rule: { id: string; priority: number; source: string }; ledger: { to: string }[]; daily: { day: string; runs: number; successes: number }[] };
    assert.equal([d.rule.id, d.rule.priority, d.rule.source], [id, 5, "promoted"]);
    assert.equal(d.ledger.map((l) => l.to), ["proposed", "shadow"]);
    assert.is(d.daily.length, 30);
    assert.is(d.daily.at(-1)!.day, isoTime(relay.clock.now()).slice(0, 10));
    assert.equal(d.daily.slice(-3).map((p) => [p.runs, p.successes]), [[1, 1], [2, 2], [2, 2]], "25–26 h ago, 26–50… by UTC day");
    assert.is(d.daily.reduce((s, p) => s + p.runs, 0), 5);
  });
});

test("POST approve puts the rule live in a new signed rule set (audited); approving twice or rejecting a live rule is refused; retire takes it out", async () => {
  await withCandidate(async (relay, id) => {
    const tech = await asUser(relay, "msp_tech");
    const res = await post(relay, `/api/learning/candidates/${id}/approve`, tech, { reason: "fixes Defender on both clinics" });
    assert.is(res.status, 200, await res.clone().text());
    const r = (await res.json()) as { state: string; ruleset_version: number; published: boolean };
    assert.equal([r.state, r.published], ["active", true]);
    assert.is(await count(relay.db, "rulesets", "msp_id = ?", [relay.mspId]), 1);

    const twice = await post(relay, `/api/learning/candidates/${id}/approve`, tech);
    assert.is(twice.status, 409);
    assert.match((await errorOf(twice)).message, "from active to approved");
    const reject = await post(relay, `/api/learning/candidates/${id}/reject`, tech, { reason: "no" });
    assert.is(reject.status, 409);
    assert.match((await errorOf(reject)).message, "retire it instead");
    assert.is((await post(relay, `/api/learning/candidates/${id}/retire`, tech, {})).status, 400, "a retirement needs a reason");

    const retired = await post(relay, `/api/learning/candidates/${id}/retire`, tech, { reason: "replaced by a GPO fix" });
    assert.is(retired.status, 200);
    const rr = (await retired.json()) as { state: string; ruleset_version: number; published: boolean };
    assert.equal([rr.state, rr.published], ["retired", true]);
    assert.ok(rr.ruleset_version > r.ruleset_version);
    const audit = await relay.db.execute("SELECT action, actor_id FROM audit_log WHERE action LIKE 'learning.candidate.%' ORDER BY seq");
    assert.equal(audit.rows.map((x) => [x["action"], x["actor_id"]]), [["learning.candidate.approve", tech.id], ["learning.candidate.retire", tech.id]]);
    assert.is((await post(relay, `/api/learning/candidates/${id}/approve`, await asUser(relay, "client_owner"))).status, 403);
  });
});

test("POST approve is refused while the shadow replay has not passed, saying why; reject retires the candidate", async () => {
  await withCandidate(async (relay, id) => {
    const tech = await asUser(relay, "msp_tech");
    const res = await post(relay, `/api/learning/candidates/${id}/approve`, tech);
    assert.is(res.status, 409);
    assert.match((await errorOf(res)).message, /shadow replay did not pass: agreed 5 of 10 judged times \(50 %\), needs 90 %/);
    assert.is(await count(relay.db, "rulesets"), 0);
    const rej = await post(relay, `/api/learning/candidates/${id}/reject`, tech, { reason: "fails too often" });
    assert.is(rej.status, 200);
    assert.equal(((await rej.json()) as { state: string }).state, "retired");
  }, true);
});

test.run();
