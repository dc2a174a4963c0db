/**
 * The WORM archive against a real S3 server with Object Lock: single-node Ceph RGW (Debian packages, booted
 * once for this file by _rgw.ts). Evidence comes from a simulated appliance pushing to a real relay app, so
 * the queue is filled by ingest's own triggers. These tests prove enforcement (a locked version cannot be
 * deleted or have its retention shortened), not just that the calls succeed.
 *
 * Without the Ceph packages the file is skipped with a message — except in CI (CI=true), where it must run.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { md5 } from "@noble/hashes/legacy.js";
import { fromUtf8, toBase64, utf8 } from "../../protocol/encoding.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { PushAck } from "../../protocol/sync.ts";
import { asUser, count, enrolledAppliance, testRelay, userInit, type TestAppliance, type TestRelay } from "../_testing.ts";
import { rgwMissing, startRgw, type Rgw } from "./_rgw.ts";
import { startArchiver, type Archiver, type ArchiverOptions } from "./archiver.ts";
import type { ArchiveStatus } from "./status.ts";

const RETENTION_DAYS = 3;
const DAY_MS = 86_400_000;

// Outside CI, a machine without the Ceph packages skips this file (with the reason); in CI it must run.
const missing = process.env["CI"] === "true" ? undefined : rgwMissing();
const it = missing ? test.skip : test;
if (missing) console.log(`  SKIPPED archive tests against Ceph RGW: ${missing}`);

let rgw: Rgw;
const open: { relay: TestRelay; archivers: Archiver[] }[] = [];
let bucketNo = 0;

test.before(async () => {
  if (missing) return;
  rgw = await startRgw();
  console.log(`  Ceph RGW booted in ${(rgw.bootMs / 1000).toFixed(1)} s at ${rgw.endpoint}`);
});
test.after(async () => {
  await rgw?.stop();
});
test.after.each(async () => {
  for (const o of open.splice(0)) {
    for (const a of o.archivers) await a.stop();
    await o.relay.close();
  }
});

/** A relay whose clock is the real time (Object Lock dates are checked against the gateway's clock), a new locked bucket, an enrolled appliance. */
async function setup(opts: { locked?: boolean } = {}) {
  const relay = await testRelay();
  relay.clock.t = Date.now();
  const entry = { relay, archivers: [] as Archiver[] };
  open.push(entry);
  const bucket = `osiris-${process.pid}-${++bucketNo}`;
  if (opts.locked ?? true) await rgw.createLockedBucket(bucket, 1);
  else {
    const res = await rgw.client.fetch(`${rgw.endpoint}/${bucket}`, { method: "PUT" });
    assert.is(res.status, 200, await res.text());
  }
  const appliance = await enrolledAppliance(relay);
  const archiver = (over: Partial<ArchiverOptions> = {}) => {
    const a = startArchiver(relay.deps, {
      s3: { endpoint: rgw.endpoint, bucket, region: rgw.region, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      retentionDays: RETENTION_DAYS,
      autoStart: false,
      ...over,
    });
    entry.archivers.push(a);
    return a;
  };
  return { relay, bucket, appliance, archiver };
}

/** Pushes `n` new bundles with the appliance's checkpoint; returns the countersigned checkpoint. */
async function push(a: TestAppliance, n: number): Promise<string> {
  const bundles = await a.makeBundles(n);
  const res = await a.push(a.entries(bundles), await a.checkpoint());
  assert.is(res.status, 200, await res.clone().text());
  const ack = (await res.json()) as PushAck;
  assert.ok(ack.countersigned_checkpoint);
  return ack.countersigned_checkpoint!;
}

async function getObject(bucket: string, key: string, versionId?: string): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const res = await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}${versionId ? `?versionId=${encodeURIComponent(versionId)}` : ""}`);
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}

/** Every version (and delete marker) in the bucket under `prefix`. */
async function versions(bucket: string, prefix = ""): Promise<{ key: string; versionId: string; marker: boolean }[]> {
  const res = await rgw.client.fetch(`${rgw.endpoint}/${bucket}?versions&prefix=${encodeURIComponent(prefix)}&max-keys=1000`);
  const xml = await res.text();
  assert.is(res.status, 200, xml);
  assert.not.match(xml, /<IsTruncated>true<\/IsTruncated>/);
  return [...xml.matchAll(/<(Version|DeleteMarker)><Key>([^<]+)<\/Key><VersionId>([^<]+)<\/VersionId>/g)].map((m) => ({ key: m[2]!, versionId: m[3]!, marker: m[1] === "DeleteMarker" }));
}

async function rows(relay: TestRelay) {
  const rs = await relay.db.execute("SELECT object_key, kind, num, state, attempts, last_error, version_id, sha256, retain_until, next_attempt_at FROM archive_objects ORDER BY object_key");
  return rs.rows.map((r) => ({ ...r }) as unknown as { object_key: string; kind: string; num: number; state: string; attempts: number; last_error: string | null; version_id: string | null; sha256: string | null; retain_until: string | null; next_attempt_at: string });
}

function retention(xml: string): { mode: string | undefined; until: string | undefined } {
  return { mode: /<Mode>([^<]+)<\/Mode>/.exec(xml)?.[1], until: /<RetainUntilDate>([^<]+)<\/RetainUntilDate>/.exec(xml)?.[1] };
}

test("rgwMissing() names the missing binary and the Debian packages that provide it", () => {
  assert.is(rgwMissing({ PATH: "/nonexistent" }), "monmaptool not found: install Debian's ceph-mon ceph-osd radosgw ceph-common (apt-get install -y --no-install-recommends)");
});

it("every evidence bundle and countersigned checkpoint arrives byte for byte, COMPLIANCE-locked for retentionDays", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  const countersigned = await push(appliance, 5);
  assert.is(await count(relay.db, "archive_objects", "state = 'pending'"), 1, "ingest queued its checkpoint; the tick queues the bundles");

  const report = await archiver().tick();
  assert.equal(report, { claimed: 6, uploaded: 6, found: 0, retrying: 0, failed: 0 });

  for (const b of appliance.chain) {
    const key = `evidence/${relay.siteId}/${appliance.id}/${String(b.bundle.seq).padStart(12, "0")}.json`;
    const got = await getObject(bucket, key);
    assert.is(got.status, 200, key);
    assert.is(fromUtf8(got.bytes), b.line, `${key}: exact bytes`);
    assert.is(got.headers.get("x-amz-object-lock-mode"), "COMPLIANCE");
    const until = Date.parse(got.headers.get("x-amz-object-lock-retain-until-date")!.replace(/(\.\d{3})\d+Z$/, "$1Z"));
    assert.ok(Math.abs(until - (relay.clock.t + RETENTION_DAYS * DAY_MS)) < 1000, `retain-until ${isoTime(until)} is ${RETENTION_DAYS} days after the upload`);
    assert.is(got.headers.get("x-amz-meta-sha256"), sha256Hex(b.line));
  }
  const cpKey = `checkpoints/${relay.siteId}/${appliance.id}/000000000005.note`;
  const cp = await getObject(bucket, cpKey);
  assert.is(fromUtf8(cp.bytes), countersigned, "the countersigned note, exactly as returned to the appliance");
  assert.is(cp.headers.get("x-amz-object-lock-mode"), "COMPLIANCE");

  const state = await rows(relay);
  assert.ok(state.every((r) => r.state === "archived" && r.attempts === 1 && r.version_id && r.retain_until === isoTime(relay.clock.t + RETENTION_DAYS * DAY_MS)));
  assert.is(state.find((r) => r.object_key === cpKey)?.sha256, sha256Hex(countersigned));

  const operator = await asUser(relay, "msp_tech");
  const res = await relay.app.request(`/api/sites/${relay.siteId}/archive`, userInit(operator));
  assert.is(res.status, 200);
  assert.equal(await res.json(), { site_id: relay.siteId, pending: 0, archived: 6, failed: 0, oldest_pending_at: null, oldest_pending_age_s: null, last_error: null, configured: true } satisfies ArchiveStatus & { configured: boolean });
});

it("a locked version cannot be deleted, nor its retention shortened or turned into GOVERNANCE, even with the bypass header", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  await push(appliance, 1);
  await archiver().tick();
  const key = `evidence/${relay.siteId}/${appliance.id}/000000000001.json`;
  const [row] = (await rows(relay)).filter((r) => r.object_key === key);
  const v = encodeURIComponent(row!.version_id!);

  for (const headers of [{}, { "x-amz-bypass-governance-retention": "true" }] as Record<string, string>[]) {
    const del = await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}?versionId=${v}`, { method: "DELETE", headers });
    assert.is(del.status, 403, `delete of the locked version ${JSON.stringify(headers)}: ${await del.text()}`);
  }
  const before = retention(await (await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}?retention&versionId=${v}`)).text());
  assert.is(before.mode, "COMPLIANCE");
  const attempts: [string, Record<string, string>][] = [
    ["COMPLIANCE", {}],
    ["GOVERNANCE", { "x-amz-bypass-governance-retention": "true" }],
  ];
  for (const [mode, headers] of attempts) {
    const xml = `<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>${mode}</Mode><RetainUntilDate>${isoTime(Date.now() + 60 * 60_000)}</RetainUntilDate></Retention>`;
    const body = utf8(xml);
    const res = await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}?retention&versionId=${v}`, { method: "PUT", body: new Uint8Array(body), headers: { ...headers, "content-md5": toBase64(md5(body)) } });
    const text = await res.text();
    assert.is(res.status, 403, `shortening to ${mode}: ${text}`);
    assert.match(text, /AccessDenied/);
  }
  const after = retention(await (await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}?retention&versionId=${v}`)).text());
  assert.equal(after, before, "retention unchanged");

  // A DELETE without a version id only hides the object behind a delete marker.
  const hide = await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}`, { method: "DELETE" });
  assert.is(hide.status, 204);
  assert.is(hide.headers.get("x-amz-delete-marker"), "true");
  const kept = await getObject(bucket, key, row!.version_id!);
  assert.is(kept.status, 200);
  assert.is(fromUtf8(kept.bytes), appliance.chain[0]!.line);
});

