import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CATALOGUE_VERSION } from "../../protocol/catalogue/mod.ts";
import { verifyChain } from "../../protocol/chain.ts";
import { cosignNote, openCheckpoint, relayWitnessName, signNote } from "../../protocol/checkpoint.ts";
import { createSigner, keyId } from "../../protocol/crypto.ts";
import { toHex, utf8 } from "../../protocol/encoding.ts";
import { GENESIS_PREV_HASH, parseBundleLine } from "../../protocol/evidence.ts";
import { sha256, sha256Hex } from "../../protocol/hash.ts";
import { leafHash, MerkleTree } from "../../protocol/merkle.ts";
import type { Store } from "../store/index.ts";
import { APP, collect, cycleDraft, openFixture, relaySigner, SITE, systemDraft, T0, withLog, type LogFixture } from "./_testing.ts";
import { EvidenceError } from "./errors.ts";
import { EvidenceLog, MAX_APPEND_DRAFTS, READ_PAGE_ROWS } from "./log.ts";

async function evidenceError(p: Promise<unknown>): Promise<EvidenceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EvidenceError) return e;
    throw e;
  }
  assert.unreachable("expected an EvidenceError");
  throw new Error("unreachable");
}

async function storedLines(store: Store): Promise<string[]> {
  return (await store.execute("SELECT line FROM evidence ORDER BY seq")).rows.map((r) => String(r.line));
}

function keys(f: LogFixture) {
  return new Map([[APP, { publicKey: f.identity.evidenceSigner.publicKey, siteId: SITE }]]);
}

const drafts = (n: number, at = T0) => Array.from({ length: n }, (_, i) => cycleDraft(at + i * 1000, `host-${i}`));

test("append() chains bundles from seq 1 that the protocol verifier accepts", async () => {
  await withLog(async (f) => {
    assert.equal((await f.log.append(drafts(3))).seqs, [1, 2, 3]);
    assert.equal((await f.log.append(drafts(2))).seqs, [4, 5]);
    const lines = await storedLines(f.store);
    const report = await verifyChain(lines, keys(f), { fromGenesis: true });
    assert.ok(report.ok, JSON.stringify(report));
    const bundles = lines.map(parseBundleLine);
    assert.is(bundles[0]!.prev_hash, GENESIS_PREV_HASH);
    for (let i = 1; i < bundles.length; i++) assert.is(bundles[i]!.prev_hash, sha256Hex(lines[i - 1]!));
    const rows = (await f.store.execute("SELECT seq, hash, kind, acked FROM evidence ORDER BY seq")).rows;
    assert.equal(rows.map((r) => [Number(r.seq), r.hash, r.kind, Number(r.acked)]), lines.map((l, i) => [i + 1, sha256Hex(l), "check_cycle", 0]));
  });
});

test("append() fills appliance, site, catalogue version, rule set hash and system fields", async () => {
  const system = { nixos_revision: "24.11.20261101.abcdef0", derivation_digest: "sha256-" + "b".repeat(52), deployment_mode: "reseller" as const, reseller_id: "rsl_0123456789ab" };
  await withLog(
    async (f) => {
      const rulesetHash = "c".repeat(64);
      await f.store.execute({ sql: "INSERT INTO ruleset (id, version, envelope, hash, loaded_at) VALUES (1, 7, '{}', ?, ?)", args: [rulesetHash, new Date(T0).toISOString()] });
      await f.log.append([{ ...cycleDraft(T0), ntp_offset_ms: 12, order_id: null }]);
      const b = parseBundleLine((await storedLines(f.store))[0]!);
      assert.is(b.appliance_id, APP);
      assert.is(b.site_id, SITE);
      assert.is(b.policy_version, CATALOGUE_VERSION);
      assert.is(b.ruleset_hash, rulesetHash);
      assert.is(b.nixos_revision, system.nixos_revision);
      assert.is(b.derivation_digest, system.derivation_digest);
      assert.is(b.deployment_mode, "reseller");
      assert.is(b.reseller_id, system.reseller_id);
      assert.is(b.ntp_offset_ms, 12);
      assert.is(b.key_id, keyId(f.identity.evidenceSigner.publicKey));
    },
    { system },
  );
});

test("append() writes an evidence outbox row per bundle, then the extra entries, with consecutive outbox_seq", async () => {
  await withLog(async (f) => {
    const heartbeat = { type: "heartbeat" as const, body: { at: new Date(T0).toISOString(), version: "1.0.0", ntp_offset_ms: null, backlog: 3 } };
    await f.log.append(drafts(2), [heartbeat]);
    await f.log.append(drafts(1));
    const rows = (await f.store.execute("SELECT outbox_seq, type, body, acked FROM outbox ORDER BY outbox_seq")).rows;
    const lines = await storedLines(f.store);
    assert.equal(rows.map((r) => [Number(r.outbox_seq), r.type, Number(r.acked)]), [[1, "evidence", 0], [2, "evidence", 0], [3, "heartbeat", 0], [4, "evidence", 0]]);
    assert.equal([rows[0]!.body, rows[1]!.body, rows[3]!.body], lines);
    assert.equal(JSON.parse(String(rows[2]!.body)), heartbeat.body);
  });
});

