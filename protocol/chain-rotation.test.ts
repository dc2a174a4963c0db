/**
 * Evidence key rotation inside a chain: the switch bundle (signed by the old key, naming the new one) and the
 * recorded `from_seq` decide which key each bundle must be signed with; nothing in the chain is trusted on its
 * own say-so. Also the appliance key rotation statement: opened only with the identity key on record.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ChainVerifier, keyForSeq, verifyChain, type ApplianceKey } from "./chain.ts";
import { createSigner, generateKeyPair, keyId, type Signer } from "./crypto.ts";
import { toHex } from "./encoding.ts";
import { IntegrityError } from "./errors.ts";
import { buildBundle, GENESIS_PREV_HASH, signBundle } from "./evidence.ts";
import { isoTime } from "./ids.ts";
import { evidenceRotationFields, signApplianceRotation, verifyApplianceRotation } from "./key-rotation.ts";

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0, 0);
const A = "app_aaaaaaaa";
const SITE = "site_ssssssss";
const oldKp = generateKeyPair(new Uint8Array(32).fill(1));
const newKp = generateKeyPair(new Uint8Array(32).fill(2));
const otherKp = generateKeyPair(new Uint8Array(32).fill(3));
const oldSigner = createSigner(oldKp.secretKey);
const newSigner = createSigner(newKp.secretKey);

/** Seqs 1..n; seq `switchAt` announces `announced` (default: the new key); `signerFor(seq)` signs each. */
async function rotatedChain(n: number, switchAt: number, signerFor: (seq: number) => Signer, announced: Uint8Array = newKp.publicKey): Promise<string[]> {
  const out: string[] = [];
  let prev = GENESIS_PREV_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const at = T0 + seq * 60_000;
    const fields = seq === switchAt ? evidenceRotationFields(announced, null) : { kind: "system" as const, outcome: "pass" as const };
    const unsigned = buildBundle({ appliance_id: A, site_id: SITE, seq, prev_hash: prev, policy_version: "2026.11.1", timestamps: { started_at: isoTime(at), finished_at: isoTime(at + 1000) }, ...fields });
    const s = await signBundle(unsigned, signerFor(seq));
    out.push(s.line);
    prev = s.hash;
  }
  return out;
}

const recorded: ApplianceKey = { publicKey: oldKp.publicKey, siteId: SITE, rotations: [{ publicKey: newKp.publicKey, from_seq: 4 }] };
const byRecord = (seq: number) => (seq >= 4 ? newSigner : oldSigner);

test("keyForSeq() picks the enrollment key before the first switch and each recorded key from its from_seq", () => {
  assert.is(toHex(keyForSeq(recorded, 3)), toHex(oldKp.publicKey));
  assert.is(toHex(keyForSeq(recorded, 4)), toHex(newKp.publicKey));
  assert.is(toHex(keyForSeq({ publicKey: oldKp.publicKey }, 99)), toHex(oldKp.publicKey));
});

test("a chain that switches keys where the records say verifies", async () => {
  const lines = await rotatedChain(6, 3, byRecord);
  const r = await verifyChain(lines, new Map([[A, recorded]]), { fromGenesis: true });
  assert.ok(r.ok, JSON.stringify(r));
});

test("a bundle signed by the new key before the switch point, or by the old key after it, fails", async () => {
  const early = await rotatedChain(6, 3, (seq) => (seq >= 3 ? newSigner : oldSigner));
  const r1 = await verifyChain(early, new Map([[A, recorded]]), { fromGenesis: true });
  assert.equal(r1.ok ? null : [r1.failure.seq, r1.failure.code], [3, "unknown_key"]);
  const late = await rotatedChain(6, 3, (seq) => (seq >= 5 ? newSigner : oldSigner));
  const r2 = await verifyChain(late, new Map([[A, recorded]]), { fromGenesis: true });
  assert.equal(r2.ok ? null : [r2.failure.seq, r2.failure.code], [4, "unknown_key"]);
});

test("a recorded switch that the chain does not announce, or an announcement of another key, fails", async () => {
  const silent = await rotatedChain(6, 0, byRecord);
  const r1 = await verifyChain(silent, new Map([[A, recorded]]), { fromGenesis: true });
  assert.equal(r1.ok ? null : [r1.failure.seq, r1.failure.code], [3, "unknown_key"]);
  assert.match(r1.ok ? "" : r1.failure.reason, /does not announce the switch/);
  const other = await rotatedChain(6, 3, byRecord, otherKp.publicKey);
  const r2 = await verifyChain(other, new Map([[A, recorded]]), { fromGenesis: true });
  assert.equal(r2.ok ? null : [r2.failure.seq, r2.failure.code], [3, "unknown_key"]);
});

test("an announced key is followed only when it is the pending successor the caller accepted; learned switches are reported", async () => {
  const lines = await rotatedChain(6, 3, byRecord);
  const unrecorded = await verifyChain(lines, new Map([[A, { publicKey: oldKp.publicKey }]]), { fromGenesis: true });
  assert.equal(unrecorded.ok ? null : [unrecorded.failure.seq, unrecorded.failure.code], [3, "unknown_key"], "the chain alone cannot introduce a key");
  const verifier = new ChainVerifier(new Map([[A, { publicKey: oldKp.publicKey, pending: newKp.publicKey }]]), { fromGenesis: true });
  const r = await verifier.verifyLines(lines);
  assert.is(r.failure, null, JSON.stringify(r.failure));
  assert.equal(verifier.learnedRotations(A).map((e) => [keyId(e.publicKey), e.from_seq]), [[keyId(newKp.publicKey), 4]]);
});

test("verifyApplianceRotation() opens a statement only with the identity key on record, never with the key inside it", async () => {
  const statement = { appliance_id: A, order_id: "ord_oooooooo", key: "identity" as const, old_public_key: toHex(oldKp.publicKey), new_public_key: toHex(newKp.publicKey) };
  const good = await signApplianceRotation(statement, oldSigner, T0);
  const s = await verifyApplianceRotation(good, oldKp.publicKey);
  assert.is(s.new_public_key, toHex(newKp.publicKey));
  const bySuccessor = await signApplianceRotation(statement, newSigner, T0);
  try {
    await verifyApplianceRotation(bySuccessor, oldKp.publicKey);
    assert.unreachable("a statement signed by the new key must be refused");
  } catch (e) {
    assert.ok(e instanceof IntegrityError && e.code === "unknown_key", String(e));
  }
  const forged = { ...bySuccessor, key_id: keyId(oldKp.publicKey) };
  try {
    await verifyApplianceRotation(forged, oldKp.publicKey);
    assert.unreachable("a signature by another key under the recorded key id must be refused");
  } catch (e) {
    assert.ok(e instanceof IntegrityError && e.code === "bad_signature", String(e));
  }
});

test.run();
