import { test } from "uvu";
import * as assert from "uvu/assert";
import v from "../fixtures/vectors/signed-note.json" with { type: "json" };
import {
  applianceOrigin,
  cosignatureTimestamp,
  cosignNote,
  formatCheckpointBody,
  formatNote,
  formatVerifierKey,
  MAX_NOTE_SIGNATURES,
  noteKeyId,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  relayKeyIdOf,
  relayWitnessName,
  SIG_TYPE_COSIGNATURE_V1,
  signNote,
  verifyCosignature,
  verifyNoteSignature,
} from "./checkpoint.ts";
import { createSigner, keyId } from "./crypto.ts";
import { fromBase64, fromHex, toBase64 } from "./encoding.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { leafHash, MerkleTree } from "./merkle.ts";

const go = v.goSumdbNote;
const peter = parseVerifierKey(go.verifierKey);
const enoch = parseVerifierKey(go.enoch.verifierKey);
/** The Go signer key is `PRIVATE+KEY+<name>+<key ID>+base64(0x01 ‖ seed)`; the base64 may itself hold '+'. */
const peterSigner = createSigner(fromBase64(go.signerKey.split("+").slice(4).join("+")).slice(1));

const appliance = createSigner(new Uint8Array(32).fill(1));
const relay = createSigner(new Uint8Array(32).fill(2));
const ORIGIN = applianceOrigin("app_0123456789ab");
const WITNESS = relayWitnessName(keyId(relay.publicKey));
const ROOT = new MerkleTree(["a", "b", "c"].map((s) => leafHash(new TextEncoder().encode(s)))).root();
const BODY = formatCheckpointBody({ origin: ORIGIN, size: 3, root: ROOT });

function code(expected: string) {
  return (e: unknown) => (e instanceof ValidationError || e instanceof IntegrityError) && e.code === expected;
}

async function rejects(p: Promise<unknown>, check: (e: unknown) => boolean, message?: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(check(e), `${message ?? "unexpected error"}: ${String(e)}`);
    return;
  }
  assert.unreachable(message ?? "expected a rejection");
}

// ---- published vectors --------------------------------------------------------------------------------

test("signNote reproduces the Go reference note for the PeterNeumann key byte for byte", async () => {
  assert.is(await signNote(go.text, peter.name, peterSigner), go.note);
  assert.is(formatVerifierKey(peter.name, peterSigner.publicKey), go.verifierKey);
});

test("verifyNoteSignature accepts the Go and C2SP example notes and returns their text", async () => {
  assert.is(await verifyNoteSignature(go.note, peter.name, peter.publicKey), go.text);
  const foo = parseVerifierKey(v.c2spSignedNoteExample.verifierKey);
  assert.is(foo.keyId, "530d903a");
  assert.is(await verifyNoteSignature(v.c2spSignedNoteExample.note, foo.name, foo.publicKey), v.c2spSignedNoteExample.text);
});

test("each key finds its own line and ignores the others", async () => {
  const both = go.note + go.enoch.signatureLine;
  assert.is(await verifyNoteSignature(both, peter.name, peter.publicKey), go.text);
  assert.is(await verifyNoteSignature(both, enoch.name, enoch.publicKey), go.text);
  await rejects(verifyNoteSignature(go.note, enoch.name, enoch.publicKey), code("unknown_key"), "Enoch has no line in Peter's note");
});

test("a corrupted line from the key asked for fails even beside a valid one", async () => {
  await rejects(verifyNoteSignature(`${go.text}\n${go.corruptedPeterSignatureLine}`, peter.name, peter.publicKey), code("bad_signature"));
  await rejects(verifyNoteSignature(`${go.note}${go.corruptedPeterSignatureLine}`, peter.name, peter.publicKey), code("bad_signature"));
  // ...while a corrupted line from another key is ignored.
  const enochBad = go.enoch.signatureLine.slice(0, 60) + "ABCD" + go.enoch.signatureLine.slice(60);
  assert.is(await verifyNoteSignature(`${go.note}${enochBad}`, peter.name, peter.publicKey), go.text);
});