test("append() of an invalid draft writes nothing and the chain continues from the same head", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(1));
    const bad = { ...cycleDraft(T0), kind: "system" as const }; // results are only allowed in check cycles
    const e = await evidenceError(f.log.append([cycleDraft(T0), bad]));
    assert.is(e.code, "invalid_draft");
    assert.match(e.message, /^drafts\[1\]: results: must be empty/);
    assert.is((await storedLines(f.store)).length, 1);
    assert.equal((await f.log.append(drafts(1))).seqs, [2]);
    assert.ok((await f.log.verifyLocal()).ok);
  });
});

test("append() with an invalid outbox entry writes nothing", async () => {
  await withLog(async (f) => {
    const e = await evidenceError(f.log.append(drafts(1), [{ type: "heartbeat", body: { at: "yesterday" } }]));
    assert.is(e.code, "invalid_draft");
    assert.match(e.message, "outbox[0]");
    const counts = (await f.store.execute("SELECT (SELECT COUNT(*) FROM evidence) AS e, (SELECT COUNT(*) FROM outbox) AS o")).rows[0]!;
    assert.equal([Number(counts.e), Number(counts.o)], [0, 0]);
  });
});

test("append() refuses a batch over MAX_APPEND_DRAFTS before signing anything", async () => {
  await withLog(async (f) => {
    const e = await evidenceError(f.log.append(Array.from({ length: MAX_APPEND_DRAFTS + 1 }, () => cycleDraft(T0))));
    assert.is(e.code, "batch_too_large");
  });
});

test("concurrent append() calls are serialised into one gap-free chain", async () => {
  await withLog(async (f) => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => f.log.append(drafts(1 + (i % 4), T0 + i * 10_000))));
    const seqs = results.flatMap((r) => r.seqs).sort((a, b) => a - b);
    assert.equal(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
    const report = await f.log.verifyLocal();
    assert.ok(report.ok, JSON.stringify(report));
  });
});

test("an append re-signs against the new head when another writer moved it", async () => {
  await withLog(async (f) => {
    const other = new EvidenceLog({ store: f.store, identity: f.identity.enrolled(), clock: f.clock });
    await f.log.append(drafts(2)); // f.log caches head 2
    await other.append(drafts(3)); // head moves to 5 behind f.log's back
    assert.equal((await f.log.append(drafts(1))).seqs, [6]);
    const report = await f.log.verifyLocal();
    assert.ok(report.ok, JSON.stringify(report));
  });
});

test("a transaction that fails to commit leaves no rows and the next append continues the chain", async () => {
  await withLog(async (f) => {
    let failNext = false;
    const flaky: Store = {
      path: f.store.path,
      execute: (s) => f.store.execute(s),
      batch: (s) => f.store.batch(s),
      schemaVersion: () => f.store.schemaVersion(),
      close: () => f.store.close(),
      transaction: (fn) =>
        f.store.transaction(async (tx) => {
          const v = await fn(tx);
          if (failNext) {
            failNext = false;
            throw new Error("injected commit failure");
          }
          return v;
        }),
    };
    const log = new EvidenceLog({ store: flaky, identity: f.identity.enrolled(), clock: f.clock });
    await log.append(drafts(2));
    failNext = true;
    try {
      await log.append(drafts(3));
      assert.unreachable("appended");
    } catch (e) {
      assert.match(String(e), "injected commit failure");
    }
    assert.is((await storedLines(f.store)).length, 2);
    assert.is(Number((await f.store.execute("SELECT COUNT(*) AS n FROM outbox")).rows[0]!.n), 2);
    assert.equal((await log.append(drafts(1))).seqs, [3]);
    assert.ok((await log.verifyLocal()).ok);
  });
});

test("head() reports the seq, line hash and RFC 6962 root of the whole log", async () => {
  await withLog(async (f) => {
    const empty = await f.log.head();
    assert.equal([empty.seq, empty.hash, empty.size, empty.root_hash], [0, GENESIS_PREV_HASH, 0, toHex(sha256(new Uint8Array(0)))]);
    await f.log.append(drafts(7));
    const lines = await storedLines(f.store);
    const tree = new MerkleTree(lines.map((l) => leafHash(utf8(l))));
    const h = await f.log.head();
    assert.equal([h.seq, h.size, h.hash, h.root_hash], [7, 7, sha256Hex(lines[6]!), toHex(tree.root())]);
    assert.is(h.last_time, new Date(T0 + 6000).toISOString());
  });
});

