/**
 * The `force_scan` order ("Scan now") on the daemon, against the real relay on loopback and the Riverside lab
 * clinic: its `check` parameter must name a catalogue check of the platform of the hosts it scans.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueOrder } from "../../relay/orders/issue.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog } from "../sync/_testing.ts";
import { Appliance } from "./appliance.ts";

test("Scan now re-checks a host with the check it names, and refuses a check that does not exist or does not apply to that host", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-force-scan-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const app = await Appliance.open(config, { clock: lr.relay.clock, random, log: recordingLog(), fetch: fetchProbe().fetch });
  try {
    await app.runCycle(); // every host checked once: from now on only what an order makes due is scanned
    await app.sync!.client.sync();
    const id = app.status().appliance_id;
    const cases = [
      [{ host_id: "rfc-ws01", check: "windows.defender_realtime" }, "success", /^scanned 1 host\(s\), windows\.defender_realtime among their checks/],
      [{ host_id: "rfc-ws01", check: "windows.nosuchcheck" }, "rejected", /^windows\.nosuchcheck is not a check of this appliance's catalogue/],
      [{ host_id: "rfc-nas01", check: "windows.defender_realtime" }, "rejected", /^windows\.defender_realtime is a windows check: host rfc-nas01 is not windows/],
    ] as const;
    for (const [params, outcome, detail] of cases) {
      const issued = await issueOrder(lr.relay.db, { appliance_id: id, type: "force_scan", params, issued_by: "user_tech0001" }, lr.relay.deps);
      await app.sync!.client.sync();
      const row = (await lr.relay.db.execute({ sql: "SELECT status, result FROM orders WHERE id = ?", args: [issued.order_id] })).rows[0]!;
      assert.is(row["status"], "done", JSON.stringify(params));
      const result = JSON.parse(String(row["result"])) as { outcome: string; detail: string };
      assert.is(result.outcome, outcome, JSON.stringify(params));
      assert.match(result.detail, detail, result.detail);
    }
  } finally {
    await app.stop();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
