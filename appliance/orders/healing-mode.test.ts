import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueOrder } from "../../relay/orders/issue.ts";
import { asUser, userInit } from "../../relay/_testing.ts";
import { Appliance } from "../daemon/appliance.ts";
import { readLocalStatus } from "../provision/index.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog } from "../sync/_testing.ts";
import { createClient } from "@libsql/client";
import { pathToFileURL } from "node:url";
import { healingModeInForce, readHealingModeOrder } from "./healing-mode.ts";

test("healingModeInForce: an order holds while the relay's setting is the one it overrode; a changed setting wins", () => {
  const order = { mode: "enforce", order_id: "ord_00000001", set_at: "2026-01-01T00:00:00Z", over: "observe" } as const;
  assert.equal(healingModeInForce("observe", null, null), { mode: "observe", source: "config" });
  assert.equal(healingModeInForce("advise", "advise", null), { mode: "advise", source: "relay" });
  assert.equal(healingModeInForce("observe", "observe", order), { mode: "enforce", source: "order" });
  assert.equal(healingModeInForce("advise", "advise", order), { mode: "advise", source: "relay" });
  assert.equal(healingModeInForce("observe", null, { ...order, over: null }), { mode: "enforce", source: "order" }, "before any relay configuration");
});

test("a verified set_healing_mode order changes the mode at once, is recorded as evidence, survives a restart, and yields to a later site setting", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-mode-order-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const deps = { clock: lr.relay.clock, random, log: recordingLog(), fetch: fetchProbe().fetch };
  let app = await Appliance.open(config, deps);
  try {
    await app.sync!.client.sync();
    assert.is(app.site().healing_mode, "observe");
    const id = app.status().appliance_id;
    const issued = await issueOrder(lr.relay.db, { appliance_id: id, type: "set_healing_mode", params: { mode: "enforce" }, issued_by: "user_tech0001" }, lr.relay.deps);
    const r = await app.sync!.client.sync();
    assert.equal(r.pull.orders.map((o) => [o.status, o.status === "executed" ? o.outcome : null]), [["executed", "success"]]);
    assert.is(app.site().healing_mode, "enforce", "in force at once");

    const bundle = await app.store.execute({ sql: "SELECT line FROM evidence WHERE kind = 'order' AND json_extract(line, '$.order_id') = ?", args: [issued.order_id] });
    const line = JSON.parse(String(bundle.rows[0]?.["line"])) as { outcome: string; post_state: Record<string, unknown> };
    assert.is(line.outcome, "success");
    assert.match(JSON.stringify(line.post_state), /healing mode enforce \(was observe\)/);
    const relayRow = await lr.relay.db.execute({ sql: "SELECT status FROM orders WHERE id = ?", args: [issued.order_id] });
    assert.is(relayRow.rows[0]?.["status"], "done", "the result reached the relay");
    // The next cycle's heartbeat tells the relay, whose site view shows the appliance healing otherwise than its setting.
    await app.runCycle();
    await app.sync!.client.sync();
    const admin = await asUser(lr.relay, "msp_admin");
    const detail = (await (await lr.relay.app.request(`/api/sites/${lr.relay.siteId}`, userInit(admin))).json()) as { settings: { healing_mode: string }; appliances: { id: string; healing_mode: unknown }[] };
    assert.is(detail.settings.healing_mode, "observe");
    assert.equal(detail.appliances.find((a) => a.id === id)!.healing_mode, { mode: "enforce", source: "order" });

    await app.stop();
    app = await Appliance.open(config, deps);
    assert.is(app.site().healing_mode, "enforce", "persisted across a restart");
    const local = await readLocalStatus(config);
    assert.equal([local.healing_mode, local.healing_mode_source], ["enforce", "order"], "osiris appliance status --config shows it");

    await app.sync!.client.sync();
    assert.is(app.site().healing_mode, "enforce", "an unchanged site setting does not undo the order");
    await lr.relay.db.execute({ sql: "UPDATE sites SET healing_mode = 'advise' WHERE id = ?", args: [lr.relay.siteId] });
    await app.sync!.client.sync();
    assert.is(app.site().healing_mode, "advise", "the MSP changed the site's setting afterwards: it wins");
    // Dropping the order is written behind that decision; stopping at once must not lose the write.
    await app.stop();
    const file = createClient({ url: pathToFileURL(config.database).href });
    try {
      assert.is(await readHealingModeOrder(file), null, "the overruled order was deleted before the database closed");
    } finally {
      file.close();
    }
    assert.equal(deps.log.find("healing_mode_order_not_saved"), []);
    app = await Appliance.open(config, deps);
    assert.is(app.site().healing_mode, "advise", "the overruled order stays dropped");
    assert.equal((await readLocalStatus(config)).healing_mode_source, "relay");
  } finally {
    await app.stop();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