test("a tampered text fails with bad_signature; a wrong key or name finds no line (unknown_key)", async () => {
  await rejects(verifyNoteSignature(go.note.replace("cryptography", "cryptographY"), peter.name, peter.publicKey), code("bad_signature"));
  await rejects(verifyNoteSignature(go.note, peter.name, enoch.publicKey), code("unknown_key"), "wrong key");
  await rejects(verifyNoteSignature(go.note.replace("PeterNeumann", "CarmenSandiego"), peter.name, peter.publicKey), code("unknown_key"), "renamed line");
  await rejects(verifyNoteSignature(go.note, "PeterNeuman", peter.publicKey), (e) => code("unknown_key")(e) && /PeterNeuman\+/.test((e as Error).message));
});

test("parseNote rejects every malformed note of the reference implementation's tests", () => {
  for (const bad of go.malformedNotes) assert.throws(() => parseNote(bad), code("malformed_note"), JSON.stringify(bad.slice(0, 40)));
  assert.throws(() => parseNote(fromHex(go.malformedNoteBytesHex)), (e: unknown) => code("malformed_note")(e) && /UTF-8/.test((e as Error).message));
  assert.throws(() => parseNote(go.text + "\n" + go.signatureLine.repeat(go.tooManySignatures)), (e: unknown) => code("malformed_note")(e) && /101 signature lines/.test((e as Error).message));
  assert.ok(parseNote(go.text + "\n" + go.signatureLine.repeat(MAX_NOTE_SIGNATURES)));
});

test("parseNote names what is wrong", () => {
  const cases: [string, RegExp][] = [
    [go.text, /no blank line/],
    [go.text + "\n- PeterNeumann AAAAAAA=\n", /line 1 does not start with an em dash/],
    [go.text + "\n\u2014 PeterNeumann\n", /no space/],
    [go.text + "\n\u2014 Peter+Neumann AAAAAAA=\n", /invalid key name/],
    [go.text + "\n\u2014 PeterNeumann AAAA\n", /too short: 3 bytes/],
    [go.text + "\n\u2014 PeterNeumann %%%%\n", /not standard padded base64/],
    ["a\tb\n\n" + go.signatureLine, /control character U\+0009 on line 1/],
    ["x".repeat(70_000) + "\n\n" + go.signatureLine, /longer than 65536 bytes/],
    ["\ud800\n\n" + go.signatureLine, /lone surrogate/],
  ];
  for (const [note, why] of cases) assert.throws(() => parseNote(note), (e: unknown) => code("malformed_note")(e) && why.test((e as Error).message), String(why));
});

test("the text is split from the signatures at the last blank line and may contain blank lines", async () => {
  const text = "first\n\nthird\n";
  const note = await signNote(text, "k", appliance);
  const parsed = parseNote(note);
  assert.is(parsed.text, text);
  assert.is(parsed.signatures.length, 1);
  assert.is(formatNote(parsed), note);
  assert.is(await verifyNoteSignature(parsed, "k", appliance.publicKey), text);
});

test("parseVerifierKey rejects every truncation and every single-byte change of a valid key", () => {
  const key = go.verifierKey;
  let rejected = 0;
  for (let i = 0; i <= key.length; i++) {
    for (let j = i + 1; j <= key.length; j++) {
      if (i === 0 && j === key.length) continue;
      assert.throws(() => parseVerifierKey(key.slice(i, j)), code("malformed_key"), key.slice(i, j));
      rejected++;
    }
  }
  for (let i = 0; i < key.length; i++) {
    const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
    assert.throws(() => parseVerifierKey(mangled), code("malformed_key"), mangled);
    rejected++;
  }
  for (const bad of go.badVerifierKeys) assert.throws(() => parseVerifierKey(bad), code("malformed_key"), bad);
  assert.ok(rejected > 2000);
});

