import { test } from "uvu";
import * as assert from "uvu/assert";
import { canonicalize } from "../../protocol/canonical.ts";
import { applianceOrigin, formatCheckpointBody, openCheckpoint, signNote, verifyCosignature } from "../../protocol/checkpoint.ts";
import { createSigner } from "../../protocol/crypto.ts";
import { buildBundle, GENESIS_PREV_HASH, signBundle, type SignedBundle } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { parsePushAck, type OutboxEntry } from "../../protocol/sync.ts";
import { createRelayApp } from "../app.ts";
import { receiptedPositions } from "./receipts.ts";
import { count, enrolledAppliance, errorOf, inProcess, random, testRelay, type TestAppliance, type TestRelay } from "../_testing.ts";
import { applianceForToken } from "../auth/appliance-auth.ts";
import type { RelayDb, Tx } from "../db/index.ts";
import { listIncidents } from "./incidents.ts";
import { ingestPush } from "./push.ts";

/** A validly signed bundle at `seq` that differs from the appliance's own: what a rewritten history looks like. */
async function forge(a: TestAppliance, seq: number, signer = a.evidence): Promise<SignedBundle> {
  const t = isoTime(a.clock.now());
  const unsigned = buildBundle({
    appliance_id: a.id,
    site_id: a.siteId,
    seq,
    prev_hash: seq === 1 ? GENESIS_PREV_HASH : a.chain[seq - 2]!.hash,
    kind: "system",
    outcome: "failed",
    timestamps: { started_at: t, finished_at: t },
    policy_version: "forged",
  });
  return signBundle(unsigned, signer);
}

/** The line with one field changed and re-canonicalised but not re-signed. */
function tamper(line: string): string {
  const v = JSON.parse(line) as Record<string, unknown>;
  v["outcome"] = v["outcome"] === "success" ? "failed" : "success";
  return canonicalize(v);
}

async function ackOf(res: Response) {
  assert.is(res.status, 200, `expected 200, got ${res.status}: ${await res.clone().text()}`);
  return parsePushAck(await res.json());
}

async function storedLines(relay: TestRelay, applianceId: string): Promise<string[]> {
  const rs = await relay.db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? ORDER BY seq", args: [applianceId] });
  return rs.rows.map((r) => String(r["line"]));
}

test("a chain pushed in several batches is verified and stored byte for byte, and the ack follows it", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    for (let batch = 1; batch <= 3; batch++) {
      const bundles = await a.makeBundles(5);
      const ack = await ackOf(await a.push(a.entries(bundles)));
      assert.equal(ack, { acked_outbox_seq: batch * 5, evidence: { verified_seq: batch * 5, head_hash: bundles.at(-1)!.hash }, countersigned_checkpoint: null });
    }
    assert.equal(await storedLines(relay, a.id), a.chain.map((b) => b.line));
    assert.is((await receiptedPositions(relay.db, a.id)).length, 15);
    assert.is(await count(relay.db, "integrity_incidents"), 0);
  } finally {
    await relay.close();
  }
});

test("a restarted relay (new app instance) resumes verification from the stored chain state", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await ackOf(await a.push(a.entries(await a.makeBundles(3))));
    a.transport = inProcess(createRelayApp(relay.deps));
    const ack = await ackOf(await a.push(a.entries(await a.makeBundles(2))));
    assert.is(ack.evidence.verified_seq, 5);
    assert.is(ack.acked_outbox_seq, 5);
  } finally {
    await relay.close();
  }
});

test("a retried batch (lost acknowledgement) is stored once and acknowledged again identically", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const entries = a.entries(await a.makeBundles(4));
    const first = await ackOf(await a.push(entries));
    const second = await ackOf(await a.push(entries));
    assert.equal(second, first);
    assert.is(await count(relay.db, "evidence"), 4);
    assert.is((await receiptedPositions(relay.db, a.id)).length, 4);
  } finally {
    await relay.close();
  }
});

