/**
 * Enrollment, appliance side (docs: ARCHITECTURE §5, relay/README.md "Enrollment").
 *
 * With a claim code: POST /api/enroll with `buildEnrollRequest` (proofs by the identity and evidence keys),
 * then write the bearer token to its 0600 key file and record the ids and pinned relay keys. The token goes
 * to the file first: a crash between the two leaves an unclaimed identity plus a token file, and the next
 * attempt reports the keys as already enrolled rather than silently losing the appliance.
 *
 * Drop-ship: an appliance without a code registers as pending (POST /api/provision/pending, its public keys
 * and MACs, signed) and shows its fingerprint; once an MSP compared it and accepted the appliance, the same
 * call enrolls with the pending id. Until then it answers `pending` (nothing is secret in that state).
 */
import { join } from "node:path";
import { z } from "zod";
import { sha256Hex } from "../../protocol/hash.ts";
import { idSchema } from "../../protocol/ids.ts";
import { buildEnrollRequest, buildPendingRequest, enrollResponseSchema, type EnrollResponse } from "../../relay/enroll/enroll-message.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { ApplianceIdentity } from "../identity/index.ts";
import { KEY_FILES, readKeyFile, StoreError, writeKeyFile, type Store } from "../store/index.ts";
import { SyncError } from "./errors.ts";
import { readKv, SYNC_KEYS, writeKv } from "./kv.ts";
import { errorOf, expectOk, type RelayHttp } from "./relay-http.ts";

const pendingAnswerSchema = z.object({ pending_id: idSchema, fingerprint: z.string().min(1).max(200), state: z.enum(["pending", "accepted", "enrolled"]) });

export interface EnrollDeps {
  relay: RelayHttp;
  identity: ApplianceIdentity;
  store: Store;
  stateDir: string;
  clock: Clock;
  log?: Pick<Log, "info" | "warn">;
}

export interface Enrolled {
  state: "enrolled";
  appliance_id: string;
  site_id: string;
  fingerprint: string;
  relay_keys: string[];
  /** False when the appliance was enrolled already and nothing was sent. */
  changed: boolean;
}

export interface Pending {
  state: "pending";
  pending_id: string;
  fingerprint: string;
}

/** The path of the bearer token file under `stateDir`. */
export function tokenPath(stateDir: string): string {
  return join(stateDir, KEY_FILES.relayToken);
}

/** Reads the bearer token and checks it is the one recorded at enrollment. Throws SyncError `token_missing`. */
export async function readToken(stateDir: string, store: Pick<Store, "execute">, now: number = Date.now()): Promise<string> {
  let token: string;
  try {
    token = new TextDecoder().decode(await readKeyFile(tokenPath(stateDir))).trim();
  } catch (e) {
    if (e instanceof StoreError && e.code === "key_file_missing") {
      throw new SyncError("token_missing", `the relay token file ${tokenPath(stateDir)} is missing: run \`osiris appliance enroll\` (a standalone appliance cannot sync)`, { cause: e });
    }
    throw e;
  }
  const rs = await store.execute("SELECT token_sha256 FROM identity WHERE id = 1");
  const recorded = rs.rows[0]?.token_sha256;
  if (typeof recorded !== "string") throw new SyncError("token_missing", "this appliance was enrolled without a relay token (standalone); it cannot sync: enroll a fresh state directory with `osiris appliance enroll`");
  const hash = sha256Hex(token);
  if (hash !== recorded) {
    // A rotation that crashed between writing the new token file and recording it: finish recording it.
    const rotating = await readKv<string>(store, SYNC_KEYS.rotatingToken);
    if (rotating !== hash) throw new SyncError("token_missing", `the token in ${tokenPath(stateDir)} is not the one issued at enrollment (its SHA-256 differs from the recorded one)`);
    await store.execute({ sql: "UPDATE identity SET token_sha256 = ? WHERE id = 1", args: [hash] });
    await writeKv(store, SYNC_KEYS.rotatingToken, null, now);
  }
  return token;
}

/**
 * Replaces the bearer token after the relay issued a new one (rotate_token order). Crash-safe: the new
 * token's hash is noted first, then the file is replaced atomically, then the hash is recorded; `readToken`
 * finishes a rotation interrupted between the last two steps. The relay keeps accepting the old token until
 * the new one is first used.
 */
export async function replaceToken(stateDir: string, store: Pick<Store, "execute">, token: string, now: number): Promise<void> {
  const hash = sha256Hex(token);
  await writeKv(store, SYNC_KEYS.rotatingToken, hash, now);
  await writeKeyFile(tokenPath(stateDir), new TextEncoder().encode(token), { replace: true });
  await store.execute({ sql: "UPDATE identity SET token_sha256 = ? WHERE id = 1", args: [hash] });
  await writeKv(store, SYNC_KEYS.rotatingToken, null, now);
}

