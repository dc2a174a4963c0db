import { test } from "uvu";
import * as assert from "uvu/assert";
import type { CheckStatus } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { dailyHistory, resultsFromBundleLines, scoreSite, type ScoreInput } from "../scores/mod.ts";
import { count, enrolledAppliance, testRelay, T0 } from "../_testing.ts";
import { attempt, incident, prng, pushCycles, pushEntries, type Cycle } from "./_fixtures.ts";
import { refreshSiteDigest, scoreInputs } from "./digest.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHECKS = ["linux.firewall_active", "linux.sshd_root_login", "linux.backup_status", "linux.disk_encryption", "windows.bitlocker", "windows.smb1_disabled"];
const STATUSES: CheckStatus[] = ["pass", "pass", "pass", "fail", "error", "not_applicable"];

async function allLines(db: Awaited<ReturnType<typeof testRelay>>["db"]): Promise<string[]> {
  return (await db.execute("SELECT line FROM evidence ORDER BY appliance_id, seq")).rows.map((r) => String(r["line"]));
}

function roundScores(inputs: ScoreInput[], now: number) {
  const s = scoreSite(inputs, { now: new Date(now) });
  return { overall: s.overall, categories: s.categories, controls: s.controls, latest: s.latest };
}

test("scoring the digest gives exactly the score and daily history of scoring every stored bundle (two appliances, ties, unreachable hosts, 60 days)", async () => {
  for (const seed of [1, 2, 3]) {
    const relay = await testRelay();
    try {
      const rand = prng(seed);
      const a = await enrolledAppliance(relay);
      const b = await enrolledAppliance(relay);
      // Both appliances scan the same hosts, sometimes at the very same instant (ties across appliances).
      const times: number[] = [];
      for (let t = T0 - 60 * DAY; t < T0; t += Math.floor(rand() * 20 * HOUR) + 1000) times.push(t);
      const cycles = (who: number): Cycle[] =>
        times.flatMap((t) => {
          if (rand() < 0.35) return [];
          const host = ["srv-a", "srv-b", "ws-1"][Math.floor(rand() * 3)]!;
          if (rand() < 0.08) return [{ host, at: t, results: [], unreachable: true }];
          const results = CHECKS.filter(() => rand() < 0.6).map((check) => ({ check, status: STATUSES[Math.floor(rand() * STATUSES.length)]!, actual: who }));
          return results.length ? [{ host, at: t, results }] : [];
        });
      await pushCycles(a, cycles(1));
      await pushCycles(b, cycles(2));
      const refreshed = await refreshSiteDigest(relay.db, relay.siteId, relay.deps);
      assert.is(refreshed.behind, false);
      const raw = [...resultsFromBundleLines(await allLines(relay.db))];
      const digest = await scoreInputs(relay.db, relay.siteId, "2000-01-01");
      assert.ok(digest.length < raw.length, `the digest is smaller than the raw results (${digest.length} < ${raw.length})`);
      for (const now of [T0, T0 - 5 * DAY - 7 * HOUR, T0 - 29 * DAY - 13 * HOUR, T0 - 45 * DAY]) {
        assert.equal(roundScores(digest, now), roundScores(raw, now), `seed ${seed}, now ${isoTime(now)}`);
      }
      const range = { from: isoTime(T0 - 40 * DAY).slice(0, 10), to: isoTime(T0).slice(0, 10) };
      assert.equal(dailyHistory(digest, range), dailyHistory(raw, range), `seed ${seed}: daily history`);
    } finally {
      await relay.close();
    }
  }
});