test("a batch overlapping what is stored re-acknowledges the stored part and stores only the rest", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const entries = a.entries(await a.makeBundles(8));
    await ackOf(await a.push(entries.slice(0, 5)));
    const ack = await ackOf(await a.push(entries.slice(2)));
    assert.is(ack.acked_outbox_seq, 8);
    assert.is(ack.evidence.verified_seq, 8);
    assert.equal(await storedLines(relay, a.id), a.chain.map((b) => b.line));
  } finally {
    await relay.close();
  }
});

test("the same bundle sent again under a new outbox_seq is acknowledged as a duplicate and stored once", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const bundles = await a.makeBundles(3);
    await ackOf(await a.push(a.entries(bundles)));
    const again = a.entries([bundles[1]!, ...(await a.makeBundles(1))]);
    const ack = await ackOf(await a.push(again));
    assert.is(ack.acked_outbox_seq, 5);
    assert.is(ack.evidence.verified_seq, 4);
    assert.is(await count(relay.db, "evidence"), 4);
    assert.is((await receiptedPositions(relay.db, a.id)).length, 5);
  } finally {
    await relay.close();
  }
});

test("two identical pushes racing are stored once and both acknowledged", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const entries = a.entries(await a.makeBundles(6));
    const [x, y] = await Promise.all([a.push(entries), a.push(entries)]);
    assert.equal(await ackOf(x!), await ackOf(y!));
    assert.is(await count(relay.db, "evidence"), 6);
  } finally {
    await relay.close();
  }
});

test("a push verified against a chain that moved before its transaction is verified again inside it: overlapping pushes racing store each bundle once", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const appliance = await applianceForToken(relay.db, a.token);
    const entries = a.entries(await a.makeBundles(8));
    // Both pushes finish verifying (against the empty chain) before either transaction starts.
    let waiting = 0;
    let release!: () => void;
    const bothPlanned = new Promise<void>((r) => (release = r));
    const db: RelayDb = {
      url: relay.db.url,
      isFile: relay.db.isFile,
      execute: (stmt) => relay.db.execute(stmt),
      batch: (stmts) => relay.db.batch(stmts),
      schemaVersion: () => relay.db.schemaVersion(),
      close: () => undefined,
      transaction: async <T>(fn: (tx: Tx) => Promise<T>) => {
        if (++waiting === 2) release();
        await bothPlanned;
        return relay.db.transaction(fn);
      },
    };
    const deps = { ...relay.deps, db };
    const [x, y] = await Promise.all([ingestPush(deps, appliance, a.pushBody(entries.slice(0, 5), await a.checkpoint(5))), ingestPush(deps, appliance, a.pushBody(entries, await a.checkpoint(8)))]);
    assert.is(x.failure, null);
    assert.is(y.failure, null);
    assert.is(y.ack.acked_outbox_seq, 8);
    assert.equal([x.replanned, y.replanned].filter(Boolean).length, 1, "whichever committed second saw the chain move and planned again");
    assert.equal(await storedLines(relay, a.id), a.chain.map((b) => b.line));
    assert.is((await receiptedPositions(relay.db, a.id)).length, 8);
    assert.is(await count(relay.db, "checkpoints"), 2);
    assert.is(await count(relay.db, "integrity_incidents"), 0);
  } finally {
    await relay.close();
  }
});

test("an earlier checkpoint pushed again returns its stored countersignature byte for byte", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const first = await ackOf(await a.push(a.entries(await a.makeBundles(4)), await a.checkpoint()));
    await ackOf(await a.push(a.entries(await a.makeBundles(3)), await a.checkpoint()));
    relay.clock.t += 30_000;
    const again = await ackOf(await a.push([], await a.checkpoint(4)));
    assert.is(again.countersigned_checkpoint, first.countersigned_checkpoint);
    assert.is(await count(relay.db, "checkpoints"), 2);
  } finally {
    await relay.close();
  }
});

