import { test } from "uvu";
import * as assert from "uvu/assert";
import { keyFingerprint, keyId } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { count, enrolledAppliance, errorOf, inProcess, jsonInit, TestAppliance, testRelay, type TestRelay } from "../_testing.ts";
import { PUBLIC_RATE_LIMIT } from "../http/rate-limit.ts";
import { normaliseClaimCode } from "./claim-code.ts";
import { createClaimCode, revokeClaimCode } from "./claim-codes.ts";
import { buildEnrollRequest, enrollResponseSchema } from "./enroll-message.ts";

/** What enrollment may change: a refused enrollment must leave all of it as it was. */
async function snapshot(relay: TestRelay): Promise<string> {
  const parts = await Promise.all([
    count(relay.db, "appliances"),
    count(relay.db, "chain_state"),
    count(relay.db, "claim_codes", "used_at IS NOT NULL"),
    count(relay.db, "pending_appliances", "state = 'enrolled'"),
  ]);
  return parts.join("/");
}

test("enrollment with a claim code mints an opaque id, a token stored only as SHA-256, and returns the relay keys", async () => {
  const relay = await testRelay();
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const res = await a.enroll(await relay.claimCode());
    assert.is(res.status, 201);
    const body = enrollResponseSchema.parse(await res.json());
    assert.match(body.appliance_id, /^app_[0-9a-z]{26}$/);
    assert.not.match(body.appliance_id, /[0-9a-f]{2}[:-][0-9a-f]{2}/, "an appliance id is never a MAC");
    assert.is(body.site_id, relay.siteId);
    assert.is(body.token.length, 43);
    assert.equal(body.relay_keys, [{ key_id: relay.relayKey.keyId, public_key: toHex(relay.relayKey.signer.publicKey), name: `osiriscare.relay/${relay.relayKey.keyId}` }]);
    assert.is(body.relay_time, "2026-11-27T12:00:00.000Z");

    const row = (await relay.db.execute({ sql: "SELECT * FROM appliances WHERE id = ?", args: [body.appliance_id] })).rows[0]!;
    assert.is(row["token_sha256"], sha256Hex(body.token));
    assert.not.ok(Object.values(row).some((v) => typeof v === "string" && v.includes(body.token)), "the token itself is never stored");
    assert.is(row["identity_public_key"], toHex(a.identity.publicKey));
    assert.is(row["evidence_public_key"], toHex(a.evidence.publicKey));
    assert.is(row["evidence_key_id"], keyId(a.evidence.publicKey));
    assert.is(row["fingerprint"], keyFingerprint(a.evidence.publicKey));
    assert.is(row["state"], "active");
    assert.is(await count(relay.db, "claim_codes", "used_by = ?", [body.appliance_id]), 1);
    assert.is(await count(relay.db, "chain_state", "appliance_id = ? AND verified_seq = 0", [body.appliance_id]), 1);
    assert.ok(relay.logs.every((l) => !JSON.stringify(l).includes(body.token)), "the token is never logged");
  } finally {
    await relay.close();
  }
});

test("a claim code typed in lower case with spaces instead of dashes still enrolls", async () => {
  const relay = await testRelay();
  try {
    const code = await relay.claimCode();
    const typed = code.toLowerCase().replace(/-/g, " ");
    assert.is(normaliseClaimCode(typed), code.replace(/-/g, ""));
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    assert.is((await a.enroll(typed)).status, 201);
  } finally {
    await relay.close();
  }
});

