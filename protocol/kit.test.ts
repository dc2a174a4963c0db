import { test } from "uvu";
import * as assert from "uvu/assert";
import { applianceOrigin, cosignNote, formatCheckpointBody, relayWitnessName, signNote } from "./checkpoint.ts";
import { createSigner, generateKeyPair, keyId } from "./crypto.ts";
import { fromUtf8, toHex, utf8 } from "./encoding.ts";
import { buildBundle, signBundle } from "./evidence.ts";
import { addKitManifest, type KitContents, buildKitFiles, KIT_BUNDLES, KIT_FRONTIERS, KIT_MANIFEST, KIT_MANIFEST_SIG, verifyKit } from "./kit.ts";
import { zipSync } from "fflate";
import { crc32, type KitFiles, readKitZip, writeKitZip } from "./kit-files.ts";
import { leafHash, MerkleAccumulator } from "./merkle.ts";
import { fixtureApplianceId, fixtureRelaySigner, generateKitContents, generateSignedKitFiles, KIT_SITE_ID } from "../fixtures/kit-generator.ts";

const small = await generateKitContents({ appliances: 2, bundlesPerAppliance: 3, checkpointEvery: 2 });
const base = buildKitFiles(small);
const baseLines = fromUtf8(base.get(KIT_BUNDLES)!).slice(0, -1).split("\n");

function withBundles(lines: string[], files: KitFiles = base): KitFiles {
  const copy = new Map(files);
  copy.set(KIT_BUNDLES, utf8(lines.map((l) => l + "\n").join("")));
  return copy;
}

async function failure(files: KitFiles) {
  const r = await verifyKit(files);
  if (r.ok) throw new assert.Assertion({ message: "expected the kit to fail verification", generated: true, operator: "verifyKit", expects: "ok: false", actual: "ok: true" });
  return r.failure;
}

test("verifyKit() accepts a generated kit and summarises appliances, times and witnesses", async () => {
  const r = await verifyKit(base);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.failure));
  if (!r.ok) return;
  assert.is(r.bundles, 6);
  assert.equal(r.appliances.map((a) => [a.appliance_id, a.first_seq, a.last_seq]), [[fixtureApplianceId(0), 1, 3], [fixtureApplianceId(1), 1, 3]]);
  assert.equal(r.checkpoints.map((c) => c.size), [2, 3, 2, 3]);
  assert.ok(r.checkpoints.every((c) => c.witnesses.length === 1));
  assert.is(r.first_time, "2026-10-01T00:00:00.000Z");
});

test("verifyKit() detects a change of any single byte in bundles.jsonl", async () => {
  const tiny = buildKitFiles(await generateKitContents({ appliances: 1, bundlesPerAppliance: 2, checkpointEvery: 2 }));
  const bytes = tiny.get(KIT_BUNDLES)!;
  let undetected = 0;
  for (let i = 0; i < bytes.length; i++) {
    const changed = bytes.slice();
    changed[i] = changed[i]! ^ (changed[i] === 0x0a ? 0x20 : 0x01);
    const files = new Map(tiny);
    files.set(KIT_BUNDLES, changed);
    if ((await verifyKit(files)).ok) undetected++;
  }
  assert.is(undetected, 0, `${undetected} of ${bytes.length} single-byte changes went undetected`);
});

test("verifyKit() detects each removed bundle, the last one included", async () => {
  for (let i = 0; i < baseLines.length; i++) {
    const f = await failure(withBundles(baseLines.filter((_, j) => j !== i)));
    assert.ok(["seq_gap", "checkpoint_mismatch", "prev_hash_mismatch"].includes(f.code), `removing line ${i + 1}: ${f.code} ${f.reason}`);
  }
  const f = await failure(withBundles(baseLines.slice(0, -1)));
  assert.is(f.code, "checkpoint_mismatch");
  assert.match(f.reason, /bundles are missing/);
});