test("verifier keys round-trip, for signature and cosignature types", () => {
  for (const vk of [go.verifierKey, go.enoch.verifierKey, v.c2spSignedNoteExample.verifierKey]) {
    const k = parseVerifierKey(vk);
    assert.is(formatVerifierKey(k.name, k.publicKey, k.type), vk);
  }
  const wk = formatVerifierKey(WITNESS, relay.publicKey, SIG_TYPE_COSIGNATURE_V1);
  assert.equal(parseVerifierKey(wk), { name: WITNESS, keyId: noteKeyId(WITNESS, SIG_TYPE_COSIGNATURE_V1, relay.publicKey), type: SIG_TYPE_COSIGNATURE_V1, publicKey: relay.publicKey });
  assert.throws(() => parseVerifierKey(go.verifierKey.replace("c74f20a3", "00000000")), (e: unknown) => code("malformed_key")(e) && /expected c74f20a3/.test((e as Error).message));
});

test("the tlog-cosignature spec example parses into its checkpoint, key IDs and witness timestamp", () => {
  const ex = v.c2spCosignatureExample;
  const note = parseNote(ex.note);
  assert.equal(note.signatures.map((s) => [s.name, s.keyId, s.signature.length]), ex.signatures.map((s) => [s.name, s.keyId, s.bytes]));
  assert.is(cosignatureTimestamp(note.signatures[1]!), ex.signatures[1]!.timestamp);
  const cp = parseCheckpoint(note.text);
  assert.equal([cp.origin, cp.size, toBase64(cp.root), cp.extensions], [ex.checkpoint.origin, ex.checkpoint.size, ex.checkpoint.rootBase64, []]);
  assert.is(formatNote(note), ex.note);
});

test("the transparency-dev/formats cosignature timestamp vector decodes, and a too-short signature is refused", () => {
  const f = v.formatsCosignatureTimestamp;
  const line = (b64: string) => parseNote(`x\n\n\u2014 w ${b64}\n`).signatures[0]!;
  assert.is(cosignatureTimestamp(line(f.base64)), f.timestamp);
  assert.throws(() => cosignatureTimestamp(line(f.tooShortBase64)), code("malformed_note"));
});

// ---- checkpoints --------------------------------------------------------------------------------------

test("checkpoint bodies round-trip, extension lines included", () => {
  assert.is(BODY, `${ORIGIN}\n3\n${toBase64(ROOT)}\n`);
  assert.equal(parseCheckpoint(BODY), { origin: ORIGIN, size: 3, root: ROOT, extensions: [] });
  const ext = formatCheckpointBody({ origin: ORIGIN, size: 0, root: ROOT, extensions: ["— ext one", "two"] });
  assert.equal(parseCheckpoint(ext).extensions, ["— ext one", "two"]);
  assert.is(parseCheckpoint(`o\n${Number.MAX_SAFE_INTEGER}\n${toBase64(ROOT)}\n`).size, Number.MAX_SAFE_INTEGER);
});

test("parseCheckpoint rejects malformed bodies with malformed_note", () => {
  const r = toBase64(ROOT);
  const cases: [string, RegExp][] = [
    [`o\n3\n${r}`, /newline-terminated/],
    [`o\n3\n`, /at least 3 lines/],
    [`\n3\n${r}\n`, /line 1 is empty/],
    [`o\n3\n${r}\n\next\n`, /line 4 is empty/],
    [`o\n03\n${r}\n`, /leading zeros/],
    [`o\n-3\n${r}\n`, /decimal integer/],
    [`o\n+3\n${r}\n`, /decimal integer/],
    [`o\n9007199254740992\n${r}\n`, /2\^53 - 1/],
    [`o\n99999999999999999999\n${r}\n`, /decimal integer/],
    [`o\n3\n${toBase64(ROOT.slice(1))}\n`, /canonical base64 of 32 bytes/],
    [`o\n3\n${r.slice(0, -2)}9=\n`, /canonical base64/],
    [`o\n3\n${r.replace(/=$/, "")}\n`, /base64/],
    [`o\x01\n3\n${r}\n`, /control character/],
  ];
  for (const [body, why] of cases) assert.throws(() => parseCheckpoint(body), (e: unknown) => code("malformed_note")(e) && why.test((e as Error).message), JSON.stringify(body));
});

