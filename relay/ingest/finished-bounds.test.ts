/**
 * finished-bounds on a real libSQL file: the seqs a time range covers, found from the sparse index, equal a
 * full scan's answer for chains whose finished_at steps back within the tolerance ingest allows (and jumps
 * forward, as after a week offline), and the lookups use the sparse index rather than scanning the evidence.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_TIME_TOLERANCE_MS } from "../../protocol/chain.ts";
import { isoTime } from "../../protocol/ids.ts";
import { T0, testRelay, type TestRelay } from "../_testing.ts";
import { firstSeqFinishedFrom, lastSeqFinishedBefore, seqsFinishedIn } from "./finished-bounds.ts";

const MIN = 60_000;

/** A deterministic pseudo-random sequence (the same chain on every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Stores `n` rows for one appliance with finished_at mostly rising, sometimes stepping back (within tolerance) or jumping ahead. */
async function storeChain(relay: TestRelay, applianceId: string, n: number, seed: number): Promise<number[]> {
  const rnd = lcg(seed);
  const times: number[] = [];
  let latest = T0;
  for (let seq = 1; seq <= n; seq++) {
    const r = rnd();
    const t = r < 0.15 ? latest - Math.floor(rnd() * DEFAULT_TIME_TOLERANCE_MS) : r < 0.17 ? latest + 7 * 24 * 60 * MIN : latest + Math.floor(rnd() * 3 * MIN);
    times.push(t);
    latest = Math.max(latest, t);
  }
  const at = isoTime(T0);
  await relay.db.execute({
    sql: `INSERT INTO appliances (id, site_id, identity_public_key, evidence_public_key, evidence_key_id, credentials_public_key, fingerprint, token_sha256, enrolled_at, enrolled_via)
          VALUES (?, ?, ?, ?, '0123456789abcdef', ?, 'fp', ?, ?, 'claim_code')`,
    args: [applianceId, relay.siteId, ...[0, 1, 2].map((k) => "0123456789abcdef"[seed * 4 + k]!.repeat(64)), "0123456789abcdef"[seed * 4 + 3]!.repeat(64), at],
  });
  for (let i = 0; i < n; i += 200) {
    await relay.db.batch(
      times.slice(i, i + 200).map((t, k) => ({
        sql: "INSERT INTO evidence (appliance_id, seq, line, hash, leaf_hash, finished_at, received_at) VALUES (?, ?, '{}', ?, ?, ?, ?)",
        args: [applianceId, i + k + 1, "5".repeat(64), "6".repeat(64), isoTime(t), at],
      })),
    );
  }
  return times;
}

test("the seqs of a time range equal a full scan's, over chains that step back within tolerance and jump ahead", async () => {
  const relay = await testRelay();
  try {
    const chains = new Map<string, number[]>();
    for (const [id, n, seed] of [["app_aaaaaaaa", 3000, 1], ["app_bbbbbbbb", 700, 2], ["app_cccccccc", 1, 3]] as const) chains.set(id, await storeChain(relay, id, n, seed));
    const rnd = lcg(99);
    let checked = 0;
    for (const [id, times] of chains) {
      const lo = Math.min(...times) - 10 * MIN;
      const hi = Math.max(...times) + 10 * MIN;
      // Range ends at random times, at exact bundle times, and just around them.
      // Every bundle's time and the millisecond after it: a step back right at an indexed bundle is met too.
      const probes = [lo, hi, ...times, ...times.map((t) => t + 1), ...Array.from({ length: 60 }, () => lo + Math.floor(rnd() * (hi - lo)))];
      for (const from of probes) {
        const to = rnd() < 0.5 ? from + Math.floor(rnd() * 3 * 24 * 60 * MIN) : from + 1;
        const first = times.findIndex((t) => t >= from);
        let last = -1;
        for (let i = times.length - 1; i >= 0; i--) if (times[i]! < to) { last = i; break; }
        assert.is(await firstSeqFinishedFrom(relay.db, id, isoTime(from)), first < 0 ? null : first + 1, `${id} first from ${isoTime(from)}`);
        assert.is(await lastSeqFinishedBefore(relay.db, id, isoTime(to)), last < 0 ? null : last + 1, `${id} last before ${isoTime(to)}`);
        const both = await seqsFinishedIn(relay.db, id, isoTime(from), isoTime(to));
        assert.equal(both, first >= 0 && last >= first ? { first: first + 1, last: last + 1 } : null);
        checked++;
      }
    }
    assert.ok(checked > 7000, `${checked} ranges checked`);
    assert.is(await firstSeqFinishedFrom(relay.db, "app_unknown1", isoTime(T0)), null);
    // Ranges from the epoch and to the end of time (an export "of everything").
    assert.equal(await seqsFinishedIn(relay.db, "app_aaaaaaaa", isoTime(0), "9999-12-31T23:59:59.999Z"), { first: 1, last: 3000 });
  } finally {
    await relay.close();
  }
});

test("the lookups go through the sparse index (no full index is written per bundle)", async () => {
  const relay = await testRelay();
  try {
    const indexes = (await relay.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'evidence' AND sql IS NOT NULL")).rows.map((r) => String(r["name"]));
    assert.equal(indexes, ["evidence_finished_sparse"]);
    const plan = await relay.db.execute({
      sql: `EXPLAIN QUERY PLAN SELECT seq FROM evidence WHERE appliance_id = ?1 AND seq % 64 = 1 AND finished_at < ?2 ORDER BY finished_at DESC LIMIT 1`,
      args: ["app_aaaaaaaa", isoTime(T0)],
    });
    assert.match(plan.rows.map((r) => String(r["detail"])).join("\n"), /evidence_finished_sparse/);
  } finally {
    await relay.close();
  }
});

test.run();
