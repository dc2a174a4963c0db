/**
 * Appliance key rotation end to end: a real relay on loopback issues signed rotate_keys orders; the real
 * appliance daemon generates each key, states it to the relay with its current identity key, and switches once
 * the relay accepted. Forged statements are refused and change nothing; a rotation interrupted by a crash is
 * finished at the next sync; an evidence key switch is recorded in the chain and verifies offline.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { keyFingerprint, keyId } from "../../protocol/crypto.ts";
import { fromHex, toHex, utf8 } from "../../protocol/encoding.ts";
import { buildBundle, signBundle } from "../../protocol/evidence.ts";
import { signApplianceRotation } from "../../protocol/key-rotation.ts";
import { verifyKit } from "../../protocol/kit.ts";
import { writeKitZip, type KitFiles } from "../../protocol/kit-files.ts";
import { signRequest } from "../../relay/auth/request-message.ts";
import { asUser, count, userInit, type TestUser } from "../../relay/_testing.ts";
import { vaultFromKeys } from "../../relay/credentials/vault.ts";
import { exportKit } from "../../relay/export/kit-export.ts";
import { cliIssuer, issueOrder } from "../../relay/orders/issue.ts";
import { Appliance } from "../daemon/appliance.ts";
import { createNodeSigner } from "../identity/index.ts";
import { ROTATE_KEY_PATH } from "./key-rotation.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog, type FetchProbe, type LoopbackRelay } from "./_testing.ts";

interface Harness {
  lr: LoopbackRelay;
  app: Appliance;
  dir: string;
  config: ReturnType<typeof labConfig>;
  applianceId: string;
  issuer: string;
  admin: TestUser;
  probe: FetchProbe;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-key-rotation-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const probe = fetchProbe();
  lr.relay.deps.vault = await vaultFromKeys([random(32)], random);
  const admin = await asUser(lr.relay, "msp_admin");
  const open = () => Appliance.open(config, { clock: lr.relay.clock, random, log: recordingLog(), fetch: probe.fetch });
  const h: Harness = {
    lr,
    app: await open(),
    dir,
    config,
    applianceId: "",
    issuer: admin.id,
    admin,
    probe,
    reopen: async () => {
      await h.app.stop();
      h.app = await open();
    },
    close: async () => {
      await h.app.stop();
      await lr.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  h.applianceId = h.app.status().appliance_id;
  return h;
}

async function applianceRow(h: Harness): Promise<Record<string, unknown>> {
  return { ...(await h.lr.relay.db.execute({ sql: "SELECT * FROM appliances WHERE id = ?", args: [h.applianceId] })).rows[0]! };
}

/** From now on the relay gets each rotation statement, but its answer is lost (a crash or a dropped connection). */
function loseRotationAnswers(h: Harness): void {
  h.probe.intercept = async (path, _init, send) => {
    if (path !== ROTATE_KEY_PATH) return undefined;
    await send();
    throw new TypeError("fetch failed: connection reset");
  };
}

const OSIRIS = new URL("../../bin/osiris.js", import.meta.url).pathname;

/** `osiris evidence verify` on the kit written as a ZIP: exit code and output. */
async function cliVerify(dir: string, files: KitFiles): Promise<{ code: number; out: string }> {
  const zip = join(dir, `kit-${Math.random().toString(36).slice(2)}.zip`);
  await writeFile(zip, writeKitZip(files));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [OSIRIS, "evidence", "verify", zip]);
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

function order(h: Harness, key: string) {
  return issueOrder(h.lr.relay.db, { appliance_id: h.applianceId, type: "rotate_keys", params: { key }, issued_by: h.issuer }, h.lr.relay.deps);
}

/** A GET /api/sync/pull signed by `signer` with the appliance's current token. */
async function pullSignedBy(h: Harness, signer: Parameters<typeof signRequest>[0]): Promise<{ status: number; code: string | null }> {
  const token = (await readFile(join(h.config.state_dir, "relay-token"), "utf8")).trim();
  const headers = await signRequest(signer, token, { method: "GET", url: "/api/sync/pull", body: new Uint8Array(), now: h.lr.relay.clock.now(), random });
  const res = await fetch(new URL("/api/sync/pull", h.lr.url), { headers });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code ?? null };
}

