import { test } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { canonicalBytes } from "./canonical.ts";
import { createSigner, generateKeyPair, keyId } from "./crypto.ts";
import { toBase64Url } from "./encoding.ts";
import type { TrustedKey } from "./envelope.ts";
import { IntegrityError, ValidationError } from "./errors.ts";
import { isoTime } from "./ids.ts";
import {
  buildOrder,
  DEFAULT_ORDER_TTL_MS,
  MAX_ORDER_LIFETIME_MS,
  ORDER_CLOCK_SKEW_MS,
  type OrderPayload,
  paramsValidator,
  signOrder,
  verifyOrder,
  type VerifyOrderOptions,
} from "./orders.ts";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0, 0);
const APP = "app_aaaaaaaa";
const SITE = "site_ssssssss";
const relay = generateKeyPair(new Uint8Array(32).fill(5));
const signer = createSigner(relay.secretKey);
const relayKeys: TrustedKey[] = [{ key_id: keyId(relay.publicKey), publicKey: relay.publicKey }];
let counter = 0;
const random = (n: number) => Uint8Array.from({ length: n }, () => counter++ & 0xff);

const validateParams = paramsValidator((type) =>
  ({
    run_runbook: z.strictObject({ runbook: z.string(), host_id: z.string() }),
    rescan: z.strictObject({}),
  })[type],
);
const opts: VerifyOrderOptions = { relayKeys, applianceId: APP, siteId: SITE, now: NOW, validateParams };

function order(over: Partial<OrderPayload> = {}, ttlMs?: number): OrderPayload {
  const base = buildOrder({ type: "run_runbook", params: { runbook: "windows.enable_bitlocker", host_id: "fs01" }, target_appliance_id: APP, site_id: SITE, issued_by: "user_tech0001", ...(ttlMs ? { ttlMs } : {}) }, { now: NOW, random });
  return { ...base, ...over };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

async function integrityCode(p: Promise<unknown>): Promise<string> {
  const e = await rejection(p);
  assert.instance(e, IntegrityError);
  return (e as IntegrityError).code;
}

test("buildOrder() issues now, expires after the default healing TTL, with a fresh id and nonce", () => {
  const a = order();
  const b = order();
  assert.is(a.issued_at, isoTime(NOW));
  assert.is(a.expires_at, isoTime(NOW + DEFAULT_ORDER_TTL_MS));
  assert.match(a.order_id, /^ord_[a-z2-7]{26}$/);
  assert.is.not(a.order_id, b.order_id);
  assert.is.not(a.nonce, b.nonce);
});

test("a signed order verifies and returns exactly the signed payload", async () => {
  const o = order();
  const env = await signOrder(o, signer, { validateParams });
  assert.equal(await verifyOrder(env, opts), o);
});

test("an order from a key that is not pinned is refused as unknown_key", async () => {
  const env = await signOrder(order(), createSigner(new Uint8Array(32).fill(6)));
  assert.is(await integrityCode(verifyOrder(env, opts)), "unknown_key");
});

test("a payload changed after signing is refused as bad_signature", async () => {
  const env = await signOrder(order(), signer);
  const forged = { ...env, payload: toBase64Url(canonicalBytes(order({ target_appliance_id: "app_evilevil" }))) };
  assert.is(await integrityCode(verifyOrder(forged, opts)), "bad_signature");
});

test("an order for another appliance or site is refused as wrong_target", async () => {
  const env = await signOrder(order({ target_appliance_id: "app_bbbbbbbb" }), signer);
  const e = await rejection(verifyOrder(env, opts));
  assert.is((e as IntegrityError).code, "wrong_target");
  assert.match(e.message, /^target_appliance_id: order ord_\w+ is for app_bbbbbbbb, this is app_aaaaaaaa/);
  const other = await signOrder(order({ site_id: "site_tttttttt" }), signer);
  assert.is(await integrityCode(verifyOrder(other, opts)), "wrong_target");
});

test("an expired order is refused, at its expiry instant and after", async () => {
  const env = await signOrder(order(), signer);
  assert.is(await integrityCode(verifyOrder(env, { ...opts, now: NOW + DEFAULT_ORDER_TTL_MS })), "expired");
  assert.is(await integrityCode(verifyOrder(env, { ...opts, now: NOW + DEFAULT_ORDER_TTL_MS + 1 })), "expired");
  await verifyOrder(env, { ...opts, now: NOW + DEFAULT_ORDER_TTL_MS - 1 });
});

test("an order issued in the future is accepted within the clock skew and refused beyond it", async () => {
  const env = await signOrder(order(), signer);
  await verifyOrder(env, { ...opts, now: NOW - ORDER_CLOCK_SKEW_MS });
  const e = await rejection(verifyOrder(env, { ...opts, now: NOW - ORDER_CLOCK_SKEW_MS - 1 }));
  assert.is((e as IntegrityError).code, "not_yet_valid");
  assert.match(e.message, /^issued_at: /);
});

test("an order valid for longer than the maximum lifetime is malformed", async () => {
  assert.throws(() => order({}, MAX_ORDER_LIFETIME_MS + 1), /^expires_at: makes the order valid for 86400001 ms, longer than the limit of 86400000 ms/);
  const tooLong = { ...order(), expires_at: isoTime(NOW + MAX_ORDER_LIFETIME_MS + 1) };
  const e = await rejection(signOrder(tooLong, signer));
  assert.instance(e, ValidationError);
  assert.match(e.message, /^expires_at: makes the order valid for/);
  await signOrder(order({}, MAX_ORDER_LIFETIME_MS), signer);
});

test("an order that expires before it is issued is malformed", async () => {
  const e = await rejection(signOrder(order({ expires_at: isoTime(NOW) }), signer));
  assert.match(e.message, /^expires_at: must be after issued_at/);
});

test("an order of an unknown type is refused, naming the type", async () => {
  const env = await signOrder(order({ type: "format_disk" }), signer);
  const e = await rejection(verifyOrder(env, opts));
  assert.instance(e, ValidationError);
  assert.is(e.message, 'type: unknown order type "format_disk"');
  // signOrder checks it too when given the registry.
  assert.instance(await rejection(signOrder(order({ type: "format_disk" }), signer, { validateParams })), ValidationError);
});

test("an order whose params do not match its type's schema is refused, naming the param", async () => {
  const env = await signOrder(order({ params: { runbook: 7, host_id: "fs01" } }), signer);
  const e = await rejection(verifyOrder(env, opts));
  assert.instance(e, ValidationError);
  assert.is(e.message, "params.runbook: expected string, got 7");
  const extra = await signOrder(order({ type: "rescan", params: { everything: true } }), signer);
  assert.is((await rejection(verifyOrder(extra, opts))).message, "params.everything: unknown field");
});

test("a signed payload that is not a valid order is refused as a schema error naming the field", async () => {
  const { nonce: _n, ...noNonce } = order();
  const { signEnvelope } = await import("./envelope.ts");
  const env = await signEnvelope("order", noNonce, signer);
  const e = await rejection(verifyOrder(env, opts));
  assert.instance(e, ValidationError);
  assert.is(e.message, "nonce: required, but missing");
});

test("an order signed as a rule set is not accepted as an order", async () => {
  const { signEnvelope } = await import("./envelope.ts");
  const env = await signEnvelope("ruleset", order(), signer);
  assert.is(await integrityCode(verifyOrder(env, opts)), "bad_signature");
});

test.run();
