/**
 * The appliance's identity: three key pairs generated once, and who the relay says the appliance is.
 *
 *   identity.key     Ed25519: request signatures and the proof of possession at enrollment
 *   evidence.key     Ed25519: evidence bundles and checkpoints
 *   credentials.key  X25519: opens the host credentials the relay seals to this appliance
 *
 * Private keys live only in their 0600 key files under state_dir (store/keyfiles.ts); the singleton
 * `identity` row holds the public keys, the evidence key id, the ids assigned at enrollment, the enrollment
 * state (`unclaimed → pending → enrolled`) and the pinned relay keys. Nothing here logs or returns a private key.
 *
 * Creation is crash-safe by ordering: each key file is written atomically before the row that names its public
 * key, so a crash leaves either no row (the next start reuses the files and writes the row) or a row whose
 * files exist. A row whose file is missing, or a file whose key differs from the row, is refused rather than
 * regenerated: a new evidence key would silently fork the appliance's chain.
 *
 * Rotation (the `rotate_keys` order, sync/key-rotation.ts drives it): `prepareRotation` writes the successor to
 * its own file `<kind>.<key id>.key` and notes it in `kv` before anything uses it (after a crash the same key is
 * offered again); `switchKey` records it in the row, in the caller's transaction, once the relay accepted it, and
 * only then removes the old key's file. The row names the key in force; the loader finds its file under either
 * name. Evidence switches are also kept as a history (which key signs from which seq) for local verification.
 */
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { ApplianceKey, EvidenceKeyEpoch } from "../../protocol/chain.ts";
import { keyFingerprint, keyId, type Signer } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { idSchema, isoTime, newId } from "../../protocol/ids.ts";
import type { ApplianceKeyKind } from "../../protocol/key-rotation.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { MAX_RELAY_KEYS, relayKeyInfoSchema, type RelayKeyInfo } from "../../protocol/sync.ts";
import type { Clock, Log } from "../engine/types.ts";
import { ensurePrivateDir, KEY_FILES, readKeyFile, StoreError, writeKeyFile, type Store, type Tx } from "../store/index.ts";
import { IdentityError } from "./errors.ts";
import { createNodeSigner } from "./node-signer.ts";
import { createX25519Key, X25519_KEY_BYTES, type X25519Key } from "./x25519.ts";

/** Ed25519 seeds are 32 bytes. */
const ED25519_SEED_BYTES = 32;

export const IDENTITY_STATES = ["unclaimed", "pending", "enrolled"] as const;
export type IdentityState = (typeof IDENTITY_STATES)[number];

/** A pinned relay key as stored (same shape as the pull response's `relay_keys`). */
export type PinnedRelayKey = RelayKeyInfo;

const relayKeysSchema = z.array(relayKeyInfoSchema).max(MAX_RELAY_KEYS);

export interface IdentityEnv {
  /** CSPRNG (inject a seeded one in tests); keys and ids are drawn from it. */
  random: (n: number) => Uint8Array;
  clock: Clock;
  log?: Pick<Log, "info">;
}

/** What the evidence log and the order processor need from an enrolled appliance. */
export interface EnrolledIdentity {
  readonly appliance_id: string;
  readonly site_id: string;
  /** The evidence key in force (read at each use: a rotation replaces it). */
  readonly evidenceSigner: Signer;
  /** Every evidence key this appliance signed with and from which seq (absent: `evidenceSigner` from seq 1). */
  readonly evidenceKeys?: ApplianceKey;
  /** The pinned relay keys, read at each use: a verified key rotation may change them. */
  readonly relayKeys: readonly TrustedKey[];
}

interface Row {
  state: IdentityState;
  appliance_id: string | null;
  site_id: string | null;
  relay_keys: PinnedRelayKey[];
}

/** The three key pairs in force. */
interface Keys {
  evidence: Signer;
  identity: Signer;
  credentials: X25519Key;
}

/** A successor key written to its file and noted, waiting for the relay to accept it. */
export interface PreparedRotation {
  kind: ApplianceKeyKind;
  order_id: string;
  old_public_key: Uint8Array;
  new_public_key: Uint8Array;
}

