import { test } from "uvu";
import * as assert from "uvu/assert";
import { utf8 } from "../../protocol/encoding.ts";
import { enrolledAppliance, errorOf, random, testRelay } from "../_testing.ts";
import { revokeAppliance } from "../enroll/enroll.ts";
import { NONCE_RETENTION_MS } from "./nonces.ts";
import { buildRequestMessage, REQUEST_CLOCK_SKEW_MS, requestPath, signRequest } from "./request-message.ts";
import { constantTimeEqual, parseBearer } from "./token.ts";

const PULL = "/api/sync/pull";

test("a request signed with the identity key registered at enrollment is accepted", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const res = await a.request("GET", PULL);
    assert.is(res.status, 200);
  } finally {
    await relay.close();
  }
});

test("a request without a bearer token is refused: token_missing", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const headers = await signRequest(a.identity, a.token, { method: "GET", url: PULL, now: relay.clock.now(), random });
    delete headers["Authorization"];
    const res = await relay.app.request(PULL, { headers });
    assert.is(res.status, 401);
    assert.is((await errorOf(res)).code, "token_missing");
  } finally {
    await relay.close();
  }
});

test("a revoked appliance is refused with 401 'appliance revoked' even with a valid signature", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    assert.is((await a.request("GET", PULL)).status, 200);
    await revokeAppliance(relay.deps, a.id, "decommissioned");
    const res = await a.request("GET", PULL);
    assert.is(res.status, 401);
    const err = await errorOf(res);
    assert.is(err.code, "appliance_revoked");
    assert.is(err.message, "appliance revoked");
  } finally {
    await relay.close();
  }
});

test("a request without the signature headers is refused: signature_missing names them", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const res = await relay.app.request(PULL, { headers: { Authorization: `Bearer ${a.token}` } });
    assert.is(res.status, 401);
    const err = await errorOf(res);
    assert.is(err.code, "signature_missing");
    assert.match(err.message, /X-Osiris-Timestamp, X-Osiris-Nonce, X-Osiris-Signature/);
  } finally {
    await relay.close();
  }
});

test("a timestamp more than 120 s behind or ahead of the relay is refused as stale; 119 s is accepted", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const now = relay.clock.now();
    for (const skew of [-(REQUEST_CLOCK_SKEW_MS + 1000), REQUEST_CLOCK_SKEW_MS + 1000]) {
      const res = await a.request("GET", PULL, undefined, { now: now + skew });
      assert.is(res.status, 401);
      const err = await errorOf(res);
      assert.is(err.code, "timestamp_stale");
      assert.is(err.details?.["relay_time"], "2026-11-27T12:00:00.000Z");
    }
    assert.is((await a.request("GET", PULL, undefined, { now: now - 119_000 })).status, 200);
    assert.is((await a.request("GET", PULL, undefined, { now: now + 119_000 })).status, 200);
  } finally {
    await relay.close();
  }
});

test("a malformed timestamp, nonce or signature header is refused with its own code", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const good = await signRequest(a.identity, a.token, { method: "GET", url: PULL, now: relay.clock.now(), random });
    const cases: [string, string, string][] = [
      ["X-Osiris-Timestamp", "2026-11-27T12:00:00Z", "timestamp_invalid"],
      ["X-Osiris-Nonce", "short", "nonce_invalid"],
      ["X-Osiris-Signature", "zz", "signature_invalid"],
    ];
    for (const [header, value, code] of cases) {
      const res = await relay.app.request(PULL, { headers: { ...good, [header]: value } });
      assert.is(res.status, 401, header);
      assert.is((await errorOf(res)).code, code);
    }
  } finally {
    await relay.close();
  }
});

test("a replayed request (same nonce) is refused: nonce_replayed", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const headers = await signRequest(a.identity, a.token, { method: "GET", url: PULL, now: relay.clock.now(), random });
    assert.is((await relay.app.request(PULL, { headers })).status, 200);
    const res = await relay.app.request(PULL, { headers });
    assert.is(res.status, 401);
    assert.is((await errorOf(res)).code, "nonce_replayed");
  } finally {
    await relay.close();
  }
});

test("a request signed by another key (the evidence key, another appliance's key) is refused: signature_invalid", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const b = await enrolledAppliance(relay);
    for (const signer of [a.evidence, b.identity]) {
      const res = await a.request("GET", PULL, undefined, { signer });
      assert.is(res.status, 401);
      const err = await errorOf(res);
      assert.is(err.code, "signature_invalid");
      assert.match(err.message, /identity key registered at enrollment/);
    }
  } finally {
    await relay.close();
  }
});

test("a body changed after signing is refused: signature_invalid, and nothing is stored", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const entries = a.entries(await a.makeBundles(1));
    const res = await a.request("POST", "/api/sync/push", a.pushBody(entries), { signedBody: utf8(JSON.stringify(a.pushBody([]))) });
    assert.is(res.status, 401);
    assert.is((await errorOf(res)).code, "signature_invalid");
    const rs = await relay.db.execute("SELECT COUNT(*) AS n FROM evidence");
    assert.is(Number(rs.rows[0]?.["n"]), 0);
  } finally {
    await relay.close();
  }
});

test("a signature for one path does not authorise another: signature_invalid", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const headers = await signRequest(a.identity, a.token, { method: "GET", url: "/api/sync/key-rotations", now: relay.clock.now(), random });
    const res = await relay.app.request(PULL, { headers });
    assert.is(res.status, 401);
    assert.is((await errorOf(res)).code, "signature_invalid");
  } finally {
    await relay.close();
  }
});

test("seen nonces are pruned once they are older than the retention window", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    assert.is((await a.request("GET", PULL)).status, 200);
    relay.clock.t += NONCE_RETENTION_MS + 1;
    assert.is((await a.request("GET", PULL)).status, 200);
    const rs = await relay.db.execute("SELECT COUNT(*) AS n FROM request_nonces");
    assert.is(Number(rs.rows[0]?.["n"]), 1, "the old nonce is gone, the new one kept");
  } finally {
    await relay.close();
  }
});

test("buildRequestMessage() signs method, path with query, body hash, timestamp and nonce as canonical JSON", () => {
  const msg = new TextDecoder().decode(buildRequestMessage({ method: "post", path: requestPath("https://relay.example/api/sync/pull?x=1"), body: utf8("{}"), timestamp: "2026-11-27T12:00:00.000Z", nonce: "AAAAAAAAAAAAAAAAAAAAAA" }));
  assert.is(
    msg,
    '{"body_sha256":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","method":"POST","nonce":"AAAAAAAAAAAAAAAAAAAAAA","path":"/api/sync/pull?x=1","timestamp":"2026-11-27T12:00:00.000Z"}',
  );
});

test("parseBearer() accepts only a 43-character base64url token; constantTimeEqual() compares bytes", () => {
  assert.is(parseBearer(`Bearer ${"a".repeat(43)}`), "a".repeat(43));
  assert.is(parseBearer(`Basic ${"a".repeat(43)}`), null);
  assert.is(parseBearer(`Bearer ${"a".repeat(42)}`), null);
  assert.is(parseBearer(undefined), null);
  assert.ok(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.not.ok(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.not.ok(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2])));
});

test.run();
