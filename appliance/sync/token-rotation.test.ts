/**
 * Token rotation end to end: a real relay on loopback issues a signed rotate_token order; the real appliance
 * daemon fetches a new token, stores it crash-safely, and keeps syncing with it; the old token is refused
 * from the first request made with the new one.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../protocol/hash.ts";
import { signRequest } from "../../relay/auth/request-message.ts";
import { issueOrder } from "../../relay/orders/issue.ts";
import { Appliance } from "../daemon/appliance.ts";
import { KEY_FILES, openStore, writeKeyFile } from "../store/index.ts";
import { readToken, replaceToken } from "./enroll.ts";
import { writeKv, SYNC_KEYS } from "./kv.ts";
import { enrollConfig, fetchProbe, labConfig, loopbackRelay, random, recordingLog } from "./_testing.ts";

test("a rotate_token order gives the appliance a new token; syncing goes on with it and the old token is refused", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-token-rotation-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const app = await Appliance.open(config, { clock: lr.relay.clock, random, log: recordingLog(), fetch: fetchProbe().fetch });
  try {
    const tokenFile = join(config.state_dir, KEY_FILES.relayToken);
    const oldToken = (await readFile(tokenFile, "utf8")).trim();
    const applianceId = app.status().appliance_id!;
    const issued = await issueOrder(lr.relay.db, { appliance_id: applianceId, type: "rotate_token", params: {}, issued_by: "usr_test" }, lr.relay.deps);
    const round = await app.sync!.client.sync();
    assert.equal(round.pull.orders.map((o) => o.status), ["executed"], JSON.stringify(round.pull.orders));
    const newToken = (await readFile(tokenFile, "utf8")).trim();
    assert.is.not(newToken, oldToken, "the token file holds a new token");
    // The order's result went up with the new token, which promoted it on the relay.
    await app.sync!.client.sync();
    const row = (await lr.relay.db.execute({ sql: "SELECT token_sha256, next_token_sha256 FROM appliances WHERE id = ?", args: [applianceId] })).rows[0]!;
    assert.is(row["token_sha256"], sha256Hex(newToken));
    assert.is(row["next_token_sha256"], null);
    const order = (await lr.relay.db.execute({ sql: "SELECT status FROM orders WHERE id = ?", args: [issued.order_id] })).rows[0]!;
    assert.is(order["status"], "done");

    const identitySigner = app.identity.identitySigner;
    const body = new TextEncoder().encode("");
    const headers = await signRequest(identitySigner, oldToken, { method: "GET", url: "/api/sync/pull", body, now: lr.relay.clock.now(), random });
    const withOld = await fetch(new URL("/api/sync/pull", lr.url), { headers });
    assert.is(withOld.status, 401, "the old token no longer works");
    assert.is(((await withOld.json()) as { error: { code: string } }).error.code, "token_unknown");
  } finally {
    await app.stop();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a rotation interrupted after the new token file was written is finished at the next start", async () => {
  const lr = await loopbackRelay();
  const dir = await mkdtemp(join(tmpdir(), "osiris-token-crash-"));
  const config = labConfig(dir, lr.url);
  await enrollConfig(lr, config);
  const store = await openStore(config.database, { log: { info: () => undefined } });
  try {
    const stateDir = config.state_dir;
    const tokenFile = join(stateDir, KEY_FILES.relayToken);
    const enrolled = await readToken(stateDir, store);
    const next = "N".repeat(43);
    // Crash simulation: the note and the new file are written, the identity row is not yet updated.
    await writeKv(store, SYNC_KEYS.rotatingToken, sha256Hex(next), Date.now());
    await writeKeyFile(tokenFile, new TextEncoder().encode(next), { replace: true });
    assert.is(await readToken(stateDir, store), next, "the interrupted rotation is completed");
    const rs = await store.execute("SELECT token_sha256 FROM identity WHERE id = 1");
    assert.is(rs.rows[0]?.["token_sha256"], sha256Hex(next));
    // A crash before the file was replaced leaves the enrolled token in force.
    await replaceToken(stateDir, store, enrolled, Date.now());
    await writeKv(store, SYNC_KEYS.rotatingToken, sha256Hex("M".repeat(43)), Date.now());
    assert.is(await readToken(stateDir, store), enrolled);
    // A token file nobody rotated in is refused.
    await writeKeyFile(tokenFile, new TextEncoder().encode("X".repeat(43)), { replace: true });
    try {
      await readToken(stateDir, store);
      assert.unreachable("a foreign token file must be refused");
    } catch (e) {
      assert.match((e as Error).message, /not the one issued/);
    }
  } finally {
    store.close();
    await lr.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
