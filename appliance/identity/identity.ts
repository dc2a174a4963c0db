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
 */
import { join } from "node:path";
import { z } from "zod";
import { keyFingerprint, keyId, type Signer } from "../../protocol/crypto.ts";
import { fromHex, toHex } from "../../protocol/encoding.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { idSchema, isoTime, newId } from "../../protocol/ids.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { MAX_RELAY_KEYS, relayKeyInfoSchema, type RelayKeyInfo } from "../../protocol/sync.ts";
import type { Clock, Log } from "../engine/types.ts";
import { ensurePrivateDir, KEY_FILES, readKeyFile, StoreError, writeKeyFile, type Store } from "../store/index.ts";
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
  readonly evidenceSigner: Signer;
  /** The pinned relay keys, read at each use: a verified key rotation may change them. */
  readonly relayKeys: readonly TrustedKey[];
}

interface Row {
  state: IdentityState;
  appliance_id: string | null;
  site_id: string | null;
  relay_keys: PinnedRelayKey[];
}

/** The appliance's keys and enrollment; one instance per process, created by `loadOrCreateIdentity`. */
export class ApplianceIdentity {
  readonly evidenceSigner: Signer;
  readonly identitySigner: Signer;
  readonly credentials: X25519Key;
  /** `keyFingerprint` of the evidence key: what an MSP compares on the status page before accepting. */
  readonly fingerprint: string;
  readonly evidenceKeyId: string;
  readonly #store: Store;
  readonly #env: IdentityEnv;
  #row: Row;

  /** @internal use `loadOrCreateIdentity`. */
  constructor(keys: { evidence: Signer; identity: Signer; credentials: X25519Key }, row: Row, store: Store, env: IdentityEnv) {
    this.evidenceSigner = keys.evidence;
    this.identitySigner = keys.identity;
    this.credentials = keys.credentials;
    this.fingerprint = keyFingerprint(keys.evidence.publicKey);
    this.evidenceKeyId = keyId(keys.evidence.publicKey);
    this.#row = row;
    this.#store = store;
    this.#env = env;
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
      evidenceSigner: this.evidenceSigner,
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

  const identityFile = await keyFile(join(stateDir, KEY_FILES.identity), ED25519_SEED_BYTES, env.random, mayCreate);
  const evidenceFile = await keyFile(join(stateDir, KEY_FILES.evidence), ED25519_SEED_BYTES, env.random, mayCreate);
  const credentialsFile = await keyFile(join(stateDir, KEY_FILES.credentials), X25519_KEY_BYTES, env.random, mayCreate);
  const keys = {
    identity: createNodeSigner(identityFile.secret),
    evidence: createNodeSigner(evidenceFile.secret),
    credentials: createX25519Key(credentialsFile.secret),
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
    return new ApplianceIdentity(keys, recorded.row, store, env);
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