/** `kv` keys of this module (public values only). */
const ROTATING_PREFIX = "identity.rotating.";
const EVIDENCE_HISTORY = "identity.evidence_keys";

interface RotationNote {
  order_id: string;
  new_public_key: string;
}
interface EvidenceHistory {
  enrollment: string;
  rotations: { public_key: string; from_seq: number }[];
}

/** The appliance's keys and enrollment; one instance per process, created by `loadOrCreateIdentity`. */
export class ApplianceIdentity {
  /** Delegates to the credentials key in force, so holders of it (HostCredentials) follow a rotation. */
  readonly credentials: X25519Key;
  readonly #stateDir: string;
  readonly #store: Store;
  readonly #env: IdentityEnv;
  #keys: Keys;
  #row: Row;
  #evidenceHistory: EvidenceHistory | null;

  /** @internal use `loadOrCreateIdentity`. */
  constructor(keys: Keys, row: Row, store: Store, env: IdentityEnv, stateDir: string, evidenceHistory: EvidenceHistory | null) {
    this.#keys = keys;
    this.#row = row;
    this.#store = store;
    this.#env = env;
    this.#stateDir = stateDir;
    this.#evidenceHistory = evidenceHistory;
    const self = this;
    this.credentials = {
      get publicKey() {
        return self.#keys.credentials.publicKey;
      },
      sharedSecret: (peer) => self.#keys.credentials.sharedSecret(peer),
    };
  }

