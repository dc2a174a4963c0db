/**
 * Public surface of the appliance's sync with its relay: the transport (https only, optional key pin), the
 * sync client (push the outbox, pull rule sets, orders, site configuration and key rotations), its schedule,
 * and enrollment.
 *
 *   const relay = new RelayHttp({ url: config.relay.url, fetch: createRelayFetch({ pinSha256 }), clock, random });
 *   const client = await SyncClient.open({ relay, token: await readToken(stateDir, store), store, evidence, identity, rules, orders, siteConfig, maxSkewMs, clock, log });
 *   const loop = new SyncLoop({ client, store, intervalMs, clock, random, log }); loop.start(); … loop.trigger(); … await loop.stop();
 */
export { SyncClient, CLOCK_RECOVERY_FRACTION, INTEGRITY_STATUSES, MAX_BATCHES_PER_ROUND, MAX_GAP_RESENDS, type PullReport, type PushReport, type SyncClientOptions, type SyncReport, type SyncStatus } from "./client.ts";
export { SyncLoop, OUTBOX_POLL_MS, MIN_TRIGGERED_SPACING_MS, realSleep, type Sleep, type SyncLoopOptions } from "./loop.ts";
export { backoffDelay, intervalDelay, uniform, BACKOFF_BASE_MS, BACKOFF_CAP_MS, INTERVAL_JITTER, MIN_RETRY_MS } from "./backoff.ts";
export { checkRelayUrl, createRelayFetch, certificateHashes, isLoopbackHost, MAX_RESPONSE_BYTES, type FetchLike, type RelayFetchOptions } from "./transport.ts";
export { RelayHttp, errorOf, expectOk, refusal, PUSH_TIMEOUT_MS, REQUEST_TIMEOUT_MS, type RelayAnswer, type RelayHttpOptions, type RequestAuth } from "./relay-http.ts";
export { RelaySiteConfig, siteSettings, type ApplyOutcome } from "./site-config.ts";
export { relayPlanner, L2_PLAN_PATH } from "./l2-planner.ts";
export { enrollPending, enrollWithClaimCode, readToken, replaceToken, tokenPath, type EnrollDeps, type Enrolled, type Pending } from "./enroll.ts";
export { fitBatch, PUSH_ENTRIES_BUDGET_BYTES, PUSH_ENVELOPE_RESERVE_BYTES } from "./batch.ts";
export { followRotations, MAX_ROTATION_STATEMENTS } from "./relay-keys.ts";
export { SYNC_KEYS } from "./kv.ts";
export { SyncError, isPermanent, PERMANENT_AUTH_CODES, type SyncErrorCode } from "./errors.ts";