test("verifyKit() detects each duplicated bundle with seq_duplicate", async () => {
  for (let i = 0; i < baseLines.length; i++) {
    const lines = [...baseLines.slice(0, i + 1), baseLines[i]!, ...baseLines.slice(i + 1)];
    const f = await failure(withBundles(lines));
    assert.is(f.code, "seq_duplicate");
    assert.is(f.line, i + 2);
  }
});

test("verifyKit() detects swapped neighbouring bundles of one appliance", async () => {
  const lines = [...baseLines];
  [lines[0], lines[1]] = [lines[1]!, lines[0]!];
  const f = await failure(withBundles(lines));
  assert.is(f.code, "seq_gap");
  assert.is(f.line, 1);
  assert.is(f.appliance_id, fixtureApplianceId(0));
});

test("verifyKit() detects a history rewritten with the appliance's own key through the cosigned checkpoint", async () => {
  // A stolen appliance key can re-sign a different seq 3 with a valid chain link, but not re-obtain the relay's cosignature.
  const signer = createSigner(new Uint8Array(32).fill(0x10));
  const lines = [...baseLines];
  const forged = await signBundle(
    buildBundle({
      appliance_id: fixtureApplianceId(0), site_id: KIT_SITE_ID, seq: 3, prev_hash: JSON.parse(lines[2]!).prev_hash, kind: "check_cycle",
      outcome: "pass", timestamps: JSON.parse(lines[2]!).timestamps, policy_version: "2026.11.1",
    }),
    signer,
  );
  lines[2] = forged.line;
  const f = await failure(withBundles(lines));
  assert.is(f.code, "checkpoint_mismatch");
  assert.is(f.seq, 3);
});

test("verifyKit() rejects a checkpoint moved to another appliance or tampered with", async () => {
  const moved = new Map(base);
  moved.set(`checkpoints/${fixtureApplianceId(1)}/000000000002.note`, base.get(`checkpoints/${fixtureApplianceId(0)}/000000000002.note`)!);
  assert.is((await failure(moved)).code, "unknown_key");

  const edited = new Map(base);
  const note = fromUtf8(base.get(`checkpoints/${fixtureApplianceId(0)}/000000000002.note`)!);
  edited.set(`checkpoints/${fixtureApplianceId(0)}/000000000002.note`, utf8(note.replace("\n2\n", "\n3\n")));
  const f = await failure(edited);
  assert.is(f.file, `checkpoints/${fixtureApplianceId(0)}/000000000002.note`);
});

test("verifyKit() requires a relay cosignature on every checkpoint", async () => {
  const files = new Map(base);
  const path = `checkpoints/${fixtureApplianceId(0)}/000000000003.note`;
  const note = fromUtf8(base.get(path)!);
  files.set(path, utf8(note.split("\n").filter((l) => !l.includes("osiriscare.relay/")).join("\n")));
  const f = await failure(files);
  assert.match(f.reason, /no cosignature from a relay key/);
});

test("verifyKit() rejects a cosignature by a key that is not the kit's relay key", async () => {
  const impostor = createSigner(new Uint8Array(32).fill(0x99));
  const name = relayWitnessName(keyId(fixtureRelaySigner().publicKey)); // same name, wrong key
  const path = `checkpoints/${fixtureApplianceId(0)}/000000000003.note`;
  const stripped = fromUtf8(base.get(path)!).split("\n").filter((l) => !l.includes("osiriscare.relay/")).join("\n");
  const files = new Map(base);
  files.set(path, utf8(await cosignNote(stripped, name, impostor, 1_790_000_000)));
  const f = await failure(files);
  assert.match(f.reason, /no cosignature/);
});