test("the chain continues across a restart (a new store and log on the same files)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-evidence-"));
  try {
    const a = await openFixture(dir);
    await a.log.append(drafts(3));
    a.store.close();
    const b = await openFixture(dir);
    assert.equal((await b.log.append(drafts(2))).seqs, [4, 5]);
    const report = await b.log.verifyLocal();
    assert.ok(report.ok && report.bundles === 5, JSON.stringify(report));
    b.store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("checkpoint() is null for an empty log, then signs a C2SP checkpoint of the whole log", async () => {
  await withLog(async (f) => {
    assert.is(await f.log.checkpoint(), null);
    await f.log.append(drafts(5));
    const cp = (await f.log.checkpoint())!;
    assert.is(cp.size, 5);
    assert.is(cp.countersigned_note, null);
    const opened = await openCheckpoint(cp.note, `osiriscare.appliance/${APP}`, f.identity.evidenceSigner.publicKey);
    const tree = new MerkleTree((await storedLines(f.store)).map((l) => leafHash(utf8(l))));
    assert.is(opened.size, 5);
    assert.equal(opened.root, tree.root());
  });
});

test("checkpoint() is idempotent for the same size and signs a new one after more appends", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    const a = await f.log.checkpoint();
    const b = await f.log.checkpoint();
    assert.equal(a, b);
    await f.log.append(drafts(1));
    const c = (await f.log.checkpoint())!;
    assert.is(c.size, 3);
    assert.equal((await f.store.execute("SELECT size FROM checkpoints ORDER BY size")).rows.map((r) => Number(r.size)), [2, 3]);
    assert.equal(await f.log.latestCheckpoint(), c);
  });
});

test("recordCountersigned() stores a checkpoint cosigned by a pinned relay key", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    const cp = (await f.log.checkpoint())!;
    const cosigned = await cosignNote(cp.note, relayWitnessName(keyId(relaySigner.publicKey)), relaySigner, Math.floor(T0 / 1000));
    await f.log.recordCountersigned(2, cosigned);
    assert.is((await f.log.latestCheckpoint())!.countersigned_note, cosigned);
  });
});

test("recordCountersigned() refuses a cosignature by a key that is not pinned", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    const cp = (await f.log.checkpoint())!;
    const stranger = createSigner(sha256("not the relay"));
    const cosigned = await cosignNote(cp.note, relayWitnessName(keyId(stranger.publicKey)), stranger, Math.floor(T0 / 1000));
    const e = await evidenceError(f.log.recordCountersigned(2, cosigned));
    assert.is(e.code, "bad_cosignature");
    assert.is((await f.log.latestCheckpoint())!.countersigned_note, null);
  });
});

test("recordCountersigned() refuses a cosigned note whose body is not our checkpoint of that size", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    const two = (await f.log.checkpoint())!;
    await f.log.append(drafts(1));
    const three = (await f.log.checkpoint())!;
    const cosigned = await cosignNote(three.note, relayWitnessName(keyId(relaySigner.publicKey)), relaySigner, Math.floor(T0 / 1000));
    assert.is((await evidenceError(f.log.recordCountersigned(two.size, cosigned))).code, "checkpoint_mismatch");
    assert.is((await evidenceError(f.log.recordCountersigned(9, cosigned))).code, "unknown_checkpoint");
  });
});

test("recordCountersigned() accepts a checkpoint signed before an evidence key rotation and countersigned after it", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    const cp = (await f.log.checkpoint())!;
    const before = toHex(f.identity.evidenceSigner.publicKey);
    const prepared = await f.identity.prepareRotation("evidence", "ord_rotation0000000000000");
    const { forgetOld } = await f.identity.switchKey(f.store, prepared, 3);
    await forgetOld();
    assert.is.not(toHex(f.identity.evidenceSigner.publicKey), before, "the evidence key in force changed");
    const cosigned = await cosignNote(cp.note, relayWitnessName(keyId(relaySigner.publicKey)), relaySigner, Math.floor(T0 / 1000));
    await f.log.recordCountersigned(2, cosigned);
    assert.is((await f.log.latestCheckpoint())!.countersigned_note, cosigned);
  });
});

