/**
 * The appliance rows cached by the auth middleware never outlive a change to the stored row: a revocation or
 * a token rotation made by another relay process on the same database (here: another app on the same file,
 * with its own cache) is refused on the very next request to this one. A push records its nonce in its own
 * transaction, and a replay of it is still refused.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRelayApp } from "../app.ts";
import { count, enrolledAppliance, errorOf, inProcess, testRelay } from "../_testing.ts";
import { revokeAppliance } from "../enroll/enroll.ts";

const PULL = "/api/sync/pull";

test("an appliance revoked by another relay process is refused on its next request to this one", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    for (let i = 0; i < 3; i++) assert.is((await a.request("GET", PULL)).status, 200, "this relay has the appliance cached");
    // Straight in the shared database, as another relay process (or `osiris relay admin`) would.
    await revokeAppliance(relay.deps, a.id, "stolen");
    const res = await a.request("GET", PULL);
    assert.is(res.status, 401);
    assert.is((await errorOf(res)).code, "appliance_revoked");
    const push = await a.push(a.entries(await a.makeBundles(1)));
    assert.is(push.status, 401, "a push is refused too (its nonce is checked in the push's own transaction)");
    assert.is((await errorOf(push)).code, "appliance_revoked");
    assert.is(await count(relay.db, "evidence"), 0, "and stores nothing");
  } finally {
    await relay.close();
  }
});

test("after a token rotation finished on another relay process, the old token is refused here at once; the new one works", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const here = a.transport;
    assert.is((await a.request("GET", PULL)).status, 200, "the old token is cached here");
    // Rotate and first use the new token on the other process: that makes it the token and ends the old one.
    a.transport = inProcess(createRelayApp(relay.deps));
    const rotated = await a.request("POST", "/api/sync/rotate-token");
    assert.is(rotated.status, 200);
    const oldToken = a.token;
    a.token = ((await rotated.json()) as { token: string }).token;
    assert.is((await a.request("GET", PULL)).status, 200);
    a.transport = here;
    const stale = await a.request("GET", PULL, undefined, { token: oldToken });
    assert.is(stale.status, 401);
    assert.is((await errorOf(stale)).code, "token_unknown");
    assert.is((await a.request("GET", PULL)).status, 200, "the new token works here");
  } finally {
    await relay.close();
  }
});

test("a replayed request is still refused when the appliance is cached", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    assert.is((await a.request("GET", PULL)).status, 200);
    let captured: RequestInit | null = null;
    const real = a.transport;
    a.transport = (path, init) => ((captured = init), real(path, init));
    assert.is((await a.request("GET", PULL)).status, 200);
    const replay = await real(PULL, captured!);
    assert.is(replay.status, 401);
    assert.is((await errorOf(replay)).code, "nonce_replayed");
  } finally {
    await relay.close();
  }
});

test("a replayed push is refused with nonce_replayed and changes nothing; the original was stored once", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    let captured: RequestInit | null = null;
    const real = a.transport;
    a.transport = (path, init) => ((captured = init), real(path, init));
    assert.is((await a.push(a.entries(await a.makeBundles(2)), await a.checkpoint())).status, 200);
    const nonces = await count(relay.db, "request_nonces");
    const replay = await real("/api/sync/push", captured!);
    assert.is(replay.status, 401);
    assert.is((await errorOf(replay)).code, "nonce_replayed");
    assert.is(await count(relay.db, "evidence"), 2);
    assert.is(await count(relay.db, "request_nonces"), nonces);
    assert.is(await count(relay.db, "checkpoints"), 1);
  } finally {
    await relay.close();
  }
});

test.run();
