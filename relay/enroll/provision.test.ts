import { test } from "uvu";
import * as assert from "uvu/assert";
import { keyFingerprint } from "../../protocol/crypto.ts";
import { count, errorOf, inProcess, jsonInit, TestAppliance, testRelay } from "../_testing.ts";
import { RelayError } from "../errors.ts";
import { createSite } from "../tenants/tenants.ts";
import { buildEnrollRequest, buildPendingRequest, normaliseMac } from "./enroll-message.ts";
import { acceptPending, listPending } from "./provision.ts";

const RELAY_URL = "https://relay.example.net";

async function lookup(app: { request(p: string): Response | Promise<Response> }, mac: string): Promise<Record<string, unknown>> {
  const res = await app.request(`/api/provision/${encodeURIComponent(mac)}`);
  assert.is(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

test("a MAC the relay has never seen looks up as unknown", async () => {
  const relay = await testRelay({ publicUrl: RELAY_URL });
  try {
    assert.equal(await lookup(relay.app, "02:00:00:00:00:99"), { state: "unknown" });
    const bad = await relay.app.request("/api/provision/not-a-mac");
    assert.is(bad.status, 400);
  } finally {
    await relay.close();
  }
});

test("a drop-shipped appliance registers as pending; its MAC then looks up as pending, in any MAC spelling", async () => {
  const relay = await testRelay({ publicUrl: RELAY_URL });
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const res = await relay.app.request("/api/provision/pending", jsonInit("POST", await buildPendingRequest(a, a.macs)));
    assert.is(res.status, 201);
    const body = (await res.json()) as { pending_id: string; fingerprint: string; state: string };
    assert.match(body.pending_id, /^pend_/);
    assert.is(body.fingerprint, keyFingerprint(a.evidence.publicKey), "the fingerprint the MSP compares with the status page");
    assert.is(body.state, "pending");
    const mac = a.macs[0]!;
    for (const spelling of [mac, mac.toUpperCase().replace(/:/g, "-"), mac.replace(/:/g, "")]) assert.equal(await lookup(relay.app, spelling), { state: "pending" });
    const again = await relay.app.request("/api/provision/pending", jsonInit("POST", await buildPendingRequest(a, a.macs)));
    assert.is(((await again.json()) as { pending_id: string }).pending_id, body.pending_id, "registering again is idempotent");
    assert.is(await count(relay.db, "pending_appliances"), 1);
  } finally {
    await relay.close();
  }
});

test("a registration whose proof does not verify is refused 422 and stores nothing", async () => {
  const relay = await testRelay();
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const b = new TestAppliance(inProcess(relay.app), relay.clock);
    const req = { ...(await buildPendingRequest(a, a.macs)), proof: (await buildPendingRequest(b, a.macs)).proof };
    const res = await relay.app.request("/api/provision/pending", jsonInit("POST", req));
    assert.is(res.status, 422);
    assert.is((await errorOf(res)).code, "proof_invalid");
    assert.is(await count(relay.db, "pending_appliances"), 0);
  } finally {
    await relay.close();
  }
});

test("after an MSP accepts it the MAC looks up as assigned with the relay URL, and never returns a token or secret", async () => {
  const relay = await testRelay({ publicUrl: RELAY_URL });
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const reg = (await (await relay.app.request("/api/provision/pending", jsonInit("POST", await buildPendingRequest(a, a.macs)))).json()) as { pending_id: string };
    const accepted = await acceptPending(relay.db, reg.pending_id, relay.siteId, { clock: relay.clock, accepted_by: "user_tech" });
    assert.is(accepted.state, "accepted");
    assert.is(accepted.site_id, relay.siteId);
    assert.equal(await lookup(relay.app, a.macs[0]!), { state: "assigned", relay_url: RELAY_URL });

    const enrolled = await a.adopt(await relay.app.request("/api/enroll", jsonInit("POST", await buildEnrollRequest({ pendingId: reg.pending_id }, a, a.macs))));
    assert.is(enrolled.status, 201);
    assert.is(a.siteId, relay.siteId);
    const after = await lookup(relay.app, a.macs[0]!);
    assert.equal(Object.keys(after).sort(), ["relay_url", "state"]);
    assert.not.ok(JSON.stringify(after).includes(a.token));
    assert.is((await listPending(relay.db))[0]!.appliance_id, a.id);
  } finally {
    await relay.close();
  }
});

