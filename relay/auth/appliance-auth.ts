/**
 * Appliance authentication (middleware): a bearer token issued at enrollment plus an Ed25519 request
 * signature by the identity key registered at enrollment (request-message.ts). Checks, in order, each with
 * its own 401 code and reason: token present → token known → appliance not revoked → signature headers
 * present → timestamp well-formed and within ±REQUEST_CLOCK_SKEW_MS → nonce well-formed → signature valid
 * over method, path, body hash, timestamp and nonce → nonce not seen before. The nonce is recorded only
 * after the signature verified, so nobody without the key can burn an appliance's nonces.
 */
import type { MiddlewareHandler } from "hono";
import { verify } from "../../protocol/crypto.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { isoTime, NONCE_PATTERN, parseIsoTime } from "../../protocol/ids.ts";
import { str, strOrNull, type RelayDb } from "../db/index.ts";
import type { RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { readBody } from "../http/body.ts";
import type { AuthedAppliance, RelayEnv } from "../http/types.ts";
import { NONCE_PRUNE_INTERVAL_MS, pruneNonces, recordNonce } from "./nonces.ts";
import { buildRequestMessage, REQUEST_CLOCK_SKEW_MS, REQUEST_HEADERS, requestPath } from "./request-message.ts";
import { hashesEqual, parseBearer, tokenSha256 } from "./token.ts";

const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

/** Looks an appliance up by bearer token; RelayError 401 unless it is known and active. */
export async function applianceForToken(db: RelayDb, token: string | null): Promise<AuthedAppliance> {
  if (token === null) throw new RelayError("token_missing", `Missing bearer token: send '${REQUEST_HEADERS.authorization}: Bearer <token from enrollment>'`);
  const hash = tokenSha256(token);
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
}

/** The middleware for routes callable by appliances; it reads the body (at most `maxBodyBytes`) itself. */
export function applianceAuth(deps: RelayDeps, maxBodyBytes: number, state: AuthState): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const appliance = await applianceForToken(deps.db, parseBearer(c.req.header(REQUEST_HEADERS.authorization)));
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
    if (!(await verify("request", message, fromHex(signature), appliance.identity_public_key))) {
      throw new RelayError("signature_invalid", "Request signature does not verify with the identity key registered at enrollment (wrong key, or the method, path or body changed)");
    }
    if (!(await recordNonce(deps.db, appliance.id, nonce, now))) throw new RelayError("nonce_replayed", "Request nonce was already used: a replayed request is refused");
    if (now - state.lastPrune >= NONCE_PRUNE_INTERVAL_MS) {
      state.lastPrune = now;
      const pruned = await pruneNonces(deps.db, now);
      if (pruned > 0) deps.log.info("request_nonces_pruned", { count: pruned });
    }
    c.set("appliance", appliance);
    c.set("body", body);
    await next();
  };
}
