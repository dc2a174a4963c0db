/**
 * The RFC 6962 leaf hash of a stored evidence line, SHA-256(0x00 || UTF-8 line), in the two forms ingest needs:
 * bytes for the Merkle accumulator and lower-case hex for the `evidence.leaf_hash` column. The hashing is
 * protocol/merkle.ts `leafHash` (native SHA-256 where the runtime has one, see protocol/hash.ts).
 */
import { fromHex } from "../../protocol/encoding.ts";
import { leafHashHex } from "../../protocol/merkle.ts";

/** The leaf hash of `line` as bytes (for the Merkle accumulator) and as lower-case hex (for the table), hashed once. */
export function lineLeafHash(line: string): { bytes: Uint8Array; hex: string } {
  const hex = leafHashHex(line);
  return { bytes: fromHex(hex), hex };
}