it("overwriting an archived key adds a new version; the archived version stays, byte for byte", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  await push(appliance, 1);
  await archiver().tick();
  const key = `evidence/${relay.siteId}/${appliance.id}/000000000001.json`;
  const archivedVersion = (await rows(relay)).find((r) => r.object_key === key)!.version_id!;

  const forged = utf8('{"forged":true}');
  const put = await rgw.client.fetch(`${rgw.endpoint}/${bucket}/${key}`, { method: "PUT", body: new Uint8Array(forged), headers: { "content-md5": toBase64(md5(forged)) } });
  assert.is(put.status, 200, await put.text());
  const newVersion = put.headers.get("x-amz-version-id");
  assert.ok(newVersion && newVersion !== archivedVersion);

  assert.equal((await versions(bucket, key)).map((x) => x.versionId).sort(), [archivedVersion, newVersion].sort());
  assert.is(fromUtf8((await getObject(bucket, key)).bytes), '{"forged":true}', "the latest version is the overwrite");
  assert.is(fromUtf8((await getObject(bucket, key, archivedVersion)).bytes), appliance.chain[0]!.line, "the archived version is intact");
});

it("with the gateway down ingest is acknowledged at once, objects stay pending and are retried with backoff until it is back", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  const arch = archiver();
  await rgw.stopGateway();
  try {
    const started = performance.now();
    await push(appliance, 3);
    const pushMs = performance.now() - started;
    assert.ok(pushMs < 2000, `push took ${pushMs.toFixed(0)} ms`);

    let r = await arch.tick();
    assert.equal(r, { claimed: 4, uploaded: 0, found: 0, retrying: 4, failed: 0 });
    let state = await rows(relay);
    assert.ok(state.every((x) => x.state === "pending" && x.attempts === 1 && /ECONNREFUSED/.test(x.last_error ?? "")), JSON.stringify(state[0]));
    assert.ok(state.every((x) => Date.parse(x.next_attempt_at) >= relay.clock.t + 1000), "backoff: not due again at once");
    assert.is((await arch.tick()).claimed, 0, "nothing is retried before its backoff");

    const msp = await asUser(relay, "msp_admin");
    const shown = (await (await relay.app.request(`/api/sites/${relay.siteId}/archive`, userInit(msp))).json()) as ArchiveStatus;
    assert.is(shown.pending, 4);
    assert.match(shown.last_error?.error ?? "", /ECONNREFUSED/);

    for (let attempt = 2; attempt <= 3; attempt++) {
      relay.clock.t += 15 * 60_000 + 1;
      r = await arch.tick();
      assert.equal(r, { claimed: 4, uploaded: 0, found: 0, retrying: 4, failed: 0 });
    }
    state = await rows(relay);
    assert.ok(state.every((x) => x.state === "pending" && x.attempts === 3));
  } finally {
    await rgw.startGateway();
  }
  relay.clock.t += 15 * 60_000 + 1;
  const back = await arch.tick();
  assert.equal(back, { claimed: 4, uploaded: 4, found: 0, retrying: 0, failed: 0 });
  assert.ok((await rows(relay)).every((x) => x.state === "archived" && x.last_error === null));
  const listed = await versions(bucket);
  assert.is(listed.length, 4, "one version per object");
  assert.is(new Set(listed.map((x) => x.key)).size, 4);
});