/** Refuses to enroll an identity that is enrolled already (answering with it) or enrolled standalone. */
async function alreadyEnrolled(d: EnrollDeps): Promise<Enrolled | null> {
  const id = d.identity;
  if (id.state !== "enrolled") return null;
  const rs = await d.store.execute("SELECT token_sha256 FROM identity WHERE id = 1");
  if (typeof rs.rows[0]?.token_sha256 !== "string") {
    throw new SyncError("enroll_state", `this appliance is enrolled standalone as ${id.appliance_id} at ${id.site_id} (no relay); its evidence chain cannot move to a relay: use a fresh state directory to enroll`);
  }
  return { state: "enrolled", appliance_id: id.appliance_id!, site_id: id.site_id!, fingerprint: id.fingerprint, relay_keys: id.pinnedRelayKeys.map((k) => k.key_id), changed: false };
}

function keysOf(identity: ApplianceIdentity) {
  return { identity: identity.identitySigner, evidence: identity.evidenceSigner, credentialsPublicKey: identity.credentials.publicKey };
}

/** Enrolls with a claim code. Throws SyncError (`request_refused` with the relay's code, `unreachable`, ...). */
export async function enrollWithClaimCode(d: EnrollDeps, claimCode: string, macs: readonly string[] = []): Promise<Enrolled> {
  const done = await alreadyEnrolled(d);
  if (done) return done;
  const body = await buildEnrollRequest({ claimCode }, keysOf(d.identity), macs);
  return complete(d, expectOk(await d.relay.request("POST", "/api/enroll", { body }), "enrollment"));
}

/**
 * Drop-ship: registers as pending (first call), or enrolls with the pending id once an MSP accepted it.
 * Resolves `pending` while the MSP has not accepted yet.
 */
export async function enrollPending(d: EnrollDeps, macs: readonly string[]): Promise<Enrolled | Pending> {
  const done = await alreadyEnrolled(d);
  if (done) return done;
  const body = await buildPendingRequest(keysOf(d.identity), macs);
  const registered = pendingAnswerSchema.safeParse(expectOk(await d.relay.request("POST", "/api/provision/pending", { body }), "pending registration"));
  if (!registered.success) throw new SyncError("bad_response", `pending registration: the relay's answer does not match the protocol: ${registered.error.message.slice(0, 200)}`);
  const { pending_id, state } = registered.data;
  if (registered.data.fingerprint !== d.identity.fingerprint) {
    throw new SyncError("bad_response", `the relay computed fingerprint ${registered.data.fingerprint} for this appliance, which shows ${d.identity.fingerprint}; do not accept it`);
  }
  const known = await readKv<string>(d.store, SYNC_KEYS.pendingId);
  if (known !== pending_id) await writeKv(d.store, SYNC_KEYS.pendingId, pending_id, d.clock.now());
  await d.identity.markPending();
  if (state === "pending") {
    d.log?.info("enroll_pending", { pending_id, fingerprint: d.identity.fingerprint });
    return { state: "pending", pending_id, fingerprint: d.identity.fingerprint };
  }
  const enroll = await buildEnrollRequest({ pendingId: pending_id }, keysOf(d.identity), macs);
  const answer = await d.relay.request("POST", "/api/enroll", { body: enroll });
  if (answer.status === 409 && errorOf(answer)?.code === "pending_not_accepted") return { state: "pending", pending_id, fingerprint: d.identity.fingerprint };
  return complete(d, expectOk(answer, "enrollment"));
}

async function complete(d: EnrollDeps, body: unknown): Promise<Enrolled> {
  const parsed = enrollResponseSchema.safeParse(body);
  if (!parsed.success) throw new SyncError("bad_response", `enrollment: the relay's answer does not match the protocol: ${parsed.error.message.slice(0, 200)}`);
  const r: EnrollResponse = parsed.data;
  await writeKeyFile(tokenPath(d.stateDir), new TextEncoder().encode(r.token), { replace: true });
  await d.identity.recordEnrollment({ applianceId: r.appliance_id, siteId: r.site_id, relayKeys: r.relay_keys, tokenSha256: sha256Hex(r.token) });
  d.log?.info("enrolled", { appliance_id: r.appliance_id, site_id: r.site_id, fingerprint: d.identity.fingerprint, relay_keys: r.relay_keys.map((k) => k.key_id) });
  return { state: "enrolled", appliance_id: r.appliance_id, site_id: r.site_id, fingerprint: d.identity.fingerprint, relay_keys: r.relay_keys.map((k) => k.key_id), changed: true };
}
