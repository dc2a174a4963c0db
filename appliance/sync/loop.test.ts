import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isoTime } from "../../protocol/ids.ts";
import { openStore, type Store } from "../store/index.ts";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, MIN_RETRY_MS, PERMANENT_FLOOR_FRACTION } from "./backoff.ts";
import type { SyncReport } from "./client.ts";
import { SyncError } from "./errors.ts";
import { readKv, SYNC_KEYS, writeKv } from "./kv.ts";
import { MIN_TRIGGERED_SPACING_MS, OUTBOX_POLL_MS, SyncLoop, type Sleep } from "./loop.ts";
import { random, recordingLog } from "./_testing.ts";

const T0 = Date.UTC(2026, 10, 27, 12);
const clock = { now: () => T0 };

function report(more = false): SyncReport {
  const push = { entries: 0, batches: 0, more, halted: false, acked_outbox_seq: null, verified_seq: null, countersigned: null };
  return { push, pull: { relay_time: isoTime(T0), clock_offset_ms: 0, ruleset_installed: null, orders: [], site_config: "unchanged", keys_added: [] }, followUp: null, more };
}

type Step = { ok: SyncReport } | { fail: unknown };

/** A client that plays `steps`, then waits until the loop stops. */
function scripted(steps: Step[], unpushed = () => false) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    hasUnpushed: async () => unpushed(),
    sync: async (signal?: AbortSignal): Promise<SyncReport> => {
      const step = steps[calls++];
      if (step === undefined) {
        await new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve(), { once: true }));
        throw new SyncError("aborted", "stopping");
      }
      if ("fail" in step) throw step.fail;
      return step.ok;
    },
  };
}