test("enrolling with a pending id before acceptance, twice, or with other keys is refused and changes nothing", async () => {
  const relay = await testRelay();
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const reg = (await (await relay.app.request("/api/provision/pending", jsonInit("POST", await buildPendingRequest(a, a.macs)))).json()) as { pending_id: string };
    const enroll = async (who: TestAppliance) => relay.app.request("/api/enroll", jsonInit("POST", await buildEnrollRequest({ pendingId: reg.pending_id }, who)));

    const early = await enroll(a);
    assert.is(early.status, 409);
    assert.is((await errorOf(early)).code, "pending_not_accepted");

    await acceptPending(relay.db, reg.pending_id, relay.siteId, { clock: relay.clock });
    const impostor = await enroll(new TestAppliance(inProcess(relay.app), relay.clock));
    assert.is(impostor.status, 422, "someone who only knows the pending id cannot enroll with their own keys");
    assert.is((await errorOf(impostor)).code, "proof_invalid");
    assert.is(await count(relay.db, "appliances"), 0);

    assert.is((await enroll(a)).status, 201);
    const twice = await enroll(a);
    assert.is(twice.status, 409);
    assert.is((await errorOf(twice)).code, "pending_state");
    assert.is(await count(relay.db, "appliances"), 1);
  } finally {
    await relay.close();
  }
});

test("acceptPending() refuses unknown registrations and sites, and a second site; the same site again is a no-op", async () => {
  const relay = await testRelay();
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const reg = (await (await relay.app.request("/api/provision/pending", jsonInit("POST", await buildPendingRequest(a, a.macs)))).json()) as { pending_id: string };
    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
        return "ok";
      } catch (e) {
        assert.instance(e, RelayError);
        return (e as RelayError).code;
      }
    };
    assert.is(await codeOf(acceptPending(relay.db, "pend_unknown00", relay.siteId, { clock: relay.clock })), "pending_unknown");
    assert.is(await codeOf(acceptPending(relay.db, reg.pending_id, "site_unknown00", { clock: relay.clock })), "site_unknown");
    assert.is(await codeOf(acceptPending(relay.db, reg.pending_id, relay.siteId, { clock: relay.clock })), "ok");
    assert.is(await codeOf(acceptPending(relay.db, reg.pending_id, relay.siteId, { clock: relay.clock })), "ok");
    const other = await createSite(relay.db, { org_id: relay.orgId, name: "Other" }, relay.deps);
    assert.is(await codeOf(acceptPending(relay.db, reg.pending_id, other.id, { clock: relay.clock })), "pending_state");
    const refusal = await acceptPending(relay.db, reg.pending_id, other.id, { clock: relay.clock }).catch((e: Error) => e.message);
    assert.is(refusal, `Pending appliance ${reg.pending_id} is already accepted at another site`);
    assert.not.ok(String(refusal).includes(relay.siteId), "the first site's id (possibly another tenant's) is not named");
  } finally {
    await relay.close();
  }
});

test("normaliseMac() accepts colon, dash and bare forms and refuses anything else", () => {
  assert.is(normaliseMac("AA-BB-CC-DD-EE-FF"), "aa:bb:cc:dd:ee:ff");
  assert.is(normaliseMac("aabbccddeeff"), "aa:bb:cc:dd:ee:ff");
  assert.is(normaliseMac("aa:bb-cc:dd:ee:ff"), null);
  assert.is(normaliseMac("aa:bb:cc:dd:ee"), null);
  assert.is(normaliseMac("gg:bb:cc:dd:ee:ff"), null);
});

test.run();
