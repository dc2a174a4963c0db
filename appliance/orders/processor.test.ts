import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner, keyId } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { parseBundleLine, type Bundle } from "../../protocol/evidence.ts";
import { sha256 } from "../../protocol/hash.ts";
import { buildOrder, signOrder, type OrderPayload } from "../../protocol/orders.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { EvidenceLog, NONCE_GRACE_MS, Retention } from "../evidence/index.ts";
import { loadOrCreateIdentity, type ApplianceIdentity } from "../identity/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { INFLIGHT_PREFIX, OrderProcessor, type OrderContext, type OrderHandlers } from "./processor.ts";

const T0 = Date.parse("2026-11-27T22:35:36.123Z");
const SITE = "site_0123456789ab";
const APP = "app_0123456789ab";
const MIN = 60_000;
const relay = createSigner(sha256("orders test relay"));
const pinned = { key_id: keyId(relay.publicKey), public_key: toHex(relay.publicKey), name: "relay" };

function seeded(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 32) out.set(sha256(`${seed}/${counter++}`).subarray(0, Math.min(32, n - i)), i);
    return out;
  };
}

interface Fixture {
  dir: string;
  store: Store;
  identity: ApplianceIdentity;
  evidence: EvidenceLog;
  clock: { now(): number; set(ms: number): void };
  random: (n: number) => Uint8Array;
  calls: { order: OrderPayload; ctx: OrderContext }[];
  processor(opts?: { handlers?: OrderHandlers; maxLifetimeMs?: number; handlerTimeoutMs?: number }): OrderProcessor;
}

