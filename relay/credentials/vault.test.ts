/**
 * The credential vault: AES-256-GCM under key ids, rotation (new key encrypts, old keys still open), the 0600
 * key file created on the first start, the OSIRIS_VAULT_KEY form, and the refusals that protect stored rows.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmod, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toBase64Url, utf8, fromUtf8 } from "../../protocol/encoding.ts";
import { RelayError } from "../errors.ts";
import { testRelay, random, type TestRelay } from "../_testing.ts";
import { storeCredential } from "./credentials.ts";
import { createCredentialVault, VAULT_KEY_ENV } from "./create-vault.ts";
import { vaultFromKeys, vaultKeyId } from "./vault.ts";

async function relayError(p: Promise<unknown>): Promise<RelayError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RelayError) return e;
    throw e;
  }
  throw new Error("expected a RelayError, the call succeeded");
}

let relay: TestRelay;
test.before.each(async () => {
  relay = await testRelay();
});
test.after.each(async () => {
  await relay.close();
});

const key = () => random(32);

test("vault encrypts under its current key and opens with the same additional data only", async () => {
  const k = key();
  const id = vaultKeyId(k);
  const vault = await vaultFromKeys([k], random);
  assert.is(vault.currentKeyId, id);
  assert.ok(k.every((b) => b === 0), "raw key bytes are wiped once imported");
  const ct = await vault.encrypt(utf8("hunter2-secret"), utf8("row-1"));
  assert.is(ct.key_id, id);
  assert.not.ok(ct.ciphertext.includes(toBase64Url(utf8("hunter2"))));
  assert.is(fromUtf8(await vault.decrypt(ct, utf8("row-1"))), "hunter2-secret");
  const e = await relayError(vault.decrypt(ct, utf8("row-2")));
  assert.is(e.code, "credential_unreadable");
  assert.not.ok(e.message.includes("hunter2"));
});

test("after rotation new writes use the newest key and rows under the old key still open", async () => {
  const oldRaw = key();
  const newRaw = key();
  const oldCopy = oldRaw.slice();
  const oldVault = await vaultFromKeys([oldRaw], random);
  const before = await oldVault.encrypt(utf8("old-secret"), utf8("a"));
  const rotated = await vaultFromKeys([newRaw, oldCopy], random);
  assert.is(rotated.keyIds.length, 2);
  assert.is(rotated.keyIds[1], before.key_id);
  const after = await rotated.encrypt(utf8("new-secret"), utf8("b"));
  assert.is(after.key_id, rotated.currentKeyId);
  assert.is.not(after.key_id, before.key_id);
  assert.is(fromUtf8(await rotated.decrypt(before, utf8("a"))), "old-secret");
  const unknown = await relayError((await vaultFromKeys([key()], random)).decrypt(before, utf8("a")));
  assert.is(unknown.code, "credential_unreadable");
  assert.match(unknown.message, before.key_id);
});

test("a vault refuses keys that are not 32 bytes, or the same key twice", async () => {
  const k = key();
  await vaultFromKeys([new Uint8Array(16)], random).then(
    () => assert.unreachable("a 16-byte key was accepted"),
    (e: unknown) => assert.ok(e instanceof TypeError && /32 bytes: current value is 16 bytes/.test(e.message)),
  );
  await vaultFromKeys([k.slice(), k.slice()], random).then(
    () => assert.unreachable("a repeated key was accepted"),
    (e: unknown) => assert.ok(e instanceof TypeError && /repeats key/.test(e.message)),
  );
});

test("createCredentialVault() creates a 0600 key file on the first start and reads the same key after", async () => {
  const path = join(relay.dir, "keys", "vault.key");
  const first = await createCredentialVault({ db: relay.db, keyFile: path, random, log: relay.log });
  assert.is((await stat(path)).mode & 0o777, 0o600);
  assert.is((await readFile(path)).length, 32);
  const second = await createCredentialVault({ db: relay.db, keyFile: path, random, log: relay.log });
  assert.is(second.currentKeyId, first.currentKeyId);
  assert.ok(relay.logs.some((l) => l.event === "vault_key_created" && l.fields["key_id"] === first.currentKeyId));
});

test("createCredentialVault() refuses to create a key when credentials exist under another, naming their key id", async () => {
  const vault = await vaultFromKeys([key()], random);
  await storeCredential(relay.db, vault, { site_id: relay.siteId, target: "fs01", kind: "ssh_password", username: "u", secret: "s3cret", created_by: "test" }, relay.deps);
  const e = await relayError(createCredentialVault({ db: relay.db, keyFile: join(relay.dir, "missing.key"), random, log: relay.log }));
  assert.is(e.code, "config");
  assert.match(e.message, vault.currentKeyId);
  assert.match(e.message, /restore the key file/);
});

test("createCredentialVault() refuses a key file others can read, a symbolic link, or a wrong size", async () => {
  const path = join(relay.dir, "v.key");
  await writeFile(path, random(32), { mode: 0o644 });
  await chmod(path, 0o644);
  assert.match((await relayError(createCredentialVault({ db: relay.db, keyFile: path, random, log: relay.log }))).message, /must be mode 0600.*0644/);
  await chmod(path, 0o600);
  const link = join(relay.dir, "link.key");
  await symlink(path, link);
  assert.match((await relayError(createCredentialVault({ db: relay.db, keyFile: link, random, log: relay.log }))).message, /symbolic link/);
  const short = join(relay.dir, "short.key");
  await writeFile(short, random(20), { mode: 0o600 });
  assert.match((await relayError(createCredentialVault({ db: relay.db, keyFile: short, random, log: relay.log }))).message, /32-byte key; saw 20 bytes/);
});

test(`createCredentialVault() takes ${VAULT_KEY_ENV} (current first, then older keys) and never shows a bad value`, async () => {
  const a = key();
  const b = key();
  const vault = await createCredentialVault({ db: relay.db, envKeys: `${toBase64Url(a)},${toBase64Url(b)}`, random, log: relay.log });
  assert.equal(vault.keyIds, [vaultKeyId(a), vaultKeyId(b)]);
  const bad = "c2hvcnQta2V5LXZhbHVl"; // "short-key-value"
  const e = await relayError(createCredentialVault({ db: relay.db, envKeys: `${toBase64Url(a)},${bad}`, random, log: relay.log }));
  assert.match(e.message, /key 2 must be 32 bytes: current value is 15 bytes/);
  assert.not.ok(e.message.includes(bad));
  const both = await relayError(createCredentialVault({ db: relay.db, envKeys: toBase64Url(a), keyFile: join(relay.dir, "x.key"), random, log: relay.log }));
  assert.match(both.message, /not both/);
  const none = await relayError(createCredentialVault({ db: relay.db, random, log: relay.log }));
  assert.match(none.message, /needs a key/);
});

test("createCredentialVault() reports rows under a key it was not given", async () => {
  const old = await vaultFromKeys([key()], random);
  await storeCredential(relay.db, old, { site_id: relay.siteId, target: "*", kind: "winrm_ntlm", username: "CLINIC\\osiris", secret: "pw", created_by: "test" }, relay.deps);
  await createCredentialVault({ db: relay.db, envKeys: toBase64Url(key()), random, log: relay.log });
  const entry = relay.logs.find((l) => l.event === "vault_keys_missing");
  assert.ok(entry, "the missing key is logged");
  assert.equal(entry!.fields["key_ids"], [old.currentKeyId]);
});

test.run();
