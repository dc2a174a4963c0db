import { test } from "uvu";
import * as assert from "uvu/assert";
import { createSigner, createVerifier } from "../../protocol/crypto.ts";
import { utf8 } from "../../protocol/encoding.ts";
import { VerifyPool, WORKER_SOURCE } from "./verify-pool.ts";

interface Case {
  key: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** Good signatures, flipped bits, another key's signature, a truncated signature and an altered message, over 3 keys. */
async function cases(n: number): Promise<Case[]> {
  const signers = [1, 2, 3].map(() => createSigner(crypto.getRandomValues(new Uint8Array(32))));
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const s = signers[i % 3]!;
    const message = utf8(`bundle ${i} `.repeat(1 + (i % 90)));
    const signature = await s.signRaw(message);
    switch (i % 5) {
      case 0:
      case 1:
        out.push({ key: s.publicKey, message, signature });
        break;
      case 2: {
        const bad = signature.slice();
        bad[i % 64]! ^= 1 << (i % 8);
        out.push({ key: s.publicKey, message, signature: bad });
        break;
      }
      case 3:
        out.push({ key: signers[(i + 1) % 3]!.publicKey, message, signature });
        break;
      default:
        out.push(i % 2 ? { key: s.publicKey, message, signature: signature.subarray(0, 63) } : { key: s.publicKey, message: utf8(`bundle ${i}!`), signature });
    }
  }
  return out;
}

async function expected(all: Case[]): Promise<boolean[]> {
  return Promise.all(all.map((c) => createVerifier(c.key, "portable").verifyRaw(c.message, c.signature)));
}

test("the pool answers every check exactly as the in-thread verifier does, with checks spread over its workers", async () => {
  const all = await cases(400);
  const pool = new VerifyPool({ workers: 2 });
  try {
    assert.is(pool.size, 2);
    const got = await Promise.all(all.map((c) => pool.verifierFor(c.key).verifyRaw(c.message, c.signature)));
    const want = await expected(all);
    assert.equal(got, want);
    assert.ok(want.filter(Boolean).length >= 150 && want.filter((x) => !x).length >= 200, "the cases mix good and bad signatures");
    // The same Verifier for the same key, so ChainVerifier's per-key cache and the pool's agree.
    assert.is(pool.verifierFor(all[0]!.key), pool.verifierFor(all[0]!.key.slice()));
  } finally {
    await pool.close();
  }
});

test("a buffer the caller reuses right after handing it over does not change the answer", async () => {
  const [c] = await cases(1);
  const pool = new VerifyPool({ workers: 1 });
  try {
    const message = c!.message.slice();
    const answer = pool.verifierFor(c!.key).verifyRaw(message, c!.signature);
    message.fill(0); // what a slab-backed signing input goes through before the batch is sent
    assert.is(await answer, true);
  } finally {
    await pool.close();
  }
});

test("a worker that answers its probe wrongly is never used: every check is still answered rightly, in-thread", async () => {
  const lost: string[] = [];
  // A stand-in worker that says yes to everything (what a broken crypto backend would look like).
  const liar = `
    const { parentPort } = require("node:worker_threads");
    parentPort.on("message", (m) => parentPort.postMessage({ id: m.id, ok: new Uint8Array(m.keyOf.length).fill(1) }));
  `;
  const all = await cases(60);
  const pool = new VerifyPool({ workers: 1, workerSource: liar, onWorkerLost: (r) => lost.push(r) });
  try {
    const got = await Promise.all(all.map((c) => pool.verifierFor(c.key).verifyRaw(c.message, c.signature)));
    assert.equal(got, await expected(all));
    assert.equal(lost, ["a verify worker answered its probe wrongly"]);
    assert.is(pool.size, 0);
  } finally {
    await pool.close();
  }
});

test("a worker that dies with checks outstanding: the checks it owed are answered in-thread, none lost or wrong", async () => {
  const lost: string[] = [];
  // The real worker, except that it exits on its third message (after the probe and one batch), unanswered.
  const dying = `let seen = 0; const wt = require("node:worker_threads"); wt.parentPort.on("message", () => { if (++seen === 3) process.exit(3); });\n${WORKER_SOURCE}`;
  const all = await cases(200);
  const pool = new VerifyPool({ workers: 1, workerSource: dying, onWorkerLost: (r) => lost.push(r) });
  try {
    const got = await Promise.all(all.map((c) => pool.verifierFor(c.key).verifyRaw(c.message, c.signature)));
    assert.equal(got, await expected(all));
    assert.equal(lost, ["a verify worker exited (code 3)"]);
    // Later checks run in-thread.
    assert.is(await pool.verifierFor(all[0]!.key).verifyRaw(all[0]!.message, all[0]!.signature), true);
  } finally {
    await pool.close();
  }
});

test("after close, checks still get the right answer (in-thread), and a bad key length is refused as before", async () => {
  const [good, , bad] = await cases(3);
  const pool = new VerifyPool({ workers: 2 });
  await pool.close();
  assert.is(await pool.verifierFor(good!.key).verifyRaw(good!.message, good!.signature), true);
  assert.is(await pool.verifierFor(bad!.key).verifyRaw(bad!.message, bad!.signature), false);
  assert.throws(() => pool.verifierFor(new Uint8Array(31)), /public key must be 32 bytes/);
});

test.run();