test("verifyKit() rejects a kit whose keys.json was replaced", async () => {
  const files = new Map(base);
  const keys = JSON.parse(fromUtf8(base.get("keys.json")!));
  const replacement = createSigner(new Uint8Array(32).fill(0x11)).publicKey;
  keys.appliances[0].public_key = toHex(replacement);
  keys.appliances[0].key_id = keyId(replacement); // consistent ids: the bundles and checkpoints still give it away
  files.set("keys.json", utf8(JSON.stringify(keys)));
  const f = await failure(files);
  assert.ok(["unknown_key", "bad_signature"].includes(f.code), f.code);
});

test("verifyKit() rejects keys.json whose key ids or relay names are not those of the keys beside them (a forged kit keeping the genuine ids)", async () => {
  const forged = (edit: (keys: { appliances: { public_key: string; key_id: string }[]; relay: { name: string; public_key: string; key_id: string }[] }) => void) => {
    const keys = JSON.parse(fromUtf8(base.get("keys.json")!));
    edit(keys);
    return new Map(base).set("keys.json", utf8(JSON.stringify(keys)));
  };
  const other = createSigner(new Uint8Array(32).fill(0x42)).publicKey;
  const relaySwapped = await failure(forged((k) => void (k.relay[0]!.public_key = toHex(other))));
  assert.equal([relaySwapped.file, relaySwapped.code], ["keys.json", "schema"]);
  assert.match(relaySwapped.reason, /relay key osiriscare\.relay\/[0-9a-f]{16}: its key_id and name must be those of its public_key/);
  const applianceSwapped = await failure(forged((k) => void (k.appliances[0]!.public_key = toHex(other))));
  assert.equal([applianceSwapped.file, applianceSwapped.code], ["keys.json", "schema"]);
  assert.match(applianceSwapped.reason, /key_id [0-9a-f]{16} is not the id of its public_key/);
});

test("verifyKit() rejects a kit without a checkpoint covering an appliance's last bundle", async () => {
  const files = new Map(base);
  files.delete(`checkpoints/${fixtureApplianceId(1)}/000000000003.note`);
  const f = await failure(files);
  assert.is(f.appliance_id, fixtureApplianceId(1));
  assert.match(f.reason, /not covered by a cosigned checkpoint/);
});

test("buildKitFiles() takes the bundles file already encoded and lays out the same bytes; not both, not neither", async () => {
  const contents = await generateKitContents({ appliances: 2, bundlesPerAppliance: 4, checkpointEvery: 2 });
  const fromLines = buildKitFiles(contents);
  const { lines, ...rest } = contents;
  const fromBytes = buildKitFiles({ ...rest, bundles: fromLines.get(KIT_BUNDLES)! });
  assert.equal([...fromBytes.keys()], [...fromLines.keys()]);
  for (const [name, bytes] of fromLines) assert.equal(fromBytes.get(name), bytes, name);
  assert.ok((await verifyKit(fromBytes)).ok);
  assert.throws(() => buildKitFiles({ ...contents, bundles: fromLines.get(KIT_BUNDLES)! }), /either the bundle lines or the encoded bundles file/);
  assert.throws(() => buildKitFiles(rest), /either the bundle lines or the encoded bundles file/);
  assert.throws(() => buildKitFiles({ ...rest, bundles: fromLines.get(KIT_BUNDLES)!.subarray(0, -1) }), /does not end with a newline/);
  void lines;
});

test("verifyKit() verifies a partial range from its Merkle frontier, and rejects a wrong frontier", async () => {
  const full = await generateKitContents({ appliances: 1, bundlesPerAppliance: 6, checkpointEvery: 3 });
  const acc = new MerkleAccumulator();
  for (const line of full.lines.slice(0, 3)) acc.append(leafHash(utf8(line)));
  const partial: KitContents = { ...full, lines: full.lines.slice(3), checkpoints: full.checkpoints, frontiers: [{ appliance_id: fixtureApplianceId(0), state: acc.state }] };
  const r = await verifyKit(buildKitFiles(partial));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.failure));

  const wrong = new MerkleAccumulator();
  for (const line of full.lines.slice(1, 4)) wrong.append(leafHash(utf8(line)));
  const f = await failure(buildKitFiles({ ...partial, frontiers: [{ appliance_id: fixtureApplianceId(0), state: wrong.state }] }));
  assert.ok(f.code === "checkpoint_mismatch", f.reason);
  assert.ok(f.file === KIT_BUNDLES || f.file.startsWith("checkpoints/"));
  void KIT_FRONTIERS;
});

