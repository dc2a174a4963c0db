/**
 * Site credentials through the relay's routes, on a real libSQL file: stored write-only and encrypted (the
 * database file and its WAL never hold the secret in any common encoding), listed as metadata, deleted,
 * re-encrypted after a key rotation, sealed to the appliance's registered X25519 key on pull (never sent in
 * the clear), and validated through a signed order whose result shows as last_validation. The appliance here
 * is the relay suite's simulated one (protocol functions only) with a real X25519 key; the real appliance's
 * side is appliance/credentials/e2e.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { openEnvelope } from "../../protocol/envelope.ts";
import { toBase64, toBase64Url, toHex, utf8 } from "../../protocol/encoding.ts";
import { parsePullResponse, type PullResponse } from "../../protocol/sync.ts";
import { openCredential } from "../../node/sealed-credential.ts";
import { createX25519Key, type X25519Key } from "../../node/x25519.ts";
import { asUser, count, errorOf, inProcess, random, TestAppliance, testRelay, userInit, type TestRelay, type TestUser } from "../_testing.ts";
import { createOrganisation, createSite } from "../tenants/tenants.ts";
import { MAX_SITE_CREDENTIALS, reencryptCredentials, storeCredential } from "./credentials.ts";
import { vaultFromKeys, type CredentialVault } from "./vault.ts";

/** The planted secret: unique, so finding it anywhere is a leak, not a coincidence. */
const SECRET = `pl4nted-Secret-${toHex(random(6))}-ünï`;

let relay: TestRelay;
let admin: TestUser;
let vault: CredentialVault;
/** A copy of the vault's key (the vault wipes the bytes it was given). */
let vaultKey: Uint8Array;

test.before.each(async () => {
  relay = await testRelay();
  vaultKey = random(32);
  vault = await vaultFromKeys([vaultKey.slice()], random);
  relay.deps.vault = vault;
  admin = await asUser(relay, "msp_admin");
});
test.after.each(async () => {
  await relay.close();
});

const call = (path: string, init: RequestInit) => relay.app.request(path, init);
const store = (body: unknown, user: TestUser = admin, siteId = relay.siteId) => call(`/api/sites/${siteId}/credentials`, userInit(user, "POST", body));
const list = async (user: TestUser = admin) => (await (await call(`/api/sites/${relay.siteId}/credentials`, userInit(user))).json()) as { credentials: Record<string, unknown>[] };

/** An appliance of the site enrolled with a real X25519 credentials key (whose private half the test keeps). */
async function applianceWithKey(siteId?: string): Promise<{ a: TestAppliance; key: X25519Key }> {
  const key = createX25519Key(random(32));
  const a = new TestAppliance(inProcess(relay.app), relay.clock);
  (a as { credentialsPublicKey: Uint8Array }).credentialsPublicKey = key.publicKey;
  const res = await a.enroll(await relay.claimCode(siteId));
  assert.is(res.status, 201);
  return { a, key };
}

async function pull(a: TestAppliance): Promise<{ text: string; body: PullResponse }> {
  const res = await a.request("GET", "/api/sync/pull");
  assert.is(res.status, 200);
  const text = await res.text();
  return { text, body: parsePullResponse(JSON.parse(text)) };
}

/** Every common encoding of the secret: raw UTF-8 and UTF-16, base64, base64url, hex. */
function encodings(secret: string): Buffer[] {
  const b = utf8(secret);
  return [Buffer.from(b), Buffer.from(secret, "utf16le"), Buffer.from(toBase64(b)), Buffer.from(toBase64Url(b)), Buffer.from(toHex(b))];
}

async function filesContaining(dir: string, secret: string): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(dir)) {
    const bytes = await readFile(join(dir, name)).catch(() => null);
    if (bytes && encodings(secret).some((e) => bytes.includes(e))) hits.push(name);
  }
  return hits;
}