test("a claim code enrolls one appliance only: a second use is refused 410 claim_code_used and changes nothing", async () => {
  const relay = await testRelay();
  try {
    const code = await relay.claimCode();
    assert.is((await new TestAppliance(inProcess(relay.app), relay.clock).enroll(code)).status, 201);
    const before = await snapshot(relay);
    const res = await new TestAppliance(inProcess(relay.app), relay.clock).enroll(code);
    assert.is(res.status, 410);
    const err = await errorOf(res);
    assert.is(err.code, "claim_code_used");
    assert.match(err.message, /already used/);
    assert.is(await snapshot(relay), before);
    // Revoking it is refused too: it enrolls nothing more, and the revocation would read as the appliance's.
    const revoke = await revokeClaimCode(relay.db, { code }, relay.deps).then(() => null, (e: Error & { code?: string }) => e);
    assert.is(revoke?.code, "claim_code_used");
    assert.match(revoke?.message ?? "", /to remove that appliance, revoke the appliance$/);
    assert.is(await snapshot(relay), before);
  } finally {
    await relay.close();
  }
});

test("an expired claim code is refused 410 claim_code_expired and changes nothing", async () => {
  const relay = await testRelay();
  try {
    const code = await relay.claimCode(relay.siteId, 60_000);
    relay.clock.t += 60_000;
    const before = await snapshot(relay);
    const res = await new TestAppliance(inProcess(relay.app), relay.clock).enroll(code);
    assert.is(res.status, 410);
    assert.is((await errorOf(res)).code, "claim_code_expired");
    assert.is(await snapshot(relay), before);
  } finally {
    await relay.close();
  }
});

test("a revoked claim code is refused 410 claim_code_revoked; revoking twice is harmless", async () => {
  const relay = await testRelay();
  try {
    const code = await relay.claimCode();
    const first = await revokeClaimCode(relay.db, { code }, relay.deps);
    relay.clock.t += 1000;
    assert.equal(await revokeClaimCode(relay.db, { id: first.id }, relay.deps), first);
    const before = await snapshot(relay);
    const res = await new TestAppliance(inProcess(relay.app), relay.clock).enroll(code);
    assert.is(res.status, 410);
    assert.is((await errorOf(res)).code, "claim_code_revoked");
    assert.is(await snapshot(relay), before);
  } finally {
    await relay.close();
  }
});

test("an unknown or malformed claim code is refused 404 claim_code_unknown and changes nothing", async () => {
  const relay = await testRelay();
  try {
    await relay.claimCode();
    const before = await snapshot(relay);
    for (const code of ["7KQ2M-XH3PD-0W9RT-ZB4NC", "not a code"]) {
      const res = await new TestAppliance(inProcess(relay.app), relay.clock).enroll(code);
      assert.is(res.status, 404, code);
      assert.is((await errorOf(res)).code, "claim_code_unknown");
    }
    assert.is(await snapshot(relay), before);
  } finally {
    await relay.close();
  }
});

test("a proof that does not verify (identity or evidence key, or made for another code) is refused 422 proof_invalid", async () => {
  const relay = await testRelay();
  try {
    const code = await relay.claimCode();
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const keys = { identity: a.identity, evidence: a.evidence, credentialsPublicKey: a.credentialsPublicKey };
    const good = await buildEnrollRequest({ claimCode: code }, keys);
    const other = await buildEnrollRequest({ claimCode: await relay.claimCode() }, keys);
    const swapped = await buildEnrollRequest({ claimCode: code }, { ...keys, identity: a.evidence, evidence: a.identity });
    const before = await snapshot(relay);
    const cases = [
      { ...good, proof: other.proof },
      { ...good, evidence_proof: other.evidence_proof },
      { ...good, proof: swapped.proof },
      { ...good, credentials_public_key: toHex(new Uint8Array(32).fill(9)) },
    ];
    for (const body of cases) {
      const res = await relay.app.request("/api/enroll", jsonInit("POST", body));
      assert.is(res.status, 422);
      assert.is((await errorOf(res)).code, "proof_invalid");
    }
    assert.is(await snapshot(relay), before);
    assert.is((await relay.app.request("/api/enroll", jsonInit("POST", good))).status, 201, "the untouched request still works: the code was not used up");
  } finally {
    await relay.close();
  }
});

