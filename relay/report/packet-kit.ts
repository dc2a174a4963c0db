/**
 * The auditor kit a packet references: the month's bundles of every appliance of the site, exported by
 * relay/export (each chain extended to the next relay-countersigned checkpoint), as the deterministic ZIP,
 * with its SHA-256 and what the packet's evidence manifest prints about it: per appliance the seq range,
 * how many checkpoints the kit holds, and the last checkpoint's root and relay witness cosignatures
 * (verified here against the relay's registered keys, so the manifest never prints a signature that does
 * not verify).
 */
import { parseCheckpoint, parseNote, verifyCosignature } from "../../protocol/checkpoint.ts";
import type { KitManifestKey } from "../../protocol/kit.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { writeKitZip } from "../../protocol/kit-files.ts";
import { num, str, type RelayDb } from "../db/index.ts";
import { exportKit } from "../export/kit-export.ts";
import { listRelayKeys } from "../keys/index.ts";

export interface WitnessSignature {
  /** Witness key name, `osiriscare.relay/<key_id>`. */
  name: string;
  /** When the relay cosigned (RFC 3339, from the cosignature's timestamp). */
  time: string;
  /** The signature line's base64 field, as in the note. */
  signature: string;
}

export interface KitAppliance {
  appliance_id: string;
  first_seq: number;
  last_seq: number;
  /** Last seq that finished inside the month (the kit continues to `last_seq`, a checkpoint size). */
  last_in_range: number;
  bundles: number;
  checkpoints: number;
  /** The checkpoint at `last_seq`: tree size, Merkle root (base64) and relay cosignatures. */
  last_checkpoint: { size: number; root: string; witnesses: WitnessSignature[] } | null;
}

export interface MonthKit {
  zip: Uint8Array;
  sha256: string;
  bundles: number;
  appliances: KitAppliance[];
  /** Appliances left out or cut short (no countersigned checkpoint yet), from the export. */
  warnings: string[];
  /**
   * Witness name of the relay key that signed the kit's manifest, for `osiris evidence verify --relay-key`.
   * Absent from kit summaries stored before it was recorded.
   */
  signed_by?: string;
}

/** What a packet prints about its kit (everything but the bytes). */
export type KitSummary = Omit<MonthKit, "zip"> & { bytes: number };

/** The summary of a built kit. */
export function kitSummary(kit: MonthKit): KitSummary {
  const { zip, ...rest } = kit;
  return { ...rest, bytes: zip.length };
}

/** Builds the kit of a site's month [from, to). Same database contents → same bytes. */
export async function buildMonthKit(db: RelayDb, siteId: string, from: number, to: number, key: KitManifestKey): Promise<MonthKit> {
  const out = await exportKit(db, { siteId, from, to }, key);
  const zip = writeKitZip(out.files);
  const relayKeys = await listRelayKeys(db);
  const appliances: KitAppliance[] = [];
  for (const a of out.appliances) {
    const cps = (await db.execute({ sql: "SELECT COUNT(*) AS n FROM checkpoints WHERE appliance_id = ? AND size >= ? AND size <= ?", args: [a.appliance_id, a.first_seq, a.last_seq] })).rows[0]!;
    const row = (await db.execute({ sql: "SELECT size, root, countersigned_note FROM checkpoints WHERE appliance_id = ? AND size = ?", args: [a.appliance_id, a.last_seq] })).rows[0];
    let last: KitAppliance["last_checkpoint"] = null;
    if (row) {
      const note = parseNote(str(row, "countersigned_note"));
      parseCheckpoint(note.text);
      const witnesses: WitnessSignature[] = [];
      for (const k of relayKeys) {
        const line = note.signatures.find((s) => s.name === k.name);
        if (!line) continue;
        const time = await verifyCosignature(note, k.name, fromHex(k.public_key));
        witnesses.push({ name: k.name, time: new Date(time * 1000).toISOString(), signature: line.base64 });
      }
      last = { size: num(row, "size"), root: str(row, "root"), witnesses };
    }
    appliances.push({ ...a, bundles: a.last_seq - a.first_seq + 1, checkpoints: num(cps, "n"), last_checkpoint: last });
  }
  return { zip, sha256: sha256Hex(zip), bundles: appliances.reduce((n, a) => n + a.bundles, 0), appliances, warnings: out.warnings, signed_by: key.name };
}