test("a stored secret is never echoed and is nowhere in the database file, its WAL, the audit log or the logs", async () => {
  const res = await store({ target: "fs01", kind: "ssh_password", username: "osiris", secret: SECRET });
  assert.is(res.status, 201);
  const text = await res.text();
  const { id } = JSON.parse(text) as { id: string };
  assert.match(id, /^cred_/);
  assert.not.ok(text.includes(SECRET));
  const listed = await call(`/api/sites/${relay.siteId}/credentials`, userInit(admin));
  const listText = await listed.text();
  assert.not.ok(listText.includes(SECRET));
  assert.equal(Object.keys((JSON.parse(listText) as { credentials: object[] }).credentials[0]!).sort(), ["created_at", "created_by", "id", "kind", "last_validation", "target", "updated_at", "username"]);
  const files = await readdir(relay.dir);
  assert.ok(files.includes("relay.db-wal") || files.includes("relay.db"), `the database files are there: ${files.join(", ")}`);
  assert.equal(await filesContaining(relay.dir, SECRET), [], "no database file holds the secret");
  const auditRows = await relay.db.execute("SELECT action, target, details FROM audit_log WHERE action = 'credential.store'");
  assert.is(auditRows.rows.length, 1);
  assert.not.ok(JSON.stringify(auditRows.rows).includes(SECRET));
  assert.not.ok(JSON.stringify(relay.logs).includes(SECRET));
  // The ciphertext row does open to the secret: it was stored, not dropped.
  const { a, key } = await applianceWithKey();
  const sealed = (await pull(a)).body.credentials;
  assert.is((await openCredential(sealed[0]!, key, a.id)).secret, SECRET);
});

test("bad store requests say what was wrong without quoting the secret, and store nothing", async () => {
  const cases: [unknown, RegExp][] = [
    [{ target: "fs01", kind: "ssh_password", username: "u", secret: 12345 }, /^secret: expected a string, got number \(value not shown\)$/],
    [{ target: "fs01", kind: "ssh_password", username: "u", secret: "x".repeat(9000) }, /^secret: must be 1\.\.8192 bytes, got 9000 bytes/],
    [{ target: "fs01", kind: "ssh_key", username: "u", secret: SECRET }, /ssh_key credential must be a PEM or OpenSSH private key/],
    [{ target: "fs01", kind: "telnet", username: "u", secret: SECRET }, /kind/],
    [{ target: "FS 01", kind: "ssh_password", username: "u", secret: SECRET }, /target/],
    [{ target: "fs01", kind: "ssh_password", username: "u", secret: SECRET, [SECRET]: 1 }, /unknown field \(name not shown\)/],
    [{ target: "fs01", kind: "ssh_password", username: "u", secret: SECRET, pasword: 1 }, /unknown field "pasword"/],
  ];
  for (const [body, message] of cases) {
    const res = await store(body);
    assert.is(res.status, 400, JSON.stringify(body).slice(0, 80));
    const err = await errorOf(res);
    assert.match(err.message, message);
    assert.not.ok(JSON.stringify(err).includes(SECRET));
  }
  assert.is(await count(relay.db, "site_credentials"), 0);
});

test("only site operators of the tenant may store or list; a relay without a vault refuses with 503", async () => {
  const owner = await asUser(relay, "client_owner");
  assert.is((await store({ target: "fs01", kind: "ssh_password", username: "u", secret: SECRET }, owner)).status, 403);
  assert.is((await call(`/api/sites/${relay.siteId}/credentials`, userInit(owner))).status, 403);
  const otherPartner = await asUser(relay, "partner_admin");
  assert.is((await store({ target: "fs01", kind: "ssh_password", username: "u", secret: SECRET }, otherPartner)).status, 404);
  assert.is((await call(`/api/sites/${relay.siteId}/credentials`, {})).status, 401);
  delete relay.deps.vault;
  const res = await store({ target: "fs01", kind: "ssh_password", username: "u", secret: SECRET });
  assert.is(res.status, 503);
  assert.is((await errorOf(res)).code, "vault_unavailable");
  assert.is(await count(relay.db, "site_credentials"), 0);
});

test(`a site holds at most ${MAX_SITE_CREDENTIALS} credentials`, async () => {
  for (let i = 0; i < MAX_SITE_CREDENTIALS; i++) {
    await storeCredential(relay.db, vault, { site_id: relay.siteId, target: `h${i}`, kind: "ssh_password", username: "u", secret: "pw", created_by: "t" }, relay.deps);
  }
  const res = await store({ target: "fs01", kind: "ssh_password", username: "u", secret: SECRET });
  assert.is(res.status, 409);
  assert.is((await errorOf(res)).code, "credential_limit");
});

