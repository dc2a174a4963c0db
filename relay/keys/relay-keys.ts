/**
 * The relay's signing keys as the database knows them: public key, witness name, and a *reference* to the
 * 0600 key file holding the private key (never the key itself).
 *
 * Exactly one key signs at a time: the newest one, which no rotation has superseded. A rotation adds the new
 * key with a statement signed by the current key (protocol key-rotation.ts) and marks the current key
 * superseded; both stay published so appliances can verify what the old key signed and follow the rotation.
 */
import { createSigner, keyId, type Signer } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import type { Envelope } from "../../protocol/envelope.ts";
import { relayWitnessName } from "../../protocol/checkpoint.ts";
import { isoTime } from "../../protocol/ids.ts";
import { signRotation } from "../../protocol/key-rotation.ts";
import { MAX_RELAY_KEYS, type RelayKeyInfo } from "../../protocol/sync.ts";
import { str, strOrNull, type RelayDb, type Row, type Tx } from "../db/index.ts";
import type { Clock, RelayKey } from "../deps.ts";
import { RelayError } from "../errors.ts";

export interface RelayKeyRecord {
  key_id: string;
  public_key: string;
  name: string;
  key_file: string;
  created_at: string;
  replaces: string | null;
  rotation_statement: Envelope | null;
  superseded_by: string | null;
}

function record(row: Row): RelayKeyRecord {
  const statement = strOrNull(row, "rotation_statement");
  return {
    key_id: str(row, "key_id"),
    public_key: str(row, "public_key"),
    name: str(row, "name"),
    key_file: str(row, "key_file"),
    created_at: str(row, "created_at"),
    replaces: strOrNull(row, "replaces"),
    rotation_statement: statement === null ? null : (JSON.parse(statement) as Envelope),
    superseded_by: strOrNull(row, "superseded_by"),
  };
}

/** Every relay key ever registered, oldest first. */
export async function listRelayKeys(db: RelayDb | Tx): Promise<RelayKeyRecord[]> {
  const rs = await db.execute("SELECT * FROM relay_keys ORDER BY created_at, key_id");
  return rs.rows.map(record);
}

/** The keys announced to appliances (newest first, at most MAX_RELAY_KEYS): the signing key and its predecessors. */
export async function publishedRelayKeys(db: RelayDb | Tx): Promise<RelayKeyInfo[]> {
  const rs = await db.execute({ sql: "SELECT key_id, public_key, name FROM relay_keys ORDER BY created_at DESC, key_id LIMIT ?", args: [MAX_RELAY_KEYS] });
  return rs.rows.map((r) => ({ key_id: str(r, "key_id"), public_key: str(r, "public_key"), name: str(r, "name") }));
}

/** The relay key a signer holds, ready for deps. */
export function relayKeyOf(signer: Signer): RelayKey {
  const id = keyId(signer.publicKey);
  return { signer, keyId: id, name: relayWitnessName(id) };
}

/**
 * Makes `secretKey` (read from `keyFile`) this process's signing key. On a database without relay keys it is
 * registered (first start). Otherwise it must be a registered key that no rotation has superseded. Throws
 * RelayError `relay_key_state` naming what to do.
 */
export async function activateRelayKey(db: RelayDb, secretKey: Uint8Array, keyFile: string, clock: Clock): Promise<RelayKey> {
  const signer = createSigner(secretKey);
  const key = relayKeyOf(signer);
  await db.transaction(async (tx) => {
    const keys = await listRelayKeys(tx);
    const mine = keys.find((k) => k.key_id === key.keyId);
    if (keys.length === 0) {
      await tx.execute({
        sql: "INSERT INTO relay_keys (key_id, public_key, name, key_file, created_at) VALUES (?, ?, ?, ?, ?)",
        args: [key.keyId, toHex(signer.publicKey), key.name, keyFile, isoTime(clock.now())],
      });
      return;
    }
    assertCurrentKey(keys, key, keyFile);
  });
  return key;
}

