/**
 * The relay under Deno 2: `deno run -A cli/main.ts relay serve` (the same sources, no build step) starts,
 * answers /healthz, enrolls an appliance, verifies and stores its pushed chain, countersigns its checkpoint
 * and answers a pull — on a libSQL file and on a libSQL server (sqld).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePullResponse } from "../../protocol/sync.ts";
import { startSqld } from "../_sqld.ts";
import { checkAppliance, DENO, ensureDeno, http, openSite, OutboxAppliance, pinnedRelayKeys, startRelayProcess } from "./_harness.ts";

async function underDeno(location: string, label: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-deno-"));
  const site = await openSite(location);
  const relay = await startRelayProcess({ db: location, keyFile: join(dir, "relay.key"), runtime: "deno" });
  try {
    const health = await fetch(`${relay.url}/healthz`);
    assert.is(health.status, 200);
    assert.is(((await health.json()) as { status: string }).status, "ok");

    const app = await OutboxAppliance.enroll(http(relay.url), await site.claimCode());
    await app.write(40);
    await app.drain(undefined, 15);
    assert.equal(await checkAppliance(site.db, app, pinnedRelayKeys(app)), [], label);
    assert.ok(app.countersigned.has(app.a.chain.length), `${label}: the last checkpoint was countersigned under Deno`);
    const pull = await app.a.request("GET", "/api/sync/pull");
    assert.is(pull.status, 200);
    assert.ok(parsePullResponse(await pull.json()).relay_keys.length >= 1);
  } catch (e) {
    (e as Error).message += `\ndeno relay log tail:\n${relay.logs().slice(-15).join("\n")}`;
    throw e;
  } finally {
    await relay.stop();
    site.db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("under Deno 2 on a libSQL file: the relay starts, answers /healthz, ingests and countersigns", async () => {
  assert.ok(existsSync(ensureDeno()), `${DENO} is missing (the npm package deno)`);
  const dir = await mkdtemp(join(tmpdir(), "osiris-deno-db-"));
  try {
    await underDeno(join(dir, "relay.db"), "file");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("under Deno 2 on a libSQL server (sqld): the same", async () => {
  const sqld = await startSqld();
  try {
    await underDeno(sqld.url, "sqld");
  } finally {
    await sqld.stop();
  }
});

test.run();
