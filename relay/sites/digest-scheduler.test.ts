import { test } from "uvu";
import * as assert from "uvu/assert";
import { count, enrolledAppliance, testRelay, T0 } from "../_testing.ts";
import { pushCycles } from "./_fixtures.ts";
import { startSiteDigestScheduler } from "./digest-scheduler.ts";

test("startSiteDigestScheduler() digests every site with appliances, one round at a time, and stops cleanly", async () => {
  const relay = await testRelay();
  const job = startSiteDigestScheduler(relay.deps, { intervalMs: 60_000 });
  try {
    const a = await enrolledAppliance(relay);
    await pushCycles(a, [{ host: "srv-a", at: T0 - 60_000, results: [{ check: "linux.firewall_active", status: "pass" }] }]);
    const [first, second] = await Promise.all([job.runOnce(), job.runOnce()]);
    assert.is(first, second, "a second call during a round joins it instead of starting another");
    assert.ok(first >= 2);
    assert.is(await count(relay.db, "site_results"), 1);
    assert.is(await job.runOnce(), 0, "nothing new, nothing read");
    assert.ok(relay.logs.some((e) => e.event === "site_digest_round" && e.fields["sites"] === 1));
  } finally {
    await job.stop();
    await relay.close();
  }
});

test.run();