async function open(dir: string): Promise<Fixture> {
  let now = T0;
  const clock = { now: () => now, set: (ms: number) => void (now = ms) };
  const store = await openStore(join(dir, "appliance.db"), { log: { info: () => undefined } });
  const identity = await loadOrCreateIdentity(join(dir, "state"), store, { random: seeded("app"), clock });
  if (identity.state !== "enrolled") await identity.enrollStandalone(SITE, { applianceId: APP, relayKeys: [pinned] });
  const evidence = new EvidenceLog({ store, identity: identity.enrolled(), clock });
  const calls: Fixture["calls"] = [];
  const record: OrderHandlers = {
    force_scan: async (order, ctx) => {
      calls.push({ order, ctx });
      return { outcome: "success", detail: "scan queued" };
    },
    approve_runbook: async (order, ctx) => {
      calls.push({ order, ctx });
      return { outcome: "success", detail: "approval stored" };
    },
  };
  return {
    dir,
    store,
    identity,
    evidence,
    clock,
    random: seeded("relay"),
    calls,
    processor: (opts = {}) => new OrderProcessor({ evidence, identity: identity.enrolled(), clock, handlers: opts.handlers ?? record, ...(opts.maxLifetimeMs ? { maxLifetimeMs: opts.maxLifetimeMs } : {}), ...(opts.handlerTimeoutMs ? { handlerTimeoutMs: opts.handlerTimeoutMs } : {}) }),
  };
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-orders-"));
  const f = await open(dir);
  try {
    await fn(f);
  } finally {
    f.store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function order(f: Fixture, over: Partial<{ type: string; params: OrderPayload["params"]; target: string; site: string; at: number; ttlMs: number }> = {}): OrderPayload {
  return buildOrder(
    { type: over.type ?? "force_scan", params: over.params ?? {}, target_appliance_id: over.target ?? APP, site_id: over.site ?? SITE, issued_by: "usr_0123456789ab", ttlMs: over.ttlMs ?? 15 * MIN },
    { now: over.at ?? T0, random: f.random },
  );
}

const sign = (o: OrderPayload, signer = relay): Promise<Envelope> => signOrder(o, signer);

async function bundles(store: Store): Promise<Bundle[]> {
  return (await store.execute("SELECT line FROM evidence ORDER BY seq")).rows.map((r) => parseBundleLine(String(r.line)));
}

async function orderResults(store: Store): Promise<unknown[]> {
  return (await store.execute("SELECT body FROM outbox WHERE type = 'order_result' ORDER BY outbox_seq")).rows.map((r) => JSON.parse(String(r.body)));
}

async function nonces(store: Store): Promise<string[]> {
  return (await store.execute("SELECT nonce FROM order_nonces ORDER BY nonce")).rows.map((r) => String(r.nonce));
}

test("process() executes a verified order once and records its result as evidence and an order_result", async () => {
  await withFixture(async (f) => {
    const o = order(f, { type: "approve_runbook", params: { runbook: "linux.restart_failed_units", host_id: "host_0123456789", runbook_params: { max_units: 3 } } });
    const report = await f.processor().process(await sign(o));
    assert.equal(report, { status: "executed", order_id: o.order_id, outcome: "success", seqs: [1] });
    assert.is(f.calls.length, 1);
    assert.equal(f.calls[0]!.order, o, "the handler gets the verified payload");
    assert.is(f.calls[0]!.ctx.params["valid_for_s"], 86400, "params with catalogue defaults");
    const [b] = await bundles(f.store);
    assert.equal([b!.kind, b!.outcome, b!.order_id, b!.action_taken, b!.host_id], ["order", "success", o.order_id, "approve_runbook", "host_0123456789"]);
    assert.equal(b!.post_state, { detail: "approval stored" });
    assert.equal(await orderResults(f.store), [{ order_id: o.order_id, outcome: "success", detail: "approval stored" }]);
    assert.equal(await nonces(f.store), [o.nonce]);
    assert.is((await f.store.execute(`SELECT COUNT(*) AS n FROM kv WHERE key LIKE '${INFLIGHT_PREFIX}%'`)).rows[0]!.n, 0);
  });
});

test("process() refuses a replayed order without running it again or reporting a second result", async () => {
  await withFixture(async (f) => {
    const env = await sign(order(f));
    const p = f.processor();
    await p.process(env);
    const again = await p.process(env);
    assert.ok(again.status === "refused" && again.reason === "replayed" && again.outcome === "rejected", JSON.stringify(again));
    assert.is(f.calls.length, 1);
    const bs = await bundles(f.store);
    assert.equal(bs.map((b) => [b.outcome, b.post_state["reason"] ?? null]), [["success", null], ["rejected", "replayed"]]);
    assert.is((await orderResults(f.store)).length, 1);
  });
});

test("process() refuses an old order whose nonce retention deleted, even when the clock is set back into its window", async () => {
  await withFixture(async (f) => {
    const old = order(f);
    const env = await sign(old);
    const p = f.processor();
    await p.process(env);
    // Weeks later retention deletes the nonce; then the clock is set back to when the order was valid.
    const pruned = await new Retention({ store: f.store }).prune({ now: T0 + NONCE_GRACE_MS + 60 * MIN });
    assert.is(pruned.nonces, 1);
    assert.equal(await nonces(f.store), []);
    f.clock.set(T0 + MIN);
    const again = await p.process(env);
    assert.ok(again.status === "refused" && again.reason === "nonce_record_pruned" && again.outcome === "rejected", JSON.stringify(again));
    assert.is(f.calls.length, 1, "the old order did not run a second time");
    assert.is((await orderResults(f.store)).length, 1, "and was not reported as a second result");

    // An order that expires after the watermark is unaffected, even at the set-back time.
    const fresh = order(f, { at: T0 + 2 * MIN });
    assert.equal((await p.process(await sign(fresh))).status, "executed");
    assert.is(f.calls.length, 2);
  });
});

test("process() records an expired order as `expired` evidence and does not run it", async () => {
  await withFixture(async (f) => {
    const o = order(f, { at: T0 - 20 * MIN });
    const report = await f.processor().process(await sign(o));
    assert.equal(report, { status: "refused", order_id: o.order_id, outcome: "expired", reason: "expired", seqs: [1] });
    assert.is(f.calls.length, 0);
    const [b] = await bundles(f.store);
    assert.equal([b!.kind, b!.outcome, b!.order_id, b!.action_taken, b!.post_state], ["order", "expired", o.order_id, "force_scan", { reason: "expired" }]);
    assert.equal(await orderResults(f.store), [{ order_id: o.order_id, outcome: "expired", detail: "the order expired before the appliance could run it" }]);
    assert.equal(await nonces(f.store), []);
  });
});

test("process() rejects an order issued too far in the future, for another appliance, or for another site", async () => {
  await withFixture(async (f) => {
    const p = f.processor();
    const cases = [
      [order(f, { at: T0 + 10 * MIN }), "not_yet_valid"],
      [order(f, { target: "app_someoneelse1" }), "wrong_target"],
      [order(f, { site: "site_elsewhere1" }), "wrong_target"],
    ] as const;
    for (const [o, reason] of cases) {
      const r = await p.process(await sign(o));
      assert.ok(r.status === "refused" && r.reason === reason && r.outcome === "rejected" && r.order_id === o.order_id, JSON.stringify(r));
    }
    assert.is(f.calls.length, 0);
    assert.equal((await bundles(f.store)).map((b) => b.post_state["reason"]), ["not_yet_valid", "wrong_target", "wrong_target"]);
  });
});

test("process() rejects a bad signature without trusting anything in the payload", async () => {
  await withFixture(async (f) => {
    const marker = "host_untrustedmarker";
    const env = await sign(order(f, { params: { host_id: marker } }));
    const forged = { ...env, signature: env.signature.replace(/^./, (c) => (c === "0" ? "1" : "0")) };
    const r = await f.processor().process(forged);
    assert.ok(r.status === "refused" && r.reason === "bad_signature" && r.order_id === null, JSON.stringify(r));
    const [b] = await bundles(f.store);
    assert.equal([b!.outcome, b!.order_id, b!.action_taken, b!.post_state], ["rejected", null, null, { reason: "bad_signature", key_id: pinned.key_id }]);
    const everything = (await f.store.execute("SELECT line AS t FROM evidence UNION ALL SELECT body FROM outbox")).rows.map((row) => String(row.t)).join("\n");
    assert.not.ok(everything.includes(marker), "untrusted payload content reached the record");
    assert.equal(await orderResults(f.store), [], "no result for an order the relay may not have sent");
  });
});

test("process() rejects an order signed by a key that is not pinned, naming only the key id", async () => {
  await withFixture(async (f) => {
    const stranger = createSigner(sha256("stranger"));
    const r = await f.processor().process(await sign(order(f), stranger));
    assert.ok(r.status === "refused" && r.reason === "unknown_key" && r.order_id === null, JSON.stringify(r));
    const [b] = await bundles(f.store);
    assert.equal(b!.post_state, { reason: "unknown_key", key_id: keyId(stranger.publicKey) });
  });
});

test("process() rejects a malformed envelope", async () => {
  await withFixture(async (f) => {
    for (const junk of [null, "order", { payload: "!!", key_id: "x", signature: "y" }]) {
      const r = await f.processor().process(junk);
      assert.ok(r.status === "refused" && r.reason === "malformed_envelope", JSON.stringify(r));
    }
    assert.is((await bundles(f.store)).length, 3);
  });
});

test("process() rejects an unknown order type and params that do not match the type's schema", async () => {
  await withFixture(async (f) => {
    const p = f.processor();
    const unknown = order(f, { type: "format_disk" });
    let r = await p.process(await sign(unknown));
    assert.ok(r.status === "refused" && r.reason === "unknown_type" && r.order_id === unknown.order_id, JSON.stringify(r));
    const badParams = order(f, { params: { host_id: "NOT AN ID" } });
    r = await p.process(await sign(badParams));
    assert.ok(r.status === "refused" && r.reason === "invalid_params" && r.order_id === badParams.order_id, JSON.stringify(r));
    assert.is(f.calls.length, 0);
  });
});

test("process() rejects an order type without a handler, and an order valid for longer than allowed, marking their nonces", async () => {
  await withFixture(async (f) => {
    const noHandler = order(f, { type: "rotate_token" });
    let r = await f.processor().process(await sign(noHandler));
    assert.ok(r.status === "refused" && r.reason === "no_handler", JSON.stringify(r));
    const long = order(f, { ttlMs: 60 * MIN });
    r = await f.processor({ maxLifetimeMs: 15 * MIN }).process(await sign(long));
    assert.ok(r.status === "refused" && r.reason === "lifetime_too_long", JSON.stringify(r));
    assert.equal(await nonces(f.store), [noHandler.nonce, long.nonce].sort());
  });
});

test("a handler that throws or runs out of time is recorded as failed", async () => {
  await withFixture(async (f) => {
    let aborted = false;
    const handlers: OrderHandlers = {
      force_scan: async () => {
        throw new Error("collector unavailable");
      },
      approve_runbook: (_o, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            resolve({ outcome: "success", detail: "too late" });
          });
        }),
    };
    const p = f.processor({ handlers, handlerTimeoutMs: 50 });
    const r1 = await p.process(await sign(order(f)));
    assert.ok(r1.status === "executed" && r1.outcome === "failed", JSON.stringify(r1));
    const r2 = await p.process(await sign(order(f, { type: "approve_runbook", params: { runbook: "linux.restart_failed_units", host_id: "host_0123456789", runbook_params: { max_units: 3 } } })));
    assert.ok(r2.status === "executed" && r2.outcome === "failed", JSON.stringify(r2));
    assert.ok(aborted, "the handler's signal was aborted");
    const details = (await bundles(f.store)).map((b) => b.post_state["detail"]);
    assert.equal(details, ["the force_scan handler failed: collector unavailable", "timed out after 50 ms"]);
  });
});

