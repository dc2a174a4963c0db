import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifyCosignature } from "../../protocol/checkpoint.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { verifyOrder } from "../../protocol/orders.ts";
import { parsePullResponse, parsePushAck } from "../../protocol/sync.ts";
import { createRelayApp } from "../app.ts";
import { testDatabase } from "../_sqld.ts";
import { errorOf, overHttp, random, TestAppliance } from "../_testing.ts";
import { systemClock } from "../deps.ts";
import { createClaimCode } from "../enroll/claim-codes.ts";
import { memoryLog } from "../log.ts";
import { catalogueOrderParams } from "../orders/catalogue-params.ts";
import { issueOrder } from "../orders/issue.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { startServer } from "./node.ts";
import { runRelay, type RunningRelay } from "./run.ts";

const run = promisify(execFile);

async function withRelay(fn: (relay: RunningRelay, siteId: string, dir: string) => Promise<void>, tls = false): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-loopback-"));
  const { log } = memoryLog();
  let certs: { tlsCert: string; tlsKey: string } | undefined;
  if (tls) {
    certs = { tlsCert: join(dir, "cert.pem"), tlsKey: join(dir, "key.pem") };
    await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", certs.tlsKey, "-out", certs.tlsCert]);
  }
  const database = await testDatabase(join(dir, "relay.db"));
  const relay = await runRelay({ db: database.location, keyFile: join(dir, "relay.key"), host: "127.0.0.1", port: 0, log, ...(certs ?? {}) });
  try {
    const env = { clock: systemClock, random };
    const msp = await createMsp(relay.db, { name: "MSP" }, env);
    const org = await createOrganisation(relay.db, { msp_id: msp.id, name: "Clinic" }, env);
    const site = await createSite(relay.db, { org_id: org.id, name: "Site" }, env);
    await fn(relay, site.id, dir);
  } finally {
    await relay.close();
    await database.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const code = async (relay: RunningRelay, siteId: string) => (await createClaimCode(relay.db, { site_id: siteId, created_by: "test" }, { clock: systemClock, random })).code;

test("over loopback: enrollment, then a used claim code is refused", async () => {
  await withRelay(async (relay, siteId) => {
    assert.match(relay.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const c = await code(relay, siteId);
    const a = new TestAppliance(overHttp(relay.url), systemClock);
    assert.is((await a.enroll(c)).status, 201);
    assert.match(a.id, /^app_/);
    const b = new TestAppliance(overHttp(relay.url), systemClock);
    const res = await b.enroll(c);
    assert.is(res.status, 410);
    assert.is((await errorOf(res)).code, "claim_code_used");
  });
});

test("over loopback: request signatures are enforced (no token, stale, replayed, wrong key)", async () => {
  await withRelay(async (relay, siteId) => {
    const a = new TestAppliance(overHttp(relay.url), systemClock);
    await a.enroll(await code(relay, siteId));
    assert.is((await fetch(`${relay.url}/api/sync/pull`)).status, 401);
    assert.is((await errorOf(await a.request("GET", "/api/sync/pull", undefined, { now: Date.now() - 10 * 60_000 }))).code, "timestamp_stale");
    assert.is((await errorOf(await a.request("GET", "/api/sync/pull", undefined, { signer: a.evidence }))).code, "signature_invalid");
    const { signRequest } = await import("../auth/request-message.ts");
    const headers = await signRequest(a.identity, a.token, { method: "GET", url: "/api/sync/pull", now: Date.now(), random });
    assert.is((await fetch(`${relay.url}/api/sync/pull`, { headers })).status, 200);
    const replay = await fetch(`${relay.url}/api/sync/pull`, { headers });
    assert.is(replay.status, 401);
    assert.is((await errorOf(replay)).code, "nonce_replayed");
  });
});

test("over loopback: a chain pushed in batches and retried is stored once, the checkpoint countersigned, a changed bundle refused, orders pulled", async () => {
  await withRelay(async (relay, siteId) => {
    const a = new TestAppliance(overHttp(relay.url), systemClock);
    await a.enroll(await code(relay, siteId));
    const first = a.entries(await a.makeBundles(3));
    assert.is(parsePushAck(await (await a.push(first)).json()).acked_outbox_seq, 3);
    assert.is(parsePushAck(await (await a.push(first)).json()).acked_outbox_seq, 3, "retry acknowledged again");
    const res = await a.push(a.entries(await a.makeBundles(3)), await a.checkpoint());
    const ack = parsePushAck(await res.json());
    assert.is(ack.evidence.verified_seq, 6);
    const relayKey = a.relayKeys[0]!;
    await verifyCosignature(ack.countersigned_checkpoint!, relayKey.name, fromHex(relayKey.public_key));

    const forked = { ...a.chain[1]!, line: a.chain[1]!.line.replace('"outcome":"success"', '"outcome":"failed"') };
    const refused = await a.push(a.entries([forked]));
    assert.is(refused.status, 422, "a changed stored bundle fails its signature first");
    const rows = await relay.db.execute("SELECT COUNT(*) AS n FROM evidence");
    assert.is(Number(rows.rows[0]?.["n"]), 6);

    await issueOrder(relay.db, { appliance_id: a.id, type: "force_scan", params: {}, issued_by: "test" }, { ...relay.deps });
    const pulled = parsePullResponse(await (await a.request("GET", "/api/sync/pull")).json());
    assert.is(pulled.orders.length, 1);
    const relayKeys = a.relayKeys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
    const order = await verifyOrder(pulled.orders[0], { relayKeys, applianceId: a.id, siteId: a.siteId, now: Date.now(), validateParams: catalogueOrderParams });
    assert.is(order.type, "force_scan");
  });
});

test("over loopback: drop-ship look-up by MAC answers only the state", async () => {
  await withRelay(async (relay) => {
    const res = await fetch(`${relay.url}/api/provision/02-aa-bb-cc-dd-ee`);
    assert.equal(await res.json(), { state: "unknown" });
  });
});

test("with a certificate and key the relay serves HTTPS", async () => {
  await withRelay(async (relay, _siteId, dir) => {
    assert.match(relay.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(join(dir, "cert.pem"));
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${relay.url}/healthz`, { ca }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    assert.is((JSON.parse(body) as { status: string }).status, "ok");
  }, true);
});

test("startServer() binds where it is told and closes cleanly", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-loopback-"));
  const { log } = memoryLog();
  const database = await testDatabase(join(dir, "r.db"));
  const relay = await runRelay({ db: database.location, keyFile: join(dir, "r.key"), host: "127.0.0.1", port: 0, log });
  try {
    const second = await startServer({ app: createRelayApp(relay.deps), host: "127.0.0.1", port: 0 });
    assert.is.not(second.port, relay.port);
    assert.is((await fetch(`${second.url}/healthz`)).status, 200);
    await second.close();
    try {
      await fetch(`${second.url}/healthz`);
      assert.unreachable("the closed server must not answer");
    } catch (e) {
      assert.instance(e, TypeError);
    }
  } finally {
    await relay.close();
    await database.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
