import { test } from "uvu";
import * as assert from "uvu/assert";
import { verifyRaw } from "../../protocol/crypto.ts";
import { concatBytes, fromHex, fromUtf8, toBase64, utf8 } from "../../protocol/encoding.ts";
import { leafHash, MerkleTree, nodeHash } from "../../protocol/merkle.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { KIT_BUNDLES, verifyKit } from "../../protocol/kit.ts";
import { readKitZip, type KitFiles } from "../../protocol/kit-files.ts";
import { count, random } from "../_testing.ts";
import { SEPTEMBER, septemberRelay } from "./_month-fixture.ts";
import { findPacket, generatePacket, listPackets, packetKit, packetPdf, type PacketDeps } from "./packets.ts";

const { relay, a } = await septemberRelay();
const deps: PacketDeps = { db: relay.db, clock: relay.clock, random, log: relay.log, relayKey: relay.relayKey };
relay.clock.t = Date.UTC(2026, 9, 2, 8); // 2026-10-02: September has ended
const req = { site_id: relay.siteId, month: SEPTEMBER.month, framework: "hipaa" as const, actor: "usr_test00000000" };

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e));
    return;
  }
  assert.unreachable(`expected a rejection with code ${code}`);
}

async function failure(files: KitFiles) {
  const r = await verifyKit(files);
  if (r.ok) throw new assert.Assertion({ message: "expected the kit to fail verification", generated: true, operator: "verifyKit", expects: "ok: false", actual: "ok: true" });
  return r.failure;
}

test("generatePacket() stores the PDF with its SHA-256 once; asking again returns the same row and bytes", async () => {
  const first = await generatePacket(deps, req);
  assert.ok(first.created);
  const stored = (await packetPdf(relay.db, first.packet.id))!;
  assert.is(sha256Hex(stored.pdf), first.packet.sha256);
  assert.is(fromUtf8(stored.pdf.slice(0, 5)), "%PDF-");
  const score_basis = { results: 8, stale: 0, newest_at: "2026-09-30T23:00:00.000Z" }; // what the score rests on, for the cards to flag out-of-date results
  assert.equal(first.packet.summary, { overall: 74, previous: null, controls_ready: 3, controls_total: 26, incidents: 2, incidents_open: 1, bundles: SEPTEMBER.a_bundles + SEPTEMBER.b_bundles, appliances: 2, score_basis });
  assert.is(first.packet.generated_by, "usr_test00000000");

  relay.clock.t += 86_400_000;
  const again = await generatePacket(deps, { ...req, actor: "scheduler" });
  assert.not.ok(again.created);
  assert.equal(again.packet, first.packet, "the stored packet, not a new one");
  assert.is(await count(relay.db, "packets"), 1);
});

test("generatePacket() refuses a month that has not ended, one before the site existed, and an unknown site, storing nothing", async () => {
  await rejects(generatePacket(deps, { ...req, month: "2026-10" }), "month_open");
  await rejects(generatePacket(deps, { ...req, month: "2026-12" }), "month_open");
  await rejects(generatePacket(deps, { ...req, month: "2026-07" }), "bad_request"); // appliance A enrolled 2026-08-31
  await rejects(generatePacket(deps, { ...req, site_id: "site_nope00000000" }), "site_unknown");
  await rejects(generatePacket(deps, { ...req, month: "2026-9" }), "schema");
  await rejects(generatePacket(deps, { ...req, framework: "pci" as never }), "schema");
  assert.is(await count(relay.db, "packets"), 1);
});