test("a fork (different bytes for a stored seq) is refused 409, recorded as an incident, and nothing after it is stored", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await ackOf(await a.push(a.entries(await a.makeBundles(3))));
    const forged = await forge(a, 2);
    const entries: OutboxEntry[] = [...a.entries([forged]), { outbox_seq: ++a.outboxSeq, type: "heartbeat", body: { at: isoTime(relay.clock.now()), version: "1", ntp_offset_ms: 0, backlog: 0 } }];
    const res = await a.push(entries);
    assert.is(res.status, 409);
    const err = await errorOf(res);
    assert.is(err.code, "fork");
    assert.is(err.details?.["acked_outbox_seq"], 3);
    assert.equal(err.details?.["evidence"], { verified_seq: 3, head_hash: a.chain[2]!.hash });
    assert.is(err.details?.["failed_outbox_seq"], 4);
    assert.is(err.details?.["seq"], 2);
    const [incident] = await listIncidents(relay.db, a.id);
    assert.is(incident?.kind, "fork");
    assert.is(incident?.seq, 2);
    assert.is(incident?.stored_sha256, a.chain[1]!.hash);
    assert.is(incident?.id, err.details?.["incident_id"]);
    assert.equal(await storedLines(relay, a.id), a.chain.map((b) => b.line), "stored evidence is never repaired or replaced");
    assert.is((await receiptedPositions(relay.db, a.id)).length, 3, "the heartbeat after the fork is not stored");

    const again = await a.push(entries);
    assert.is(again.status, 409);
    assert.is((await listIncidents(relay.db, a.id))[0]?.occurrences, 2, "the same fork pushed again is counted, not duplicated");
  } finally {
    await relay.close();
  }
});

test("different bytes resent at an acknowledged outbox_seq are a fork too", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const entries = a.entries(await a.makeBundles(3));
    await ackOf(await a.push(entries));
    const swapped = entries.map((e, i): OutboxEntry => (i === 1 && e.type === "evidence" ? { ...e, body: tamper(e.body) } : e));
    const res = await a.push(swapped);
    assert.is(res.status, 409);
    assert.is((await errorOf(res)).code, "fork");
    assert.is((await listIncidents(relay.db, a.id))[0]?.outbox_seq, 2);
  } finally {
    await relay.close();
  }
});

test("a seq gap is refused 409 seq_gap; the entries before it are stored and acknowledged", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const bundles = await a.makeBundles(4);
    const res = await a.push(a.entries([bundles[0]!, bundles[1]!, bundles[3]!]));
    assert.is(res.status, 409);
    const err = await errorOf(res);
    assert.is(err.code, "seq_gap");
    assert.is(err.details?.["acked_outbox_seq"], 2);
    assert.equal(err.details?.["evidence"], { verified_seq: 2, head_hash: bundles[1]!.hash });
    assert.equal(await storedLines(relay, a.id), [bundles[0]!.line, bundles[1]!.line]);
    const [incident] = await listIncidents(relay.db, a.id);
    assert.is(incident?.kind, "gap");
    assert.is(incident?.seq, 4);
  } finally {
    await relay.close();
  }
});

test("a bundle whose signature does not verify is refused 422 bad_signature and recorded; so is one signed by another key", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const [b1, b2] = await a.makeBundles(2);
    const res = await a.push(a.entries([b1!, { ...b2!, line: tamper(b2!.line) }]));
    assert.is(res.status, 422);
    const err = await errorOf(res);
    assert.is(err.code, "bad_signature");
    assert.is(err.details?.["acked_outbox_seq"], 1);
    assert.is(await count(relay.db, "evidence"), 1);

    const stranger = await forge(a, 2, createSigner(random(32)));
    a.outboxSeq = 1; // the relay acknowledged up to 1: resend from 2
    const res2 = await a.push(a.entries([stranger]));
    assert.is(res2.status, 422);
    assert.is((await errorOf(res2)).code, "unknown_key", "a key carried in the data is never trusted");
    const kinds = (await listIncidents(relay.db, a.id)).map((i) => i.kind);
    assert.equal(kinds, ["bad_signature", "bad_signature"]);
  } finally {
    await relay.close();
  }
});

