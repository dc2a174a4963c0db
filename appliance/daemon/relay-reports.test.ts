/**
 * RelayReports: when an enrolled appliance sends a heartbeat and its managed-host list. The end-to-end side
 * (the relay's site view naming hosts and showing the version) is in appliance.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { heartbeatBodySchema, inventoryBodySchema } from "../../protocol/sync.ts";
import type { HostScan, TargetRef } from "../engine/types.ts";
import { HEARTBEAT_INTERVAL_MS, RelayReports } from "./relay-reports.ts";

const T0 = Date.parse("2026-11-27T15:00:00Z");
const dc: TargetRef = { id: "rfc-dc01", name: "RFC-DC01", platform: "windows", collector: "lab", simulated: true };
const nas: TargetRef = { id: "rfc-nas01", name: "rfc-nas01 (backups)", platform: "linux", collector: "lab", simulated: true };

function scan(target: TargetRef, reachable: boolean, at: number): HostScan {
  const t = new Date(at).toISOString();
  return { target, started_at: t, finished_at: t, reachable, error: reachable ? null : { code: "unreachable", message: "no route" }, facts: {}, results: [] };
}
const ENFORCE = { mode: "enforce", source: "relay" } as const;
const ctx = (now: number) => ({ now, version: "1.2.3", clockOffsetMs: 240.4, backlog: 7, healingMode: ENFORCE });
const types = (r: { entries: { type: string }[] }) => r.entries.map((e) => e.type);

test("the first cycle sends a heartbeat and the managed hosts by the names the clinic knows them by", () => {
  const reports = new RelayReports();
  const r = reports.due([scan(nas, true, T0), scan(dc, true, T0)], ctx(T0));
  assert.equal(types(r), ["heartbeat", "inventory"]);
  assert.equal(heartbeatBodySchema.parse(r.entries[0]!.body), { at: "2026-11-27T15:00:00.000Z", version: "1.2.3", ntp_offset_ms: 240, backlog: 7, healing_mode: ENFORCE });
  const inventory = inventoryBodySchema.parse(r.entries[1]!.body);
  assert.equal(
    inventory.hosts.map((h) => [h.host_id, h.hostname, h.platform, h.reachable, h.last_seen]),
    [
      ["rfc-dc01", "RFC-DC01", "windows", true, "2026-11-27T15:00:00.000Z"],
      ["rfc-nas01", "rfc-nas01 (backups)", "linux", true, "2026-11-27T15:00:00.000Z"],
    ],
  );
  assert.is(inventory.discovery, undefined);
});

test("later cycles send nothing until the heartbeat is due or the host list changes", () => {
  const reports = new RelayReports();
  /** One cycle whose entries were written. */
  const cycle = (scans: HostScan[], now: number) => {
    const r = reports.due(scans, ctx(now));
    r.written();
    return r;
  };
  cycle([scan(dc, true, T0)], T0);
  assert.equal(types(cycle([scan(dc, true, T0 + 60_000)], T0 + 60_000)), [], "a rescan changes only last_seen");
  assert.equal(types(cycle([], T0 + HEARTBEAT_INTERVAL_MS - 1)), []);
  assert.equal(types(cycle([], T0 + HEARTBEAT_INTERVAL_MS)), ["heartbeat"]);

  const later = T0 + HEARTBEAT_INTERVAL_MS + 1;
  const r = cycle([scan(dc, false, later)], later);
  assert.equal(types(r), ["inventory"], "the host became unreachable");
  const host = inventoryBodySchema.parse(r.entries[0]!.body).hosts[0]!;
  assert.is(host.reachable, false);
  assert.is(host.last_seen, "2026-11-27T15:01:00.000Z", "last_seen stays at the last scan that reached it");

  assert.equal(types(cycle([scan(nas, true, later + 1)], later + 1)), ["inventory"], "a host was added");
  assert.equal(types(cycle([scan(nas, true, later + 2)], later + 2)), []);
});

test("entries that were not written (the append failed) are due again at the next cycle", () => {
  const reports = new RelayReports();
  assert.equal(types(reports.due([scan(dc, true, T0)], ctx(T0))), ["heartbeat", "inventory"]);
  assert.equal(types(reports.due([], ctx(T0 + 5_000))), ["heartbeat", "inventory"]);
});

test("before the first pull the offset is unknown (null) and the backlog 0; the first measured offset is sent at once", () => {
  const reports = new RelayReports();
  const r = reports.due([], { now: T0, version: "1.2.3", clockOffsetMs: null, backlog: null, healingMode: ENFORCE });
  assert.equal(types(r), ["heartbeat"], "no host scanned yet: no host list");
  assert.equal(heartbeatBodySchema.parse(r.entries[0]!.body), { at: "2026-11-27T15:00:00.000Z", version: "1.2.3", ntp_offset_ms: null, backlog: 0, healing_mode: ENFORCE });
  r.written();
  assert.equal(types(reports.due([], { now: T0 + 5_000, version: "1.2.3", clockOffsetMs: null, backlog: null, healingMode: ENFORCE })), [], "still unknown: nothing new");
  const measured = reports.due([], { now: T0 + 60_000, version: "1.2.3", clockOffsetMs: -12, backlog: 0, healingMode: ENFORCE });
  assert.equal(types(measured), ["heartbeat"], "the dashboard need not wait 15 minutes for the clock offset");
  assert.is(heartbeatBodySchema.parse(measured.entries[0]!.body).ntp_offset_ms, -12);
  measured.written();
  assert.equal(types(reports.due([], { now: T0 + 120_000, version: "1.2.3", clockOffsetMs: -15, backlog: 0, healingMode: ENFORCE })), []);
});


test("a change of the healing mode in force (an order, a new site setting) sends a heartbeat at once, carrying it", () => {
  const reports = new RelayReports();
  reports.due([], ctx(T0)).written();
  assert.equal(types(reports.due([], ctx(T0 + 60_000))), [], "unchanged: nothing new");
  const ordered = reports.due([], { ...ctx(T0 + 120_000), healingMode: { mode: "observe", source: "order" } });
  assert.equal(types(ordered), ["heartbeat"], "the dashboard need not wait 15 minutes to learn the appliance stopped fixing");
  assert.equal(heartbeatBodySchema.parse(ordered.entries[0]!.body).healing_mode, { mode: "observe", source: "order" });
  ordered.written();
  assert.equal(types(reports.due([], { ...ctx(T0 + 180_000), healingMode: { mode: "observe", source: "order" } })), []);
});

test.run();
