/**
 * Appliance authentication (middleware): a bearer token issued at enrollment plus an Ed25519 request
 * signature by the identity key registered at enrollment (request-message.ts). Checks, in order, each with
 * its own 401 code and reason: token present → token known → appliance not revoked → signature headers
 * present → timestamp well-formed and within ±REQUEST_CLOCK_SKEW_MS → nonce well-formed → signature valid
 * over method, path, body hash, timestamp and nonce → nonce not seen before. The nonce is recorded only
 * after the signature verified, so nobody without the key can burn an appliance's nonces.
 *
 * The appliance row behind a token is cached per app (AuthState.appliances), so a request usually skips the
 * look-up. The cache is never trusted on its own: the nonce INSERT (a write, so it runs in the write
 * transaction against the committed row) only inserts while the row is still active with the same token,
 * keys and site the request was checked with (nonces.ts `recordNonceIfCurrent`). When it does not, the entry
 * is dropped and the request is checked again from the stored row, so a revocation, token rotation or key
 * change (by this process or another one on the same database) takes effect on the very next request.
 */
import type { MiddlewareHandler } from "hono";
import { verify } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { isoTime, NONCE_PATTERN, parseIsoTime } from "../../protocol/ids.ts";
import { str, strOrNull, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { promoteIdentityKey } from "../enroll/key-rotation.ts";
import { RelayError } from "../errors.ts";
import { readBody } from "../http/body.ts";
import type { AuthedAppliance, RelayEnv } from "../http/types.ts";
import { NONCE_PRUNE_INTERVAL_MS, pruneNonces, recordNonceIfCurrent, replayed } from "./nonces.ts";
import { buildRequestMessage, REQUEST_CLOCK_SKEW_MS, REQUEST_HEADERS, requestPath } from "./request-message.ts";
import { hashesEqual, parseBearer, tokenSha256 } from "./token.ts";

const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

const changedMeanwhile = (): RelayError => new RelayError("signature_invalid", "This appliance's keys changed while the request was checked: send it again");
const missingToken = (): RelayError => new RelayError("token_missing", `Missing bearer token: send '${REQUEST_HEADERS.authorization}: Bearer <token from enrollment>'`);

/** Looks an appliance up by bearer token; RelayError 401 unless it is known and active. */
export async function applianceForToken(db: RelayDb, token: string | null): Promise<AuthedAppliance> {
  if (token === null) throw missingToken();
  return applianceForTokenHash(db, tokenSha256(token));
}

async function applianceForTokenHash(db: RelayDb, hash: string): Promise<AuthedAppliance> {
  const rs = await db.execute({ sql: "SELECT * FROM appliances WHERE token_sha256 = ? OR next_token_sha256 = ?", args: [hash, hash] });
  const row = rs.rows[0];
  const rotatedIn = row !== undefined && strOrNull(row, "next_token_sha256") !== null && hashesEqual(strOrNull(row, "next_token_sha256")!, hash);
  if (!row || !(rotatedIn || hashesEqual(str(row, "token_sha256"), hash))) throw new RelayError("token_unknown", "Unknown bearer token: it was never issued or has been replaced");
  if (str(row, "state") !== "active") throw new RelayError("appliance_revoked", "appliance revoked", { appliance_id: str(row, "id") });
  // First use of a rotated-in token: it becomes the token, and the old one stops working.
  if (rotatedIn) await db.execute({ sql: "UPDATE appliances SET token_sha256 = next_token_sha256, next_token_sha256 = NULL WHERE id = ? AND next_token_sha256 = ?", args: [str(row, "id"), hash] });
  return {
    id: str(row, "id"),
    site_id: str(row, "site_id"),
    identity_public_key: fromHex(str(row, "identity_public_key")),
    evidence_public_key: fromHex(str(row, "evidence_public_key")),
    evidence_key_id: str(row, "evidence_key_id"),
    enrolled_at: str(row, "enrolled_at"),
  };
}

/** State one app instance keeps for its middleware (not module-level: each app has its own). */
export interface AuthState {
  lastPrune: number;
  /** Appliance rows by token SHA-256 (see the module comment); created on first use. */
  appliances?: Map<string, AuthedAppliance>;
}

/** Cached appliance rows per app at most (the oldest goes first): a fleet far beyond the 10,000 target. */
export const APPLIANCE_CACHE_MAX = 50_000;

function remember(cache: Map<string, AuthedAppliance>, hash: string, appliance: AuthedAppliance): void {
  cache.delete(hash);
  cache.set(hash, appliance);
  if (cache.size > APPLIANCE_CACHE_MAX) cache.delete(cache.keys().next().value!);
}

/**
 * The middleware for routes callable by appliances; it reads the body (at most `maxBodyBytes`) itself. With
 * `recordsNonce` it leaves the nonce to the handler (RouteSpec.recordsNonce, AuthedAppliance.pending_nonce).
 */
export function applianceAuth(deps: RelayDeps, maxBodyBytes: number, state: AuthState, recordsNonce = false): MiddlewareHandler<RelayEnv> {
  const cache = (state.appliances ??= new Map());
  return async (c, next) => {
    const token = parseBearer(c.req.header(REQUEST_HEADERS.authorization));
    if (token === null) throw missingToken();
    const hash = tokenSha256(token);
    const cached = cache.get(hash);
    const appliance = cached ? { ...cached } : await applianceForTokenHash(deps.db, hash);
    const timestamp = c.req.header(REQUEST_HEADERS.timestamp);
    const nonce = c.req.header(REQUEST_HEADERS.nonce);
    const signature = c.req.header(REQUEST_HEADERS.signature);
    if (!timestamp || !nonce || !signature) {
      const missing = [!timestamp && REQUEST_HEADERS.timestamp, !nonce && REQUEST_HEADERS.nonce, !signature && REQUEST_HEADERS.signature].filter(Boolean);
      throw new RelayError("signature_missing", `Request is not signed: missing ${missing.join(", ")}`);
    }
    const sentAt = parseIsoTime(timestamp);
    if (Number.isNaN(sentAt)) throw new RelayError("timestamp_invalid", `${REQUEST_HEADERS.timestamp} must be an RFC 3339 UTC time with milliseconds: current value is ${JSON.stringify(timestamp.slice(0, 40))}`);
    const now = deps.clock.now();
    if (Math.abs(now - sentAt) > REQUEST_CLOCK_SKEW_MS) {
      throw new RelayError("timestamp_stale", `Request timestamp ${timestamp} is more than ${REQUEST_CLOCK_SKEW_MS / 1000} s from the relay's time ${isoTime(now)}: check the appliance clock`, {
        relay_time: isoTime(now),
      });
    }
    if (!NONCE_PATTERN.test(nonce)) throw new RelayError("nonce_invalid", `${REQUEST_HEADERS.nonce} must be 16 random bytes as unpadded base64url`);
    if (!SIGNATURE_PATTERN.test(signature)) throw new RelayError("signature_invalid", `${REQUEST_HEADERS.signature} must be an Ed25519 signature as 128 lower-case hex digits`);

    const body = await readBody(c.req.raw, maxBodyBytes);
    const message = buildRequestMessage({ method: c.req.method, path: requestPath(c.req.url), body, timestamp, nonce });
    /** Checks the signature and records the nonce against `a`; false when the stored row is no longer `a`. */
    const admit = async (a: AuthedAppliance): Promise<boolean> => {
      if (!(await verify("request", message, fromHex(signature), a.identity_public_key))) {
        if (a === appliance && cached) return false; // perhaps a key rotated elsewhere: check the stored row
        // The first request signed by a rotated-in identity key makes it the key (enroll/key-rotation.ts).
        const promoted = await promoteIdentityKey(deps.db, a.id, a.identity_public_key, message, fromHex(signature), now);
        if (!promoted) throw new RelayError("signature_invalid", "Request signature does not verify with the identity key registered at enrollment or rotated in since (wrong key, or the method, path or body changed)");
        a.identity_public_key = promoted;
      }
      if (recordsNonce) return true; // checked against the stored row by the handler's transaction
      const recorded = await recordNonceIfCurrent(deps.db, { ...a, token_sha256: hash }, nonce, now);
      if (recorded === "replayed") throw replayed();
      return recorded === "recorded";
    };
    let admitted = appliance;
    if (!(await admit(appliance))) {
      // The row changed since it was cached (or read): check the request again from the stored row.
      cache.delete(hash);
      admitted = await applianceForTokenHash(deps.db, hash);
      if (!(await admit(admitted))) throw changedMeanwhile();
    }
    remember(cache, hash, admitted);
    if (now - state.lastPrune >= NONCE_PRUNE_INTERVAL_MS) {
      state.lastPrune = now;
      const pruned = await pruneNonces(deps.db, now);
      if (pruned > 0) deps.log.info("request_nonces_pruned", { count: pruned });
    }
    if (recordsNonce) {
      const stale = async (): Promise<never> => {
        cache.delete(hash);
        await applianceForTokenHash(deps.db, hash); // throws when revoked or the token was replaced
        throw changedMeanwhile();
      };
      admitted = { ...admitted, pending_nonce: { nonce, at: now, token_sha256: hash, stale } };
    }
    c.set("appliance", admitted);
    c.set("body", body);
    await next();
  };
}
