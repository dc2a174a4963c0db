import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSite } from "../tenants/tenants.ts";
import { count, enrolledAppliance, random } from "../_testing.ts";
import { septemberRelay } from "./_month-fixture.ts";
import { findPacket, type PacketDeps } from "./packets.ts";
import { runPacketSchedule, startPacketScheduler, takeLease } from "./scheduler.ts";

const { relay } = await septemberRelay();
const deps: PacketDeps = { db: relay.db, clock: relay.clock, random, log: relay.log, relayKey: relay.relayKey };
const at = (iso: string) => (relay.clock.t = Date.parse(iso));

// A second site whose only appliance pushed once on 09-30 20:00 and then went silent (offline at midnight).
at("2026-09-30T20:00:00Z");
const quiet = (await createSite(relay.db, { org_id: relay.orgId, name: "Quiet Branch" }, { clock: relay.clock, random })).id;
const d = await enrolledAppliance(relay, undefined, quiet);
const res = await d.push(d.entries(await d.makeBundles(1, { kind: "system", outcome: "success" })), await d.checkpoint());
assert.is(res.status, 200);

test("after the month closes, a pass generates packets for sites whose appliances caught up, and defers the others", async () => {
  at("2026-10-01T00:30:00Z");
  const r = await runPacketSchedule(deps);
  assert.ok(r.leased);
  assert.equal(r.generated.map((g) => [g.site_id, g.month, g.framework]), [[relay.siteId, "2026-08", "hipaa"], [relay.siteId, "2026-09", "hipaa"]]);
  assert.equal(r.deferred, [{ site_id: quiet, month: "2026-09" }]);
  assert.equal(r.failed, []);
  assert.is((await findPacket(relay.db, relay.siteId, "2026-09", "hipaa"))?.generated_by, "scheduler");
});

test("a later pass generates nothing twice, and keeps waiting for the silent appliance within the grace period", async () => {
  at("2026-10-02T12:00:00Z");
  const r = await runPacketSchedule(deps);
  assert.equal(r.generated, []);
  assert.equal(r.deferred, [{ site_id: quiet, month: "2026-09" }]);
  assert.is(await count(relay.db, "packets"), 2);
});

test("after the grace period the waiting site's packet is generated anyway and shows the gap", async () => {
  at("2026-10-04T00:00:01Z");
  const r = await runPacketSchedule(deps);
  assert.equal(r.generated.map((g) => [g.site_id, g.month]), [[quiet, "2026-09"]]);
  const p = await findPacket(relay.db, quiet, "2026-09", "hipaa");
  assert.equal([p?.summary.bundles, p?.summary.overall], [1, null]);
});

test("a pass does nothing while another process holds the lease", async () => {
  assert.ok(await takeLease(relay.db, "lease_someoneelse", relay.clock.now()));
  const r = await runPacketSchedule(deps, { frameworks: ["glba"] });
  assert.equal([r.leased, r.generated.length], [false, 0]);
  relay.clock.t += 16 * 60_000; // the other holder's lease has expired
  assert.ok((await runPacketSchedule(deps, { frameworks: ["glba"] })).leased);
});

test("startPacketScheduler() catches up at once on start, and stop() waits for the pass", async () => {
  const s = startPacketScheduler(deps, { frameworks: ["soc2"], intervalMs: 3_600_000 });
  await new Promise((r) => setTimeout(r, 50));
  await s.stop();
  for (const [site, month] of [[relay.siteId, "2026-08"], [relay.siteId, "2026-09"], [quiet, "2026-09"]] as const) {
    assert.ok(await findPacket(relay.db, site, month, "soc2"), `${site} ${month}`);
  }
  assert.throws(() => startPacketScheduler(deps, { intervalMs: 10 }), (e: unknown) => e instanceof RangeError);
});

test.after(() => relay.close());
test.run();
