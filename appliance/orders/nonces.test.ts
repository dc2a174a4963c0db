import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { openStore, type Store } from "../store/index.ts";
import { NONCES_PRUNED_THROUGH_KEY, nonceState, pruneNonces, recordNonce } from "./nonces.ts";

const T0 = Date.parse("2026-11-27T22:00:00.000Z");
const MIN = 60_000;
const at = (minutes: number): string => isoTime(T0 + minutes * MIN);

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-nonces-"));
  const store = await openStore(join(dir, "appliance.db"), { log: { info: () => undefined } });
  try {
    await fn(store);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const state = (store: Store, nonce: string, expiresAt: string) => store.transaction((tx) => nonceState(tx, nonce, expiresAt));
const prune = (store: Store, cutoff: string, limit: number) => store.transaction((tx) => pruneNonces(tx, cutoff, limit, at(10_000)));

test("a used nonce is `replayed`; a new one is usable until pruning passes its expiry", async () => {
  await withStore(async (store) => {
    await store.transaction((tx) => recordNonce(tx, { nonce: "n1", order_id: "ord_0123456789", seen_at: at(0), expires_at: at(15) }));
    assert.is(await state(store, "n1", at(15)), "replayed");
    assert.is(await state(store, "n2", at(15)), null);
    assert.is(await prune(store, at(16), 100), 1);
    assert.is(await state(store, "n1", at(15)), "nonce_record_pruned", "deleted from the record, still refused");
    assert.is(await state(store, "n2", at(15)), "nonce_record_pruned", "an unseen order from that time cannot be told apart");
    assert.is(await state(store, "n2", at(16)), null, "an order expiring after the watermark is usable");
  });
});

test("pruning in chunks raises the watermark to the latest expiry deleted and never lowers it", async () => {
  await withStore(async (store) => {
    for (let i = 1; i <= 5; i++) {
      await store.transaction((tx) => recordNonce(tx, { nonce: `n${i}`, order_id: "ord_0123456789", seen_at: at(0), expires_at: at(i * 10) }));
    }
    assert.is(await prune(store, at(35), 2), 2, "the two oldest");
    assert.is(await state(store, "x", at(20)), "nonce_record_pruned");
    assert.is(await state(store, "x", at(21)), null);
    assert.is(await prune(store, at(35), 2), 1, "then the third, below the cutoff");
    assert.is(await state(store, "x", at(30)), "nonce_record_pruned");
    assert.is(await prune(store, at(5), 2), 0, "an earlier cutoff deletes nothing");
    assert.is(await state(store, "x", at(30)), "nonce_record_pruned", "and leaves the watermark");
    const left = (await store.execute("SELECT nonce FROM order_nonces ORDER BY nonce")).rows.map((r) => r.nonce);
    assert.equal(left, ["n4", "n5"]);
  });
});

test("a damaged watermark counts as reaching the time it was written", async () => {
  await withStore(async (store) => {
    await store.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)", args: [NONCES_PRUNED_THROUGH_KEY, "{not json", at(60)] });
    assert.is(await state(store, "x", at(60)), "nonce_record_pruned");
    assert.is(await state(store, "x", at(61)), null);
  });
});

test.run();
