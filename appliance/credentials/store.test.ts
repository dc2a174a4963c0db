/**
 * HostCredentials: opens the credentials the relay sealed to this appliance (real sealing, real X25519 keys),
 * refuses what is not for it, picks the right credential per target, keeps unchanged objects across pulls,
 * and never prints a secret.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { inspect } from "node:util";
import { sealCredential, type CredentialPayload } from "../../node/sealed-credential.ts";
import { createX25519Key } from "../../node/x25519.ts";
import type { Credential } from "../config/credentials.ts";
import { HostCredentials } from "./store.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const APPLIANCE = "app_aaaaaaaaaaaaaaaa";
const SECRET = "s3cret-planted-store-test";

function logSink() {
  const entries: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void entries.push({ level, msg, fields });
  return { entries, log: { info: at("info"), warn: at("warn"), error: at("error") } };
}

const payload = (over: Partial<CredentialPayload> = {}): CredentialPayload => ({ credential_id: "cred_0000000001", target: "fs01", kind: "ssh_password", username: "osiris", secret: SECRET, ...over });

test("apply() opens credentials sealed to this appliance and resolves them for their targets", async () => {
  const key = createX25519Key(random(32));
  const { log, entries } = logSink();
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log });
  assert.not.ok(store.loaded);
  const r = await store.apply([await sealCredential(payload(), key.publicKey, APPLIANCE, random)]);
  assert.equal(r, { loaded: 1, changed: true, refused: [] });
  assert.ok(store.loaded);
  const host = store.forTarget({ id: "fs01", credential_ref: "whatever", collector: "ssh" });
  assert.equal(host?.credential, { type: "password", username: "osiris", password: SECRET } as unknown as Credential);
  assert.is(host?.source, "relay");
  assert.is(store.forTarget({ id: "fs02", credential_ref: "whatever", collector: "ssh" }), null);
  assert.is(store.forTarget({ id: "fs01", credential_ref: "whatever", collector: "winrm" }), null, "an ssh credential never serves WinRM");
  assert.not.ok(JSON.stringify(entries).includes(SECRET));
});

test("a credential sealed to another key or another appliance is refused and not used; the rest still load", async () => {
  const key = createX25519Key(random(32));
  const other = createX25519Key(random(32));
  const { log, entries } = logSink();
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log });
  const r = await store.apply([
    await sealCredential(payload({ credential_id: "cred_0000000001" }), other.publicKey, APPLIANCE, random),
    await sealCredential(payload({ credential_id: "cred_0000000002" }), key.publicKey, "app_bbbbbbbbbbbbbbbb", random),
    await sealCredential(payload({ credential_id: "cred_0000000003", target: "fs03" }), key.publicKey, APPLIANCE, random),
  ]);
  assert.is(r.loaded, 1);
  assert.equal(r.refused, [
    { credential_id: "cred_0000000001", reason: "open_failed" },
    { credential_id: "cred_0000000002", reason: "open_failed" },
  ]);
  assert.equal(store.list().map((c) => c.credential_id), ["cred_0000000003"]);
  assert.is(entries.filter((e) => e.msg === "credential_refused").length, 2);
  // A box relabelled for another host (outer target changed) is refused too.
  const relabelled = { ...(await sealCredential(payload({ credential_id: "cred_0000000004", target: "fs04" }), key.publicKey, APPLIANCE, random)), target: "*" };
  assert.equal((await store.apply([relabelled])).refused, [{ credential_id: "cred_0000000004", reason: "open_failed" }]);
  assert.is(store.forTarget({ id: "fs09", credential_ref: "x", collector: "ssh" }), null);
});

test("forTarget(): the named credential first, then the most specific target, then the credentials file", async () => {
  const key = createX25519Key(random(32));
  const file = new Map<string, Credential>([["file-ref", { type: "password", username: "local", password: "from-file" }]]);
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log: logSink().log, file });
  assert.is(store.forTarget({ id: "fs01", credential_ref: "file-ref", collector: "ssh" })?.source, "file", "before any pull: the file");
  await store.apply(
    await Promise.all(
      [
        payload({ credential_id: "cred_0000000001", target: "*", username: "any" }),
        payload({ credential_id: "cred_0000000002", target: "fs*", username: "fs-pattern" }),
        payload({ credential_id: "cred_0000000003", target: "fs01", username: "exact" }),
        payload({ credential_id: "cred_0000000004", target: "dc01", kind: "winrm_basic", username: "CLINIC\\win" }),
        payload({ credential_id: "cred_0000000005", target: "zz", username: "named" }),
      ].map((p) => sealCredential(p, key.publicKey, APPLIANCE, random)),
    ),
  );
  const user = (id: string, ref = "none", collector: "ssh" | "winrm" = "ssh") => store.forTarget({ id, credential_ref: ref, collector })?.credential.username ?? null;
  assert.is(user("fs01"), "exact");
  assert.is(user("fs02"), "fs-pattern");
  assert.is(user("db01"), "any");
  assert.is(user("fs01", "cred_0000000005"), "named", "credential_ref naming a relay credential wins");
  assert.is(user("dc01", "none", "winrm"), "CLINIC\\win");
  assert.is(store.forTarget({ id: "dc01", credential_ref: "none", collector: "winrm" })?.winrmAuth, "basic");
  assert.is(user("web01", "file-ref", "winrm"), "local", "no relay WinRM credential covers web01: the file's");
});

test("a pull with the same credentials keeps the same objects; a changed secret or a deletion replaces them", async () => {
  const key = createX25519Key(random(32));
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log: logSink().log });
  const seal = (p: CredentialPayload) => sealCredential(p, key.publicKey, APPLIANCE, random);
  await store.apply([await seal(payload())]);
  const first = store.forTarget({ id: "fs01", credential_ref: "x", collector: "ssh" });
  const gen = store.generation;
  assert.is((await store.apply([await seal(payload())])).changed, false);
  assert.is(store.forTarget({ id: "fs01", credential_ref: "x", collector: "ssh" }), first, "same object: connections are kept");
  assert.is(store.generation, gen);
  assert.is((await store.apply([await seal(payload({ secret: "rotated-password" }))])).changed, true);
  const second = store.forTarget({ id: "fs01", credential_ref: "x", collector: "ssh" });
  assert.is.not(second, first);
  assert.is(second?.credential.type === "password" && second.credential.password, "rotated-password");
  assert.is((await store.apply([])).changed, true);
  assert.is(store.forTarget({ id: "fs01", credential_ref: "x", collector: "ssh" }), null, "deleted on the relay: gone here");
});

test("credentials print as [redacted] through JSON.stringify and util.inspect", async () => {
  const key = createX25519Key(random(32));
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log: logSink().log });
  await store.apply([await sealCredential(payload({ kind: "ssh_key", secret: `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET}\n-----END OPENSSH PRIVATE KEY-----` }), key.publicKey, APPLIANCE, random)]);
  const host = store.forTarget({ id: "fs01", credential_ref: "x", collector: "ssh" })!;
  for (const text of [JSON.stringify(host), JSON.stringify(host.credential), inspect(host), inspect(host.credential), inspect({ nested: [host] }, { depth: 5 })]) {
    assert.not.ok(text.includes(SECRET), text);
    assert.match(text, /redacted/);
  }
  assert.not.ok(JSON.stringify(store.list()).includes(SECRET));
});

test("whenLoaded() resolves at the first pull, or false after its bound", async () => {
  const key = createX25519Key(random(32));
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log: logSink().log });
  assert.is(await store.whenLoaded(10), false);
  const waiting = store.whenLoaded(5_000);
  await store.apply([]);
  assert.is(await waiting, true);
  assert.is(await store.whenLoaded(0), true);
});

test.run();
