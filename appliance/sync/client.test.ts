import { test } from "uvu";
import * as assert from "uvu/assert";
import { verifyCosignature } from "../../protocol/checkpoint.ts";
import { verifyChain } from "../../protocol/chain.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { RULESET_SCHEMA } from "../../protocol/ruleset.ts";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { isoTime } from "../../protocol/ids.ts";
import { revokeAppliance } from "../../relay/enroll/enroll.ts";
import { issueOrder } from "../../relay/orders/issue.ts";
import { receiptedPositions } from "../../relay/ingest/receipts.ts";
import { publishRuleset } from "../../relay/orders/rulesets.ts";
import { BACKOFF_CAP_MS, PERMANENT_FLOOR_FRACTION } from "./backoff.ts";
import { SyncError } from "./errors.ts";
import { SyncLoop } from "./loop.ts";
import { formatLocalStatus, readLocalStatus } from "../provision/index.ts";
import { join } from "node:path";
import { cycleDrafts, labConfig, loopbackRelay, random, relayCount, syncFixture, unacked, type LoopbackRelay, type SyncFixture } from "./_testing.ts";

async function withSync(fn: (lr: LoopbackRelay, a: SyncFixture) => Promise<void>, opts: Parameters<typeof syncFixture>[1] = {}): Promise<void> {
  const lr = await loopbackRelay();
  const a = await syncFixture(lr, opts);
  try {
    await fn(lr, a);
  } finally {
    await a.close();
    await lr.close();
  }
}

/** Three cycles of three hosts, a minute apart, each followed by a checkpoint (as the daemon does). */
async function cycles(a: SyncFixture, lr: LoopbackRelay, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) {
    await a.evidence.append(cycleDrafts(lr.relay.clock.now()));
    await a.evidence.checkpoint();
    lr.relay.clock.t += 60_000;
  }
}

async function relayLines(lr: LoopbackRelay, applianceId: string): Promise<string[]> {
  const rs = await lr.relay.db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? ORDER BY seq", args: [applianceId] });
  return rs.rows.map((r) => String(r["line"]));
}

async function alerts(a: SyncFixture, alert: string): Promise<number> {
  const rs = await a.store.execute("SELECT line FROM evidence WHERE kind = 'system'");
  return rs.rows.filter((r) => (JSON.parse(String(r.line)) as { post_state: { alert?: string } }).post_state.alert === alert).length;
}

test("sync() pushes cycles to the relay: outbox and evidence acknowledged, countersigned checkpoint stored and verified, both chains verify", async () => {
  await withSync(async (lr, a) => {
    await cycles(a, lr);
    const report = await a.client.sync();
    const id = a.identity.appliance_id!;
    assert.is(report.push.entries, 9);
    assert.is(report.push.verified_seq, 9);
    assert.is(report.push.countersigned, 9);
    assert.is(await relayCount(lr, "evidence", id), 9);
    assert.is(await unacked(a.store), 0);
    const acked = await a.store.execute("SELECT COUNT(*) AS n FROM evidence WHERE acked = 1");
    assert.is(Number(acked.rows[0]?.n), 9);

    const cp = await a.evidence.latestCheckpoint();
    assert.ok(cp?.countersigned_note, "the countersigned checkpoint is stored");
    const key = a.identity.pinnedRelayKeys[0]!;
    await verifyCosignature(cp!.countersigned_note!, key.name, fromHex(key.public_key));

    const keys = new Map([[id, { publicKey: a.identity.evidenceSigner.publicKey, siteId: a.identity.site_id! }]]);
    const relaySide = await verifyChain(await relayLines(lr, id), keys, { fromGenesis: true });
    assert.ok(relaySide.ok, "the relay's copy verifies");
    assert.ok((await a.evidence.verifyLocal()).ok, "the local log verifies");
    const chain = await lr.relay.db.execute({ sql: "SELECT verified_seq, acked_outbox_seq FROM chain_state WHERE appliance_id = ?", args: [id] });
    assert.is(Number(chain.rows[0]?.["verified_seq"]), 9);

    await cycles(a, lr, 1);
    const again = await a.client.sync();
    assert.is(again.push.entries, 3, "only the new cycle goes up");
    assert.is(await relayCount(lr, "evidence", id), 12);
  });
});

test("a push whose answer is lost is sent again and stored once", async () => {
  await withSync(async (lr, a) => {
    await cycles(a, lr, 2);
    let dropped = 0;
    a.probe.intercept = async (path, _init, send) => {
      if (path !== "/api/sync/push" || dropped > 0) return undefined;
      dropped++;
      await send(); // the relay stores the batch ...
      throw new TypeError("fetch failed: socket hang up"); // ... but the answer never arrives
    };
    try {
      await a.client.sync();
      assert.unreachable("the lost answer fails the round");
    } catch (e) {
      assert.instance(e, SyncError);
      assert.is((e as SyncError).code, "unreachable");
    }
    const id = a.identity.appliance_id!;
    assert.is(await relayCount(lr, "evidence", id), 6, "the relay stored the batch");
    assert.is(await unacked(a.store), 6, "the appliance does not know yet");
    const r = await a.client.sync();
    assert.is(r.push.acked_outbox_seq, 6);
    assert.is(await relayCount(lr, "evidence", id), 6, "stored once");
    assert.is((await receiptedPositions(lr.relay.db, id)).length, 6);
    assert.is(await unacked(a.store), 0);
    assert.is(await relayCount(lr, "integrity_incidents", id), 0, "a retry is not an incident");
  });
});

