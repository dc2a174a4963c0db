import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateIdentity } from "../identity/index.ts";
import { openStore } from "../store/index.ts";
import { enrollWithClaimCode, readToken, tokenPath } from "./enroll.ts";
import { SyncError } from "./errors.ts";
import { RelayHttp } from "./relay-http.ts";
import { createRelayFetch } from "./transport.ts";
import { loopbackRelay, random } from "./_testing.ts";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    assert.instance(e, SyncError, String(e));
    return (e as SyncError).code;
  }
}

test("an appliance enrolled standalone refuses to enroll with a relay (its chain cannot move) and sends nothing", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-enroll-"));
  const store = await openStore(join(dir, "a.db"), { log: { info: () => undefined } });
  try {
    const stateDir = join(dir, "state");
    const identity = await loadOrCreateIdentity(stateDir, store, { random, clock: lr.relay.clock });
    await identity.enrollStandalone("site_0123456789ab");
    let sent = 0;
    const relay = new RelayHttp({ url: lr.url, fetch: (u, i) => (sent++, createRelayFetch()(u, i)), clock: lr.relay.clock, random });
    assert.is(await code(enrollWithClaimCode({ relay, identity, store, stateDir, clock: lr.relay.clock }, await lr.relay.claimCode())), "enroll_state");
    assert.is(sent, 0);
    assert.is(await code(readToken(stateDir, store)), "token_missing");
  } finally {
    store.close();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("readToken() refuses a token file that is not the one issued at enrollment", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-enroll-"));
  const store = await openStore(join(dir, "a.db"), { log: { info: () => undefined } });
  try {
    const stateDir = join(dir, "state");
    const identity = await loadOrCreateIdentity(stateDir, store, { random, clock: lr.relay.clock });
    const relay = new RelayHttp({ url: lr.url, fetch: createRelayFetch(), clock: lr.relay.clock, random });
    await enrollWithClaimCode({ relay, identity, store, stateDir, clock: lr.relay.clock }, await lr.relay.claimCode());
    assert.match(await readToken(stateDir, store), /^[A-Za-z0-9_-]{43}$/);
    await writeFile(tokenPath(stateDir), "A".repeat(43), { mode: 0o600 });
    assert.is(await code(readToken(stateDir, store)), "token_missing");
  } finally {
    store.close();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