test("the HIPAA, SOC 2 and GLBA packets of a month share one stored kit, which verifies offline and matches the manifest", async () => {
  const soc2 = await generatePacket(deps, { ...req, framework: "soc2" });
  const glba = await generatePacket(deps, { ...req, framework: "glba" });
  const hipaa = (await findPacket(relay.db, relay.siteId, SEPTEMBER.month, "hipaa"))!;
  assert.is(soc2.packet.kit_sha256, hipaa.kit_sha256);
  assert.is(glba.packet.kit_sha256, hipaa.kit_sha256);
  assert.is(await count(relay.db, "packet_kits"), 1);
  assert.ok(soc2.packet.sha256 !== hipaa.sha256, "a different framework is a different document");
  assert.equal((await listPackets(relay.db, relay.siteId)).map((p) => p.framework), ["glba", "hipaa", "soc2"]);

  const kit = (await packetKit(relay.db, hipaa.id))!;
  assert.is(sha256Hex(kit.zip), hipaa.kit_sha256);
  const report = await verifyKit(readKitZip(kit.zip));
  assert.ok(report.ok, JSON.stringify(report));
  if (report.ok) assert.is(report.bundles, SEPTEMBER.a_bundles + SEPTEMBER.b_bundles);
  const readme = fromUtf8(readKitZip(kit.zip).get("README.md")!);
  assert.match(readme, /osiris evidence verify/);
  assert.match(readme, /OsirisCare\/v1 evidence/);
  assert.match(readme, /cosignature\/v1/);
  assert.match(readme, /Merkle inclusion proof/);
});

test("the README's by-hand steps hold for the stored kit: signed bytes, hash chain, Merkle inclusion against the checkpoint", async () => {
  const hipaa = (await findPacket(relay.db, relay.siteId, SEPTEMBER.month, "hipaa"))!;
  const files = readKitZip((await packetKit(relay.db, hipaa.id))!.zip);
  const keys = JSON.parse(fromUtf8(files.get("keys.json")!)) as { appliances: { appliance_id: string; public_key: string }[] };
  const lines = fromUtf8(files.get(KIT_BUNDLES)!).slice(0, -1).split("\n").filter((l) => l.includes(`"appliance_id":"${a.id}"`));
  const key = fromHex(keys.appliances.find((k) => k.appliance_id === a.id)!.public_key);
  // Step 1: remove the signature member; sign over "OsirisCare/v1 evidence\n" + the rest.
  const line = lines[41]!;
  const sig = /,"signature":"([0-9a-f]{128})"/.exec(line)!;
  const signed = concatBytes(utf8("OsirisCare/v1 evidence\n"), utf8(line.replace(sig[0], "")));
  assert.ok(await verifyRaw(fromHex(sig[1]!), signed, key), "the signature verifies over the documented bytes");
  // Step 2: prev_hash is the SHA-256 of the previous line.
  assert.is((JSON.parse(line) as { prev_hash: string }).prev_hash, sha256Hex(lines[40]!));
  // Step 5: an inclusion proof of seq 42 against the checkpoint at the last seq, with the documented loop.
  const tree = new MerkleTree(lines.map((l) => leafHash(utf8(l))));
  const n = lines.length, proof = tree.inclusionProof(41, n);
  let fn = 41, sn = n - 1, r = leafHash(utf8(line));
  for (const p of proof) {
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) (fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2));
    } else r = nodeHash(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const note = fromUtf8(files.get(`checkpoints/${a.id}/${String(n).padStart(12, "0")}.note`)!);
  assert.is(sn, 0);
  assert.is(toBase64(r), note.split("\n")[2]);
});