test("409 outbox_gap: the push resends from the relay's cursor", async () => {
  await withSync(async (lr, a) => {
    await cycles(a, lr, 2);
    // The appliance believes the first three entries were acknowledged (e.g. the relay was restored from a backup).
    await a.evidence.acknowledge({ outboxSeq: 3, evidenceSeq: 0 });
    const r = await a.client.push();
    assert.is(r.acked_outbox_seq, 6);
    const pushes = a.probe.calls.filter((c) => c.path === "/api/sync/push").map((c) => c.status);
    assert.equal(pushes, [409, 200]);
    assert.is(await relayCount(lr, "evidence", a.identity.appliance_id!), 6);
    assert.ok(a.log.find("sync_outbox_gap").length === 1);
  });
});

test("an integrity refusal stops pushing and raises one alert bundle; later rounds do not push or alert again", async () => {
  await withSync(async (lr, a) => {
    await cycles(a, lr, 1);
    await a.client.sync();
    await cycles(a, lr, 1);
    // Corrupt an unsent bundle in the outbox: the relay must refuse it (bad signature) and record an incident.
    await a.store.execute("UPDATE outbox SET body = replace(body, '\"outcome\":\"pass\"', '\"outcome\":\"fail\"') WHERE outbox_seq = 5");
    const first = await a.client.sync();
    assert.ok(first.push.halted);
    assert.is(first.push.acked_outbox_seq, 4, "what came before the bad entry is acknowledged");
    assert.is(await alerts(a, "sync_halted"), 1);
    const halted = a.client.status().halted;
    assert.is(halted?.code, "bad_signature");
    assert.match(String(halted?.incident_id), /^inc_/);
    assert.is(await relayCount(lr, "integrity_incidents", a.identity.appliance_id!), 1);

    const pushesBefore = a.probe.calls.filter((c) => c.path === "/api/sync/push").length;
    const second = await a.client.sync();
    assert.ok(second.push.halted);
    assert.is(a.probe.calls.filter((c) => c.path === "/api/sync/push").length, pushesBefore, "no push while halted");
    assert.ok(a.probe.calls.at(-1)?.path === "/api/sync/pull", "pulls go on (orders, config)");
    assert.is(await alerts(a, "sync_halted"), 1, "alerted once");
    assert.is(await relayCount(lr, "integrity_incidents", a.identity.appliance_id!), 1, "the incident is not counted again");
  });
});

test("a pulled order executes once; handed out again before its result arrived, it is refused as a replay", async () => {
  await withSync(async (lr, a) => {
    const issued = await issueOrder(lr.relay.db, { appliance_id: a.identity.appliance_id!, type: "force_scan", params: {}, issued_by: "user_tech0001" }, lr.relay.deps);
    const first = await a.client.pull();
    assert.equal(first.orders.map((o) => o.status), ["executed"]);
    assert.equal(a.executed, ["force_scan"]);
    const second = await a.client.pull(); // the result has not been pushed yet: the relay hands the order out again
    assert.equal(second.orders.map((o) => (o.status === "refused" ? o.reason : o.status)), ["replayed"]);
    assert.equal(a.executed, ["force_scan"], "executed once");
    await a.client.push();
    const row = await lr.relay.db.execute({ sql: "SELECT status, result FROM orders WHERE id = ?", args: [issued.order_id] });
    assert.is(row.rows[0]?.["status"], "done");
    assert.match(String(row.rows[0]?.["result"]), /"outcome":"success"/);
    assert.is((await a.client.pull()).orders.length, 0, "a completed order is not handed out again");
  });
});

test("sync() pushes an order's result in the same round it was pulled", async () => {
  await withSync(async (lr, a) => {
    await issueOrder(lr.relay.db, { appliance_id: a.identity.appliance_id!, type: "force_scan", params: {}, issued_by: "t" }, lr.relay.deps);
    const r = await a.client.sync();
    assert.ok(r.followUp, "a follow-up push");
    assert.ok(r.followUp!.entries >= 2, "the order bundle and its order_result");
    assert.is(await unacked(a.store), 0);
  });
});

