import { chmod, mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner, keyFingerprint, keyId, verify } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import { sha256 } from "../../protocol/hash.ts";
import { KEY_FILES, openStore, StoreError, type Store } from "../store/index.ts";
import { IdentityError } from "./errors.ts";
import { loadOrCreateIdentity, type IdentityEnv } from "./identity.ts";
import { createNodeSigner } from "./node-signer.ts";
import { createX25519Key, x25519PublicKey } from "./x25519.ts";

const T0 = Date.parse("2026-11-27T22:35:36.123Z");
const SITE = "site_0123456789ab";
const APP = "app_0123456789ab";

/** Deterministic bytes: SHA-256 of a seed and a counter. */
function seeded(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 32) out.set(sha256(`${seed}/${counter++}`).subarray(0, Math.min(32, n - i)), i);
    return out;
  };
}

interface Fixture {
  dir: string;
  stateDir: string;
  store: Store;
  env: IdentityEnv;
  events: string[];
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-identity-"));
  const stateDir = join(dir, "state");
  const events: string[] = [];
  const store = await openStore(join(dir, "appliance.db"), { log: { info: () => undefined } });
  const env: IdentityEnv = { random: seeded("identity"), clock: { now: () => T0 }, log: { info: (e, fields) => void events.push(`${e} ${JSON.stringify(fields ?? {})}`) } };
  try {
    await fn({ dir, stateDir, store, env, events });
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function refusal<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  assert.unreachable("expected a refusal");
  throw new Error("unreachable");
}

test("loadOrCreateIdentity() creates three 0600 key files and an unclaimed identity row with public keys only", async () => {
  await withFixture(async ({ stateDir, store, env, events }) => {
    const id = await loadOrCreateIdentity(stateDir, store, env);
    for (const name of [KEY_FILES.identity, KEY_FILES.evidence, KEY_FILES.credentials]) {
      const info = await stat(join(stateDir, name));
      assert.is(info.mode & 0o777, 0o600, name);
      assert.is(info.size, 32, name);
    }
    assert.is((await stat(stateDir)).mode & 0o777, 0o700);
    assert.is(id.state, "unclaimed");
    assert.is(id.appliance_id, null);
    assert.is(id.site_id, null);
    assert.equal(id.relayKeys, []);
    assert.is(id.fingerprint, keyFingerprint(id.evidenceSigner.publicKey));
    const row = (await store.execute("SELECT * FROM identity")).rows[0]!;
    assert.is(row.evidence_public_key, toHex(id.evidenceSigner.publicKey));
    assert.is(row.evidence_key_id, keyId(id.evidenceSigner.publicKey));
    assert.is(row.identity_public_key, toHex(id.identitySigner.publicKey));
    assert.is(row.credentials_public_key, toHex(id.credentials.publicKey));
    assert.is(events.length, 1);
    assert.match(events[0]!, /^identity_created /);
  });
});

test("loadOrCreateIdentity() reuses the same keys on every later start", async () => {
  await withFixture(async ({ stateDir, store, env, events }) => {
    const first = await loadOrCreateIdentity(stateDir, store, env);
    const second = await loadOrCreateIdentity(stateDir, store, { ...env, random: seeded("different") });
    assert.equal(second.evidenceSigner.publicKey, first.evidenceSigner.publicKey);
    assert.equal(second.identitySigner.publicKey, first.identitySigner.publicKey);
    assert.equal(second.credentials.publicKey, first.credentials.publicKey);
    assert.is(events.length, 1, "created once");
  });
});

test("private keys appear only in their key files: not in the database, its WAL, or the log", async () => {
  await withFixture(async ({ dir, stateDir, store, env, events }) => {
    const id = await loadOrCreateIdentity(stateDir, store, env);
    await id.enrollStandalone(SITE, { applianceId: APP });
    const secrets = await Promise.all([KEY_FILES.identity, KEY_FILES.evidence, KEY_FILES.credentials].map((n) => readFile(join(stateDir, n))));
    const files = await Promise.all(["appliance.db", "appliance.db-wal"].map((n) => readFile(join(dir, n)).catch(() => Buffer.alloc(0))));
    const logged = events.join("\n");
    for (const secret of secrets) {
      for (const haystack of files) {
        assert.is(haystack.indexOf(secret), -1, "raw bytes in the database");
        assert.is(haystack.indexOf(Buffer.from(secret.toString("hex"))), -1, "hex in the database");
      }
      assert.not.ok(logged.includes(secret.toString("hex")), "hex in the log");
      assert.not.ok(logged.includes(secret.toString("base64")), "base64 in the log");
    }
  });
});

test("a missing key file of a recorded identity is refused, not regenerated", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    await loadOrCreateIdentity(stateDir, store, env);
    await unlink(join(stateDir, KEY_FILES.evidence));
    const e = await refusal(loadOrCreateIdentity(stateDir, store, env), IdentityError);
    assert.is(e.code, "key_missing");
    assert.match(e.message, KEY_FILES.evidence);
  });
});

