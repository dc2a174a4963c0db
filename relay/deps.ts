/**
 * The effects every relay module receives instead of reaching for globals: database, clock, randomness,
 * log and the relay's signing key. `createRelayApp` takes them all; smaller functions take only what they use.
 */
import type { Signer } from "../protocol/crypto.ts";
import type { RelayDb } from "./db/index.ts";
import type { RelayLog } from "./log.ts";
import type { Mailer } from "./mail/mailer.ts";
import type { L2Config } from "./l2/config.ts";
import type { CredentialVault } from "./credentials/vault.ts";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A CSPRNG: `n` random bytes (tests inject a seeded one). */
export type Random = (n: number) => Uint8Array;

/** Time and randomness, for functions that mint ids, tokens or codes. */
export interface Env {
  clock: Clock;
  random: Random;
}

/** The relay key this process signs with (orders, rule sets, checkpoint cosignatures). */
export interface RelayKey {
  readonly signer: Signer;
  readonly keyId: string;
  /** Its witness name, `osiriscare.relay/<key_id>`: the name appliances pin it under. */
  readonly name: string;
}

export interface RelayDeps extends Env {
  db: RelayDb;
  log: RelayLog;
  relayKey: RelayKey;
  /** The relay's public base URL, told to drop-shipped appliances once they are assigned (optional). */
  publicUrl?: string;
  /** Outgoing e-mail (magic links, notifications); absent when SMTP is not configured. */
  mailer?: Mailer;
  /** The L2 planner's model endpoints per MSP and the fetch to reach them (l2/config.ts); absent: L2 off. */
  l2?: L2Config;
  /** SHA-256 (hex) of the bearer token the MSP's monitoring sends to GET /metrics; metrics are off without it. */
  metricsTokenSha256?: string;
  /** Mark session cookies `Secure` (the relay is reached over HTTPS, itself or behind a proxy). */
  secureCookies?: boolean;
  /** The site-credential vault (credentials/create-vault.ts); without it credentials can be neither stored nor sent. */
  vault?: CredentialVault;
  /** Set by startArchiver: this relay uploads to the WORM archive (--archive-*); without it bundles wait in the queue. */
  archiving?: boolean;
  /**
   * Where ingest runs signature checks (ingest/verify-pool.ts: worker threads, started by runRelay); absent:
   * in the request's thread, through node:crypto's callback form.
   */
  verifierFor?: (publicKey: Uint8Array) => import("../protocol/crypto.ts").Verifier;
  /**
   * Admit `http://` webhook and Slack URLs to a loopback address (`--allow-loopback-http-notifications`: a
   * receiver on the relay's own host; tests). Without it notification URLs must be https, when a channel is
   * added and again before every send.
   */
  loopbackHttpNotifications?: boolean;
  /** The dashboard's built files (ui/loadDashboardAssets); without them its pages answer 503. */
  ui?: import("./ui/assets.ts").UiAssets;
  /**
   * The caller's network address, for rate limits on the public routes. The Node adapter passes the socket
   * address; in-process tests may leave it out (everyone is then one caller).
   */
  clientAddress?: (request: Request, env: unknown) => string;
}

/** The platform CSPRNG (Web Crypto), for production wiring. */
export const secureRandom: Random = (n) => crypto.getRandomValues(new Uint8Array(n));

/** The wall clock, for production wiring. */
export const systemClock: Clock = { now: () => Date.now() };