test("rotate_keys identity: the appliance signs with the new key, the relay promotes it on first use and refuses the old key", async () => {
  const h = await harness();
  try {
    const before = await applianceRow(h);
    const oldSigner = h.app.identity.identitySigner;
    await order(h, "identity");
    const round = await h.app.sync!.client.sync();
    assert.equal(round.pull.orders.map((o) => o.status), ["executed"], JSON.stringify(round.pull.orders));
    const newKey = toHex(h.app.identity.identitySigner.publicKey);
    assert.is.not(newKey, before["identity_public_key"], "the appliance switched to a new identity key");
    // The next round is signed with the new key: the relay promotes it and syncing goes on.
    await h.app.sync!.client.sync();
    const after = await applianceRow(h);
    assert.is(after["identity_public_key"], newKey);
    const history = (await h.lr.relay.db.execute({ sql: "SELECT state, old_public_key FROM appliance_key_rotations WHERE appliance_id = ? AND kind = 'identity'", args: [h.applianceId] })).rows;
    assert.equal(history.map((r) => [r["state"], r["old_public_key"]]), [["in_force", before["identity_public_key"]]]);
    assert.is(await count(h.lr.relay.db, "audit_log", "action = 'appliance.rotate_key' AND target = ?", [h.applianceId]), 1, "the change is audited");

    const withOld = await pullSignedBy(h, oldSigner);
    assert.equal(withOld, { status: 401, code: "signature_invalid" }, "the old identity key's signatures are refused");
    assert.is((await pullSignedBy(h, h.app.identity.identitySigner)).status, 200);
    const files = await readdir(h.config.state_dir);
    assert.ok(files.includes(`identity.${keyId(fromHex(newKey))}.key`), files.join(","));
    assert.not.ok(files.includes("identity.key"), "the old private key is removed once the switch is recorded");

    // After a restart the appliance loads the rotated key and keeps syncing.
    await h.reopen();
    assert.is(toHex(h.app.identity.identitySigner.publicKey), newKey);
    await h.app.sync!.client.sync();
  } finally {
    await h.close();
  }
});

test("rotate_keys ordered at the CLI (issue-order, issued by cli:WHO) goes through, recorded in the relay's log rather than the users' audit log", async () => {
  const h = await harness();
  try {
    const before = await applianceRow(h);
    for (const who of [undefined, "you@example-it.com"]) {
      await issueOrder(h.lr.relay.db, { appliance_id: h.applianceId, type: "rotate_keys", params: { key: "identity" }, issued_by: cliIssuer(who) }, h.lr.relay.deps);
      const round = await h.app.sync!.client.sync();
      assert.equal(round.pull.orders.map((o) => o.status === "executed" && o.outcome), ["success"], JSON.stringify(round.pull.orders));
      await h.app.sync!.client.sync();
    }
    const after = await applianceRow(h);
    assert.is.not(after["identity_public_key"], before["identity_public_key"]);
    assert.is(after["identity_public_key"], toHex(h.app.identity.identitySigner.publicKey));
    assert.is(await count(h.lr.relay.db, "audit_log", "action = 'appliance.rotate_key'"), 0);

    // An order whose user no longer exists is still refused.
    const gone = await issueOrder(h.lr.relay.db, { appliance_id: h.applianceId, type: "rotate_keys", params: { key: "identity" }, issued_by: "usr_gone000000000000000000000" }, h.lr.relay.deps);
    const refused = await h.app.sync!.client.sync();
    assert.equal(refused.pull.orders.map((o) => o.status === "executed" && o.outcome), ["failed"]);
    await h.app.sync!.client.sync(); // reports the order's result
    const result = (await h.lr.relay.db.execute({ sql: "SELECT result FROM orders WHERE id = ?", args: [gone.order_id] })).rows[0]?.["result"];
    assert.match(String(result), /issued by user usr_gone0+, who no longer exists/);
  } finally {
    await h.close();
  }
});