test("a kit with the relay's signed manifest verifies and names it; a cut-off start, edited, added or removed files and an edited manifest fail", async () => {
  const signed = await generateSignedKitFiles({ appliances: 1, bundlesPerAppliance: 6, checkpointEvery: 3 });
  const relay = fixtureRelaySigner();
  const r = await verifyKit(signed);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.failure));
  assert.equal(r.ok && r.manifest, { site_id: KIT_SITE_ID, from: "2026-10-01T00:00:00.000Z", to: "2026-10-02T00:00:00.000Z", key_id: keyId(relay.publicKey), name: relayWitnessName(keyId(relay.publicKey)) });
  assert.equal(r.ok && r.extra_files, []);
  const unsigned = new Map([...signed].filter(([p]) => p !== KIT_MANIFEST && p !== KIT_MANIFEST_SIG));
  assert.equal(await verifyKit(unsigned).then((x) => x.ok && x.manifest), null, "a kit without one still verifies, reported as unsigned");
  const edit = (path: string, bytes: Uint8Array | null, from: KitFiles = signed) => {
    const copy = new Map(from);
    if (bytes) copy.set(path, bytes);
    else copy.delete(path);
    return copy;
  };

  // The head cut the chain alone cannot reveal: the first 3 bundles removed, their Merkle frontier supplied.
  const lines = fromUtf8(signed.get(KIT_BUNDLES)!).slice(0, -1).split("\n");
  const acc = new MerkleAccumulator();
  for (const line of lines.slice(0, 3)) acc.append(leafHash(utf8(line)));
  const frontier = utf8(JSON.stringify({ schema: "osiris.kit-frontiers/v1", appliances: [{ appliance_id: fixtureApplianceId(0), size: 3, peaks: acc.state.peaks.map(toHex) }] }));
  const cut = edit(KIT_FRONTIERS, frontier, edit(KIT_BUNDLES, utf8(lines.slice(3).map((l) => l + "\n").join(""))));
  assert.ok((await verifyKit(new Map([...cut].filter(([p]) => p !== KIT_MANIFEST && p !== KIT_MANIFEST_SIG)))).ok, "without the manifest the cut kit passes");
  const f = await failure(cut);
  assert.equal([f.code, f.file, f.reason], ["manifest_mismatch", KIT_BUNDLES, `appliance ${fixtureApplianceId(0)}: the kit holds seq 4-6, the relay exported seq 1-6`]);

  const readme = await failure(edit("README.md", utf8("# Verified by an independent auditor\n")));
  assert.equal([readme.code, readme.file], ["manifest_mismatch", "README.md"]);
  assert.match(readme.reason, /README\.md differs from the file the relay exported/);
  assert.match((await failure(edit("summary.pdf", utf8("%PDF-")))).reason, /summary\.pdf is not in the relay's signed manifest\.json: it was added/);
  const dropped = [...signed.keys()].find((p) => p.endsWith("000000000003.note"))!;
  assert.match((await failure(edit(dropped, null))).reason, /000000000003\.note is listed in the relay's signed manifest\.json but missing/);

  const manifest = fromUtf8(signed.get(KIT_MANIFEST)!);
  const forged = await failure(edit(KIT_MANIFEST, utf8(manifest.replace('"first_seq":1', '"first_seq":4'))));
  assert.equal([forged.code, forged.file], ["bad_signature", KIT_MANIFEST_SIG]);
  const stranger = createSigner(new Uint8Array(32).fill(9));
  const resigned = new Map(unsigned);
  await addKitManifest(resigned, { site_id: KIT_SITE_ID, from: "2026-10-01T00:00:00.000Z", to: "2026-10-02T00:00:00.000Z", appliances: [] }, { signer: stranger, keyId: keyId(stranger.publicKey), name: relayWitnessName(keyId(stranger.publicKey)) });
  assert.is((await failure(resigned)).code, "unknown_key");
  // A manifest the relay's key signed for another chain head: the kit's chain ends elsewhere.
  const otherHead = new Map(unsigned);
  const relayId = keyId(relay.publicKey);
  await addKitManifest(otherHead, { site_id: KIT_SITE_ID, from: "2026-10-01T00:00:00.000Z", to: "2026-10-02T00:00:00.000Z", appliances: [{ appliance_id: fixtureApplianceId(0), first_seq: 1, last_seq: 6, head_hash: "0".repeat(64) }] }, { signer: relay, keyId: relayId, name: relayWitnessName(relayId) });
  const head = await failure(otherHead);
  assert.equal([head.code, head.reason], ["manifest_mismatch", `appliance ${fixtureApplianceId(0)}: its chain ends at a bundle (seq 6) other than the one the relay exported`]);
  assert.equal(await failure(edit(KIT_MANIFEST_SIG, null)).then((x) => [x.code, x.reason]), ["schema", "The kit has manifest.json without manifest.sig"]);
});