test("the stored kit fails verification with the right reason when a bundle is edited or dropped, its checkpoint moved, or its tail cut off", async () => {
  const hipaa = (await findPacket(relay.db, relay.siteId, SEPTEMBER.month, "hipaa"))!;
  const files = readKitZip((await packetKit(relay.db, hipaa.id))!.zip);
  const lines = fromUtf8(files.get(KIT_BUNDLES)!).slice(0, -1).split("\n");
  const withLines = (ls: string[]) => new Map(files).set(KIT_BUNDLES, utf8(ls.map((l) => l + "\n").join("")));
  const aLine = (seq: number) => lines.findIndex((l) => l.includes(`"appliance_id":"${a.id}"`) && l.includes(`"seq":${seq},`));

  // Edited: the incident's failing result turned into a pass (same length, same canonical form).
  const i = lines.findIndex((l) => l.includes('"actual":"stopped"'));
  const edited = [...lines];
  edited[i] = edited[i]!.replace('"actual":"stopped"', '"actual":"running"');
  const e = await failure(withLines(edited));
  assert.equal([e.code, e.line, e.appliance_id], ["bad_signature", i + 1, a.id]);

  // Dropped: seq 500 of appliance A.
  const d = aLine(500);
  const dropped = await failure(withLines(lines.filter((_, k) => k !== d)));
  assert.equal([dropped.code, dropped.line, dropped.seq], ["seq_gap", d + 1, 501]);

  // Dropped at the end: A's last bundle; only the cosigned checkpoint shows it.
  const last = await failure(withLines(lines.filter((_, k) => k !== aLine(SEPTEMBER.a_bundles))));
  assert.is(last.code, "checkpoint_mismatch");
  assert.match(last.reason, /bundles are missing/);

  // Moved: A's checkpoint note under another size's file name.
  const notes = [...files.keys()].filter((p) => p.startsWith(`checkpoints/${a.id}/`));
  assert.is(notes.length, 1, "only the checkpoint that ends A's chain is in the kit");
  const moved = new Map(files);
  const elsewhere = notes[0]!.replace(/\d{12}\.note$/, "000000000500.note");
  moved.delete(notes[0]!);
  moved.set(elsewhere, files.get(notes[0]!)!);
  const s = await failure(moved);
  assert.equal([s.code, s.file], ["checkpoint_mismatch", elsewhere]);
  assert.match(s.reason, /file name says/);

  // Cut short: A's bundles after seq 500 and its checkpoint removed. No checkpoint of size 500 is in the kit,
  // so the shorter copy does not verify (it would need a relay cosignature of that size).
  const cut = new Map(withLines(lines.filter((l) => !l.includes(`"appliance_id":"${a.id}"`) || Number(/"seq":(\d+),/.exec(l)![1]) <= 500)));
  cut.delete(notes[0]!);
  const c = await failure(cut);
  assert.equal([c.code, c.appliance_id, c.seq], ["checkpoint_mismatch", a.id, 500]);
  assert.match(c.reason, /not covered by a cosigned checkpoint of that size/);
});

test("stored packets and kits are append-only: UPDATE and DELETE are refused", async () => {
  for (const sql of ["UPDATE packets SET generated_by = 'x'", "DELETE FROM packets", "UPDATE packet_kits SET bundles = 0", "DELETE FROM packet_kits"]) {
    try {
      await relay.db.execute(sql);
      assert.unreachable(sql);
    } catch (e) {
      assert.match(String(e), /append-only/, sql);
    }
  }
});

test("a packet stored before its summary kept the score's basis still lists, without score_basis", async () => {
  const kit = (await findPacket(relay.db, relay.siteId, SEPTEMBER.month, "hipaa"))!.kit_sha256;
  const old = { overall: 70, previous: null, controls_ready: 0, controls_total: 26, incidents: 0, incidents_open: 0, bundles: 10, appliances: 1 };
  await relay.db.execute({
    sql: "INSERT INTO packets (id, site_id, month, framework, sha256, pdf, bytes, kit_sha256, summary, generated_at, generated_by) VALUES ('pkt_old000000000', ?, '2026-08', 'hipaa', ?, X'25504446', 4, ?, ?, '2026-09-01T06:00:00.000Z', 'scheduler')",
    args: [relay.siteId, "0".repeat(64), kit, JSON.stringify(old)],
  });
  const listed = (await listPackets(relay.db, relay.siteId)).find((p) => p.month === "2026-08")!;
  assert.equal(listed.summary, old, "read as stored: no score_basis made up");
});

test.after(() => relay.close());
test.run();
