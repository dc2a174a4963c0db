/**
 * The archive state as operators and /metrics see it. The uploads here fail for real: the archiver points at
 * a loopback port nobody listens on (connection refused), so no S3 server is needed for this file; the
 * uploads that succeed are covered against Ceph RGW in archiver.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { freePort } from "../../node/_test-ports.ts";
import { asUser, count, enrolledAppliance, random, testRelay, userInit, type TestRelay } from "../_testing.ts";
import { createMsp } from "../tenants/tenants.ts";
import { startArchiver, type ArchiverOptions } from "./archiver.ts";
import { archiveMetricLines, archiveQueueDepth, type ArchiveStatus } from "./status.ts";

async function withRelay(fn: (relay: TestRelay) => Promise<void>): Promise<void> {
  const relay = await testRelay();
  try {
    await fn(relay);
  } finally {
    await relay.close();
  }
}

async function deadArchiver(relay: TestRelay, over: Partial<ArchiverOptions> = {}) {
  const port = await freePort();
  return startArchiver(relay.deps, {
    s3: { endpoint: `http://127.0.0.1:${port}`, bucket: "osiris-archive", region: "us-east-1", accessKeyId: "AKIDEXAMPLE", secretAccessKey: "never-shown-secret-0123456789" },
    retentionDays: 7,
    autoStart: false,
    ...over,
  });
}

async function statusOf(relay: TestRelay, headers: RequestInit): Promise<ArchiveStatus & { configured: boolean }> {
  const res = await relay.app.request(`/api/sites/${relay.siteId}/archive`, headers);
  assert.is(res.status, 200, await res.clone().text());
  return (await res.json()) as ArchiveStatus & { configured: boolean };
}

test("GET /api/sites/:site_id/archive shows pending, failed, the oldest pending age and the last error", async () => {
  await withRelay(async (relay) => {
    const tech = await asUser(relay, "msp_tech");
    const empty = await statusOf(relay, userInit(tech));
    assert.equal(empty, { site_id: relay.siteId, pending: 0, archived: 0, failed: 0, oldest_pending_at: null, oldest_pending_age_s: null, last_error: null, configured: false }, "this relay runs no archiver: it says so");
    relay.deps.archiving = true;
    assert.is((await statusOf(relay, userInit(tech))).configured, true);

    const a = await enrolledAppliance(relay);
    const ingestedAt = relay.clock.now();
    assert.is((await a.push(a.entries(await a.makeBundles(4)), await a.checkpoint())).status, 200);
    relay.clock.t += 90_000;
    let s = await statusOf(relay, userInit(tech));
    assert.equal([s.pending, s.failed, s.oldest_pending_at, s.oldest_pending_age_s, s.last_error], [5, 0, isoTime(ingestedAt), 90, null]);

    const archiver = await deadArchiver(relay, { failedAfterAttempts: 2 });
    assert.equal(await archiver.tick(), { claimed: 5, uploaded: 0, found: 0, retrying: 5, failed: 0 });
    s = await statusOf(relay, userInit(tech));
    assert.is(s.pending, 5);
    assert.match(s.last_error!.error, /^S3 PUT osiris-archive\/(evidence|checkpoints)\/.*: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    assert.is(s.last_error!.at, isoTime(relay.clock.now()));

    relay.clock.t += 15 * 60_000;
    assert.equal(await archiver.tick(), { claimed: 5, uploaded: 0, found: 0, retrying: 0, failed: 5 }, "failed after 2 attempts");
    s = await statusOf(relay, userInit(tech));
    assert.equal([s.pending, s.failed, s.archived, s.oldest_pending_age_s], [0, 5, 0, 90 + 15 * 60]);
    assert.not.ok(JSON.stringify(s).includes("never-shown-secret"));
    assert.not.ok(JSON.stringify(relay.logs).includes("never-shown-secret"));
    await archiver.stop();
  });
});

test("POST /api/sites/:site_id/archive/retry makes failed uploads due now and is audited", async () => {
  await withRelay(async (relay) => {
    const admin = await asUser(relay, "msp_admin");
    const a = await enrolledAppliance(relay);
    assert.is((await a.push(a.entries(await a.makeBundles(2)))).status, 200);
    const archiver = await deadArchiver(relay, { failedAfterAttempts: 1 });
    assert.equal(await archiver.tick(), { claimed: 2, uploaded: 0, found: 0, retrying: 0, failed: 2 });
    assert.is((await archiver.tick()).claimed, 0, "failed rows wait out their backoff");

    const res = await relay.app.request(`/api/sites/${relay.siteId}/archive/retry`, userInit(admin, "POST"));
    assert.is(res.status, 200, await res.clone().text());
    assert.equal(await res.json(), { requeued: 2 });
    assert.is(await count(relay.db, "audit_log", "action = 'archive.retry' AND site_id = ? AND actor_id = ?", [relay.siteId, admin.id]), 1);
    assert.is((await archiver.tick()).claimed, 2, "due again at once");
    await archiver.stop();
  });
});

test("the archive routes refuse callers outside the site's tenant, client users, and anonymous requests", async () => {
  await withRelay(async (relay) => {
    const otherMsp = await createMsp(relay.db, { name: "Other MSP" }, { clock: relay.clock, random });
    const stranger = await asUser(relay, "msp_admin", { msp_id: otherMsp.id });
    const client = await asUser(relay, "client_owner");
    for (const [method, path] of [
      ["GET", `/api/sites/${relay.siteId}/archive`],
      ["POST", `/api/sites/${relay.siteId}/archive/retry`],
    ] as const) {
      assert.is((await relay.app.request(path, userInit(stranger, method))).status, 404, `${method} ${path} from another MSP`);
      assert.is((await relay.app.request(path, userInit(client, method))).status, 403, `${method} ${path} from a client user`);
      assert.is((await relay.app.request(path, { method })).status, 401, `${method} ${path} without credentials`);
    }
    assert.is(await count(relay.db, "audit_log", "action = 'archive.retry'"), 0);
  });
});

test("archiveQueueDepth() counts the whole relay's backlog for /metrics", async () => {
  await withRelay(async (relay) => {
    const a = await enrolledAppliance(relay);
    assert.is((await a.push(a.entries(await a.makeBundles(3)))).status, 200);
    const archiver = await deadArchiver(relay, { failedAfterAttempts: 1, batchSize: 1 });
    await archiver.tick();
    relay.clock.t += 30_000;
    const depth = await archiveQueueDepth(relay.db, relay.clock.now());
    assert.equal(depth, { pending: 2, failed: 1, oldest_pending_age_s: 30 });
    assert.equal(archiveMetricLines(depth).filter((l) => !l.startsWith("#")), [
      'osiris_archive_queue_depth{state="pending"} 2',
      'osiris_archive_queue_depth{state="failed"} 1',
      "osiris_archive_oldest_pending_seconds 30",
    ]);
    await archiver.stop();
  });
});

test.run();