test("a line that is not canonical JSON is refused with not_canonical and recorded", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const [b] = await a.makeBundles(1);
    const pretty = JSON.stringify(JSON.parse(b!.line), null, 1);
    const res = await a.push(a.entries([{ ...b!, line: pretty }]));
    assert.is((await errorOf(res)).code, "not_canonical");
    assert.is((await listIncidents(relay.db, a.id))[0]?.kind, "invalid");
    assert.is(await count(relay.db, "evidence"), 0);
  } finally {
    await relay.close();
  }
});

test("an appliance cannot push for another appliance: 403 appliance_mismatch", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const b = await enrolledAppliance(relay);
    const res = await a.request("POST", "/api/sync/push", { ...b.pushBody(b.entries(await b.makeBundles(1))), appliance_id: b.id });
    assert.is(res.status, 403);
    assert.is((await errorOf(res)).code, "appliance_mismatch");
    const bLines = a.entries(await b.makeBundles(1));
    const res2 = await a.push(bLines);
    assert.is(res2.status, 403, "a bundle of another appliance inside one's own push");
    assert.is(await count(relay.db, "evidence"), 0);
  } finally {
    await relay.close();
  }
});

test("an outbox that jumps ahead is refused 409 outbox_gap naming where to resend from", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await ackOf(await a.push(a.entries(await a.makeBundles(2))));
    a.outboxSeq += 3;
    const res = await a.push(a.entries(await a.makeBundles(1)));
    assert.is(res.status, 409);
    const err = await errorOf(res);
    assert.is(err.code, "outbox_gap");
    assert.match(err.message, /resend from 3/);
    assert.is(err.details?.["acked_outbox_seq"], 2);
    assert.is(await count(relay.db, "integrity_incidents"), 0, "a cursor problem is not an integrity incident");
  } finally {
    await relay.close();
  }
});

test("a different body at a stored outbox_seq of another type is an outbox conflict", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const hb = (n: number): OutboxEntry => ({ outbox_seq: 1, type: "heartbeat", body: { at: isoTime(relay.clock.now()), version: "1", ntp_offset_ms: n, backlog: 0 } });
    await ackOf(await a.push([hb(0)]));
    assert.equal((await ackOf(await a.push([hb(0)]))).acked_outbox_seq, 1);
    const res = await a.push([hb(5)]);
    assert.is(res.status, 409);
    assert.is((await errorOf(res)).code, "outbox_conflict");
  } finally {
    await relay.close();
  }
});

test("a checkpoint at the pushed size is countersigned: the relay's cosignature verifies with its key and the appliance's signature stays", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const ack = await ackOf(await a.push(a.entries(await a.makeBundles(5)), await a.checkpoint()));
    const note = ack.countersigned_checkpoint!;
    assert.ok(note);
    const time = await verifyCosignature(note, relay.relayKey.name, relay.relayKey.signer.publicKey);
    assert.is(time, Math.floor(relay.clock.now() / 1000));
    const cp = await openCheckpoint(note, applianceOrigin(a.id), a.evidence.publicKey);
    assert.is(cp.size, 5);
    assert.equal(cp.root, a.tree.root());
    assert.equal(a.relayKeys.map((k) => k.name), [relay.relayKey.name], "the witness name is the one pinned at enrollment");
  } finally {
    await relay.close();
  }
});

test("a checkpoint size is countersigned once: pushing it again returns the identical note", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const cp = await (async () => {
      await a.makeBundles(3);
      return a.checkpoint();
    })();
    const first = await ackOf(await a.push(a.entries(a.chain), cp));
    relay.clock.t += 30_000;
    const second = await ackOf(await a.push([], cp));
    assert.is(second.countersigned_checkpoint, first.countersigned_checkpoint);
    assert.is(await count(relay.db, "checkpoints"), 1);
  } finally {
    await relay.close();
  }
});

