/**
 * Auditor kits from the relay's store (`osiris evidence export`). For each appliance of a site: the bundles
 * whose `finished_at` falls in [from, to), extended forward to the first relay-countersigned checkpoint at or
 * after the last of them, whose note is the only checkpoint in the kit (so a truncated tail is detectable:
 * verifyKit requires every chain's last bundle to be covered by a cosigned checkpoint of exactly that size, and
 * the kit holds none of a smaller size). When the range does not start at seq 1 the kit
 * carries the Merkle frontier before its first bundle, rebuilt from the stored leaves. keys.json holds the
 * evidence keys registered at enrollment and every relay key that ever signed.
 *
 * Deterministic: the same database contents and arguments give the same files (no "now" anywhere), so the
 * ZIP (protocol kit-files.ts) is byte-identical.
 */
import { keyId } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import { addKitManifest, buildKitFiles, type KitContents, type KitKeys, type KitManifestKey } from "../../protocol/kit.ts";
import type { KitFiles } from "../../protocol/kit-files.ts";
import type { AccumulatorState } from "../../protocol/merkle.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import { RelayError } from "../errors.ts";
import { evidenceHistory } from "../enroll/key-history.ts";
import { accumulatorAt } from "../ingest/tree.ts";
import { listRelayKeys } from "../keys/index.ts";
import { siteExists } from "../tenants/tenants.ts";
import { seqsFinishedIn } from "../ingest/finished-bounds.ts";

/** Lines read per query while assembling a kit. */
export const EXPORT_PAGE_ROWS = 1000;

export interface ExportRange {
  siteId: string;
  /** Inclusive start, ms since the epoch. */
  from: number;
  /** Exclusive end, ms since the epoch. */
  to: number;
}

export interface ExportedAppliance {
  appliance_id: string;
  first_seq: number;
  last_seq: number;
  /** Last seq with finished_at in the range (the kit extends beyond it to `last_seq`, a checkpoint size). */
  last_in_range: number;
}

export interface ExportResult {
  files: KitFiles;
  appliances: ExportedAppliance[];
  /** Appliances left out or cut short, and why (e.g. no countersigned checkpoint yet). */
  warnings: string[];
}

/** Exports the kit, with its manifest signed by `key` (the relay's current key: the one the packet names). */
export async function exportKit(db: RelayDb, range: ExportRange, key: KitManifestKey): Promise<ExportResult> {
  if (!(Number.isFinite(range.from) && Number.isFinite(range.to) && range.from < range.to)) {
    throw new RangeError(`Cannot export: 'from' must be before 'to': current values are ${range.from} and ${range.to}`);
  }
  if (!(await siteExists(db, range.siteId))) throw new RelayError("site_unknown", `site ${JSON.stringify(range.siteId)} does not exist`);
  const from = isoTime(range.from);
  const to = isoTime(range.to);
  const rows = (await db.execute({ sql: "SELECT id, evidence_public_key, evidence_key_id, enrolled_at FROM appliances WHERE site_id = ? ORDER BY id", args: [range.siteId] })).rows;

  const ranges: { id: string; first: number; last: number }[] = [];
  const checkpoints: KitContents["checkpoints"] = [];
  const frontiers: { appliance_id: string; state: AccumulatorState }[] = [];
  const keys: KitKeys["appliances"] = [];
  const exported: ExportedAppliance[] = [];
  const warnings: string[] = [];

  for (const row of rows) {
    const id = str(row, "id");
    const bounds = await seqsFinishedIn(db, id, from, to);
    if (bounds === null) continue;
    const { first, last: lastInRange } = bounds;
    const cover = (await db.execute({ sql: "SELECT MIN(size) AS size FROM checkpoints WHERE appliance_id = ? AND size >= ?", args: [id, lastInRange] })).rows[0]!;
    let last: number;
    if (cover["size"] !== null) {
      last = num(cover, "size");
    } else {
      const earlier = (await db.execute({ sql: "SELECT MAX(size) AS size FROM checkpoints WHERE appliance_id = ? AND size >= ?", args: [id, first] })).rows[0]!;
      if (earlier["size"] === null) {
        warnings.push(`appliance ${id}: left out, no countersigned checkpoint covers its bundles from seq ${first} yet`);
        continue;
      }
      last = num(earlier, "size");
      warnings.push(`appliance ${id}: cut at seq ${last}, the last countersigned checkpoint; seq ${last + 1}..${lastInRange} are not covered yet`);
    }

    ranges.push({ id, first, last });
    // Only the checkpoint that ends the chain: with every intermediate one in the kit, a copy cut at any of
    // them would still verify; without them, a shorter kit needs a relay cosignature nobody can make.
    const end = (await db.execute({ sql: "SELECT countersigned_note FROM checkpoints WHERE appliance_id = ? AND size = ?", args: [id, last] })).rows[0]!;
    checkpoints.push({ appliance_id: id, size: last, note: str(end, "countersigned_note") });
    if (first > 1) frontiers.push({ appliance_id: id, state: (await accumulatorAt(db, id, first - 1)).state });
    // The enrollment key and every recorded switch (enroll/key-history.ts): bundles verify by seq against them.
    const history = await evidenceHistory(db, id, str(row, "evidence_public_key"));
    keys.push({
      appliance_id: id,
      site_id: range.siteId,
      public_key: history.enrollment,
      key_id: keyId(fromHex(history.enrollment)),
      enrolled_at: str(row, "enrolled_at"),
      ...(history.rotations.length > 0 ? { rotations: history.rotations } : {}),
    });
    exported.push({ appliance_id: id, first_seq: first, last_seq: last, last_in_range: lastInRange });
  }

  const relay = (await listRelayKeys(db)).map((k) => ({ name: k.name, public_key: k.public_key, key_id: k.key_id }));
  if (relay.length === 0) throw new RelayError("relay_key_state", "Cannot export: this relay has no keys, so no checkpoint was ever countersigned");
  const files = buildKitFiles({
    bundles: await bundlesFile(db, ranges),
    keys: { schema: "osiris.kit-keys/v1", appliances: keys, relay },
    checkpoints,
    frontiers,
    readme: readme(range.siteId, from, to, exported, relay.map((k) => k.key_id)),
  });
  const appliances = [];
  for (const { appliance_id, first_seq, last_seq } of exported) {
    const head = (await db.execute({ sql: "SELECT hash FROM evidence WHERE appliance_id = ? AND seq = ?", args: [appliance_id, last_seq] })).rows[0]!;
    appliances.push({ appliance_id, first_seq, last_seq, head_hash: str(head, "hash") });
  }
  const scope = { site_id: range.siteId, from, to, appliances };
  await addKitManifest(files, scope, key);
  return { files, appliances: exported, warnings };
}

