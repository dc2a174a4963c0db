import { test } from "uvu";
import * as assert from "uvu/assert";
import { ValidationError } from "./errors.ts";
import {
  errorEnvelope,
  MAX_PUSH_BYTES,
  MAX_PUSH_ENTRIES,
  parseErrorEnvelope,
  parseJsonText,
  parsePullRequest,
  parsePullResponse,
  parsePushAck,
  parsePushRequest,
  PULL_SCHEMA,
  PUSH_SCHEMA,
} from "./sync.ts";

const T = "2026-11-27T12:00:00.000Z";
const APP = "app_aaaaaaaa";

const bodies = {
  evidence: '{"schema":"osiris.evidence/v1"}',
  incident: { incident_id: "inc_aaaaaaaa", host_id: "fs01", check: "windows.bitlocker", severity: "high", status: "open", opened_at: T, updated_at: T, resolved_at: null, occurrences: 1, evidence_seq: 12 },
  healing_attempt: {
    attempt_id: "att_aaaaaaaa",
    incident_id: "inc_aaaaaaaa",
    host_id: "fs01",
    check: "windows.bitlocker",
    platform: "windows",
    runbook: "windows.enable_bitlocker",
    params: { drive: "C:" },
    tier: "L1",
    outcome: "deferred",
    duration_ms: 0,
    rule_id: "L1-BITLOCKER-001",
    started_at: T,
    finished_at: T,
    deferred_until: "2026-11-29T02:00:00.000Z",
    evidence_seq: 13,
    detail: null,
  },
  escalation: { escalation_id: "esc_aaaaaaaa", incident_id: "inc_aaaaaaaa", host_id: "fs01", check: "windows.bitlocker", severity: "high", reason: "Runbook failed twice", created_at: T, attempts: 2 },
  heartbeat: { at: T, version: "0.1.0", ntp_offset_ms: -3, backlog: 0 },
  order_result: { order_id: "ord_aaaaaaaa", outcome: "success", detail: "rescanned 4 hosts" },
  inventory: { at: T, hosts: [{ host_id: "fs01", hostname: "FS01", platform: "windows", os_version: "10.0.19045", reachable: true, last_seen: T }] },
};

const push = () => ({
  schema: PUSH_SCHEMA,
  appliance_id: APP,
  entries: Object.entries(structuredClone(bodies)).map(([type, body], i) => ({ outbox_seq: i + 1, type, body })),
  checkpoint: null as string | null,
});

function schemaMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.is((e as ValidationError).code, "schema");
    return (e as ValidationError).message;
  }
  throw new Error("expected a ValidationError");
}

test("parsePushRequest() accepts a batch with one entry of every type", () => {
  const p = parsePushRequest(push());
  assert.equal(p.entries.map((e) => e.type), ["evidence", "incident", "healing_attempt", "escalation", "heartbeat", "order_result", "inventory"]);
  const first = p.entries[0]!;
  if (first.type === "evidence") assert.type(first.body, "string");
});

test("parsePushRequest() names the entry and field that is wrong", () => {
  const p = push();
  (p.entries[2]!.body as Record<string, unknown>)["tier"] = "L4";
  assert.is(schemaMessage(() => parsePushRequest(p)), 'entries[2].body.tier: expected "L1" | "L2" | "L3", got "L4"');
  const q = push();
  q.entries[0]!.body = { line: "x" } as unknown as string;
  assert.is(schemaMessage(() => parsePushRequest(q)), 'entries[0].body: expected string, got {"line":"x"}');
  const r = push();
  (r.entries[4]!.body as Record<string, unknown>)["uptime"] = 5;
  assert.is(schemaMessage(() => parsePushRequest(r)), "entries[4].body.uptime: unknown field");
});

test("parsePushRequest() refuses an unknown entry type, listing the known ones", () => {
  const p = push();
  p.entries[1]!.type = "telemetry";
  assert.match(schemaMessage(() => parsePushRequest(p)), /^entries\[1\]\.type: expected one of "evidence" \| "incident" .* got "telemetry"$/);
});

test("parsePushRequest() requires outbox_seq to increase within a batch", () => {
  const p = push();
  p.entries[3]!.outbox_seq = 3;
  assert.is(schemaMessage(() => parsePushRequest(p)), "entries[3].outbox_seq: must be greater than the previous entry's (3), got 3");
});