test("rotate_keys credentials: the relay seals to the new X25519 key from the answer on, and the appliance opens it", async () => {
  const h = await harness();
  try {
    const stored = await h.lr.relay.app.request(`/api/sites/${h.app.status().site_id}/credentials`, userInit(h.admin, "POST", { target: "fs01", kind: "ssh_password", username: "backup", secret: "correct horse" }));
    assert.is(stored.status, 201, await stored.text());
    const first = await h.app.sync!.client.sync();
    assert.equal([first.pull.credentials?.loaded, first.pull.credentials?.refused], [1, []]);
    const before = await applianceRow(h);
    await order(h, "credentials");
    const round = await h.app.sync!.client.sync();
    assert.equal(round.pull.orders.map((o) => o.status), ["executed"], JSON.stringify(round.pull.orders));
    const next = await h.app.sync!.client.sync();
    assert.equal([next.pull.credentials?.loaded, next.pull.credentials?.refused], [1, []], "credentials sealed to the new key open");
    const after = await applianceRow(h);
    assert.is.not(after["credentials_public_key"], before["credentials_public_key"]);
    assert.is(after["credentials_public_key"], toHex(h.app.identity.credentials.publicKey), "relay and appliance agree on the new key");
    await h.reopen();
    assert.is(toHex(h.app.identity.credentials.publicKey), after["credentials_public_key"]);
    await h.app.sync!.client.sync();
  } finally {
    await h.close();
  }
});