test("a kit rebuilt whole under another relay key verifies on its own keys, and fails once the verifier names the real relay key", async () => {
  const realId = keyId(fixtureRelaySigner().publicKey);
  const stranger = createSigner(new Uint8Array(32).fill(9));
  const strangerId = keyId(stranger.publicKey);
  const real = await generateSignedKitFiles({ appliances: 1, bundlesPerAppliance: 4, checkpointEvery: 2 });
  const rebuilt = await generateSignedKitFiles({ appliances: 1, bundlesPerAppliance: 4, checkpointEvery: 2, relay: stranger });
  assert.ok((await verifyKit(rebuilt)).ok, "on its own word the rebuilt kit is consistent: this is the gap a trusted key closes");

  const refused = await verifyKit(rebuilt, { trustedRelayKeyIds: [realId] });
  assert.equal(refused.ok ? null : [refused.failure.code, refused.failure.file, refused.bundles], ["untrusted_key", KIT_MANIFEST_SIG, 0], "refused before any bundle counts as verified");
  assert.is(
    !refused.ok && refused.failure.reason,
    `the manifest is signed by relay key ${strangerId}, not by relay key ${realId}: this kit was not exported by the relay you trust, or was rebuilt under another key`,
  );

  const trusted = await verifyKit(real, { trustedRelayKeyIds: [realId] });
  assert.ok(trusted.ok && trusted.bundles === 4 && trusted.manifest?.key_id === realId, JSON.stringify(trusted));
  assert.ok((await verifyKit(real, { trustedRelayKeyIds: [strangerId, realId] })).ok, "any one of several trusted keys (a rotation) will do");

  const unsigned = new Map([...real].filter(([p]) => p !== KIT_MANIFEST && p !== KIT_MANIFEST_SIG));
  const noManifest = await verifyKit(unsigned, { trustedRelayKeyIds: [strangerId, realId] });
  assert.equal(noManifest.ok ? null : [noManifest.failure.code, noManifest.failure.reason], ["untrusted_key", `the kit has no relay-signed manifest, so it cannot be tied to any of the relay keys ${strangerId}, ${realId}`]);
});

test("verifyKit() names the file when a required part is missing or unreadable", async () => {
  const noKeys = new Map(base);
  noKeys.delete("keys.json");
  assert.match((await failure(noKeys)).reason, /no keys\.json/);
  assert.is((await failure(noKeys)).file, "keys.json");
  const badJson = new Map(base);
  badJson.set("keys.json", utf8("{"));
  assert.equal([(await failure(badJson)).code, (await failure(badJson)).file], ["invalid_json", "keys.json"]);
});