test("an order interrupted by a crash is reported as failed at restart and never re-run", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-orders-"));
  try {
    const a = await open(dir);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const env = await sign(order(a));
    // The handler never finishes: the process "dies" while it runs.
    // (Its timeout fires after the store is closed; that late failure is what a dead process never sees.)
    a.processor({ handlers: { force_scan: () => (started(), new Promise(() => undefined)) }, handlerTimeoutMs: 200 })
      .process(env)
      .catch(() => undefined);
    await running;
    a.store.close();

    const b = await open(dir);
    const p = b.processor();
    const reports = await p.recover();
    assert.is(reports.length, 1);
    assert.ok(reports[0]!.status === "interrupted" && reports[0]!.outcome === "failed", JSON.stringify(reports));
    const [bundle] = await bundles(b.store);
    assert.equal([bundle!.outcome, bundle!.post_state], ["failed", { reason: "interrupted" }]);
    const results = (await orderResults(b.store)) as { outcome: string; detail: string }[];
    assert.is(results.length, 1);
    assert.is(results[0]!.outcome, "failed");
    assert.match(results[0]!.detail, /^interrupted/);
    assert.equal(await p.recover(), [], "reported once");
    const again = await p.process(env);
    assert.ok(again.status === "refused" && again.reason === "replayed", JSON.stringify(again));
    assert.is(b.calls.length, 0);
    assert.ok((await b.evidence.verifyLocal()).ok);
    b.store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("recover() leaves alone an order this process is still running", async () => {
  await withFixture(async (f) => {
    let finish!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const p = f.processor({
      handlers: {
        force_scan: () =>
          new Promise((resolve) => {
            finish = () => resolve({ outcome: "success", detail: "done" });
            started();
          }),
      },
    });
    const pending = p.process(await sign(order(f)));
    await running;
    assert.equal(await p.recover(), []);
    finish();
    const r = await pending;
    assert.ok(r.status === "executed" && r.outcome === "success", JSON.stringify(r));
  });
});

test.run();