test("parsePushRequest() refuses more than MAX_PUSH_ENTRIES entries", () => {
  const p = { ...push(), entries: Array.from({ length: MAX_PUSH_ENTRIES + 1 }, (_, i) => ({ outbox_seq: i + 1, type: "heartbeat", body: bodies.heartbeat })) };
  assert.is(schemaMessage(() => parsePushRequest(p)), `entries: must be at most ${MAX_PUSH_ENTRIES} items, got ${MAX_PUSH_ENTRIES + 1} items`);
});

test("parsePushAck() accepts the acknowledgement shape", () => {
  const ack = { acked_outbox_seq: 7, evidence: { verified_seq: 12, head_hash: "a".repeat(64) }, countersigned_checkpoint: null };
  assert.equal(parsePushAck(ack), ack);
  assert.is(schemaMessage(() => parsePushAck({ ...ack, evidence: { verified_seq: 12 } })), "evidence.head_hash: required, but missing");
});

test("parsePullRequest() accepts a first pull and a follow-up pull", () => {
  assert.ok(parsePullRequest({ schema: PULL_SCHEMA, appliance_id: APP, ruleset_version: null, since: null }));
  assert.ok(parsePullRequest({ schema: PULL_SCHEMA, appliance_id: APP, ruleset_version: 4, since: T }));
  assert.match(schemaMessage(() => parsePullRequest({ schema: PULL_SCHEMA, appliance_id: APP, ruleset_version: 0, since: null })), /^ruleset_version: must be at least 1/);
});

const pull = () => ({
  relay_time: T,
  ruleset: null,
  orders: [{ payload: "eyJ9", key_id: "0123456789abcdef", signature: "0".repeat(128) }],
  site_config: {
    site_id: "site_ssssssss",
    healing_mode: "enforce",
    maintenance_windows: [{ rrule: "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=0", duration: "PT2H", tz: "America/Chicago" }],
    l2_enabled: false,
    deployment_mode: "direct",
    reseller_id: null,
    timezone: "America/Chicago",
    disabled_checks: [],
  },
  relay_keys: [{ key_id: "0123456789abcdef", public_key: "b".repeat(64), name: "relay-2026" }],
  credentials: [{ credential_id: "cred_aaaaaaaa", target: "fs01", alg: "x25519-hkdf-sha256-aes256gcm", ephemeral_public_key: "AAAA", nonce: "BBBB", ciphertext: "CCCC" }],
});

test("parsePullResponse() accepts a full response", () => {
  assert.equal(parsePullResponse(pull()), pull());
});

test("parsePullResponse() names the wrong site setting", () => {
  const p = pull();
  p.site_config.healing_mode = "auto";
  assert.is(schemaMessage(() => parsePullResponse(p)), 'site_config.healing_mode: expected "observe" | "advise" | "enforce", got "auto"');
  const q = pull();
  q.site_config.maintenance_windows[0]!.duration = "2h";
  assert.match(schemaMessage(() => parsePullResponse(q)), /^site_config\.maintenance_windows\[0\]\.duration: expected an ISO 8601 duration like PT2H, got "2h"$/);
  const r = pull();
  r.site_config.timezone = "Central Time";
  assert.match(schemaMessage(() => parsePullResponse(r)), /^site_config\.timezone: expected an IANA time zone/);
});

test("parsePullResponse() requires at least one relay key", () => {
  assert.match(schemaMessage(() => parsePullResponse({ ...pull(), relay_keys: [] })), /^relay_keys: must be at least 1 items, got 0 items$/);
});

test("parseJsonText() refuses bodies over the limit and text that is not JSON", () => {
  assert.equal(parseJsonText('{"a":1}', MAX_PUSH_BYTES), { a: 1 });
  for (const [text, code] of [["x".repeat(11), "too_large"], ["é".repeat(6), "too_large"], ["{", "invalid_json"]] as const) {
    try {
      parseJsonText(text, 10);
      assert.unreachable();
    } catch (e) {
      assert.is((e as ValidationError).code, code);
    }
  }
});

test("errorEnvelope() builds the one error body, and parseErrorEnvelope() accepts it", () => {
  const env = errorEnvelope("seq_gap", "seq: jumps from 2 to 4", { seq: 4 });
  assert.equal(env, { error: { code: "seq_gap", message: "seq: jumps from 2 to 4", details: { seq: 4 } } });
  assert.equal(parseErrorEnvelope(env), env);
  assert.equal(errorEnvelope("x", "y"), { error: { code: "x", message: "y" } });
  assert.is(schemaMessage(() => parseErrorEnvelope({ error: { message: "y" } })), "error.code: required, but missing");
});

test.run();
