import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SOFTWARE_VERSION } from "../../node/version.ts";
import { issueOrder } from "../../relay/orders/issue.ts";
import { siteDetail } from "../../relay/sites/site-detail.ts";
import { Appliance, CLOCK_OFFSET_FRESH_MS, type ApplianceDeps } from "../daemon/appliance.ts";
import { WaitingAppliance } from "../daemon/waiting.ts";
import { KEY_FILES } from "../store/index.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog, relayCount, unacked, type LoopbackRelay } from "./_testing.ts";

async function withDaemon(fn: (lr: LoopbackRelay, app: Appliance, log: ReturnType<typeof recordingLog>) => Promise<void>, deps: Pick<ApplianceDeps, "systemLink"> = {}): Promise<void> {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-daemon-sync-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const log = recordingLog();
  const app = await Appliance.open(config, { clock: lr.relay.clock, random, log, fetch: fetchProbe().fetch, ...deps });
  try {
    await fn(lr, app, log);
  } finally {
    await app.stop();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function eventually(cond: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.unreachable(`timed out after ${ms} ms waiting for ${what}`);
}

test("Appliance.open with relay.url: start() runs cycles and the sync loop delivers them to the relay; stop() ends both", async () => {
  await withDaemon(async (lr, app) => {
    assert.ok(app.sync, "an enrolled appliance with relay.url syncs");
    app.start();
    const id = app.status().appliance_id;
    await eventually(async () => (await app.evidence.head()).seq > 0, "the first cycle");
    await eventually(async () => (await relayCount(lr, "evidence", id)) === (await app.evidence.head()).seq && (await unacked(app.store)) === 0, "the cycle's evidence at the relay");
    await eventually(async () => app.status().sync?.last_sync_at !== null, "a completed round");
    const status = app.status().sync!;
    assert.is(status.clock_offset_ms, 0);
    assert.is(status.halted, null);
  });
});

test("the relay's site view names the hosts as the clinic's config does and shows the appliance's software version (heartbeat + managed-host list)", async () => {
  await withDaemon(async (lr, app) => {
    await app.runCycle({ all: true });
    await app.sync!.client.sync();
    const detail = await siteDetail(lr.relay.db, lr.relay.siteId, lr.relay.deps, { days: 30 });
    const names = new Map(app.status().targets.map((t) => [t.id, t.name]));
    assert.ok(detail.devices.length > 0);
    for (const d of detail.devices) assert.is(d.hostname, names.get(d.host_id), `hostname of ${d.host_id}`);
    assert.ok(detail.devices.some((d) => d.hostname !== d.host_id), "the lab's names differ from its ids, so this tells them apart");
    const appliance = detail.appliances.find((x) => x.id === app.status().appliance_id)!;
    assert.is(appliance.version, SOFTWARE_VERSION);

    assert.is(appliance.ntp_offset_ms, null, "the first heartbeat came before the first pull");

    const sentSince = async (outboxSeq: number) =>
      (await lr.relay.db.execute({ sql: "SELECT type FROM outbox_receipts WHERE appliance_id = ? AND outbox_seq > ? ORDER BY outbox_seq", args: [app.status().appliance_id, outboxSeq] })).rows
        .map((r) => String(r["type"]))
        .filter((t) => t === "heartbeat" || t === "inventory");
    /** How far the relay has stored this appliance's outbox (its cursor). */
    const cursor = async () =>
      Number((await lr.relay.db.execute({ sql: "SELECT acked_outbox_seq FROM chain_state WHERE appliance_id = ?", args: [app.status().appliance_id] })).rows[0]?.["acked_outbox_seq"] ?? 0);
    let before = await cursor();
    await app.runCycle({ all: true });
    await app.sync!.client.sync();
    assert.equal(await sentSince(before), ["heartbeat"], "the offset measured at the pull is reported at once");
    const again = await siteDetail(lr.relay.db, lr.relay.siteId, lr.relay.deps, { days: 30 });
    assert.is(again.appliances.find((x) => x.id === app.status().appliance_id)!.ntp_offset_ms, 0);

    before = await cursor();
    await app.runCycle({ all: true });
    await app.sync!.client.sync();
    assert.equal(await sentSince(before), [], "a later cycle minutes on sends neither again");
  });
});

test("bundles carry the NixOS system they were made on, and the clock offset measured at the last pull while it is fresh", async () => {
  const sys = await mkdtemp(join(tmpdir(), "osiris-system-"));
  const hash = "0c7xk5d3gl6qrsqh5wi9yyvmbbndxk2a";
  const target = join(sys, "nix", "store", `${hash}-nixos-system-osiriscare-24.11.20241231.edf04b7`);
  await mkdir(target, { recursive: true });
  await writeFile(join(target, "nixos-version"), "24.11.20241231.edf04b7\n");
  await symlink(target, join(sys, "current-system"));
  try {
    await withDaemon(
      async (lr, app) => {
        const lastBundle = async () => JSON.parse(String((await app.store.execute("SELECT line FROM evidence ORDER BY seq DESC LIMIT 1")).rows[0]!["line"])) as Record<string, unknown>;
        await app.runCycle({ all: true });
        const first = await lastBundle();
        assert.is(first["nixos_revision"], "24.11.20241231.edf04b7");
        assert.is(first["derivation_digest"], hash);
        assert.is(first["ntp_offset_ms"], null, "no offset measured before the first pull");

        await app.sync!.client.sync();
        const pulledAt = lr.relay.clock.t;
        assert.is(app.status().sync?.clock_offset_ms, 0, "the test shares one clock; the offset is measured as 0");
        await app.runCycle({ all: true });
        assert.is((await lastBundle())["ntp_offset_ms"], 0, "measured at the pull just before");

        lr.relay.clock.t = pulledAt + CLOCK_OFFSET_FRESH_MS + 60_000;
        await app.runCycle({ all: true });
        assert.is((await lastBundle())["ntp_offset_ms"], null, "an offset from a pull long ago is not stamped");
      },
      { systemLink: join(sys, "current-system") },
    );
  } finally {
    await rm(sys, { recursive: true, force: true });
  }
});

test("bundles carry the deployment mode and reseller the relay sets for the site, from the next write on (no restart)", async () => {
  await withDaemon(async (lr, app) => {
    const lastBundle = async () => JSON.parse(String((await app.store.execute("SELECT line FROM evidence ORDER BY seq DESC LIMIT 1")).rows[0]!["line"])) as Record<string, unknown>;
    await app.runCycle({ all: true });
    assert.equal([(await lastBundle())["deployment_mode"], (await lastBundle())["reseller_id"]], ["direct", null]);
    await lr.relay.db.execute({ sql: "UPDATE sites SET deployment_mode = 'reseller', reseller_id = 'rsl_bayside01' WHERE id = ?", args: [lr.relay.siteId] });
    await app.sync!.client.sync();
    await app.runCycle({ all: true });
    assert.equal([(await lastBundle())["deployment_mode"], (await lastBundle())["reseller_id"]], ["reseller", "rsl_bayside01"]);
  });
});

test("the healing engine decides with the relay's site configuration once pulled (the YAML's before)", async () => {
  await withDaemon(async (lr, app) => {
    assert.is(app.site().healing_mode, "observe", "the YAML default");
    await lr.relay.db.execute({ sql: "UPDATE sites SET healing_mode = 'enforce', l2_enabled = 1 WHERE id = ?", args: [lr.relay.siteId] });
    await app.sync!.client.sync();
    assert.is(app.site().healing_mode, "enforce");
    assert.ok(app.site().l2_enabled);
    assert.is(app.site().allow_disruptive_outside_window, false, "a local safety switch stays the YAML's");
  });
});

test("a pulled force_scan order for one host runs a cycle through the daemon, and its result reaches the relay", async () => {
  await withDaemon(async (lr, app) => {
    await app.runCycle({ all: true });
    const host = app.status().targets[0]!.id;
    const issued = await issueOrder(lr.relay.db, { appliance_id: app.status().appliance_id, type: "force_scan", params: { host_id: host }, issued_by: "user_tech0001" }, lr.relay.deps);
    const before = (await app.evidence.head()).seq;
    const r = await app.sync!.client.sync();
    assert.equal(r.pull.orders.map((o) => o.status), ["executed"]);
    assert.equal(app.status().last_cycle?.scanned.map((s) => s.host_id), [host], "only the named host was due");
    assert.ok((await app.evidence.head()).seq > before);
    const row = await lr.relay.db.execute({ sql: "SELECT status FROM orders WHERE id = ?", args: [issued.order_id] });
    assert.is(row.rows[0]?.["status"], "done");
  });
});

test("with relay.url, an appliance not enrolled yet waits for its enrollment (daemon/waiting.ts); one that lost its token file refuses to start", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-daemon-sync-"));
  try {
    const config = labConfig(dir, lr.url);
    const deps = { clock: lr.relay.clock, random, log: recordingLog() };
    const waiting = await WaitingAppliance.open(config, deps);
    assert.ok(waiting, "not enrolled: the daemon waits instead of refusing to start");
    assert.is(waiting.enrollment(), "unclaimed");
    await enrollConfig(lr, config);
    assert.is(await waiting.checkEnrollment(), "enrolled", "the enrollment another process made is picked up");
    await waiting.enrolled;
    await waiting.stop();
    await unlink(join(config.state_dir, KEY_FILES.relayToken));
    try {
      await Appliance.open(config, deps);
      assert.unreachable("no token");
    } catch (e) {
      assert.is((e as { code?: string }).code, "token_missing");
      assert.match((e as Error).message, /relay token file .* is missing/);
    }
  } finally {
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