test("formatCheckpointBody refuses values that cannot be written as a checkpoint", () => {
  assert.throws(() => formatCheckpointBody({ origin: "", size: 1, root: ROOT }), (e: unknown) => e instanceof TypeError);
  assert.throws(() => formatCheckpointBody({ origin: "a\nb", size: 1, root: ROOT }), (e: unknown) => e instanceof TypeError);
  assert.throws(() => formatCheckpointBody({ origin: "o", size: -1, root: ROOT }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => formatCheckpointBody({ origin: "o", size: 1.5, root: ROOT }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => formatCheckpointBody({ origin: "o", size: 1, root: ROOT.slice(1) }), (e: unknown) => e instanceof TypeError);
  assert.throws(() => formatCheckpointBody({ origin: "o", size: 1, root: ROOT, extensions: [""] }), (e: unknown) => e instanceof TypeError);
});

test("an appliance checkpoint signed by the appliance and cosigned by the relay verifies both ways", async () => {
  const signed = await signNote(BODY, ORIGIN, appliance);
  const cosigned = await cosignNote(signed, WITNESS, relay, 1_795_000_000);
  assert.ok(cosigned.startsWith(signed), "the cosignature is appended after the appliance's line");
  assert.equal(await openCheckpoint(cosigned, ORIGIN, appliance.publicKey), { origin: ORIGIN, size: 3, root: ROOT, extensions: [] });
  assert.is(await verifyCosignature(cosigned, WITNESS, relay.publicKey), 1_795_000_000);
  // Either party's line is an unknown line to the other's verification.
  assert.is(await verifyNoteSignature(cosigned, ORIGIN, appliance.publicKey), BODY);
  assert.is(parseNote(cosigned).signatures.length, 2);
});

test("a cosignature is not a signature: the two types have different key IDs", async () => {
  const cosigned = await cosignNote(BODY, ORIGIN, appliance, 1);
  await rejects(verifyNoteSignature(cosigned, ORIGIN, appliance.publicKey), code("unknown_key"));
  const signed = await signNote(BODY, WITNESS, relay);
  await rejects(verifyCosignature(signed, WITNESS, relay.publicKey), code("unknown_key"));
});

test("verifyCosignature rejects a changed timestamp, a tampered body, a wrong key or a wrong name", async () => {
  const cosigned = await cosignNote(BODY, WITNESS, relay, 1_795_000_000);
  const line = parseNote(cosigned).signatures[0]!;
  const raw = fromBase64(line.base64);
  raw[11]! ^= 1; // last timestamp byte
  await rejects(verifyCosignature(`${BODY}\n\u2014 ${WITNESS} ${toBase64(raw)}\n`, WITNESS, relay.publicKey), code("bad_signature"), "timestamp");
  const tampered = cosigned.replace(`\n3\n`, `\n4\n`);
  await rejects(verifyCosignature(tampered, WITNESS, relay.publicKey), code("bad_signature"), "body");
  await rejects(verifyCosignature(cosigned, WITNESS, appliance.publicKey), code("unknown_key"), "key");
  await rejects(verifyCosignature(cosigned, relayWitnessName("ffffffffffffffff"), relay.publicKey), code("unknown_key"), "name");
});

test("extension lines are signed: changing one breaks both signature and cosignature", async () => {
  const body = formatCheckpointBody({ origin: ORIGIN, size: 3, root: ROOT, extensions: ["ext"] });
  const note = await cosignNote(await signNote(body, ORIGIN, appliance), WITNESS, relay, 5);
  const changed = note.replace("\next\n", "\nexu\n");
  await rejects(verifyNoteSignature(changed, ORIGIN, appliance.publicKey), code("bad_signature"));
  await rejects(verifyCosignature(changed, WITNESS, relay.publicKey), code("bad_signature"));
});

test("cosigning again replaces the witness's earlier line; other lines are kept", async () => {
  const signed = await signNote(BODY, ORIGIN, appliance);
  const once = await cosignNote(signed, WITNESS, relay, 100);
  const twice = await cosignNote(once, WITNESS, relay, 200);
  const lines = parseNote(twice).signatures;
  assert.equal(lines.map((s) => s.name), [ORIGIN, WITNESS]);
  assert.is(await verifyCosignature(twice, WITNESS, relay.publicKey), 200);
});

test("cosignature timestamps are u64 big-endian, exact beyond 2^32", async () => {
  const t = 2 ** 40 + 5;
  const note = await cosignNote(BODY, WITNESS, relay, t);
  const sig = parseNote(note).signatures[0]!.signature;
  assert.equal([...sig.subarray(0, 8)], [0, 0, 1, 0, 0, 0, 0, 5]);
  assert.is(await verifyCosignature(note, WITNESS, relay.publicKey), t);
});

test("cosignNote refuses a body that is not a checkpoint and a time that is not whole seconds", async () => {
  await rejects(cosignNote("just a note\n", WITNESS, relay, 1), code("malformed_note"));
  await rejects(cosignNote(BODY, WITNESS, relay, -1), (e) => e instanceof RangeError);
  await rejects(cosignNote(BODY, WITNESS, relay, 1.5), (e) => e instanceof RangeError && /got 1.5/.test(e.message));
  await rejects(cosignNote(BODY, "bad name", relay, 1), (e) => e instanceof TypeError && /key name/.test(e.message));
});

test("signNote refuses bad key names and text without a final newline", async () => {
  for (const name of ["", "a b", "a+b", "a\u00a0b", "a\u2003b", "a\x01b"]) {
    await rejects(signNote("text\n", name, appliance), (e) => e instanceof TypeError && /key name/.test(e.message), JSON.stringify(name));
  }
  await rejects(signNote("text", "k", appliance), (e) => e instanceof TypeError && /newline-terminated/.test(e.message));
  await rejects(signNote("a\x01\n", "k", appliance), (e) => e instanceof TypeError && /control character/.test(e.message));
});

test("openCheckpoint refuses a checkpoint whose origin line is not its signer", async () => {
  const other = formatCheckpointBody({ origin: applianceOrigin("app_aaaaaaaaaaaa"), size: 3, root: ROOT });
  const note = await signNote(other, ORIGIN, appliance);
  await rejects(openCheckpoint(note, ORIGIN, appliance.publicKey), code("checkpoint_mismatch"));
});

test("applianceOrigin and relayWitnessName build the protocol's names and refuse malformed ids", () => {
  assert.is(ORIGIN, "osiriscare.appliance/app_0123456789ab");
  assert.is(WITNESS, `osiriscare.relay/${keyId(relay.publicKey)}`);
  assert.throws(() => applianceOrigin("app 1"), (e: unknown) => e instanceof TypeError);
  assert.throws(() => applianceOrigin("APP_0123456789"), (e: unknown) => e instanceof TypeError);
  assert.throws(() => relayWitnessName("0123"), (e: unknown) => e instanceof TypeError);
  assert.throws(() => relayWitnessName("0123456789ABCDEF"), (e: unknown) => e instanceof TypeError);
});

test("relayKeyIdOf reads a relay key as a packet prints it (witness name) or as the bare key id, and nothing else", () => {
  const id = keyId(relay.publicKey);
  assert.is(relayKeyIdOf(WITNESS), id);
  assert.is(relayKeyIdOf(id), id);
  for (const bad of ["", "osiriscare.relay/", `osiriscare.relay/${id.toUpperCase()}`, `osiriscare.appliance/${id}`, `${id}0`, ` ${id}`]) assert.is(relayKeyIdOf(bad), null, JSON.stringify(bad));
});

test.run();