test("rotate_keys evidence: the chain records the switch, the relay verifies by seq, and the exported kit verifies offline", async () => {
  const h = await harness();
  try {
    await h.app.runCycle({ all: true });
    await h.app.sync!.client.sync();
    const oldSigner = h.app.identity.evidenceSigner;
    await order(h, "evidence");
    const round = await h.app.sync!.client.sync();
    assert.equal(round.pull.orders.map((o) => o.status), ["executed"], JSON.stringify(round.pull.orders));
    assert.is.not(keyId(h.app.identity.evidenceSigner.publicKey), keyId(oldSigner.publicKey));
    await h.app.runCycle({ all: true });
    const last = await h.app.sync!.client.sync();
    assert.not.ok(last.push.halted, "the relay accepted evidence signed with the new key");

    const rotation = (await h.lr.relay.db.execute({ sql: "SELECT state, from_seq FROM appliance_key_rotations WHERE appliance_id = ? AND kind = 'evidence'", args: [h.applianceId] })).rows[0]!;
    assert.is(rotation["state"], "in_force");
    const fromSeq = Number(rotation["from_seq"]);
    const switchLine = (await h.lr.relay.db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? AND seq = ?", args: [h.applianceId, fromSeq - 1] })).rows[0]!["line"] as string;
    const announced = JSON.parse(switchLine) as { key_id: string; action_taken: string; post_state: { new_key_id: string } };
    assert.equal([announced.action_taken, announced.key_id, announced.post_state.new_key_id], ["rotate_evidence_key", keyId(oldSigner.publicKey), keyId(h.app.identity.evidenceSigner.publicKey)]);
    assert.is((await applianceRow(h))["evidence_key_id"], keyId(oldSigner.publicKey), "the appliance row keeps the enrollment key that anchors the chain");
    // The dashboard shows the fingerprint the appliance's status page now shows, for comparing the two.
    const detail = await h.lr.relay.app.request(`/api/sites/${h.app.status().site_id}`, userInit(h.admin));
    const shown = ((await detail.json()) as { appliances: { id: string; fingerprint: string }[] }).appliances.find((a) => a.id === h.applianceId)?.fingerprint;
    assert.is(shown, h.app.identity.fingerprint);
    assert.is.not(shown, keyFingerprint(oldSigner.publicKey));
    const local = await h.app.evidence.verifyLocal();
    assert.ok(local.ok, JSON.stringify(local));

    const kit = await exportKit(h.lr.relay.db, { siteId: h.app.status().site_id, from: 0, to: h.lr.relay.clock.now() + 3600_000 }, h.lr.relay.relayKey);
    const report = await verifyKit(kit.files);
    assert.ok(report.ok, JSON.stringify(report).slice(0, 600));
    const keysJson = JSON.parse(new TextDecoder().decode(kit.files.get("keys.json"))) as { appliances: { key_id: string; rotations?: { key_id: string; from_seq: number }[] }[] };
    assert.equal(keysJson.appliances[0]!.rotations?.map((r) => [r.key_id, r.from_seq]), [[keyId(h.app.identity.evidenceSigner.publicKey), fromSeq]], "the kit carries the key history");
    assert.is(keysJson.appliances[0]!.key_id, keyId(oldSigner.publicKey));
    const cli = await cliVerify(h.dir, kit.files);
    assert.is(cli.code, 0, cli.out);

    // A bundle signed by the new key before the switch point fails offline verification.
    const lines = new TextDecoder().decode(kit.files.get("bundles.jsonl")).trimEnd().split("\n");
    const i = lines.findIndex((l) => (JSON.parse(l) as { seq: number }).seq === fromSeq - 2);
    const { signature: _s, key_id: _k, ...unsigned } = JSON.parse(lines[i]!) as Record<string, unknown>;
    const forged = await signBundle(buildBundle(unsigned as unknown as Parameters<typeof buildBundle>[0]), h.app.identity.evidenceSigner);
    lines[i] = forged.line;
    const tampered = new Map(kit.files);
    tampered.set("bundles.jsonl", utf8(lines.join("\n") + "\n"));
    const refused = await verifyKit(tampered);
    assert.equal(refused.ok ? null : [refused.failure.seq, refused.failure.code], [fromSeq - 2, "unknown_key"], "a bundle signed with the new key before the switch is refused");
    const cliRefused = await cliVerify(h.dir, tampered);
    assert.is(cliRefused.code, 1, cliRefused.out);
  } finally {
    await h.close();
  }
});

test("forged rotation statements (signed by the new key, or by a stranger's key) are refused with 422 and change nothing", async () => {
  const h = await harness();
  try {
    const issued = await order(h, "identity");
    const before = await applianceRow(h);
    const newSigner = createNodeSigner(random(32));
    const stranger = createNodeSigner(random(32));
    const statement = { appliance_id: h.applianceId, order_id: issued.order_id, key: "identity" as const, old_public_key: before["identity_public_key"] as string, new_public_key: toHex(newSigner.publicKey) };
    const bySelf = await signApplianceRotation(statement, newSigner, h.lr.relay.clock.now());
    const byStranger = { ...(await signApplianceRotation(statement, stranger, h.lr.relay.clock.now())), key_id: keyId(h.app.identity.identitySigner.publicKey) };
    const token = (await readFile(join(h.config.state_dir, "relay-token"), "utf8")).trim();
    for (const [envelope, code] of [[bySelf, "unknown_key"], [byStranger, "bad_signature"]] as const) {
      const text = JSON.stringify(envelope);
      const headers = await signRequest(h.app.identity.identitySigner, token, { method: "POST", url: ROTATE_KEY_PATH, body: utf8(text), now: h.lr.relay.clock.now(), random });
      const res = await fetch(new URL(ROTATE_KEY_PATH, h.lr.url), { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: text });
      const err = ((await res.json()) as { error: { code: string; message: string } }).error;
      assert.is(res.status, 422, JSON.stringify(err));
      assert.is(err.code, code, err.message);
    }
    assert.is(await count(h.lr.relay.db, "appliance_key_rotations"), 0, "no rotation recorded");
    assert.equal(await applianceRow(h), before, "the appliance's keys are unchanged");
    assert.is(await count(h.lr.relay.db, "audit_log", "action = 'appliance.rotate_key'"), 0);
  } finally {
    await h.close();
  }
});

test("a crash between generating the key and switching to it leaves the appliance syncing, and the next round finishes the rotation", async () => {
  const h = await harness();
  try {
    await order(h, "identity");
    const oldKey = toHex(h.app.identity.identitySigner.publicKey);
    // Crash 1: the key was generated and noted, the relay accepted the statement, and the answer never came back.
    loseRotationAnswers(h);
    const interrupted = await h.app.sync!.client.sync();
    assert.equal(interrupted.pull.orders.map((o) => o.outcome), ["deferred"], JSON.stringify(interrupted.pull.orders));
    h.probe.intercept = null;
    const prepared = (await h.app.identity.pendingRotation("identity"))!;
    assert.ok(prepared, "the generated key is noted");
    await h.reopen();
    assert.is(toHex(h.app.identity.identitySigner.publicKey), oldKey, "after the crash the old key is still in force");
    // The next round syncs (the relay still accepts the old key), states the noted key again and switches to it.
    await h.app.sync!.client.sync();
    assert.is(toHex(h.app.identity.identitySigner.publicKey), toHex(prepared.new_public_key));
    await h.app.sync!.client.sync();
    assert.is((await applianceRow(h))["identity_public_key"], toHex(prepared.new_public_key));
    assert.is(await h.app.identity.pendingRotation("identity"), null);

    // Crash 2: the relay put the new credentials key in force at once, and the appliance died before switching.
    await order(h, "credentials");
    loseRotationAnswers(h);
    await h.app.sync!.client.sync();
    h.probe.intercept = null;
    const p2 = (await h.app.identity.pendingRotation("credentials"))!;
    assert.is((await applianceRow(h))["credentials_public_key"], toHex(p2.new_public_key), "the relay switched already");
    await h.reopen();
    const round = await h.app.sync!.client.sync();
    assert.ok(round.pull, "the appliance syncs after the crash");
    assert.is(toHex(h.app.identity.credentials.publicKey), toHex(p2.new_public_key), "the interrupted switch is finished");
  } finally {
    await h.close();
  }
});

test("an evidence rotation whose answer was lost is finished at the next round: the chain announces the key and the relay follows", async () => {
  const h = await harness();
  try {
    await h.app.runCycle({ all: true });
    await h.app.sync!.client.sync();
    const oldKeyId = h.app.identity.evidenceKeyId;
    const issued = await order(h, "evidence");
    loseRotationAnswers(h);
    await h.app.sync!.client.sync();
    h.probe.intercept = null;
    assert.is(h.app.identity.evidenceKeyId, oldKeyId, "no switch without the relay's answer");
    // The order says what happened: not failed, deferred to the next sync (its result reached the relay).
    const row = (await h.lr.relay.db.execute({ sql: "SELECT status, result FROM orders WHERE id = ?", args: [issued.order_id] })).rows[0]!;
    const result = JSON.parse(String(row["result"])) as { outcome: string; detail: string };
    assert.equal([row["status"], result.outcome], ["done", "deferred"]);
    assert.match(result.detail, "the prepared key is kept and the rotation completes at the next sync");
    await h.app.runCycle({ all: true });
    await h.reopen();
    const round = await h.app.sync!.client.sync();
    assert.not.ok(round.push.halted);
    assert.is.not(h.app.identity.evidenceKeyId, oldKeyId, "the interrupted rotation is finished");
    await h.app.runCycle({ all: true });
    const last = await h.app.sync!.client.sync();
    assert.not.ok(last.push.halted, "the relay verifies the new key's bundles");
    const inForce = (await h.lr.relay.db.execute({ sql: "SELECT new_key_id FROM appliance_key_rotations WHERE appliance_id = ? AND kind = 'evidence' AND state = 'in_force'", args: [h.applianceId] })).rows;
    assert.equal(inForce.map((r) => r["new_key_id"]), [h.app.identity.evidenceKeyId]);
    assert.ok((await h.app.evidence.verifyLocal()).ok);
  } finally {
    await h.close();
  }
});

test.run();