test("a checkpoint for an earlier size is checked against the relay's tree at that size", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await ackOf(await a.push(a.entries(await a.makeBundles(7))));
    const ack = await ackOf(await a.push([], await a.checkpoint(4)));
    const cp = await openCheckpoint(ack.countersigned_checkpoint!, applianceOrigin(a.id), a.evidence.publicKey);
    assert.is(cp.size, 4);
  } finally {
    await relay.close();
  }
});

test("a checkpoint beyond what the relay has verified is not countersigned yet", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const bundles = await a.makeBundles(6);
    const ack = await ackOf(await a.push(a.entries(bundles.slice(0, 3)), await a.checkpoint()));
    assert.is(ack.countersigned_checkpoint, null);
    const done = await ackOf(await a.push(a.entries(bundles.slice(3)), await a.checkpoint()));
    assert.ok(done.countersigned_checkpoint);
  } finally {
    await relay.close();
  }
});

test("a checkpoint whose root is not the relay's (a rewritten history) is refused 409 checkpoint_mismatch and recorded", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await ackOf(await a.push(a.entries(await a.makeBundles(3))));
    const body = formatCheckpointBody({ origin: applianceOrigin(a.id), size: 3, root: random(32) });
    const res = await a.push([], await signNote(body, applianceOrigin(a.id), a.evidence));
    assert.is(res.status, 409);
    assert.is((await errorOf(res)).code, "checkpoint_mismatch");
    assert.is((await listIncidents(relay.db, a.id))[0]?.kind, "fork");
    assert.is(await count(relay.db, "checkpoints"), 0);
  } finally {
    await relay.close();
  }
});

test("a checkpoint not signed by the appliance's registered evidence key is refused and recorded", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    await ackOf(await a.push(a.entries(await a.makeBundles(2))));
    const body = formatCheckpointBody({ origin: applianceOrigin(a.id), size: 2, root: a.tree.root() });
    const res = await a.push([], await signNote(body, applianceOrigin(a.id), a.identity));
    assert.is(res.status, 422);
    assert.ok(["unknown_key", "bad_signature"].includes((await errorOf(res)).code));
    assert.is((await listIncidents(relay.db, a.id))[0]?.kind, "checkpoint");
  } finally {
    await relay.close();
  }
});

test("non-evidence entries are stored as receipts and acknowledged in outbox order", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const [b] = await a.makeBundles(1);
    const at = isoTime(relay.clock.now());
    const entries: OutboxEntry[] = [
      { outbox_seq: 1, type: "heartbeat", body: { at, version: "0.1.0", ntp_offset_ms: 3, backlog: 1 } },
      { outbox_seq: 2, type: "evidence", body: b!.line },
      { outbox_seq: 3, type: "inventory", body: { at, hosts: [] } },
    ];
    const ack = await ackOf(await a.push(entries));
    assert.is(ack.acked_outbox_seq, 3);
    assert.is(ack.evidence.verified_seq, 1);
    const rs = await relay.db.execute("SELECT type FROM outbox_receipts ORDER BY outbox_seq");
    assert.equal(rs.rows.map((r) => r["type"]), ["heartbeat", "evidence", "inventory"]);
  } finally {
    await relay.close();
  }
});

test("a malformed push body is refused 400 with the field named, an oversized one 413", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    const res = await a.request("POST", "/api/sync/push", { ...a.pushBody([]), entries: [{ outbox_seq: 0, type: "evidence", body: "x" }] });
    assert.is(res.status, 400);
    assert.match((await errorOf(res)).message, /entries\[0\]\.outbox_seq/);
    const huge = await a.request("POST", "/api/sync/push", { ...a.pushBody([]), pad: "x".repeat(4 * 1024 * 1024) });
    assert.is(huge.status, 413);
  } finally {
    await relay.close();
  }
});

test.run();