test("recordCountersigned() refuses a cosigned note that dropped or replaced this appliance's signature", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    const cp = (await f.log.checkpoint())!;
    const stranger = createSigner(sha256("someone else"));
    const [text] = cp.note.split("\n\n");
    const forged = await signNote(`${text}\n`, relayWitnessName(keyId(stranger.publicKey)), stranger);
    const cosigned = await cosignNote(forged, relayWitnessName(keyId(relaySigner.publicKey)), relaySigner, Math.floor(T0 / 1000));
    assert.is((await evidenceError(f.log.recordCountersigned(2, cosigned))).code, "checkpoint_mismatch");
    assert.is((await f.log.latestCheckpoint())!.countersigned_note, null);
  });
});

test("acknowledge() marks rows up to the acknowledged seqs and refuses seqs never written", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(4));
    assert.equal(await f.log.acknowledge({ outboxSeq: 3, evidenceSeq: 2 }), { outbox: 3, evidence: 2 });
    const acked = (await f.store.execute("SELECT seq FROM evidence WHERE acked = 1 ORDER BY seq")).rows.map((r) => Number(r.seq));
    assert.equal(acked, [1, 2]);
    assert.is((await evidenceError(f.log.acknowledge({ outboxSeq: 4, evidenceSeq: 5 }))).code, "ack_beyond_head");
    assert.is((await evidenceError(f.log.acknowledge({ outboxSeq: 5, evidenceSeq: 4 }))).code, "ack_beyond_head");
  });
});

test("lines() streams the stored lines of a seq range in order, across pages", async () => {
  await withLog(async (f) => {
    const total = READ_PAGE_ROWS + 30;
    for (let done = 0; done < total; done += 500) await f.log.append(drafts(Math.min(500, total - done)));
    const all = await storedLines(f.store);
    assert.equal(await collect(f.log.lines(1, total)), all);
    assert.equal(await collect(f.log.lines(5, 7)), all.slice(4, 7));
    assert.equal(await collect(f.log.lines(total + 1, total + 5)), []);
  });
});

test("verifyLocal() reports a line altered in the database", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(3));
    await f.store.execute("UPDATE evidence SET line = replace(line, '\"host-1\"', '\"host-X\"') WHERE seq = 2");
    const r = await f.log.verifyLocal();
    assert.ok(!r.ok && r.failure.code === "bad_signature" && r.failure.seq === 2, JSON.stringify(r));
  });
});

test("verifyLocal() reports a missing row, a wrong row hash and a head that disagrees with the rows", async () => {
  await withLog(async (f) => {
    await f.log.append(drafts(4));
    await f.store.execute("DELETE FROM evidence WHERE seq = 2");
    let r = await f.log.verifyLocal();
    assert.ok(!r.ok && r.failure.code === "seq_gap", JSON.stringify(r));
  });
  await withLog(async (f) => {
    await f.log.append(drafts(2));
    await f.store.execute(`UPDATE evidence SET hash = '${"d".repeat(64)}' WHERE seq = 1`);
    const r = await f.log.verifyLocal();
    assert.ok(!r.ok && r.failure.code === "row_mismatch", JSON.stringify(r));
  });
  await withLog(async (f) => {
    await f.log.append(drafts(3));
    await f.store.execute("DELETE FROM evidence WHERE seq = 3");
    const r = await f.log.verifyLocal();
    assert.ok(!r.ok && r.failure.code === "head_mismatch", JSON.stringify(r));
  });
});

test("transaction() commits the writer's bundles with the caller's statements, or neither", async () => {
  await withLog(async (f) => {
    await f.log.transaction(async (w) => {
      await w.tx.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES ('test.marker', 'a', 'now')", args: [] });
      await w.append([systemDraft(T0)]);
      await w.append([systemDraft(T0 + 1)]);
    });
    try {
      await f.log.transaction(async (w) => {
        await w.tx.execute({ sql: "INSERT INTO kv (key, value, updated_at) VALUES ('test.other', 'b', 'now')", args: [] });
        await w.append([systemDraft(T0 + 2)]);
        throw new Error("changed my mind");
      });
      assert.unreachable("committed");
    } catch (e) {
      assert.match(String(e), "changed my mind");
    }
    const kv = (await f.store.execute("SELECT key FROM kv WHERE key LIKE 'test.%'")).rows.map((r) => r.key);
    assert.equal(kv, ["test.marker"]);
    assert.is((await storedLines(f.store)).length, 2);
    assert.equal((await f.log.append([systemDraft(T0 + 3)])).seqs, [3]);
    assert.ok((await f.log.verifyLocal()).ok);
  });
});

test("transaction() refuses a nested call to the log instead of deadlocking", async () => {
  await withLog(async (f) => {
    try {
      await f.log.transaction(async () => {
        await f.log.append([systemDraft(T0)]);
      });
      assert.unreachable("nested append ran");
    } catch (e) {
      assert.ok(e instanceof TypeError, String(e));
    }
  });
});

test.run();
