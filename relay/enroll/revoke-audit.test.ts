/**
 * `POST /api/appliances/:appliance_id/revoke` is audited against the appliance's site (and organisation), so
 * the revocation shows in that site's audit log and to the clinic's own users, not only MSP-wide.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { asUser, enrolledAppliance, testRelay, userInit } from "../_testing.ts";

interface Entry {
  action: string;
  target: string;
  site_id: string | null;
  org_id: string | null;
  details: { reason?: string };
}

test("revoking an appliance writes an audit row with its site, shown in the site's audit log and to the clinic owner", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const admin = await asUser(relay, "msp_admin");
    const res = await relay.app.request(`/api/appliances/${a.id}/revoke`, userInit(admin, "POST", { reason: "stolen from the front desk" }));
    assert.is(res.status, 200, await res.clone().text());
    assert.ok(typeof ((await res.json()) as { revoked_at: unknown }).revoked_at === "string");

    const siteLog = await relay.app.request(`/api/audit-log?site_id=${relay.siteId}`, userInit(admin));
    const entries = ((await siteLog.json()) as { entries: Entry[] }).entries;
    const entry = entries.find((e) => e.action === "appliance.revoke");
    assert.ok(entry, `the revocation is in the site's audit log: ${JSON.stringify(entries.map((e) => e.action))}`);
    assert.is(entry!.target, a.id);
    assert.is(entry!.site_id, relay.siteId);
    assert.is(entry!.org_id, relay.orgId);
    assert.is(entry!.details.reason, "stolen from the front desk");

    const owner = await asUser(relay, "client_owner");
    const ownerLog = await relay.app.request("/api/audit-log", userInit(owner));
    assert.is(ownerLog.status, 200);
    const seen = ((await ownerLog.json()) as { entries: Entry[] }).entries.map((e) => e.action);
    assert.ok(seen.includes("appliance.revoke"), `the clinic owner sees the revocation: ${JSON.stringify(seen)}`);
  } finally {
    await relay.close();
  }
});

test.run();