test("keys already enrolled as another appliance are refused 409 key_already_enrolled", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const before = await snapshot(relay);
    const res = await a.enroll(await relay.claimCode());
    assert.is(res.status, 409);
    assert.is((await errorOf(res)).code, "key_already_enrolled");
    assert.is(await snapshot(relay), before);
  } finally {
    await relay.close();
  }
});

test("malformed enrollment bodies are refused with 400 and the field named; oversized ones with 413", async () => {
  const relay = await testRelay();
  try {
    const a = new TestAppliance(inProcess(relay.app), relay.clock);
    const good = await buildEnrollRequest({ claimCode: await relay.claimCode() }, { identity: a.identity, evidence: a.evidence, credentialsPublicKey: a.credentialsPublicKey });
    const cases: [unknown, string, RegExp][] = [
      [{ ...good, extra: 1 }, "schema", /extra/],
      [{ ...good, identity_public_key: "xyz" }, "schema", /identity_public_key/],
      [{ ...good, evidence_public_key: good.identity_public_key }, "schema", /evidence_public_key: must differ/],
      [{ ...good, pending_id: "pend_aaaaaaaaaa" }, "schema", /exactly one of claim_code or pending_id/],
      [{ ...good, macs: ["not-a-mac"] }, "schema", /macs\[0\]/],
    ];
    for (const [body, code, message] of cases) {
      const res = await relay.app.request("/api/enroll", jsonInit("POST", body));
      assert.is(res.status, 400);
      const err = await errorOf(res);
      assert.is(err.code, code);
      assert.match(err.message, message);
    }
    const notJson = await relay.app.request("/api/enroll", { method: "POST", body: "{not json" });
    assert.is(notJson.status, 400);
    assert.is((await errorOf(notJson)).code, "invalid_json");
    const huge = await relay.app.request("/api/enroll", { method: "POST", body: "x".repeat(20_000) });
    assert.is(huge.status, 413);
    assert.is((await errorOf(huge)).code, "too_large");
    assert.is(await count(relay.db, "appliances"), 0);
  } finally {
    await relay.close();
  }
});

test("two enrollments racing for one claim code: exactly one succeeds", async () => {
  const relay = await testRelay();
  try {
    const code = await relay.claimCode();
    const results = await Promise.all([1, 2, 3].map(() => new TestAppliance(inProcess(relay.app), relay.clock).enroll(code)));
    assert.equal(results.map((r) => r.status).sort(), [201, 410, 410]);
    assert.is(await count(relay.db, "appliances"), 1);
  } finally {
    await relay.close();
  }
});

test("enrollment is rate-limited per address: beyond the limit it answers 429 with Retry-After", async () => {
  const relay = await testRelay();
  try {
    let last: Response | undefined;
    for (let i = 0; i <= PUBLIC_RATE_LIMIT; i++) last = await relay.app.request("/api/enroll", { method: "POST", body: "{}" });
    assert.is(last!.status, 429);
    assert.ok(Number(last!.headers.get("retry-after")) >= 1);
    assert.is((await errorOf(last!)).code, "rate_limited");
    relay.clock.t += 60_000;
    assert.is((await relay.app.request("/api/enroll", { method: "POST", body: "{}" })).status, 400, "a new window admits requests again");
  } finally {
    await relay.close();
  }
});

test("createClaimCode() refuses an unknown site and a lifetime beyond 90 days", async () => {
  const relay = await testRelay();
  try {
    try {
      await createClaimCode(relay.db, { site_id: "site_doesnotexist", created_by: "t" }, relay.deps);
      assert.unreachable();
    } catch (e) {
      assert.is((e as { code?: string }).code, "site_unknown");
    }
    try {
      await createClaimCode(relay.db, { site_id: relay.siteId, created_by: "t", ttl_ms: 91 * 86_400_000 }, relay.deps);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, RangeError);
    }
  } finally {
    await relay.close();
  }
});

test.run();
