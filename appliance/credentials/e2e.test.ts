/**
 * Site credentials end to end, with every part real: the relay (Hono on a loopback port, libSQL file, vault)
 * stores a password through its route; the enrolled appliance daemon pulls it sealed to its X25519 key, opens
 * it in memory and signs in with it to Debian's openssh-server, which the test starts on a loopback port
 * (collect/_test-sshd.ts, a throwaway account in a private mount namespace). `validate_credential` orders
 * report success and a wrong password precisely. The planted secrets — the real password and a wrong one —
 * are then searched for in the relay's and the appliance's database files (with WAL), both logs, every
 * request body the appliance sent and every pull it received in the clear: none may hold them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBase64, toBase64Url, toHex, utf8 } from "../../protocol/encoding.ts";
import { asUser, userInit, type TestUser } from "../../relay/_testing.ts";
import { vaultFromKeys } from "../../relay/credentials/vault.ts";
import { sshdMissing, startSshd, type TestSshd } from "../collect/_test-sshd.ts";
import { parseConfig } from "../config/index.ts";
import { Appliance } from "../daemon/appliance.ts";
import { createRelayFetch, type FetchLike } from "../sync/transport.ts";
import { enrollConfig, loopbackRelay, random, recordingLog, type LoopbackRelay } from "../sync/_testing.ts";

const missing = sshdMissing();
if (missing) throw new Error(`This test needs a real sshd: ${missing}`);

const WRONG = `wrong-${toHex(random(8))}-pässword`;

interface Wire {
  sent: string[];
  pulled: string[];
}

/** The appliance's fetch, keeping every request body it sends and every pull answer it receives. */
function recordingFetch(wire: Wire): FetchLike {
  const base = createRelayFetch();
  return async (url, init) => {
    if (typeof init.body === "string") wire.sent.push(init.body);
    else if (init.body instanceof Uint8Array) wire.sent.push(Buffer.from(init.body).toString("utf8"));
    const res = await base(url, init);
    if (new URL(url).pathname === "/api/sync/pull") wire.pulled.push(await res.clone().text());
    return res;
  };
}

/** Every common encoding of a secret. */
function encodings(secret: string): Buffer[] {
  const b = utf8(secret);
  return [Buffer.from(b), Buffer.from(secret, "utf16le"), Buffer.from(toBase64(b)), Buffer.from(toBase64Url(b)), Buffer.from(toHex(b))];
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function leaksIn(dir: string, secret: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await filesUnder(dir)) {
    const bytes = await readFile(f);
    if (encodings(secret).some((e) => bytes.includes(e))) hits.push(f);
  }
  return hits;
}

let lr: LoopbackRelay;
let sshd: TestSshd;
let dir: string;
let admin: TestUser;

