import { test } from "uvu";
import { isoTime } from "../../protocol/ids.ts";
import * as assert from "uvu/assert";
import { buildKitFiles, KIT_BUNDLES, KIT_FRONTIERS, verifyKit } from "../../protocol/kit.ts";
import { readKitZip, writeKitZip } from "../../protocol/kit-files.ts";
import { parsePushAck } from "../../protocol/sync.ts";
import { enrolledAppliance, testRelay, type TestAppliance, type TestRelay } from "../_testing.ts";
import { EXPORT_PAGE_ROWS, exportKit } from "./kit-export.ts";

const MINUTE = 60_000;

/** Pushes `n` new bundles (one a minute) with a checkpoint of everything so far. */
async function pushWithCheckpoint(relay: TestRelay, a: TestAppliance, n: number): Promise<void> {
  relay.clock.t += n * MINUTE;
  const res = await a.push(a.entries(await a.makeBundles(n)), await a.checkpoint());
  assert.is(res.status, 200, await res.clone().text());
  assert.ok(parsePushAck(await res.json()).countersigned_checkpoint);
}

test("an exported kit is byte-identical for the same inputs and verifyKit accepts it", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const b = await enrolledAppliance(relay);
    for (let i = 0; i < 3; i++) {
      await pushWithCheckpoint(relay, a, 4);
      await pushWithCheckpoint(relay, b, 2);
    }
    const range = { siteId: relay.siteId, from: relay.clock.now() - 24 * 3_600_000, to: relay.clock.now() + 1 };
    const first = writeKitZip((await exportKit(relay.db, range, relay.relayKey)).files);
    relay.clock.t += 3_600_000;
    const second = writeKitZip((await exportKit(relay.db, range, relay.relayKey)).files);
    assert.equal(second, first, "same inputs, same bytes");
    const report = await verifyKit(readKitZip(first));
    assert.ok(report.ok, JSON.stringify(report));
    if (report.ok) {
      assert.is(report.bundles, 18);
      assert.is(report.appliances.length, 2);
      assert.ok(report.checkpoints.every((c) => c.witnesses.some((w) => w.name === relay.relayKey.name)));
      // Signed by the relay's key for exactly this site and range: a copy cut at the start no longer verifies.
      assert.equal(report.manifest, { site_id: relay.siteId, from: isoTime(range.from), to: isoTime(range.to), key_id: relay.relayKey.keyId, name: relay.relayKey.name });
    }
  } finally {
    await relay.close();
  }
});

test("a range that starts mid-chain carries the Merkle frontier and ends at the first countersigned checkpoint after it", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await pushWithCheckpoint(relay, a, 5); // seq 1..5, checkpoint 5
    const from = relay.clock.now() + 1;
    await pushWithCheckpoint(relay, a, 5); // seq 6..10, checkpoint 10
    const to = relay.clock.now() - 3 * MINUTE + 1; // seq 6..10 finished at -4..0 minutes: 6 and 7 are before it
    await pushWithCheckpoint(relay, a, 5); // seq 11..15, checkpoint 15
    const out = await exportKit(relay.db, { siteId: relay.siteId, from, to }, relay.relayKey);
    assert.equal(out.appliances, [{ appliance_id: a.id, first_seq: 6, last_in_range: 7, last_seq: 10 }]);
    assert.ok(out.files.has(KIT_FRONTIERS));
    assert.ok(out.files.has(`checkpoints/${a.id}/000000000010.note`));
    assert.not.ok(out.files.has(`checkpoints/${a.id}/000000000005.note`));
    const report = await verifyKit(out.files);
    assert.ok(report.ok, JSON.stringify(report));
    if (report.ok) assert.is(report.bundles, 5);
  } finally {
    await relay.close();
  }
});

test("bundles not yet covered by a countersigned checkpoint are cut off with a warning, so the kit still verifies", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await pushWithCheckpoint(relay, a, 3);
    relay.clock.t += 3 * MINUTE;
    assert.is((await a.push(a.entries(await a.makeBundles(3)))).status, 200);
    const out = await exportKit(relay.db, { siteId: relay.siteId, from: 0, to: relay.clock.now() + 1 }, relay.relayKey);
    assert.is(out.appliances[0]?.last_seq, 3);
    assert.match(out.warnings.join("\n"), /cut at seq 3/);
    assert.ok((await verifyKit(out.files)).ok);
  } finally {
    await relay.close();
  }
});

test("bundles.jsonl streamed from the store is byte for byte what buildKitFiles makes of the same lines (pages, appliances, non-ASCII)", async () => {
  const relay = await testRelay();
  try {
    const apps = [await enrolledAppliance(relay), await enrolledAppliance(relay)];
    for (const a of apps) {
      relay.clock.t += MINUTE;
      const bundles = await a.makeBundles(3, { host_id: "empfang-büro-☕" });
      assert.is((await a.push(a.entries(bundles))).status, 200);
    }
    await pushWithCheckpoint(relay, apps[0]!, 2); // the first appliance's range spans more than one page
    for (let left = EXPORT_PAGE_ROWS; left > 0; left -= 500) await pushWithCheckpoint(relay, apps[1]!, Math.min(500, left));
    await pushWithCheckpoint(relay, apps[0]!, 1);
    const range = { siteId: relay.siteId, from: 0, to: relay.clock.now() + 1 };
    const out = await exportKit(relay.db, range, relay.relayKey);
    const lines = [...apps].reverse().flatMap((a) => a.chain.map((b) => b.line));
    const expected = buildKitFiles({ lines, keys: { schema: "osiris.kit-keys/v1", appliances: [], relay: [] }, checkpoints: [], readme: "" }).get(KIT_BUNDLES)!;
    assert.is(out.files.get(KIT_BUNDLES)!.length, expected.length);
    assert.ok(Buffer.compare(out.files.get(KIT_BUNDLES)!, expected) === 0, "same bytes");
    assert.is(out.appliances.reduce((n, a) => n + a.last_seq - a.first_seq + 1, 0), 3 + 2 + 1 + 3 + EXPORT_PAGE_ROWS);
    assert.ok((await verifyKit(out.files)).ok);
  } finally {
    await relay.close();
  }
});

test("a kit whose bundle was altered after export fails verification", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await pushWithCheckpoint(relay, a, 3);
    const { files } = await exportKit(relay.db, { siteId: relay.siteId, from: 0, to: relay.clock.now() + 1 }, relay.relayKey);
    const text = new TextDecoder().decode(files.get("bundles.jsonl"));
    files.set("bundles.jsonl", new TextEncoder().encode(text.replace('"outcome":"success"', '"outcome":"failed"')));
    const report = await verifyKit(files);
    assert.not.ok(report.ok);
  } finally {
    await relay.close();
  }
});

test("exportKit() refuses an unknown site and an empty range", async () => {
  const relay = await testRelay();
  try {
    for (const range of [{ siteId: "site_nope00000", from: 0, to: 1 }, { siteId: relay.siteId, from: 5, to: 5 }]) {
      try {
        await exportKit(relay.db, range, relay.relayKey);
        assert.unreachable();
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }
  } finally {
    await relay.close();
  }
});

test.run();