test("writeKitZip() is byte-deterministic and round-trips through readKitZip()", async () => {
  const again = buildKitFiles(await generateKitContents({ appliances: 2, bundlesPerAppliance: 3, checkpointEvery: 2 }));
  const a = writeKitZip(base), b = writeKitZip(again);
  assert.equal(a, b);
  const back = readKitZip(a);
  assert.equal([...back.keys()].sort(), [...base.keys()].sort());
  assert.ok((await verifyKit(back)).ok);
});

test("readKitZip() refuses a ZIP with two entries of one name (unzip tools disagree on which one counts)", () => {
  const zip = writeKitZip(new Map([["a.txt", utf8("first")], ["b.txt", utf8("secon")]]));
  const bytes = zip.slice();
  const from = utf8("b.txt"), to = utf8("a.txt");
  for (let i = 0; i + from.length <= bytes.length; i++) {
    if (from.every((c, j) => bytes[i + j] === c)) bytes.set(to, i);
  }
  assert.throws(() => readKitZip(bytes), /two entries named a\.txt/);
});

test("crc32() is ZIP's CRC-32 (check value of \"123456789\")", () => {
  assert.is(crc32(utf8("123456789")), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
});

test("readKitZip() names a damaged entry as a damaged download, not as altered evidence", async () => {
  // Stored uncompressed, so a flipped bit reaches the bundle bytes instead of breaking the deflate stream.
  const tree: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [path, bytes] of base) tree[path] = [bytes, { level: 0 }];
  const bytes = zipSync(tree).slice();
  assert.ok((await verifyKit(readKitZip(bytes))).ok);
  const line = utf8('"seq":2');
  const at = bytes.findIndex((_, i) => line.every((c, j) => bytes[i + j] === c));
  assert.ok(at > 0);
  bytes[at + 6] = "3".charCodeAt(0); // "seq":3: still JSON, still canonical
  assert.throws(() => readKitZip(bytes), /Kit entry bundles\.jsonl is damaged: its CRC-32 does not match/);
});

test("verifyKit() lists files that are not part of a kit, which it therefore did not verify", async () => {
  const ok = await verifyKit(base);
  assert.ok(ok.ok && ok.extra_files.length === 0, "README.md and the kit's own files are not extra");
  const padded = new Map(base);
  padded.set("summary.pdf", utf8("%PDF- looks official"));
  padded.set("notes/extra.txt", utf8("x"));
  const r = await verifyKit(padded);
  assert.ok(r.ok);
  assert.equal(r.ok && r.extra_files, ["notes/extra.txt", "summary.pdf"]);
});

test("readKitZip() refuses entries that escape the kit", () => {
  const evil = writeKitZip(new Map([["ok.txt", utf8("x")]]));
  // Rename the entry in both headers to "../etc.txt"-like length-preserving name.
  const bytes = evil.slice();
  const name = utf8("ok.txt"), bad = utf8("../a.t");
  for (let i = 0; i + name.length <= bytes.length; i++) {
    if (name.every((c, j) => bytes[i + j] === c)) bytes.set(bad, i);
  }
  assert.throws(() => readKitZip(bytes), /not a plain relative path/);
});

test("an appliance key pair from the kit generator matches keys.json (sanity of the fixture)", () => {
  const keys = JSON.parse(fromUtf8(base.get("keys.json")!));
  assert.is(keys.appliances[0].key_id, keyId(generateKeyPair(new Uint8Array(32).fill(0x10)).publicKey));
  assert.is(applianceOrigin(fixtureApplianceId(0)), `osiriscare.appliance/${fixtureApplianceId(0)}`);
  void formatCheckpointBody;
  void signNote;
});

test.run();
