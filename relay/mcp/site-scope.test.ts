/**
 * Tenant scope of MCP tool arguments and the choice of appliance for a proposal, as plain functions over a
 * real relay database (testRelay) with simulated appliances pushing signed check cycles in-process.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { asUser, enrolledAppliance, random, T0, testRelay } from "../_testing.ts";
import { RelayError } from "../errors.ts";
import { pushCycles } from "../sites/_fixtures.ts";
import { createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";
import { applianceFor, siteInScope } from "./site-scope.ts";

async function refused(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RelayError && e.code === code, `expected RelayError ${code}, got ${String(e)}`);
    return e.message;
  }
  assert.unreachable(`expected RelayError ${code}`);
  return "";
}

test("siteInScope() answers a site inside the caller's tenant with its path, and not_found for another tenant's site or an unknown id", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "Partner IT" }, env);
    const org = await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partner.id, name: "Lakeside" }, env);
    const partnerSite = (await createSite(relay.db, { org_id: org.id, name: "Lakeside main", timezone: "UTC" }, env)).id;
    const tech = await asUser(relay, "msp_tech");
    const ownPartner = await asUser(relay, "partner_tech", { partner_id: partner.id });
    const otherPartner = await asUser(relay, "partner_tech");

    assert.is((await siteInScope(relay.db, tech.principal, partnerSite)).org_id, org.id);
    assert.is((await siteInScope(relay.db, ownPartner.principal, partnerSite)).partner_id, partner.id);
    const foreign = await refused(siteInScope(relay.db, otherPartner.principal, partnerSite), "not_found");
    const unknown = await refused(siteInScope(relay.db, otherPartner.principal, "site_doesnotexist"), "not_found");
    assert.is(foreign.replace(partnerSite, "X"), unknown.replace("site_doesnotexist", "X"), "the same answer: no existence oracle");
    await refused(siteInScope(relay.db, ownPartner.principal, relay.siteId), "not_found");
  } finally {
    await relay.close();
  }
});

test("applianceFor() picks the appliance that reported the host, the one that reported it last when several did, refuses an ambiguous or unknown choice, and never a revoked appliance", async () => {
  const relay = await testRelay();
  try {
    const env = { clock: relay.clock, random };
    const one = await enrolledAppliance(relay);
    await pushCycles(one, [{ host: "srv-a", at: T0 - 60_000, results: [{ check: "linux.firewall_active", status: "pass" }] }]);
    assert.is(await applianceFor(relay.db, env, relay.siteId, undefined, null), one.id, "the only appliance");
    assert.is(await applianceFor(relay.db, env, relay.siteId, undefined, "srv-a"), one.id);

    const two = await enrolledAppliance(relay);
    await pushCycles(two, [{ host: "ws-9", at: T0 - 60_000, results: [{ check: "windows.bitlocker", status: "pass" }] }]);
    const ambiguous = await refused(applianceFor(relay.db, env, relay.siteId, undefined, null), "schema");
    assert.ok(ambiguous.includes(one.id) && ambiguous.includes(two.id), ambiguous);
    assert.is(await applianceFor(relay.db, env, relay.siteId, undefined, "ws-9"), two.id);
    assert.is(await applianceFor(relay.db, env, relay.siteId, undefined, two.id), two.id, "the appliance's own host id");
    await refused(applianceFor(relay.db, env, relay.siteId, one.id, "ws-9"), "not_found");
    await refused(applianceFor(relay.db, env, relay.siteId, undefined, "srv-nope"), "not_found");

    // Both now scan srv-a (different checks): the one that reported it last is chosen, unless one is named.
    await pushCycles(two, [{ host: "srv-a", at: T0 - 30_000, results: [{ check: "linux.failed_services", status: "fail" }] }]);
    assert.is(await applianceFor(relay.db, env, relay.siteId, undefined, "srv-a"), two.id);
    assert.is(await applianceFor(relay.db, env, relay.siteId, one.id, "srv-a"), one.id);

    await relay.db.execute({ sql: "UPDATE appliances SET state = 'revoked', revoked_at = ? WHERE id = ?", args: ["2026-11-27T12:00:00.000Z", two.id] });
    assert.is(await applianceFor(relay.db, env, relay.siteId, undefined, "srv-a"), one.id);
    await refused(applianceFor(relay.db, env, relay.siteId, two.id, null), "not_found");
    const otherSite = (await createSite(relay.db, { org_id: relay.orgId, name: "Annex", timezone: "UTC" }, env)).id;
    await refused(applianceFor(relay.db, env, otherSite, one.id, null), "not_found");
  } finally {
    await relay.close();
  }
});

test.run();