  /** The evidence key in force. */
  get evidenceSigner(): Signer {
    return this.#keys.evidence;
  }
  /** The identity key in force (request signatures). */
  get identitySigner(): Signer {
    return this.#keys.identity;
  }
  /** `keyFingerprint` of the evidence key: what an MSP compares on the status page before accepting. */
  get fingerprint(): string {
    return keyFingerprint(this.#keys.evidence.publicKey);
  }
  get evidenceKeyId(): string {
    return keyId(this.#keys.evidence.publicKey);
  }
  /** The evidence keys by seq, for verifying the stored chain (ChainVerifier). */
  get evidenceKeys(): ApplianceKey {
    const h = this.#evidenceHistory;
    if (!h) return { publicKey: this.#keys.evidence.publicKey };
    const rotations: EvidenceKeyEpoch[] = h.rotations.map((r) => ({ publicKey: fromHex(r.public_key), from_seq: r.from_seq }));
    return { publicKey: fromHex(h.enrollment), rotations };
  }

  /** The public key of `kind` in force. */
  publicKey(kind: ApplianceKeyKind): Uint8Array {
    return this.#keys[kind].publicKey;
  }

  /**
   * Step 1 of a rotation: the successor of the `kind` key, written to its own 0600 file and noted before it is
   * used anywhere. A rotation prepared earlier (and not finished: a crash, or the relay was away) is offered
   * again, so the relay sees the same key.
   */
  async prepareRotation(kind: ApplianceKeyKind, orderId: string): Promise<PreparedRotation> {
    const old_public_key = this.#keys[kind].publicKey;
    const noted = await this.pendingRotation(kind);
    const next = noted ? null : this.#newKey(kind);
    const newPublicKey = noted?.new_public_key ?? (await next!).publicKey;
    const note: RotationNote = { order_id: orderId, new_public_key: toHex(newPublicKey) };
    await this.#store.execute({
      sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      args: [ROTATING_PREFIX + kind, JSON.stringify(note), isoTime(this.#env.clock.now())],
    });
    if (!noted) this.#env.log?.info("key_rotation_prepared", { key: kind, old_key_id: keyId(old_public_key), new_key_id: keyId(newPublicKey) });
    return { kind, order_id: orderId, old_public_key, new_public_key: newPublicKey };
  }

  /** A new key of `kind`, written to its own file (never over an existing one). */
  async #newKey(kind: ApplianceKeyKind): Promise<{ publicKey: Uint8Array }> {
    const size = kind === "credentials" ? X25519_KEY_BYTES : ED25519_SEED_BYTES;
    const secret = this.#env.random(size);
    if (!(secret instanceof Uint8Array) || secret.length !== size) throw new TypeError(`Cannot rotate the ${kind} key: random(${size}) must return ${size} bytes`);
    const key = makeKey(kind, secret);
    await writeKeyFile(rotatedPath(this.#stateDir, kind, key.publicKey), secret);
    return key;
  }

  /** The prepared rotation of `kind` not yet switched to, or null. */
  async pendingRotation(kind: ApplianceKeyKind): Promise<PreparedRotation | null> {
    const rs = await this.#store.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [ROTATING_PREFIX + kind] });
    const raw = rs.rows[0]?.value;
    if (typeof raw !== "string") return null;
    const note = JSON.parse(raw) as RotationNote;
    return { kind, order_id: note.order_id, old_public_key: this.#keys[kind].publicKey, new_public_key: fromHex(note.new_public_key) };
  }

  /**
   * Step 3: makes the prepared successor the key in force, in `tx` (the row, the evidence history from
   * `fromSeq`, the note removed) and in memory at once. Call it last inside the transaction and call the
   * returned `undo` if that transaction fails; call `forgetOld` after it committed.
   */
  async switchKey(tx: Pick<Tx, "execute">, p: PreparedRotation, fromSeq?: number): Promise<{ undo: () => void; forgetOld: () => Promise<void> }> {
    const secret = await readKeyFile(rotatedPath(this.#stateDir, p.kind, p.new_public_key));
    const next = makeKey(p.kind, secret);
    if (toHex(next.publicKey) !== toHex(p.new_public_key)) throw new IdentityError("key_mismatch", `the ${p.kind} key file for ${keyId(p.new_public_key)} holds another key`);
    const now = isoTime(this.#env.clock.now());
    const column = `${p.kind}_public_key`;
    const extra = p.kind === "evidence" ? ", evidence_key_id = ?" : "";
    await tx.execute({ sql: `UPDATE identity SET ${column} = ?${extra}, updated_at = ? WHERE id = 1`, args: [toHex(next.publicKey), ...(extra ? [keyId(next.publicKey)] : []), now] });
    let history = this.#evidenceHistory;
    if (p.kind === "evidence") {
      if (fromSeq === undefined || !Number.isSafeInteger(fromSeq) || fromSeq < 2) throw new RangeError(`Cannot switch the evidence key: fromSeq must be an integer >= 2: current value is ${fromSeq}`);
      const base = history ?? { enrollment: toHex(this.#keys.evidence.publicKey), rotations: [] };
      history = { enrollment: base.enrollment, rotations: [...base.rotations, { public_key: toHex(next.publicKey), from_seq: fromSeq }] };
      await tx.execute({
        sql: "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        args: [EVIDENCE_HISTORY, JSON.stringify(history), now],
      });
    }
    await tx.execute({ sql: "DELETE FROM kv WHERE key = ?", args: [ROTATING_PREFIX + p.kind] });
    const before = { keys: this.#keys, history: this.#evidenceHistory };
    const old = this.#keys[p.kind].publicKey;
    this.#keys = { ...this.#keys, [p.kind]: next };
    this.#evidenceHistory = history;
    return {
      undo: () => {
        this.#keys = before.keys;
        this.#evidenceHistory = before.history;
      },
      forgetOld: async () => {
        for (const path of [join(this.#stateDir, KEY_FILES[p.kind]), rotatedPath(this.#stateDir, p.kind, old)]) {
          const held = await readKeyFile(path).catch(() => null);
          if (held && toHex(makeKey(p.kind, held).publicKey) === toHex(old)) await unlink(path);
        }
        this.#env.log?.info("key_rotated", { key: p.kind, old_key_id: keyId(old), new_key_id: keyId(next.publicKey) });
      },
    };
  }

  /** Drops a prepared rotation the relay refused for good (its key file too). */
  async abandonRotation(p: PreparedRotation): Promise<void> {
    await this.#store.execute({ sql: "DELETE FROM kv WHERE key = ?", args: [ROTATING_PREFIX + p.kind] });
    await unlink(rotatedPath(this.#stateDir, p.kind, p.new_public_key)).catch(() => undefined);
  }

  get state(): IdentityState {
    return this.#row.state;
  }
  get appliance_id(): string | null {
    return this.#row.appliance_id;
  }
  get site_id(): string | null {
    return this.#row.site_id;
  }
  /** The pinned relay keys (a copy), ready for `openEnvelope` / `verifyOrder`. */
  get relayKeys(): TrustedKey[] {
    return this.#row.relay_keys.map((k) => ({ key_id: k.key_id, publicKey: fromHex(k.public_key) }));
  }
  /** The pinned relay keys as stored (key id, hex public key, name). */
  get pinnedRelayKeys(): PinnedRelayKey[] {
    return this.#row.relay_keys.map((k) => ({ ...k }));
  }

  /** This identity as the evidence log and order processor use it; IdentityError `not_enrolled` before enrollment. */
  enrolled(): EnrolledIdentity {
    const { appliance_id, site_id } = this.#row;
    if (this.#row.state !== "enrolled" || appliance_id === null || site_id === null) {
      throw new IdentityError("not_enrolled", `the appliance is ${this.#row.state}, not enrolled: it has no appliance and site id yet`);
    }
    const self = this;
    return {
      appliance_id,
      site_id,
      get evidenceSigner() {
        return self.evidenceSigner;
      },
      get evidenceKeys() {
        return self.evidenceKeys;
      },
      get relayKeys() {
        return self.relayKeys;
      },
    };
  }

  /**
   * Enrolls a standalone or lab appliance without a relay (used by the demo and tests until real enrollment
   * exists): assigns `applianceId` (default: a new `app_…` id) and `siteId`, and optionally pins relay keys.
   * Idempotent for the same ids; IdentityError `already_enrolled` for different ones.
   */
  async enrollStandalone(siteId: string, opts: { applianceId?: string; relayKeys?: readonly PinnedRelayKey[] } = {}): Promise<void> {
    if (this.#row.state === "enrolled") {
      const same = this.#row.site_id === siteId && (opts.applianceId === undefined || opts.applianceId === this.#row.appliance_id);
      if (same && opts.relayKeys === undefined) return;
      if (!same) {
        throw new IdentityError("already_enrolled", `the appliance is already enrolled as ${this.#row.appliance_id} at ${this.#row.site_id}; refusing to re-enroll as ${opts.applianceId ?? "a new id"} at ${siteId}`);
      }
    }
    await this.recordEnrollment({
      applianceId: opts.applianceId ?? this.#row.appliance_id ?? newId("app", this.#env.random),
      siteId,
      relayKeys: opts.relayKeys ?? this.#row.relay_keys,
      tokenSha256: null,
    });
  }

  /** Records an enrollment the relay accepted (ids, pinned relay keys, SHA-256 of the token file's content). */
  async recordEnrollment(e: { applianceId: string; siteId: string; relayKeys: readonly PinnedRelayKey[]; tokenSha256: string | null }): Promise<void> {
    const applianceId = parseSchema(idSchema, e.applianceId, { what: "appliance id", at: ["appliance_id"] });
    const siteId = parseSchema(idSchema, e.siteId, { what: "site id", at: ["site_id"] });
    const relayKeys = checkRelayKeys(e.relayKeys);
    if (e.tokenSha256 !== null && !/^[0-9a-f]{64}$/.test(e.tokenSha256)) throw new TypeError("Cannot record enrollment: tokenSha256 must be 64 lower-case hex digits");
    const now = isoTime(this.#env.clock.now());
    await this.#store.execute({
      sql: "UPDATE identity SET state = 'enrolled', appliance_id = ?, site_id = ?, relay_keys = ?, token_sha256 = ?, enrolled_at = ?, updated_at = ? WHERE id = 1",
      args: [applianceId, siteId, JSON.stringify(relayKeys), e.tokenSha256, now, now],
    });
    this.#row = { state: "enrolled", appliance_id: applianceId, site_id: siteId, relay_keys: relayKeys };
    this.#env.log?.info("identity_enrolled", { appliance_id: applianceId, site_id: siteId, relay_keys: relayKeys.map((k) => k.key_id) });
  }

  /** Marks an unclaimed appliance as registered with the relay and waiting for an MSP to accept it. */
  async markPending(): Promise<void> {
    if (this.#row.state !== "unclaimed") return;
    await this.#store.execute({ sql: "UPDATE identity SET state = 'pending', updated_at = ? WHERE id = 1 AND state = 'unclaimed'", args: [isoTime(this.#env.clock.now())] });
    this.#row = { ...this.#row, state: "pending" };
  }

  /** Replaces the pinned relay keys. Call only with keys from enrollment or a verified rotation (key-rotation.ts). */
  async pinRelayKeys(keys: readonly PinnedRelayKey[]): Promise<void> {
    const relayKeys = checkRelayKeys(keys);
    await this.#store.execute({ sql: "UPDATE identity SET relay_keys = ?, updated_at = ? WHERE id = 1", args: [JSON.stringify(relayKeys), isoTime(this.#env.clock.now())] });
    this.#row = { ...this.#row, relay_keys: relayKeys };
  }
}

function checkRelayKeys(keys: readonly PinnedRelayKey[]): PinnedRelayKey[] {
  const parsed = parseSchema(relayKeysSchema, keys, { what: "relay keys", at: ["relay_keys"] });
  for (const k of parsed) {
    const actual = keyId(fromHex(k.public_key));
    if (actual !== k.key_id) throw new TypeError(`Cannot pin relay key ${k.key_id}: its public key has key id ${actual}`);
  }
  return parsed;
}

/** The file of a rotated-in key: `<kind>.<key id>.key` beside the enrollment key's. */
function rotatedPath(stateDir: string, kind: ApplianceKeyKind, publicKey: Uint8Array): string {
  return join(stateDir, KEY_FILES[kind].replace(/\.key$/, `.${keyId(publicKey)}.key`));
}

function makeKey(kind: "identity" | "evidence", secret: Uint8Array): Signer;
function makeKey(kind: ApplianceKeyKind, secret: Uint8Array): Signer | X25519Key;
function makeKey(kind: ApplianceKeyKind, secret: Uint8Array): Signer | X25519Key {
  return kind === "credentials" ? createX25519Key(secret) : createNodeSigner(secret);
}

/** The secret of the recorded key of `kind`: in its enrollment file, or (after a rotation) its own file. */
async function recordedKeyFile(stateDir: string, kind: ApplianceKeyKind, recorded: string): Promise<Uint8Array | null> {
  for (const path of [join(stateDir, KEY_FILES[kind]), rotatedPath(stateDir, kind, fromHex(recorded))]) {
    const secret = await readKeyFile(path).catch((e: unknown) => {
      if (e instanceof StoreError && e.code === "key_file_missing") return null;
      throw e;
    });
    if (secret && toHex(makeKey(kind, secret).publicKey) === recorded) return secret;
  }
  return null;
}

/** Reads the key file at `path`, or creates it from `random` when absent; returns the raw private key. */
async function keyFile(path: string, size: number, random: (n: number) => Uint8Array, mayCreate: boolean): Promise<{ secret: Uint8Array; created: boolean }> {
  try {
    const secret = await readKeyFile(path);
    if (secret.length !== size) throw new IdentityError("key_mismatch", `key file ${path} holds ${secret.length} bytes, expected a ${size}-byte key`);
    return { secret, created: false };
  } catch (e) {
    if (!(e instanceof StoreError && e.code === "key_file_missing")) throw e;
    if (!mayCreate) {
      throw new IdentityError("key_missing", `key file ${path} is missing but this appliance's identity is already recorded; restore the file from backup (a new key would fork the evidence chain)`, { cause: e });
    }
  }
  const secret = random(size);
  if (!(secret instanceof Uint8Array) || secret.length !== size) throw new TypeError(`Cannot create key ${path}: random(${size}) must return ${size} bytes`);
  try {
    await writeKeyFile(path, secret);
  } catch (e) {
    // Another process created it between our read and write: use theirs.
    if (e instanceof StoreError && e.code === "key_file_exists") return { secret: await readKeyFile(path), created: false };
    throw e;
  }
  return { secret, created: true };
}

const rowSchema = z.object({
  state: z.enum(IDENTITY_STATES),
  appliance_id: idSchema.nullable(),
  site_id: idSchema.nullable(),
  identity_public_key: z.string(),
  evidence_public_key: z.string(),
  credentials_public_key: z.string(),
  relay_keys: z.string(),
});

/**
 * Loads the appliance's keys from `stateDir` (creating any that are missing on first start) and its
 * `identity` row (creating it as `unclaimed`). Throws IdentityError `key_missing` / `key_mismatch` /
 * `corrupt_identity`, or StoreError for key file permission problems.
 */
export async function loadOrCreateIdentity(stateDir: string, store: Store, env: IdentityEnv): Promise<ApplianceIdentity> {
  await ensurePrivateDir(stateDir);
  const rs = await store.execute("SELECT state, appliance_id, site_id, identity_public_key, evidence_public_key, credentials_public_key, relay_keys FROM identity WHERE id = 1");
  const stored = rs.rows[0];
  const recorded = stored === undefined ? null : parseRow(stored);
  const mayCreate = recorded === null;

  // A recorded key may live in its rotated-in file (the enrollment file then holds nothing, or the old key).
  const rotated = {
    identity: recorded ? await recordedKeyFile(stateDir, "identity", recorded.publics.identity_public_key) : null,
    evidence: recorded ? await recordedKeyFile(stateDir, "evidence", recorded.publics.evidence_public_key) : null,
    credentials: recorded ? await recordedKeyFile(stateDir, "credentials", recorded.publics.credentials_public_key) : null,
  };
  const identitySecret = rotated.identity ?? (await keyFile(join(stateDir, KEY_FILES.identity), ED25519_SEED_BYTES, env.random, mayCreate)).secret;
  const evidenceSecret = rotated.evidence ?? (await keyFile(join(stateDir, KEY_FILES.evidence), ED25519_SEED_BYTES, env.random, mayCreate)).secret;
  const credentialsSecret = rotated.credentials ?? (await keyFile(join(stateDir, KEY_FILES.credentials), X25519_KEY_BYTES, env.random, mayCreate)).secret;
  const keys = {
    identity: createNodeSigner(identitySecret),
    evidence: createNodeSigner(evidenceSecret),
    credentials: createX25519Key(credentialsSecret),
  };
  const publics = {
    identity_public_key: toHex(keys.identity.publicKey),
    evidence_public_key: toHex(keys.evidence.publicKey),
    credentials_public_key: toHex(keys.credentials.publicKey),
  };

  if (recorded) {
    for (const [column, value] of Object.entries(publics) as [keyof typeof publics, string][]) {
      if (recorded.publics[column] !== value) {
        throw new IdentityError("key_mismatch", `the key file for ${column} does not match the identity recorded in ${store.path} (recorded ${recorded.publics[column].slice(0, 16)}…, file has ${value.slice(0, 16)}…)`);
      }
    }
    const history = (await store.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [EVIDENCE_HISTORY] })).rows[0]?.value;
    return new ApplianceIdentity(keys, recorded.row, store, env, stateDir, typeof history === "string" ? (JSON.parse(history) as EvidenceHistory) : null);
  }

  const now = isoTime(env.clock.now());
  await store.execute({
    sql: `INSERT INTO identity (id, state, identity_public_key, evidence_public_key, evidence_key_id, credentials_public_key, relay_keys, updated_at)
          VALUES (1, 'unclaimed', ?, ?, ?, ?, '[]', ?) ON CONFLICT (id) DO NOTHING`,
    args: [publics.identity_public_key, publics.evidence_public_key, keyId(keys.evidence.publicKey), publics.credentials_public_key, now],
  });
  env.log?.info("identity_created", { fingerprint: keyFingerprint(keys.evidence.publicKey), evidence_key_id: keyId(keys.evidence.publicKey) });
  // Re-read: a concurrent first start may have inserted first; its row must name the same files' keys.
  return loadOrCreateIdentity(stateDir, store, env);
}

function parseRow(raw: Record<string, unknown>): { row: Row; publics: Record<"identity_public_key" | "evidence_public_key" | "credentials_public_key", string> } {
  try {
    const r = rowSchema.parse({ ...raw });
    const relay_keys = checkRelayKeys(JSON.parse(r.relay_keys) as PinnedRelayKey[]);
    return {
      row: { state: r.state, appliance_id: r.appliance_id, site_id: r.site_id, relay_keys },
      publics: { identity_public_key: r.identity_public_key, evidence_public_key: r.evidence_public_key, credentials_public_key: r.credentials_public_key },
    };
  } catch (e) {
    throw new IdentityError("corrupt_identity", `the identity row does not parse: ${(e as Error).message}`, { cause: e });
  }
}