test("pull seals each credential of the appliance's site to its key: no plaintext, other sites see nothing", async () => {
  await store({ target: "*", kind: "winrm_ntlm", username: "CLINIC\\osiris", secret: SECRET });
  const { a, key } = await applianceWithKey();
  const { text, body } = await pull(a);
  assert.equal(encodings(SECRET).filter((e) => text.includes(e.toString("latin1"))), []);
  assert.not.ok(text.includes(SECRET));
  assert.is(body.credentials.length, 1);
  const c = body.credentials[0]!;
  assert.is(c.alg, "x25519-hkdf-sha256-aes256gcm");
  assert.is(c.target, "*");
  assert.equal(await openCredential(c, key, a.id), { credential_id: c.credential_id, target: "*", kind: "winrm_ntlm", username: "CLINIC\\osiris", secret: SECRET });
  // Sealed to this appliance only: another appliance's key, or another appliance id, does not open it.
  await openCredential(c, createX25519Key(random(32)), a.id).then(() => assert.unreachable("opened with another key"), () => undefined);
  // An appliance of another site gets none of them.
  const env = { clock: relay.clock, random };
  const org = await createOrganisation(relay.db, { msp_id: relay.mspId, name: "Other Clinic" }, env);
  const site = await createSite(relay.db, { org_id: org.id, name: "Elsewhere" }, env);
  const other = await applianceWithKey(site.id);
  assert.equal((await pull(other.a)).body.credentials, []);
});

test("no plaintext fallback: without a vault, or for an altered row, the credential is left out and an error logged", async () => {
  await store({ target: "fs01", kind: "ssh_password", username: "osiris", secret: SECRET });
  await store({ target: "fs02", kind: "ssh_password", username: "osiris", secret: SECRET });
  const { a } = await applianceWithKey();
  // A row whose target was changed in the database no longer decrypts (the target is bound to the ciphertext).
  await relay.db.execute("UPDATE site_credentials SET target = 'fs09' WHERE target = 'fs02'");
  const partly = await pull(a);
  assert.equal(partly.body.credentials.map((c) => c.target), ["fs01"]);
  assert.ok(relay.logs.some((l) => l.event === "credential_not_sealed" && l.fields["reason"] === "credential_unreadable"));
  delete relay.deps.vault;
  const none = await pull(a);
  assert.equal(none.body.credentials, []);
  assert.not.ok(none.text.includes(SECRET));
  assert.ok(relay.logs.some((l) => l.event === "credentials_not_sealed" && l.fields["reason"] === "vault_unavailable"));
  assert.not.ok(JSON.stringify(relay.logs).includes(SECRET));
});

test("delete removes the credential from the list and from the next pull, and is audited", async () => {
  const { id } = (await (await store({ target: "fs01", kind: "ssh_password", username: "osiris", secret: SECRET })).json()) as { id: string };
  const { a } = await applianceWithKey();
  assert.is((await pull(a)).body.credentials.length, 1);
  const res = await call(`/api/credentials/${id}`, userInit(admin, "DELETE"));
  assert.is(res.status, 200);
  assert.equal((await list()).credentials, []);
  assert.equal((await pull(a)).body.credentials, []);
  assert.is((await call(`/api/credentials/${id}`, userInit(admin, "DELETE"))).status, 404);
  assert.is(await count(relay.db, "audit_log", "action = 'credential.delete' AND target = ?", [id]), 1);
});

