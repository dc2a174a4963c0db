/**
 * The RFC 6962 leaf hash of a stored evidence line, SHA-256(0x00 || UTF-8 line), computed with the runtime's
 * native SHA-256 (`node:crypto`, also in Deno). Ingest hashes every line it stores; the portable
 * implementation (protocol/merkle.ts `leafHash`, pure JS) costs about four times as much per line, and the
 * result is the same bytes (leaf-hash.test.ts checks them against each other).
 */
import { createHash } from "node:crypto";

const LEAF_PREFIX = new Uint8Array([0x00]);

/** The leaf hash of `line` as bytes (for the Merkle accumulator) and as lower-case hex (for the table). */
export function lineLeafHash(line: string): { bytes: Uint8Array; hex: string } {
  const digest = createHash("sha256").update(LEAF_PREFIX).update(line, "utf8").digest();
  return { bytes: new Uint8Array(digest), hex: digest.toString("hex") };
}