/** Sleeps that return at once (recording what was asked), except those longer than `block` which wait for their signal. */
function fakeSleep(block = Infinity): Sleep & { asked: number[] } {
  const asked: number[] = [];
  const sleep = async (ms: number, signal: AbortSignal) => {
    asked.push(ms);
    if (ms > block && !signal.aborted) await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    else await Promise.resolve();
  };
  return Object.assign(sleep, { asked });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-loop-"));
  const store = await openStore(join(dir, "a.db"), { log: { info: () => undefined } });
  try {
    await fn(store);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

type Round = Parameters<NonNullable<ConstructorParameters<typeof SyncLoop>[0]["onRound"]>>[0];

test("after a successful round the loop waits the interval ± 10 %; a round that reports more continues at once", async () => {
  await withStore(async (store) => {
    const client = scripted([{ ok: report(true) }, { ok: report() }]);
    const rounds: Round[] = [];
    const loop = new SyncLoop({ client, store, intervalMs: 60_000, clock, random, log: recordingLog(), sleep: fakeSleep(), onRound: (r) => void rounds.push(r) });
    loop.start();
    await until(() => client.calls >= 3, "three rounds");
    await loop.stop();
    assert.is(rounds[0]!.delayMs, 0, "backlog: at once");
    assert.ok(rounds[1]!.delayMs >= 54_000 && rounds[1]!.delayMs <= 66_000, String(rounds[1]!.delayMs));
  });
});

test("failures back off with full jitter under BASE × 2^n, persisted in kv; the first success resets the count", async () => {
  await withStore(async (store) => {
    const down = new SyncError("unreachable", "connect ECONNREFUSED 127.0.0.1:8787");
    const client = scripted([{ fail: down }, { fail: down }, { fail: down }, { ok: report() }]);
    const rounds: Round[] = [];
    let persisted: unknown = "unread";
    const loop = new SyncLoop({
      client,
      store,
      intervalMs: 60_000,
      clock,
      random,
      log: recordingLog(),
      sleep: fakeSleep(),
      onRound: (r) => {
        rounds.push(r);
        if (!r.ok && r.failures === 3) void readKv(store, SYNC_KEYS.backoff).then((v) => (persisted = v));
      },
    });
    loop.start();
    await until(() => rounds.length >= 4, "four rounds");
    await loop.stop();
    rounds.slice(0, 3).forEach((r, i) => {
      assert.not.ok(r.ok);
      assert.ok(r.delayMs >= MIN_RETRY_MS && r.delayMs <= BACKOFF_BASE_MS * 2 ** (i + 1), `failure ${i + 1}: ${r.delayMs}`);
    });
    assert.is((persisted as { failures: number }).failures, 3);
    assert.ok(rounds[3]!.ok);
    assert.is(loop.failures, 0);
    assert.is(await readKv(store, SYNC_KEYS.backoff), null, "cleared after recovery");
  });
});

test("a revoked appliance: the relay's 401 reason is logged and the loop waits near the 15 min cap", async () => {
  await withStore(async (store) => {
    const revoked = new SyncError("auth_refused", "push: the relay refused (401 appliance_revoked: appliance revoked)", { status: 401, relayCode: "appliance_revoked" });
    const client = scripted([{ fail: revoked }]);
    const log = recordingLog();
    const rounds: Round[] = [];
    const loop = new SyncLoop({ client, store, intervalMs: 60_000, clock, random, log, sleep: fakeSleep(), onRound: (r) => void rounds.push(r) });
    loop.start();
    await until(() => rounds.length >= 1, "one round");
    await loop.stop();
    const entry = log.find("sync_failed")[0]!;
    assert.is(entry.level, "error");
    assert.is(entry.fields["relay_code"], "appliance_revoked");
    assert.match(String(entry.fields["error"]), /appliance revoked/);
    assert.ok(rounds[0]!.delayMs >= BACKOFF_CAP_MS * PERMANENT_FLOOR_FRACTION && rounds[0]!.delayMs <= BACKOFF_CAP_MS);
  });
});

test("trigger() starts a round early while the relay is reachable, and is ignored while backing off", async () => {
  await withStore(async (store) => {
    const client = scripted([{ ok: report() }, { fail: new SyncError("unreachable", "down") }, { ok: report() }]);
    // Draws at the top of every range: the backoff (10 s) is longer than the spacing sleep that returns at once.
    const high = (n: number) => new Uint8Array(n).fill(0xff);
    const loop = new SyncLoop({ client, store, intervalMs: 60_000, clock, random: high, log: recordingLog(), sleep: fakeSleep(MIN_TRIGGERED_SPACING_MS) });
    loop.start();
    await until(() => client.calls === 1, "the first round");
    await new Promise((r) => setImmediate(r));
    loop.trigger();
    await until(() => client.calls === 2, "a triggered round");
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    loop.trigger();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.is(client.calls, 2, "no early round while backing off");
    await loop.stop();
  });
});

test("new outbox rows end an idle wait at the next poll", async () => {
  await withStore(async (store) => {
    let fresh = false;
    const client = scripted([{ ok: report() }, { ok: report() }], () => fresh);
    const sleep = fakeSleep();
    const loop = new SyncLoop({ client, store, intervalMs: 60_000, clock, random, log: recordingLog(), sleep });
    fresh = true;
    loop.start();
    await until(() => client.calls >= 2, "the second round");
    await loop.stop();
    assert.equal(sleep.asked.slice(0, 2), [MIN_TRIGGERED_SPACING_MS, OUTBOX_POLL_MS], "spacing, one poll slice, then sync");
  });
});

test("a restart resumes the persisted backoff before its first round", async () => {
  await withStore(async (store) => {
    await writeKv(store, SYNC_KEYS.backoff, { failures: 4, retry_at: isoTime(T0 + 45_000) }, T0);
    const client = scripted([{ ok: report() }]);
    const sleep = fakeSleep();
    const loop = new SyncLoop({ client, store, intervalMs: 60_000, clock, random, log: recordingLog(), sleep });
    loop.start();
    await until(() => client.calls >= 1, "the first round");
    await loop.stop();
    assert.is(sleep.asked[0], 45_000);
  });
});

test("stop() aborts the round in flight and resolves", async () => {
  await withStore(async (store) => {
    const client = scripted([]);
    const loop = new SyncLoop({ client, store, intervalMs: 60_000, clock, random, log: recordingLog(), sleep: fakeSleep() });
    loop.start();
    await until(() => client.calls === 1, "a round in flight");
    await loop.stop();
    assert.is(client.calls, 1);
  });
});

test.run();