test("re-encryption moves every row to the newest vault key; the old key is then no longer needed", async () => {
  await store({ target: "fs01", kind: "ssh_password", username: "osiris", secret: SECRET });
  await store({ target: "fs02", kind: "ssh_key", username: "root", secret: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n" });
  const newKey = random(32);
  const both = await vaultFromKeys([newKey.slice(), vaultKey.slice()], random);
  assert.equal(both.keyIds, [both.currentKeyId, vault.currentKeyId]);
  relay.deps.vault = both;
  // A store during the rotation already uses the new key.
  await store({ target: "fs03", kind: "winrm_basic", username: "admin", secret: SECRET });
  const r = await reencryptCredentials(relay.db, both, relay.deps, 1);
  assert.equal(r, { reencrypted: 1, unreadable: 0, remaining: 1 });
  assert.equal(await reencryptCredentials(relay.db, both, relay.deps), { reencrypted: 1, unreadable: 0, remaining: 0 });
  const keyIds = await relay.db.execute("SELECT DISTINCT key_id FROM site_credentials");
  assert.equal(keyIds.rows.map((x) => x["key_id"]), [both.currentKeyId]);
  relay.deps.vault = await vaultFromKeys([newKey], random);
  const { a, key } = await applianceWithKey();
  const sealed = (await pull(a)).body.credentials;
  assert.is(sealed.length, 3, "every row opens with the new key alone");
  assert.ok((await Promise.all(sealed.map((c) => openCredential(c, key, a.id)))).some((c) => c.secret === SECRET));
});

test("validate issues a signed validate_credential order and shows its result as last_validation", async () => {
  const { id } = (await (await store({ target: "fs01", kind: "ssh_password", username: "osiris", secret: SECRET })).json()) as { id: string };
  const { a } = await applianceWithKey();
  const res = await call(`/api/credentials/${id}/validate`, userInit(admin, "POST"));
  assert.is(res.status, 202);
  const issued = (await res.json()) as { order_id: string; appliance_id: string; host_id: string };
  assert.is(issued.appliance_id, a.id);
  assert.is(issued.host_id, "fs01");
  const pending = (await list()).credentials[0]!["last_validation"] as Record<string, unknown>;
  assert.is(pending["status"], "pending");
  // The appliance receives the order, signed by the relay key, naming the credential but holding no secret.
  const { body, text } = await pull(a);
  const trusted = [{ key_id: relay.relayKey.keyId, publicKey: relay.relayKey.signer.publicKey }];
  const opened = await Promise.all(body.orders.map(async (o) => (await openEnvelope("order", o, trusted)).value as { order_id: string; type: string; params: Record<string, string> }));
  const payload = opened.find((o) => o.order_id === issued.order_id);
  assert.ok(payload, "the signed order is in the pull");
  assert.is(payload!.type, "validate_credential");
  assert.equal(payload!.params, { credential_id: id, host_id: "fs01" });
  assert.not.ok(text.includes(SECRET));
  // The appliance reports the failure; the list shows its class and words.
  const detail = "auth_failed: ssh osiris@10.0.0.5:22 rejected the password for osiris";
  const push = await a.push([{ outbox_seq: ++a.outboxSeq, type: "order_result", body: { order_id: issued.order_id, outcome: "failed", detail } }]);
  assert.is(push.status, 200);
  const done = (await list()).credentials[0]!["last_validation"] as Record<string, unknown>;
  assert.is(done["status"], "failed");
  assert.is(done["code"], "auth_failed");
  assert.is(done["detail"], detail);
  assert.is(await count(relay.db, "audit_log", "action = 'credential.validate' AND target = ?", [id]), 1);
});

test("validate: a pattern needs a host it covers; an expired order shows as expired; no appliance is a 404", async () => {
  const { id } = (await (await store({ target: "srv-*", kind: "ssh_password", username: "osiris", secret: SECRET })).json()) as { id: string };
  const noAppliance = await call(`/api/credentials/${id}/validate`, userInit(admin, "POST", { host_id: "srv-1" }));
  assert.is(noAppliance.status, 404);
  assert.is((await errorOf(noAppliance)).code, "appliance_unknown");
  await applianceWithKey();
  const missing = await call(`/api/credentials/${id}/validate`, userInit(admin, "POST"));
  assert.is(missing.status, 400);
  assert.match((await errorOf(missing)).message, /host_id: required.*srv-\*/);
  const outside = await call(`/api/credentials/${id}/validate`, userInit(admin, "POST", { host_id: "db1" }));
  assert.is(outside.status, 400);
  assert.match((await errorOf(outside)).message, /not covered/);
  assert.is((await call(`/api/credentials/${id}/validate`, userInit(admin, "POST", { host_id: "srv-1" }))).status, 202);
  relay.clock.t += 16 * 60_000;
  const v = (await list()).credentials[0]!["last_validation"] as Record<string, unknown>;
  assert.is(v["status"], "expired");
  assert.is(v["host_id"], "srv-1");
});

test.run();