it("an upload whose answer was lost is found with HEAD on the retry and not archived twice", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  await push(appliance, 2);
  let lose = true;
  // Fault injection: the gateway stores the object, but its answer never reaches the relay.
  const arch = archiver({
    fetch: async (req) => {
      const res = await fetch(req);
      if (lose && req.method === "PUT") {
        await res.arrayBuffer();
        throw new TypeError("fetch failed", { cause: { code: "ECONNRESET", message: "socket hang up (injected after the upload)" } });
      }
      return res;
    },
  });
  assert.equal(await arch.tick(), { claimed: 3, uploaded: 0, found: 0, retrying: 3, failed: 0 });
  assert.is((await versions(bucket)).length, 3, "the uploads did reach the bucket");
  lose = false;
  relay.clock.t += 15 * 60_000 + 1;
  assert.equal(await arch.tick(), { claimed: 3, uploaded: 0, found: 3, retrying: 0, failed: 0 });
  assert.is((await versions(bucket)).length, 3, "still one version per object");
  assert.ok((await rows(relay)).every((x) => x.state === "archived" && x.version_id));
});

it("two archivers on one database upload each object exactly once", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  await push(appliance, 20);
  const a = archiver({ batchSize: 8 });
  const b = archiver({ batchSize: 8 });
  let uploaded = 0;
  for (;;) {
    const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
    uploaded += ra.uploaded + rb.uploaded;
    if (ra.claimed === 0 && rb.claimed === 0) break;
  }
  assert.is(uploaded, 21);
  const listed = await versions(bucket);
  assert.is(listed.length, 21);
  assert.is(new Set(listed.map((x) => x.key)).size, 21);
  assert.is(await count(relay.db, "archive_objects", "state = 'archived' AND attempts = 1"), 21);
});

