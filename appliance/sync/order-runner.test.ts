/**
 * A long order must not hold up sync (order-runner.ts): against the real relay on loopback, with order
 * handlers that wait for the test to let them finish (a discovery scan or a runbook stands behind them).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { issueOrder } from "../../relay/orders/issue.ts";
import type { OrderHandler } from "../orders/index.ts";
import { cycleDrafts, loopbackRelay, syncFixture, unacked, type LoopbackRelay, type SyncFixture } from "./_testing.ts";

/** A handler that runs until `release()`, recording the orders it started. */
function gatedHandler(detail: string): { handler: OrderHandler; started: string[]; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started: string[] = [];
  return {
    started,
    release,
    handler: async (order) => {
      started.push(order.order_id);
      await gate;
      return { outcome: "success", detail };
    },
  };
}

async function orderRow(lr: LoopbackRelay, orderId: string): Promise<{ status: string; result: string | null }> {
  const row = (await lr.relay.db.execute({ sql: "SELECT status, result FROM orders WHERE id = ?", args: [orderId] })).rows[0]!;
  return { status: String(row["status"]), result: row["result"] === null ? null : String(row["result"]) };
}

async function withRunner(
  handlers: Record<string, OrderHandler>,
  fn: (lr: LoopbackRelay, a: SyncFixture, lateDone: () => Promise<void>) => Promise<void>,
  orderWaitMs = 50,
): Promise<void> {
  const lr = await loopbackRelay();
  let lateCalls = 0;
  let notify: (() => void) | null = null;
  const a = await syncFixture(lr, {
    handlers,
    orderWaitMs,
    afterLateOrder: () => {
      lateCalls++;
      notify?.();
    },
  });
  const lateDone = () => (lateCalls > 0 ? Promise.resolve() : new Promise<void>((r) => (notify = r)));
  try {
    await fn(lr, a, lateDone);
  } finally {
    await a.client.ordersSettled();
    await a.close();
    await lr.close();
  }
}

test("an order still running after the pull's wait goes on in the background: rounds push evidence, no other order starts, and its result is pushed once it finishes", async () => {
  const scan = gatedHandler("scanned 10.0.0.0/24: 3 device(s)");
  const quick: string[] = [];
  await withRunner(
    {
      force_scan: scan.handler,
      set_healing_mode: async (order) => {
        quick.push(order.order_id);
        return { outcome: "success", detail: "mode set" };
      },
    },
    async (lr, a, lateDone) => {
      const id = a.identity.appliance_id!;
      const long = await issueOrder(lr.relay.db, { appliance_id: id, type: "force_scan", params: {}, issued_by: "user_tech0001" }, lr.relay.deps);
      lr.relay.clock.t += 1000;
      const next = await issueOrder(lr.relay.db, { appliance_id: id, type: "set_healing_mode", params: { mode: "observe" }, issued_by: "user_tech0001" }, lr.relay.deps);

      const first = await a.client.sync();
      assert.equal(first.pull.orders, [], "the pull returned without the long order's report");
      assert.equal(scan.started, [long.order_id], "the long order runs");
      assert.equal(quick, [], "the order after it was not started");

      // Checks go on meanwhile; the next round pushes them and starts no order.
      await a.evidence.append(cycleDrafts(lr.relay.clock.now()));
      lr.relay.clock.t += 60_000;
      const second = await a.client.sync();
      assert.is(second.push.entries, 3, "the new cycle's bundles reached the relay while the order ran");
      assert.equal(second.pull.orders, [], "no order started while one runs");
      assert.equal(quick, [], "the next order waits for the running one");
      assert.equal(scan.started, [long.order_id], "the running order is not started again");
      assert.equal(a.log.find("order_refused"), [], "no replay refusal for the running order");
      assert.is((await orderRow(lr, long.order_id)).status, "pending");
      assert.is(a.log.find("order_continues_in_background").length, 1);

      scan.release();
      await lateDone();
      assert.ok((await unacked(a.store)) >= 2, "its bundle and order_result wait in the outbox");
      const third = await a.client.sync();
      const done = await orderRow(lr, long.order_id);
      assert.is(done.status, "done", "the result reached the relay");
      assert.match(done.result!, /scanned 10\.0\.0\.0\/24/);
      assert.equal(third.pull.orders.map((o) => o.order_id), [next.order_id], "the next order runs in the following pull");
      assert.equal(quick, [next.order_id]);
      assert.is((await orderRow(lr, next.order_id)).status, "done", "and its result is pushed in that round");
    },
  );
});

test("a session order (token rotation) is waited for past the wait: no round runs beside it", async () => {
  const rotation = gatedHandler("relay token replaced");
  await withRunner({ rotate_token: rotation.handler }, async (lr, a) => {
    const order = await issueOrder(lr.relay.db, { appliance_id: a.identity.appliance_id!, type: "rotate_token", params: {}, issued_by: "user_tech0001" }, lr.relay.deps);
    setTimeout(rotation.release, 300);
    const r = await a.client.sync();
    assert.equal(r.pull.orders.map((o) => [o.order_id, o.status]), [[order.order_id, "executed"]], "reported by the pull that started it, 300 ms after a 50 ms wait");
    assert.is((await orderRow(lr, order.order_id)).status, "done");
    assert.equal(a.log.find("order_continues_in_background"), []);
  });
});

test("ordersSettled() waits for an order that outlived its pull, and its result is recorded before it resolves", async () => {
  const scan = gatedHandler("scanned");
  await withRunner({ force_scan: scan.handler }, async (lr, a) => {
    await issueOrder(lr.relay.db, { appliance_id: a.identity.appliance_id!, type: "force_scan", params: {}, issued_by: "user_tech0001" }, lr.relay.deps);
    await a.client.pull();
    const before = await unacked(a.store);
    let settled = false;
    const waiting = a.client.ordersSettled().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.not.ok(settled, "still running");
    scan.release();
    await waiting;
    assert.is(await unacked(a.store), before + 2, "the order's bundle and order_result are in the outbox");
  });
});

test("an aborted pull stops waiting for its order at once", async () => {
  const scan = gatedHandler("scanned");
  await withRunner(
    { force_scan: scan.handler },
    async (lr, a) => {
      await issueOrder(lr.relay.db, { appliance_id: a.identity.appliance_id!, type: "force_scan", params: {}, issued_by: "user_tech0001" }, lr.relay.deps);
      const controller = new AbortController();
      const started = Date.now();
      const pulling = a.client.pull(controller.signal);
      while (scan.started.length === 0) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      await pulling;
      assert.ok(Date.now() - started < 10_000, "the pull did not wait out its 60 s");
      scan.release();
    },
    60_000,
  );
});

test.run();