/**
 * `bundles.jsonl` for the appliances' seq ranges in the kit's order (appliance ids ascending as JavaScript
 * compares them, which buildKitFiles documents; seqs ascending): sized exactly first, then filled page by
 * page, so a month of bundles is held once, as bytes, and never as strings.
 */
async function bundlesFile(db: RelayDb, unordered: readonly { id: string; first: number; last: number }[]): Promise<Uint8Array> {
  const ranges = [...unordered].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let total = 0;
  for (const r of ranges) {
    const size = await db.execute({ sql: "SELECT COALESCE(SUM(LENGTH(CAST(line AS BLOB)) + 1), 0) AS bytes FROM evidence WHERE appliance_id = ? AND seq >= ? AND seq <= ?", args: [r.id, r.first, r.last] });
    total += num(size.rows[0]!, "bytes");
  }
  const out = new Uint8Array(total);
  const encoder = new TextEncoder();
  let at = 0;
  for (const r of ranges) {
    for (let seq = r.first; seq <= r.last; seq += EXPORT_PAGE_ROWS) {
      const page = await db.execute({ sql: "SELECT line FROM evidence WHERE appliance_id = ? AND seq >= ? AND seq <= ? ORDER BY seq", args: [r.id, seq, Math.min(r.last, seq + EXPORT_PAGE_ROWS - 1)] });
      for (const row of page.rows) {
        const line = str(row, "line");
        const { read, written } = encoder.encodeInto(line, out.subarray(at));
        if (read !== line.length || at + written >= total) throw changed(at + written + 1, total);
        at += written;
        out[at++] = 0x0a;
      }
    }
  }
  if (at !== total) throw changed(at, total);
  return out;
}

const changed = (bytes: number, total: number) => new Error(`Cannot export: the evidence changed size while being read (${bytes} bytes read, ${total} expected)`);