test("a key file that does not match the recorded public key is refused", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    await loadOrCreateIdentity(stateDir, store, env);
    const path = join(stateDir, KEY_FILES.evidence);
    await unlink(path);
    await writeFile(path, new Uint8Array(32).fill(9), { mode: 0o600 });
    const e = await refusal(loadOrCreateIdentity(stateDir, store, env), IdentityError);
    assert.is(e.code, "key_mismatch");
    assert.match(e.message, "evidence_public_key");
  });
});

test("a key file readable by others is refused", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    await loadOrCreateIdentity(stateDir, store, env);
    await chmod(join(stateDir, KEY_FILES.identity), 0o644);
    const e = await refusal(loadOrCreateIdentity(stateDir, store, env), StoreError);
    assert.is(e.code, "key_file_permissions");
  });
});

test("key files created before a crash (no identity row yet) are reused at the next start", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    const first = await loadOrCreateIdentity(stateDir, store, env);
    await store.execute("DELETE FROM identity");
    const again = await loadOrCreateIdentity(stateDir, store, { ...env, random: seeded("other") });
    assert.equal(again.evidenceSigner.publicKey, first.evidenceSigner.publicKey);
    assert.is(again.state, "unclaimed");
  });
});

test("enrolled() refuses an appliance that has no ids yet", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    const id = await loadOrCreateIdentity(stateDir, store, env);
    try {
      id.enrolled();
      assert.unreachable("enrolled");
    } catch (e) {
      assert.ok(e instanceof IdentityError && e.code === "not_enrolled", String(e));
    }
  });
});

test("enrollStandalone() assigns ids, pins relay keys, persists them, and is idempotent", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    const relay = createSigner(new Uint8Array(32).fill(3));
    const pinned = [{ key_id: keyId(relay.publicKey), public_key: toHex(relay.publicKey), name: "relay" }];
    const id = await loadOrCreateIdentity(stateDir, store, env);
    await id.enrollStandalone(SITE, { applianceId: APP, relayKeys: pinned });
    await id.enrollStandalone(SITE, { applianceId: APP });
    assert.is(id.state, "enrolled");
    const view = id.enrolled();
    assert.is(view.appliance_id, APP);
    assert.is(view.site_id, SITE);
    assert.equal(view.relayKeys, [{ key_id: pinned[0]!.key_id, publicKey: relay.publicKey }]);

    const reloaded = await loadOrCreateIdentity(stateDir, store, env);
    assert.is(reloaded.state, "enrolled");
    assert.is(reloaded.appliance_id, APP);
    assert.is(reloaded.site_id, SITE);
    assert.equal(reloaded.pinnedRelayKeys, pinned);
  });
});

test("enrollStandalone() mints an app_ id when none is given", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    const id = await loadOrCreateIdentity(stateDir, store, env);
    await id.enrollStandalone(SITE);
    assert.match(id.appliance_id ?? "", /^app_[a-z2-7]{26}$/);
  });
});

test("enrollStandalone() refuses to re-enroll under different ids", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    const id = await loadOrCreateIdentity(stateDir, store, env);
    await id.enrollStandalone(SITE, { applianceId: APP });
    const e = await refusal(id.enrollStandalone("site_otherother1"), IdentityError);
    assert.is(e.code, "already_enrolled");
  });
});

test("pinRelayKeys() refuses a key whose key id does not match its public key", async () => {
  await withFixture(async ({ stateDir, store, env }) => {
    const id = await loadOrCreateIdentity(stateDir, store, env);
    const relay = createSigner(new Uint8Array(32).fill(3));
    try {
      await id.pinRelayKeys([{ key_id: "0000000000000000", public_key: toHex(relay.publicKey), name: "relay" }]);
      assert.unreachable("pinned");
    } catch (e) {
      assert.ok(e instanceof TypeError, String(e));
    }
    assert.equal(id.relayKeys, []);
  });
});

test("X25519 keys match RFC 7748 §6.1 and agree on a shared secret", () => {
  const alice = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bob = fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  assert.is(toHex(x25519PublicKey(alice)), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.is(toHex(x25519PublicKey(bob)), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const a = createX25519Key(alice), b = createX25519Key(bob);
  const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.is(toHex(a.sharedSecret(b.publicKey)), shared);
  assert.is(toHex(b.sharedSecret(a.publicKey)), shared);
});

test("X25519 refuses a low-order peer key instead of returning an all-zero secret", () => {
  const a = createX25519Key(new Uint8Array(32).fill(5));
  assert.throws(() => a.sharedSecret(new Uint8Array(32)));
});

test("createNodeSigner() makes exactly the signatures of the protocol's signer, for every context and raw", async () => {
  const seed = sha256("node signer");
  const node = createNodeSigner(seed);
  const portable = createSigner(seed, "portable");
  assert.equal(node.publicKey, portable.publicKey);
  const message = new TextEncoder().encode("a bundle, more or less");
  for (const context of ["evidence", "checkpoint", "request"] as const) {
    const sig = await node.sign(context, message);
    assert.equal(sig, await portable.sign(context, message), context);
    assert.ok(await verify(context, message, sig, node.publicKey), context);
  }
  assert.equal(await node.signRaw(message), await portable.signRaw(message));
});

test.run();
