/**
 * Helpers for the relay's fuzz suite (fuzz.test.ts), not shipped behaviour: a fixed-seed PRNG, single-byte
 * mutations that always change the meaning of the text, and a digest of the tables a refused request must
 * never change.
 */
import { sha256Hex } from "../protocol/hash.ts";
import { utf8 } from "../protocol/encoding.ts";
import type { RelayDb } from "./db/index.ts";

/** mulberry32: small, fast and deterministic; the fuzz suite prints its seed so a failure can be replayed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
    return items[this.int(items.length)]!;
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
}

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));

/**
 * `text` with one character replaced by another printable ASCII character. A change of letter case only is
 * never chosen: hex, base64url tokens and claim codes may legitimately be compared case-insensitively, so such
 * a "mutation" can mean the same thing. Positions in `[from, to)` ranges listed in `skip` are left alone.
 */
export function mutateOneByte(rng: Rng, text: string, skip: readonly (readonly [number, number])[] = [], alphabet: readonly string[] = PRINTABLE): string {
  if (text.length === 0) return "x";
  for (let attempt = 0; attempt < 1000; attempt++) {
    const at = rng.int(text.length);
    if (skip.some(([a, b]) => at >= a && at < b)) continue;
    const old = text[at]!;
    const ch = rng.pick(alphabet);
    if (ch.toLowerCase() === old.toLowerCase()) continue;
    return text.slice(0, at) + ch + text.slice(at + 1);
  }
  throw new RangeError(`Cannot mutate a text of ${text.length} characters outside the skipped ranges`);
}

/** The `[start, end)` span of the string value of `"key":"…"` in a JSON text (no escapes inside). */
export function valueSpan(json: string, key: string): [number, number] {
  const marker = `"${key}":"`;
  const at = json.indexOf(marker);
  if (at < 0) return [0, 0];
  const start = at + marker.length;
  return [start, json.indexOf('"', start)];
}

/** Wrong-typed values for a JSON field. */
export const WRONG_VALUES: readonly unknown[] = [null, 0, -1, 1.5, 2 ** 60, "", "x", true, false, [], {}, [1, 2], { a: 1 }, "🙂".repeat(3)];

/** Tables whose rows a refused request must not change (request_nonces and integrity_incidents may grow). */
const DIGEST_QUERIES = [
  "SELECT appliance_id, seq, line, hash, leaf_hash FROM evidence ORDER BY appliance_id, seq",
  "SELECT appliance_id, outbox_seq, type, body FROM outbox_receipts ORDER BY appliance_id, outbox_seq",
  // last_seen_at moves with every stored push, never with a refused one; it is left out only to keep the
  // digest independent of how the relay times its writes.
  "SELECT id, site_id, identity_public_key, evidence_public_key, credentials_public_key, macs, token_sha256, state, enrolled_at, revoked_at FROM appliances ORDER BY id",
  "SELECT id, code_sha256, site_id, expires_at, used_at, used_by, revoked_at FROM claim_codes ORDER BY id",
  "SELECT appliance_id, verified_seq, head_hash, chain_state, tree_size, tree_peaks, acked_outbox_seq FROM chain_state ORDER BY appliance_id",
  "SELECT appliance_id, size, root, note, countersigned_note FROM checkpoints ORDER BY appliance_id, size",
  "SELECT id, state, site_id, appliance_id FROM pending_appliances ORDER BY id",
];

/** SHA-256 over the stored rows of the protected tables. */
export async function storedDigest(db: RelayDb): Promise<string> {
  const parts: string[] = [];
  for (const sql of DIGEST_QUERIES) {
    const rs = await db.execute(sql);
    parts.push(JSON.stringify(rs.rows.map((r) => rs.columns.map((c) => r[c] ?? null))));
  }
  return sha256Hex(utf8(parts.join("\n")));
}