function readme(siteId: string, from: string, to: string, appliances: readonly ExportedAppliance[], relayKeyIds: readonly string[]): string {
  const table = appliances.length
    ? appliances.map((a) => `| ${a.appliance_id} | ${a.first_seq} | ${a.last_in_range} | ${a.last_seq} |`).join("\n")
    : "| (no evidence in this range) | | | |";
  return `# OsirisCare auditor kit

Site \`${siteId}\`, evidence finished from ${from} (inclusive) to ${to} (exclusive).

| appliance | first seq | last seq in range | kit ends at (checkpoint) |
|---|---|---|---|
${table}

Each chain is extended to the first checkpoint the relay countersigned at or after its range, and that
checkpoint is the only one in the kit: a copy with its tail cut off does not verify, since a checkpoint of the
shorter size would need the relay's cosignature. The relay also signed \`manifest.json\`: the site, the range,
each appliance's first and last seq and the hash of its last bundle, and every other file's SHA-256, so a copy with its head cut off, an edited file
(this README included) or an added file does not verify either. Relay keys: ${relayKeyIds.join(", ")}.

## What is in the kit

- \`bundles.jsonl\`: the evidence, one bundle per line, exactly the bytes each appliance signed, ordered by
  appliance and \`seq\`. Bundles hold settings and status of the clinic's computers; no patient data.
- \`checkpoints/<appliance_id>/<size, 12 digits>.note\`: the signed checkpoint that ends each appliance's
  chain in the kit (a C2SP signed note), with the relay's witness cosignature.
- \`keys.json\`: each appliance's evidence public key with its enrollment record (\`enrolled_at\`, site), its
  recorded key rotations (\`rotations\`: each later key and the first \`seq\` it signs), and the relay's
  witness keys. These are the only keys to check against: never trust a key found in a bundle.
- \`frontiers.json\` (only when a range starts after seq 1): the Merkle subtree roots before the first line.
- \`manifest.json\` and \`manifest.sig\`: the relay's statement of what it exported (above), and its Ed25519
  signature over the exact bytes of \`manifest.json\` (signed input: \`OsirisCare/v1 kit_manifest\` and a
  newline, then those bytes) by the relay key named in \`manifest.sig\`, which must be in \`keys.json\`.

## Verify

    sha256sum kit.zip                 # compare with the SHA-256 printed in the monthly packet
    osiris evidence verify kit.zip    # exit 0 and "OK …" when everything below holds

\`osiris evidence verify\` names the first problem it finds (file, line, appliance, seq and reason): a changed
byte (not canonical, schema or bad signature), a removed or duplicated bundle (seq gap or duplicate, or a
checkpoint covering bundles that are missing), a rewritten history (a Merkle root that does not match the
relay-cosigned checkpoint) or a swapped checkpoint.

## Verify by hand

1. Which bytes are signed. Each line is canonical JSON (RFC 8785: members sorted, no spaces). Remove the
   member \`"signature":"…"\` (and the comma before it) from the line; the result is the signed text. The
   Ed25519 signature (hex, field \`signature\`) is over the UTF-8 bytes of \`OsirisCare/v1 evidence\` plus a
   newline (0x0A), followed by the signed text. Verify it with the appliance's \`public_key\` from
   \`keys.json\` or, from a rotation's \`from_seq\` on, with that rotation's key; \`key_id\` in the bundle must
   equal that key's \`key_id\`. The bundle just before each \`from_seq\` is the switch itself (\`action_taken\`
   \`rotate_evidence_key\`, signed by the old key, naming the new \`new_key_id\` in \`post_state\`).
2. How hashes chain. For each appliance, \`seq\` goes 1, 2, 3, … without gaps, and each bundle's
   \`prev_hash\` is the SHA-256 (hex) of the previous line's bytes (without the newline); seq 1 has 64 zeros.
   \`finished_at\` never goes back more than 5 minutes.
3. The Merkle tree (RFC 6962 / RFC 9162). Leaf i is SHA-256(0x00 ‖ line i); an interior node is
   SHA-256(0x01 ‖ left ‖ right); a tree of n leaves splits at the largest power of two below n. The root of
   an appliance's first <size> lines must equal the base64 root in its checkpoint of that size. If
   \`frontiers.json\` is present, start from its subtree roots instead of the leaves before the first line.
4. Checkpoints. A note is the body (\`osiriscare.appliance/<appliance_id>\`, the tree size, the base64 root,
   each on its own line), a blank line, then signature lines \`— <name> <base64>\`. The appliance's line
   (name \`osiriscare.appliance/<appliance_id>\`) decodes to a 4-byte key hash and an Ed25519 signature over
   the body. The relay's line (name \`osiriscare.relay/<key_id>\`) decodes to a 4-byte key hash, an 8-byte
   big-endian Unix time and an Ed25519 signature over \`cosignature/v1\`, newline, \`time <that time>\`,
   newline, then the body (C2SP tlog-cosignature). Check it with the relay key of that \`key_id\` in
   \`keys.json\`. The last bundle of every appliance must be covered by a cosigned checkpoint of exactly its
   seq; the kit holds only that one, so a cut-off tail cannot pass.
5. Checking one bundle with a Merkle inclusion proof. To show that line i (0-based index = seq − 1) is in the
   tree of a checkpoint of size n without recomputing the whole root, take its audit path: the roots of the
   sibling subtrees from the leaf up (computed from the other lines of the kit). Then, with fn = i,
   sn = n − 1 and r = the leaf hash, for each path hash p: if fn is odd or fn = sn, set r = SHA-256(0x01 ‖ p
   ‖ r) and, if fn was even, halve fn and sn until fn is odd or 0; otherwise set r = SHA-256(0x01 ‖ r ‖ p);
   then halve fn and sn. The bundle is included when sn ends at 0 and r equals the checkpoint's root
   (RFC 9162 §2.1.3.2).
`;
}
