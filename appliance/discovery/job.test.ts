/**
 * The discovery job with the real evidence log (libSQL store, signed bundles) and real TCP listeners on
 * a loopback /29 (per process): a scan ends in one `system` bundle and one `inventory` outbox entry, written together;
 * orders outside the configured subnets are refused without a probe; the nightly schedule follows the site's
 * time zone.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseBundleLine } from "../../protocol/evidence.ts";
import { parseIsoTime } from "../../protocol/ids.ts";
import type { OrderPayload } from "../../protocol/orders.ts";
import { inventoryBodySchema } from "../../protocol/sync.ts";
import type { Log } from "../engine/types.ts";
import { seeded, withLog, type LogFixture } from "../evidence/_testing.ts";
import { DiscoveryError } from "./errors.ts";
import { DiscoveryJob, nextNightly, type DiscoveryJobDeps } from "./job.ts";
import { parseDiscoveryConfig } from "./options.ts";
import { tcpConnectProbe, type ConnectProbe } from "./probe.ts";
import { listen, loopbackNet, type Listeners } from "./_test-responders.ts";

const log: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
/** Real time (the throttle spaces probes by it). */
const clock = { now: () => Date.now() };
let listeners: Listeners | null = null;
/** This run's loopback block (127.A.2.0/29, A from the process id). */
const NET = loopbackNet(2);

function job(f: LogFixture, over: Partial<DiscoveryJobDeps> = {}, config: Record<string, unknown> = {}): DiscoveryJob {
  return new DiscoveryJob({
    config: parseDiscoveryConfig({ subnets: [`${NET}.0/29`], rate_per_second: 500, connect_timeout_ms: 500, ...config }),
    evidence: f.log,
    clock,
    random: seeded("discovery-job"),
    log,
    timezone: () => "America/Chicago",
    names: {},
    arp: async () => [],
    ...over,
  });
}

function recording(): { connect: ConnectProbe; targets: string[] } {
  const targets: string[] = [];
  return { targets, connect: (ip, port, t, s) => (targets.push(`${ip}:${port}`), tcpConnectProbe(ip, port, t, s)) };
}

const order = (params: Record<string, unknown>): OrderPayload =>
  ({ order_id: "ord_0123456789abcdef", type: "discovery_scan", params, appliance_id: "app_0123456789ab", site_id: "site_0123456789ab", issued_at: "2026-11-27T22:00:00.000Z", expires_at: "2026-11-27T23:00:00.000Z", nonce: "n" }) as unknown as OrderPayload;
const ctx = (params: Record<string, unknown>) => ({ params: params as never, signal: new AbortController().signal, acceptedAt: Date.now() });

test.before(async () => {
  listeners = await listen([[`${NET}.3`, 104], [`${NET}.2`, 88], [`${NET}.2`, 389]]);
});
test.after(async () => {
  await listeners?.close();
});

test("a scan writes one system bundle and one inventory outbox entry carrying the discovery report", () =>
  withLog(async (f) => {
    const { report, seqs } = await job(f).run({ trigger: "schedule" });
    assert.equal(seqs, [1]);
    assert.ok(report.complete);
    assert.is(report.devices.find((d) => d.ip === `${NET}.3`)?.device_type, "medical_imaging");
    assert.is(report.devices.find((d) => d.ip === `${NET}.2`)?.device_type, "domain_controller");

    const ev = (await f.store.execute("SELECT line FROM evidence")).rows;
    assert.is(ev.length, 1);
    const bundle = parseBundleLine(String(ev[0]!["line"]));
    assert.is(bundle.kind, "system");
    assert.is(bundle.outcome, "success");
    assert.is(bundle.post_state["event"], "discovery_scan");
    assert.is(bundle.post_state["scan_id"], report.scan_id);
    assert.equal((bundle.post_state["device_types"] as Record<string, number>)["medical_imaging"], 1);
    assert.not.ok(String(ev[0]!["line"]).includes(`${NET}.3`), "evidence keeps counts, not addresses");

    const ob = (await f.store.execute("SELECT type, body FROM outbox ORDER BY outbox_seq")).rows;
    assert.equal(ob.map((r) => r["type"]), ["evidence", "inventory"], "the bundle's evidence row and the report, written together");
    const body = inventoryBodySchema.parse(JSON.parse(String(ob[1]!["body"])));
    assert.equal(body.discovery, report, "the outbox body is the report, valid on the wire");
    assert.is(body.discovery?.trigger, "schedule");
  }));

test("a discovery_scan order for a subnet outside the configured ones is rejected and nothing is probed", () =>
  withLog(async (f) => {
    const rec = recording();
    const handler = job(f, { connect: rec.connect }).orderHandler();
    const params = { cidr: "192.168.10.0/24", depth: "quick" };
    const r = await handler(order(params), ctx(params));
    assert.equal(r, { outcome: "rejected", detail: `192.168.10.0/24 is outside the configured discovery subnets (${NET}.0/29): refusing to scan it` });
    assert.equal(rec.targets, []);
    assert.is((await f.store.execute("SELECT COUNT(*) AS n FROM outbox WHERE type = 'inventory'")).rows[0]!["n"], 0);
  }));