it("the running archiver archives new evidence by itself within seconds, and measures the upload rate", async () => {
  const { relay, bucket, appliance, archiver } = await setup();
  const n = 200;
  await push(appliance, n);
  const started = performance.now();
  archiver({ autoStart: true, intervalMs: 200 });
  const deadline = Date.now() + 60_000;
  while ((await count(relay.db, "archive_objects", "state = 'archived'")) < n + 1) {
    assert.ok(Date.now() < deadline, "archived within 60 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`  archived ${n + 1} objects in ${seconds.toFixed(2)} s: ${((n + 1) / seconds).toFixed(0)} objects/s (concurrency 4, batch 64)`);
  assert.is((await versions(bucket)).length, n + 1);
  assert.ok(relay.logs.some((l) => l.event === "archive_bucket_ready" && l.fields["default_mode"] === "COMPLIANCE"));
});

it("a bucket without Object Lock refuses the locked uploads: rows turn failed at once with the reason, and the start-up log says why", async () => {
  const { relay, appliance, archiver } = await setup({ locked: false });
  await push(appliance, 1);
  archiver({ autoStart: true, intervalMs: 60_000 });
  const deadline = Date.now() + 10_000;
  while ((await count(relay.db, "archive_objects", "state = 'failed'")) < 2) {
    assert.ok(Date.now() < deadline, JSON.stringify(await rows(relay)));
    await new Promise((r) => setTimeout(r, 50));
  }
  const state = await rows(relay);
  assert.ok(state.every((x) => x.state === "failed" && x.attempts === 1 && /400 InvalidRequest/.test(x.last_error ?? "")), state[0]?.last_error ?? "");
  assert.ok(relay.logs.some((l) => l.event === "archive_bucket_unlocked"));
});

it("wrong credentials: rows fail with the gateway's reason, and the secret appears in no error or log", async () => {
  const { relay, appliance, archiver } = await setup();
  await push(appliance, 1);
  const secret = "Wr0ngSecretValueThatMustNotLeak1234567890";
  const arch = archiver({ s3: { endpoint: rgw.endpoint, bucket: "whatever-bucket", region: rgw.region, accessKeyId: rgw.accessKeyId, secretAccessKey: secret } });
  assert.equal(await arch.tick(), { claimed: 2, uploaded: 0, found: 0, retrying: 0, failed: 2 });
  const state = await rows(relay);
  assert.ok(state.every((x) => /403 SignatureDoesNotMatch/.test(x.last_error ?? "")), state[0]?.last_error ?? "");
  const everything = JSON.stringify(state) + JSON.stringify(relay.logs);
  assert.not.ok(everything.includes(secret));
});

test.run();
