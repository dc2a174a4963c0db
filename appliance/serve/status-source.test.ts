import { test } from "uvu";
import * as assert from "uvu/assert";
import { LAB_START_MS, openLabAppliance } from "./_test-lab.ts";
import { applianceStatusSource, LatestScans, scanOfLine, syncSnapshot } from "./status-source.ts";

test("scanOfLine() reads a check_cycle bundle, and an unreachable host's error bundle as not reachable", () => {
  const ok = scanOfLine(JSON.stringify({ host_id: "ws01", outcome: "fail", timestamps: { started_at: "2026-11-25T15:00:00.000Z", finished_at: "2026-11-25T15:00:01.000Z" }, results: [{ check: "windows.bitlocker", status: "fail", expected: 0, actual: 1 }] }));
  assert.equal(ok, { host: "ws01", scan: { at: Date.parse("2026-11-25T15:00:01.000Z"), reachable: true, results: [{ check: "windows.bitlocker", status: "fail" }] } });
  const down = scanOfLine(JSON.stringify({ host_id: "ws02", outcome: "error", timestamps: { finished_at: "2026-11-25T15:00:01.000Z" }, results: [] }));
  assert.is(down?.scan.reachable, false);
  assert.is(scanOfLine("not json"), null);
  assert.is(scanOfLine(JSON.stringify({ host_id: "x", outcome: "pass", timestamps: { finished_at: "yesterday" } })), null);
});

test("LatestScans reads the newest window once, then only bundles appended since", async () => {
  const lab = await openLabAppliance({ drive: false });
  try {
    const scans = new LatestScans(lab.appliance.store);
    assert.is((await scans.read(8)).size, 0);
    await lab.appliance.runCycle({ all: true });
    const first = await scans.read(8);
    assert.is(first.size, 8);
    assert.ok([...first.values()].every((s) => s.at === LAB_START_MS && s.reachable));
    lab.clock.set(LAB_START_MS + 3_600_000);
    await lab.appliance.runCycle({ all: true });
    const second = await scans.read(8);
    assert.ok([...second.values()].every((s) => s.at === LAB_START_MS + 3_600_000));
    assert.is(first.get("rfc-dc01")?.at, LAB_START_MS, "an earlier answer is a snapshot, not changed later");
  } finally {
    await lab.close();
  }
});

test("the source takes site settings from the appliance (relay-pushed) and sync status from the sync client", async () => {
  const lab = await openLabAppliance({ drive: false });
  try {
    const relayWindows = [{ rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=3", duration: "PT2H", tz: "America/New_York" }];
    const appliance = {
      status: () => ({ ...lab.appliance.status(), sync: { last_sync_at: "2026-11-25T14:59:00.000Z", last_error: null, clock_offset_ms: -1500, clock_alert: false, halted: null, backlog: 0 } }),
      site: () => ({ healing_mode: "observe" as const, maintenance_windows: relayWindows }),
      store: lab.appliance.store,
      evidence: lab.appliance.evidence,
      healing: lab.appliance.healing,
    };
    const input = await applianceStatusSource(appliance, lab.config, { clock: lab.clock }).read();
    assert.is(input.site.healing_mode, "observe");
    assert.equal(input.site.maintenance_windows, relayWindows);
    assert.equal(input.relay.sync, { last_success_at: Date.parse("2026-11-25T14:59:00.000Z"), clock_offset_ms: -1500, revoked: false });
    const revoked = { last_sync_at: null, last_error: { code: "auth", relay_code: "appliance_revoked", message: "revoked", at: "2026-11-25T15:00:00.000Z" }, clock_offset_ms: null, clock_alert: false, halted: null, backlog: 3 };
    assert.is(syncSnapshot(revoked)?.revoked, true, "the relay's appliance_revoked answer reaches the page");
    assert.is(input.site.name, "Riverside Family Clinic");
    assert.is(syncSnapshot(null), null);
  } finally {
    await lab.close();
  }
});

test.run();