test("a newer signed rule set is installed and used: it selects rules and stamps ruleset_hash on new evidence", async () => {
  await withSync(async (lr, a) => {
    const base = catalogue.builtinRules().find((r) => r.id === "builtin.appliance.disk_space")!;
    const promoted = { ...base, id: "promoted.disk_space", priority: 500, source: "promoted" as const };
    const published = await publishRuleset(lr.relay.db, { schema: RULESET_SCHEMA, version: 7, issued_at: isoTime(lr.relay.clock.now()), rules: [promoted] }, lr.relay.relayKey);
    const r = await a.client.pull();
    assert.is(r.ruleset_installed, 7);
    assert.is(a.rules.version, 7);
    assert.is(a.rules.select({ check: "appliance.disk_space", platform: "appliance", facts: {} })?.id, "promoted.disk_space");
    await a.evidence.append(cycleDrafts(lr.relay.clock.now(), 1));
    const line = (await a.store.execute("SELECT line FROM evidence ORDER BY seq DESC LIMIT 1")).rows[0]?.line;
    assert.is((JSON.parse(String(line)) as { ruleset_hash: string }).ruleset_hash, published.ruleset_hash);
    assert.is((await a.client.pull()).ruleset_installed, null, "not sent again once in force");
  });
});

test("site configuration from the relay is applied and kept for the engine", async () => {
  await withSync(async (lr, a) => {
    await lr.relay.db.execute({
      sql: "UPDATE sites SET healing_mode = 'enforce', l2_enabled = 1, maintenance_windows = ? WHERE id = ?",
      args: [JSON.stringify([{ rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2", duration: "PT3H", tz: "America/Chicago" }]), lr.relay.siteId],
    });
    const r = await a.client.pull();
    assert.is(r.site_config, "changed");
    assert.is(a.siteConfig.current?.healing_mode, "enforce");
    assert.is(a.siteConfig.current?.maintenance_windows.length, 1);
    assert.is((await a.client.pull()).site_config, "unchanged");
  });
});

test("the clock offset against the relay raises one alert per episode and is reported", async () => {
  const skew = { ms: 10_000 };
  await withSync(
    async (_lr, a) => {
      await a.client.sync();
      assert.is(a.client.status().clock_offset_ms, 10_000);
      assert.ok(a.client.status().clock_alert);
      await a.client.sync();
      assert.is(await alerts(a, "clock_offset"), 1, "one alert for the episode");
      skew.ms = 0;
      await a.client.sync();
      assert.not.ok(a.client.status().clock_alert, "the episode ended");
      skew.ms = -8_000;
      await a.client.sync();
      assert.is(await alerts(a, "clock_offset"), 2, "a new episode alerts again");
      const line = (await a.store.execute("SELECT line FROM evidence WHERE kind = 'system' ORDER BY seq DESC LIMIT 1")).rows[0]?.line;
      assert.is((JSON.parse(String(line)) as { ntp_offset_ms: number }).ntp_offset_ms, -8_000);
    },
    { skew },
  );
});

test("an appliance clock beyond the relay's ±120 s window still syncs (timestamp corrected) and alerts", async () => {
  const skew = { ms: 10 * 60_000 };
  await withSync(
    async (lr, a) => {
      await cycles(a, lr, 1);
      await a.client.sync();
      assert.is(a.probe.calls.filter((c) => c.status === 401).length, 1, "one refusal, then the corrected request");
      assert.is(await alerts(a, "clock_offset"), 1);
      assert.is(await unacked(a.store), 0, "the cycle and the alert reached the relay");
      assert.is(await relayCount(lr, "evidence", a.identity.appliance_id!), 4);
      assert.is(a.client.status().clock_offset_ms, skew.ms);
    },
    { skew },
  );
});

test("a revoked appliance: the relay's 401 reason is logged and the loop backs off near the cap", async () => {
  await withSync(async (lr, a) => {
    await revokeAppliance(lr.relay.deps, a.identity.appliance_id!, "stolen");
    const rounds: { ok: boolean; delayMs: number }[] = [];
    const loop = new SyncLoop({
      client: a.client,
      store: a.store,
      intervalMs: 60_000,
      clock: a.clock,
      random,
      log: a.log,
      sleep: (_ms, signal) => new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true })),
      onRound: (r) => void rounds.push(r),
    });
    loop.start();
    for (let i = 0; i < 500 && rounds.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await loop.stop();
    const failed = a.log.find("sync_failed")[0];
    assert.ok(failed, "the failure is logged");
    assert.is(failed!.fields["relay_code"], "appliance_revoked");
    assert.match(String(failed!.fields["error"]), /appliance revoked/);
    assert.is(rounds.length, 1);
    assert.not.ok(rounds[0]!.ok);
    assert.ok(rounds[0]!.delayMs >= BACKOFF_CAP_MS * PERMANENT_FLOOR_FRACTION, `backs off: ${rounds[0]!.delayMs} ms`);
    assert.is(a.client.status().last_error?.relay_code, "appliance_revoked");
    // A technician at the console, with the daemon stopped, reads the same from the appliance's files.
    const local = await readLocalStatus(labConfig(a.dir, lr.url, `database: ${join(a.dir, "appliance.db")}\n`));
    assert.ok(local.revoked);
    assert.match(formatLocalStatus(local), /^Enrollment: +revoked \(the relay refuses this appliance: your IT provider disconnected it\)$/m);
  });
});

test.run();
