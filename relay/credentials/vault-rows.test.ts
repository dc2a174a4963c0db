/**
 * Notification channel secrets are sealed with the vault key too: the start-up check counts them (a relay
 * never creates a fresh key over them), and `reencryptVault` moves them with the credentials.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { RelayError } from "../errors.ts";
import { asUser, random, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { channelFromRow, openChannelSecret } from "../notify/channels.ts";
import { storeCredential } from "./credentials.ts";
import { createCredentialVault } from "./create-vault.ts";
import { vaultFromKeys, type CredentialVault } from "./vault.ts";
import { reencryptVault, storedKeyIds } from "./vault-rows.ts";

const HOOK = { type: "webhook", scope: "msp", name: "on-call", url: "https://hooks.example.test/osiris", secret: "0123456789abcdef-secret" };

async function withChannel(fn: (relay: TestRelay, vault: CredentialVault, channelId: string, key: Uint8Array) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    const key = random(32);
    const vault = await vaultFromKeys([key.slice()], random);
    relay.deps.vault = vault;
    const admin = await asUser(relay, "msp_admin");
    const res = await relay.app.request("/api/channels", userInit(admin, "POST", HOOK));
    assert.is(res.status, 201, await res.clone().text());
    const channelId = String(((await res.json()) as { channel_id: string }).channel_id);
    await fn(relay, vault, channelId, key);
  } finally {
    await relay.close();
  }
}

const channel = async (relay: TestRelay, id: string) => channelFromRow((await relay.db.execute({ sql: "SELECT * FROM notification_channels WHERE id = ?", args: [id] })).rows[0]!);

test("a relay whose database holds only channel secrets refuses to create a new vault key over them", async () => {
  await withChannel(async (relay, vault) => {
    assert.equal([...(await storedKeyIds(relay.db))], [[vault.currentKeyId, 1]]);
    let error: unknown;
    try {
      await createCredentialVault({ db: relay.db, keyFile: join(relay.dir, "missing-vault.key"), random, log: relay.log });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof RelayError, String(error));
    assert.match((error as Error).message, new RegExp(`notification channel secrets under vault key\\(s\\) ${vault.currentKeyId}.*restore the key file`));
  });
});

test("a vault without the channel's key logs the channel secret as missing at start-up", async () => {
  await withChannel(async (relay, vault) => {
    await createCredentialVault({ db: relay.db, envKeys: "A".repeat(43), random, log: relay.log });
    const entry = relay.logs.find((l) => l.event === "vault_keys_missing");
    assert.ok(entry, "logged");
    assert.equal(entry!.fields["key_ids"], [vault.currentKeyId]);
  });
});

test("reencryptVault moves credentials and live channel secrets to the current key; the old key is then not needed", async () => {
  await withChannel(async (relay, old, channelId, oldKey) => {
    await storeCredential(relay.db, old, { site_id: relay.siteId, target: "*", kind: "winrm_ntlm", username: "CLINIC\\osiris", secret: "pw", created_by: "test" }, relay.deps);
    const newKey = random(32);
    const rotating = await vaultFromKeys([newKey.slice(), oldKey], random);
    const r = await reencryptVault(relay.db, rotating, relay.deps);
    assert.equal(r, { credentials: 1, channel_secrets: 1, unreadable: 0, remaining: 0 });
    assert.equal([...(await storedKeyIds(relay.db))], [[rotating.currentKeyId, 2]]);
    const newOnly = await vaultFromKeys([newKey], random);
    assert.equal(await openChannelSecret(newOnly, await channel(relay, channelId)), { url: HOOK.url, hmac_secret: HOOK.secret });
  });
});

test.run();
