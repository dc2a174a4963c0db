/**
 * validate_credential against a real OpenSSH server (Debian's openssh-server on a loopback port, started by
 * the test; collect/_test-sshd.ts) with credentials opened from real sealed boxes: success, a wrong password,
 * an unreachable host and the refusals are each reported precisely, never with the secret. Also: a target's
 * transport follows its credential when a pull changes it.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sealCredential, type CredentialPayload } from "../../node/sealed-credential.ts";
import { createX25519Key, type X25519Key } from "../../node/x25519.ts";
import type { OrderPayload } from "../../protocol/orders.ts";
import { memoryPinStore } from "../collect/index.ts";
import { freePort } from "../../node/_test-ports.ts";
import { sshdMissing, startSshd, type TestSshd } from "../collect/_test-sshd.ts";
import { parseConfig, type Target } from "../config/index.ts";
import { credentialedTransport, type RemoteTarget } from "./host-transport.ts";
import { credentialOrderHandlers } from "./order-handlers.ts";
import { HostCredentials } from "./store.ts";

const missing = sshdMissing();
if (missing) throw new Error(`These tests need a real sshd: ${missing}`);

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const APPLIANCE = "app_aaaaaaaaaaaaaaaa";
const WRONG = "wrong-Passw0rd-planted";
const clock = { now: () => Date.now() };

let sshd: TestSshd;
let closedPort: number;
test.before(async () => {
  sshd = await startSshd("password");
  if (!sshd.passwordUser) throw new Error("password login needs mount namespaces (unshare) on this machine");
  closedPort = await freePort();
});
test.after(async () => {
  await sshd?.stop();
});

function logSink() {
  const entries: { msg: string; fields: Record<string, unknown> }[] = [];
  const at = (msg: string, fields: Record<string, unknown> = {}) => void entries.push({ msg, fields });
  return { entries, log: { debug: at, info: at, warn: at, error: at } };
}

function targets(): Target[] {
  const yaml = `state_dir: /tmp/unused
relay: { url: "http://127.0.0.1:9" }
targets:
  - { id: fs01, collector: ssh, address: 127.0.0.1, port: ${sshd.port}, credential_ref: fs01-login }
  - { id: gone01, collector: ssh, address: 127.0.0.1, port: ${closedPort}, credential_ref: fs01-login }
  - { id: dc01, collector: winrm, address: 127.0.0.1, port: ${closedPort}, https: false, credential_ref: dc }
  - { id: lab-pc1, collector: lab, platform: windows }
lab: { site_dir: /tmp/unused-lab }
`;
  return parseConfig(yaml, "appliance.yaml").targets;
}

async function storeWith(key: X25519Key, payloads: CredentialPayload[], log = logSink().log): Promise<HostCredentials> {
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log });
  await store.apply(await Promise.all(payloads.map((p) => sealCredential(p, key.publicKey, APPLIANCE, random))));
  return store;
}

const order = { type: "validate_credential" } as OrderPayload;
const ctx = (credential_id: string, host_id: string) => ({ params: { credential_id, host_id }, signal: new AbortController().signal, acceptedAt: Date.now() });

test("validate_credential: the right password signs in and reports who it signed in as", async () => {
  const key = createX25519Key(random(32));
  const user = sshd.passwordUser!;
  const store = await storeWith(key, [{ credential_id: "cred_good000001", target: "fs01", kind: "ssh_password", username: user.name, secret: user.password }]);
  const { validate_credential } = credentialOrderHandlers({ credentials: store, targets: targets(), pins: memoryPinStore(), clock, log: logSink().log });
  const r = await validate_credential(order, ctx("cred_good000001", "fs01"));
  assert.is(r.outcome, "success", r.detail);
  assert.match(r.detail, new RegExp(`^ok: signed in to fs01 \\(ssh 127\\.0\\.0\\.1:${sshd.port}\\) as ${user.name} with credential cred_good000001 in \\d+ ms$`));
  assert.not.ok(r.detail.includes(user.password));
});

test("validate_credential: an SSH key credential signs in as root", async () => {
  const key = createX25519Key(random(32));
  const store = await storeWith(key, [{ credential_id: "cred_key0000001", target: "fs*", kind: "ssh_key", username: "root", secret: sshd.userKey }]);
  const { validate_credential } = credentialOrderHandlers({ credentials: store, targets: targets(), pins: memoryPinStore(), clock, log: logSink().log });
  const r = await validate_credential(order, ctx("cred_key0000001", "fs01"));
  assert.is(r.outcome, "success", r.detail);
  assert.match(r.detail, / as root with credential cred_key0000001/);
  assert.not.ok(r.detail.includes("PRIVATE KEY"));
});

test("validate_credential: a wrong password is reported as auth_failed by the host, without the password", async () => {
  const key = createX25519Key(random(32));
  const user = sshd.passwordUser!;
  const store = await storeWith(key, [{ credential_id: "cred_bad0000001", target: "fs01", kind: "ssh_password", username: user.name, secret: WRONG }]);
  const { validate_credential } = credentialOrderHandlers({ credentials: store, targets: targets(), pins: memoryPinStore(), clock, log: logSink().log });
  const r = await validate_credential(order, ctx("cred_bad0000001", "fs01"));
  assert.is(r.outcome, "failed");
  assert.is(r.detail, `auth_failed: ssh ${user.name}@127.0.0.1:${sshd.port} rejected the password for ${user.name}`);
  assert.not.ok(r.detail.includes(WRONG));
});

test("validate_credential: an unreachable host, a credential not held, an unknown host and a wrong kind are each named", async () => {
  const key = createX25519Key(random(32));
  const store = await storeWith(key, [
    { credential_id: "cred_any0000001", target: "*", kind: "ssh_password", username: "u", secret: WRONG },
    { credential_id: "cred_win0000001", target: "dc01", kind: "winrm_ntlm", username: "CLINIC\\u", secret: WRONG },
  ]);
  const { validate_credential } = credentialOrderHandlers({ credentials: store, targets: targets(), pins: memoryPinStore(), clock, log: logSink().log });
  const down = await validate_credential(order, ctx("cred_any0000001", "gone01"));
  assert.is(down.outcome, "failed");
  assert.is(down.detail, `unreachable: Could not reach ssh u@127.0.0.1:${closedPort}: ECONNREFUSED`);
  assert.match((await validate_credential(order, ctx("cred_nope000001", "fs01"))).detail, /^not_held: this appliance holds no credential cred_nope000001/);
  assert.match((await validate_credential(order, ctx("cred_any0000001", "nas09"))).detail, /^unknown_host: nas09 is not a target/);
  assert.match((await validate_credential(order, ctx("cred_any0000001", "lab-pc1"))).detail, /^unknown_host: lab-pc1 is a lab target \(simulated\)/);
  assert.match((await validate_credential(order, ctx("cred_win0000001", "fs01"))).detail, /^wrong_kind: credential cred_win0000001 is winrm_ntlm, but fs01 is reached over ssh$/);
  const win = await validate_credential(order, ctx("cred_win0000001", "dc01"));
  assert.match(win.detail, /^unsupported: /, "NTLM over plain HTTP is refused before any credential is sent");
  for (const d of [down.detail, win.detail]) assert.not.ok(d.includes(WRONG));
});

test("a target's transport follows its credential: a pull that changes the password changes the next login", async () => {
  const key = createX25519Key(random(32));
  const user = sshd.passwordUser!;
  const store = new HostCredentials({ key, applianceId: APPLIANCE, log: logSink().log });
  const seal = (secret: string) => sealCredential({ credential_id: "cred_fs01000001", target: "fs01", kind: "ssh_password", username: user.name, secret }, key.publicKey, APPLIANCE, random);
  const fs01 = targets().find((t) => t.id === "fs01") as RemoteTarget;
  const transport = credentialedTransport(fs01, store, { pins: memoryPinStore(), now: () => performance.now(), log: () => undefined, firstPullWaitMs: 2_000 });
  try {
    // Before the first pull the command waits for it (bounded), then signs in with what arrived.
    const first = transport.run({ program: "id", args: ["-un"] }, { timeoutMs: 10_000 });
    await store.apply([await seal(user.password)]);
    assert.is((await first).stdout.trim(), user.name);
    await store.apply([await seal(WRONG)]);
    const e = await transport.run({ program: "true", args: [] }, { timeoutMs: 10_000 }).then(() => null, (err: unknown) => err as { code?: string; message: string });
    assert.is(e?.code, "auth_failed");
    assert.not.ok(e?.message.includes(WRONG));
    await store.apply([await seal(user.password)]);
    assert.is((await transport.run({ program: "id", args: ["-un"] }, { timeoutMs: 10_000 })).exitCode, 0);
    await store.apply([]);
    const none = await transport.run({ program: "true", args: [] }, { timeoutMs: 10_000 }).then(() => null, (err: unknown) => err as { code?: string; message: string });
    assert.is(none?.code, "auth_failed");
    assert.match(none!.message, /No credential for ssh fs01/);
  } finally {
    await transport.close();
  }
});

test.run();