test.before(async () => {
  [lr, sshd] = await Promise.all([loopbackRelay(), startSshd("password")]);
  if (!sshd.passwordUser) throw new Error("password login needs mount namespaces (unshare) on this machine");
  lr.relay.deps.vault = await vaultFromKeys([random(32)], random);
  admin = await asUser(lr.relay, "msp_admin");
  dir = await mkdtemp(join(tmpdir(), "osiris-cred-e2e-"));
});
test.after(async () => {
  await lr?.close();
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

const relayCall = (path: string, init: RequestInit) => lr.relay.app.request(path, init);

async function lastValidation(credentialId: string): Promise<Record<string, unknown> | null> {
  const res = await relayCall(`/api/sites/${lr.relay.siteId}/credentials`, userInit(admin));
  const body = (await res.json()) as { credentials: { id: string; last_validation: Record<string, unknown> | null }[] };
  return body.credentials.find((c) => c.id === credentialId)?.last_validation ?? null;
}

test("a password stored on the relay signs the appliance in to a real sshd, validates, and leaks nowhere", async () => {
  const user = sshd.passwordUser!;
  const SECRET = user.password;
  const config = parseConfig(
    `state_dir: ${join(dir, "state")}
relay: { url: "${lr.url}", sync_interval_s: 10 }
targets:
  - { id: fs01, name: File server, collector: ssh, address: 127.0.0.1, port: ${sshd.port}, credential_ref: fs01-login }
`,
    join(dir, "appliance.yaml"),
    { baseDir: dir },
  );
  await enrollConfig(lr, config);

  // 1. The MSP stores the real password for fs01, and a wrong one for the fs0? pattern (used only to validate).
  const stored = await relayCall(`/api/sites/${lr.relay.siteId}/credentials`, userInit(admin, "POST", { target: "fs01", kind: "ssh_password", username: user.name, secret: SECRET }));
  assert.is(stored.status, 201);
  const good = ((await stored.json()) as { id: string }).id;
  const wrongRes = await relayCall(`/api/sites/${lr.relay.siteId}/credentials`, userInit(admin, "POST", { target: "fs0?", kind: "ssh_password", username: user.name, secret: WRONG }));
  const wrong = ((await wrongRes.json()) as { id: string }).id;

  const wire: Wire = { sent: [], pulled: [] };
  const log = recordingLog();
  const app = await Appliance.open(config, { clock: lr.relay.clock, random, log, fetch: recordingFetch(wire) });
  try {
    // 2. A sync pulls the credentials sealed to this appliance; a scan of fs01 then signs in with the password.
    const first = await app.sync!.client.sync();
    assert.equal(first.pull.credentials?.refused, []);
    assert.is(first.pull.credentials?.loaded, 2);
    const cycle = await app.runCycle({ all: true });
    const fs01 = cycle.scanned.find((s) => s.host_id === "fs01");
    assert.ok(fs01?.reachable, `fs01 was scanned over ssh with the relay's password: ${JSON.stringify(cycle.scanned)}`);
    assert.ok(sshd.log().includes(`Accepted password for ${user.name}`), "sshd saw a password login");

    // 3. Validate both credentials from the dashboard; the next sync runs the orders and reports back.
    assert.is((await relayCall(`/api/credentials/${good}/validate`, userInit(admin, "POST"))).status, 202);
    assert.is((await relayCall(`/api/credentials/${wrong}/validate`, userInit(admin, "POST", { host_id: "fs01" }))).status, 202);
    assert.is((await lastValidation(good))?.["status"], "pending");
    const second = await app.sync!.client.sync();
    assert.equal(second.pull.orders.map((o) => o.status), ["executed", "executed"]);
    const ok = await lastValidation(good);
    assert.is(ok?.["status"], "success", JSON.stringify(ok));
    assert.match(String(ok?.["detail"]), new RegExp(`^ok: signed in to fs01 \\(ssh 127\\.0\\.0\\.1:${sshd.port}\\) as ${user.name} with credential ${good}`));
    const bad = await lastValidation(wrong);
    assert.is(bad?.["status"], "failed");
    assert.is(bad?.["code"], "auth_failed");
    assert.is(bad?.["detail"], `auth_failed: ssh ${user.name}@127.0.0.1:${sshd.port} rejected the password for ${user.name}`);

    // 4. The planted secrets are nowhere: pulls carried them only sealed, pushes never.
    await app.evidence.checkpoint();
    await app.sync!.client.sync();
    assert.ok(wire.sent.some((b) => b.includes('"order_result"')), "the push bodies were recorded");
    assert.ok(wire.pulled.some((b) => b.includes(good)), "the pull answers were recorded");
    for (const secret of [SECRET, WRONG]) {
      for (const [what, texts] of [["outbound request bodies", wire.sent], ["pull answers", wire.pulled], ["appliance log", log.entries.map((e) => JSON.stringify(e))], ["relay log", lr.relay.logs.map((e) => JSON.stringify(e))]] as const) {
        const hits = texts.filter((t) => encodings(secret).some((e) => t.includes(e.toString("latin1")) || t.includes(e.toString("utf8"))));
        assert.is(hits.length, 0, `${what} hold a planted secret: ${hits[0]?.slice(0, 200)}`);
      }
      // While running (the WAL is there) and again after stop (checkpointed into the database file).
      assert.ok((await filesUnder(join(dir, "state"))).some((f) => f.endsWith("appliance.db-wal")), "the appliance's WAL is searched too");
      assert.equal(await leaksIn(join(dir, "state"), secret), [], "no appliance file holds a planted secret while running");
    }
  } finally {
    await app.stop();
  }
  for (const secret of [SECRET, WRONG]) {
    assert.equal(await leaksIn(join(dir, "state"), secret), [], "no appliance file (database, WAL, keys) holds a planted secret");
    assert.equal(await leaksIn(lr.relay.dir, secret), [], "no relay file (database, WAL) holds a planted secret");
  }
});

test.run();