test("refreshSiteDigest() is incremental and idempotent: a second call reads nothing and changes nothing", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await pushCycles(a, [{ host: "srv-a", at: T0 - HOUR, results: [{ check: "linux.firewall_active", status: "fail" }] }]);
    const first = await refreshSiteDigest(relay.db, relay.siteId, relay.deps);
    assert.ok(first.rows >= 2, "read the bundle and its receipt");
    const rows = await count(relay.db, "site_results");
    const again = await refreshSiteDigest(relay.db, relay.siteId, relay.deps);
    assert.is(again.rows, 0);
    assert.is(await count(relay.db, "site_results"), rows);
    await pushCycles(a, [{ host: "srv-a", at: T0 - 10 * 60_000, results: [{ check: "linux.firewall_active", status: "pass" }] }]);
    await refreshSiteDigest(relay.db, relay.siteId, relay.deps);
    const latest = await scoreInputs(relay.db, relay.siteId, "2000-01-01");
    assert.equal(latest.map((r) => r.status), ["pass"], "the day's newer result replaced the older one");
    const cursor = (await relay.db.execute({ sql: "SELECT simulated, last_cycle_at FROM site_digest_cursors WHERE appliance_id = ?", args: [a.id] })).rows[0]!;
    assert.is(Number(cursor["simulated"]), 1, "the lab marker in post_state is remembered");
    assert.is(cursor["last_cycle_at"], isoTime(T0 - 10 * 60_000));
  } finally {
    await relay.close();
  }
});

test("a refresh with a small budget stops early, says it is behind, and the next calls finish the work", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const cycles: Cycle[] = Array.from({ length: 1200 }, (_, i) => ({ host: `h${i % 7}`, at: T0 - (1200 - i) * 60_000, results: [{ check: "linux.firewall_active", status: i % 5 ? "pass" : "fail" }] }));
    await pushCycles(a, cycles);
    const partial = await refreshSiteDigest(relay.db, relay.siteId, relay.deps, 600);
    assert.is(partial.behind, true);
    let rounds = 0;
    while ((await refreshSiteDigest(relay.db, relay.siteId, relay.deps, 600)).behind) rounds++;
    assert.ok(rounds < 10);
    const raw = [...resultsFromBundleLines(await allLines(relay.db))];
    assert.equal(roundScores(await scoreInputs(relay.db, relay.siteId, "2000-01-01"), T0), roundScores(raw, T0));
  } finally {
    await relay.close();
  }
});

test("incidents, healing attempts and pending approvals are taken from the outbox; a repeated request stays one request", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const inc = incident({ check: "linux.unattended_upgrades", host_id: "srv-a", at: T0 - 2 * HOUR });
    await pushEntries(a, [
      { type: "incident", body: inc },
      { type: "healing_attempt", body: attempt({ check: inc.check, host_id: "srv-a", at: T0 - 2 * HOUR, incident_id: inc.incident_id, runbook: "linux.enable_unattended_upgrades", outcome: "pending_approval", detail: "needs a signed approval" }) },
      { type: "healing_attempt", body: attempt({ check: inc.check, host_id: "srv-a", at: T0 - HOUR, incident_id: inc.incident_id, runbook: "linux.enable_unattended_upgrades", outcome: "pending_approval" }) },
      { type: "incident", body: { ...inc, occurrences: 3, updated_at: isoTime(T0 - HOUR) } },
      { type: "incident", body: { ...inc, occurrences: 2, updated_at: isoTime(T0 - 90 * 60_000) } },
    ]);
    await refreshSiteDigest(relay.db, relay.siteId, relay.deps);
    const row = (await relay.db.execute("SELECT occurrences, updated_at FROM site_incidents")).rows;
    assert.equal(row.map((r) => [Number(r["occurrences"]), r["updated_at"]]), [[3, isoTime(T0 - HOUR)]], "an older incident update arriving later does not win");
    const attempts = (await relay.db.execute("SELECT outcome, detail FROM site_attempts ORDER BY finished_at")).rows.map((r) => [r["outcome"], r["detail"]]);
    assert.equal(attempts, [["pending_approval", "needs a signed approval"], ["pending_approval", null]], "the timeline's attempts, detail included");
    const kind = (await relay.db.execute("SELECT type FROM sqlite_master WHERE name = 'site_attempts'")).rows[0]?.["type"];
    assert.is(kind, "view", "one owner: the timeline reads the learning loop's healing_attempts, not a copy");
    const approvals = (await relay.db.execute("SELECT order_type, runbook_id, host_id, params, state FROM approval_requests")).rows;
    assert.is(approvals.length, 1, "asked twice, filed once");
    assert.is(approvals[0]!["order_type"], "approve_runbook");
    assert.equal(JSON.parse(String(approvals[0]!["params"])), { runbook: "linux.enable_unattended_upgrades", host_id: "srv-a", incident_id: inc.incident_id });
  } finally {
    await relay.close();
  }
});

test.run();