test("a discovery_scan order inside the scope scans that subnet and records the order id", () =>
  withLog(async (f) => {
    const j = job(f);
    const params = { cidr: `${NET}.2/31`, depth: "quick" };
    const r = await j.orderHandler()(order(params), ctx(params));
    assert.is(r.outcome, "success");
    assert.ok(r.detail.startsWith(`scanned ${NET}.2/31 (quick): 2 device(s), 0 excluded; scan dsc_`), r.detail);
    assert.is(j.last?.order_id, "ord_0123456789abcdef");
    assert.is(j.last?.trigger, "order");
  }));

test("stop() ends a scan an order started at once (the daemon's shutdown does not wait for it), and what it found is recorded as incomplete", () =>
  withLog(async (f) => {
    let probes = 0;
    // A network where every probe waits out its whole timeout (30 s) unless the scan is stopped.
    const hanging: ConnectProbe = (_ip, _port, timeoutMs, signal) => {
      probes++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve("filtered"), timeoutMs);
        signal?.addEventListener("abort", () => (clearTimeout(timer), resolve("filtered")), { once: true });
      });
    };
    const j = job(f, { connect: hanging }, { connect_timeout_ms: 30_000 });
    const params = { cidr: `${NET}.0/29`, depth: "quick" };
    const handled = j.orderHandler()(order(params), ctx(params));
    while (probes === 0) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await j.stop();
    assert.ok(Date.now() - started < 2000, `stop() took ${Date.now() - started} ms`);
    const r = await handled;
    assert.is(r.outcome, "failed");
    assert.match(r.detail, /stopped before the end$/);
    assert.is(j.last?.complete, false);
  }));

test("run() refuses an out-of-scope target synchronously with out_of_scope", () =>
  withLog(async (f) => {
    assert.throws(() => job(f).run({ trigger: "order", targets: ["10.1.2.3"] }), (e: unknown) => e instanceof DiscoveryError && e.code === "out_of_scope");
  }));

test("the relay's exclusion list is read at each scan and excluded devices are not contacted", () =>
  withLog(async (f) => {
    let excluded: string[] = [];
    const j = job(f, { relayExclusions: () => excluded });
    const before = listeners!.connections.get(`${NET}.3:104`)!;
    await j.run({ trigger: "schedule" });
    assert.ok(listeners!.connections.get(`${NET}.3:104`)! > before);
    excluded = [`${NET}.3`];
    const mid = listeners!.connections.get(`${NET}.3:104`)!;
    const { report } = await j.run({ trigger: "schedule" });
    assert.is(listeners!.connections.get(`${NET}.3:104`), mid, "the excluded DICOM device was not contacted");
    assert.is(report.excluded_hosts, 1);
    assert.not.ok(report.devices.some((d) => d.ip === `${NET}.3`));
  }));

test("nextNightly follows the site's time zone, across the DST change", () => {
  // 2026-11-27 12:00 UTC is 06:00 in Chicago (CST, UTC−6): tonight's 02:30 is tomorrow 08:30 UTC.
  assert.is(new Date(nextNightly(Date.UTC(2026, 10, 27, 12), "02:30", "America/Chicago")).toISOString(), "2026-11-28T08:30:00.000Z");
  // At 01:00 local it is still today's 02:30 (07:30 UTC).
  assert.is(new Date(nextNightly(Date.UTC(2026, 10, 27, 7), "02:30", "America/Chicago")).toISOString(), "2026-11-27T08:30:00.000Z");
  // 2026-03-08 is the spring-forward day: 02:30 does not exist and moves to 03:30 CDT (08:30 UTC).
  assert.is(new Date(nextNightly(Date.UTC(2026, 2, 8, 6), "02:30", "America/Chicago")).toISOString(), "2026-03-08T08:30:00.000Z");
});

test("runDue runs nothing before the nightly time, one scan after it, and then waits for the next night", () =>
  withLog(async (f) => {
    let now = Date.UTC(2026, 10, 27, 12);
    const rec = recording();
    const j = job(f, { clock: { now: () => now }, connect: rec.connect, sleep: async () => undefined });
    assert.is(j.nextRunAt(), parseIsoTime("2026-11-28T08:30:00.000Z"));
    assert.is(await j.runDue(), null);
    assert.equal(rec.targets, []);
    now = parseIsoTime("2026-11-28T08:31:00.000Z");
    const ran = await j.runDue();
    assert.ok(ran && ran.report.trigger === "schedule");
    assert.is(j.nextRunAt(), parseIsoTime("2026-11-29T08:30:00.000Z"));
    assert.is(await j.runDue(), null);
  }));

test("schedule off (or no subnets) never runs a scheduled scan", () =>
  withLog(async (f) => {
    assert.is(job(f, {}, { schedule: "off" }).nextRunAt(), null);
    assert.is(job(f, {}, { subnets: [] }).nextRunAt(), null);
  }));

test("discovery config is validated at the boundary, naming the field", () => {
  assert.throws(() => parseDiscoveryConfig({ subnets: ["10.0.0.0/8"] }), (e: unknown) => e instanceof DiscoveryError && e.code === "invalid_options" && e.message.includes("subnets[0]"));
  assert.throws(() => parseDiscoveryConfig({ nightly_at: "25:00" }), (e: unknown) => e instanceof DiscoveryError && e.message.includes("nightly_at"));
  assert.throws(() => parseDiscoveryConfig({ exclude: ["printer"] }), (e: unknown) => e instanceof DiscoveryError && e.message.includes("printer"));
  const c = parseDiscoveryConfig({ subnets: ["192.168.1.0/24"] });
  assert.is(c.schedule, "nightly");
  assert.is(c.depth, "quick");
  assert.is(c.rate_per_second, 50);
});

test.run();