/** Throws RelayError `relay_key_state` unless `key` (read from `keyFile`) is one of `keys` and not rotated out. */
export function assertCurrentKey(keys: readonly RelayKeyRecord[], key: RelayKey, keyFile: string): void {
  const mine = keys.find((k) => k.key_id === key.keyId);
  if (!mine) {
    throw new RelayError(
      "relay_key_state",
      `The key in ${keyFile} (key id ${key.keyId}) is not one of this relay's keys (${keys.map((k) => `${k.key_id} in ${k.key_file}`).join(", ")}); ` +
        "enrolled appliances would not trust it. Start with the current key file, or rotate with 'osiris relay admin rotate-key'",
    );
  }
  if (mine.superseded_by) {
    const next = keys.find((k) => k.key_id === mine.superseded_by);
    throw new RelayError("relay_key_state", `Relay key ${key.keyId} was rotated to ${mine.superseded_by}; give the new key's file: --key-file ${next?.key_file ?? "(the new key's file)"}`);
  }
}

/** Whether the relay database has any key yet (a missing key file may be created only when it has none). */
export async function hasRelayKeys(db: RelayDb): Promise<boolean> {
  const rs = await db.execute("SELECT 1 FROM relay_keys LIMIT 1");
  return rs.rows.length > 0;
}

/**
 * Rotates from the current signing key to `nextSecretKey` (stored in `nextKeyFile`): signs the rotation
 * statement with the current key, registers the new key with it and marks the current key superseded, in
 * one transaction. Returns the statement and the new key id.
 */
export async function rotateRelayKey(
  db: RelayDb,
  input: { currentSecretKey: Uint8Array; nextSecretKey: Uint8Array; nextKeyFile: string },
  clock: Clock,
): Promise<{ statement: Envelope; key_id: string; replaces: string }> {
  const current = createSigner(input.currentSecretKey);
  const next = createSigner(input.nextSecretKey);
  const currentId = keyId(current.publicKey);
  const nextKey = relayKeyOf(next);
  if (nextKey.keyId === currentId) throw new RelayError("relay_key_state", "Cannot rotate a relay key to itself");
  const now = clock.now();
  const statement = await signRotation(next.publicKey, current, now);
  await db.transaction(async (tx) => {
    const keys = await listRelayKeys(tx);
    const mine = keys.find((k) => k.key_id === currentId);
    if (!mine) throw new RelayError("relay_key_state", `Cannot rotate: key ${currentId} is not one of this relay's keys`);
    if (mine.superseded_by) throw new RelayError("relay_key_state", `Cannot rotate: key ${currentId} was already rotated to ${mine.superseded_by}`);
    if (keys.length >= MAX_RELAY_KEYS) throw new RelayError("relay_key_state", `Cannot rotate: the relay already has ${keys.length} keys, the most appliances accept`);
    await tx.execute({
      sql: "INSERT INTO relay_keys (key_id, public_key, name, key_file, created_at, replaces, rotation_statement) VALUES (?, ?, ?, ?, ?, ?, ?)",
      args: [nextKey.keyId, toHex(next.publicKey), nextKey.name, input.nextKeyFile, isoTime(now), currentId, JSON.stringify(statement)],
    });
    await tx.execute({ sql: "UPDATE relay_keys SET superseded_by = ? WHERE key_id = ?", args: [nextKey.keyId, currentId] });
  });
  return { statement, key_id: nextKey.keyId, replaces: currentId };
}

/** Rotation statements in order, for appliances to follow from a pinned key to the current one. */
export async function rotationStatements(db: RelayDb | Tx): Promise<Envelope[]> {
  return (await listRelayKeys(db)).flatMap((k) => (k.rotation_statement ? [k.rotation_statement] : []));
}

/** The public key bytes of a record. */
export function publicKeyOf(record: Pick<RelayKeyRecord, "public_key">): Uint8Array {
  return fromHex(record.public_key);
}
