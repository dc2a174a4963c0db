import { test } from "uvu";
import * as assert from "uvu/assert";
import { escapeSdValue, formatSyslog, UDP_MAX_MESSAGE_BYTES, type SyslogMessage } from "./syslog.ts";

const BASE: SyslogMessage = {
  facility: "local4",
  severity: "error",
  time: Date.UTC(2026, 10, 27, 22, 35, 36, 123),
  hostname: "osiris-appliance",
  procId: 4242,
  msgId: "escalated",
  data: { site: "site_0a1b2c3d", event: "evt_1" },
  message: "Firewall disabled on host ws-01",
};

const bytes = (s: string) => new TextEncoder().encode(s).length;

test("formatSyslog() writes the RFC 5424 header, structured data, BOM and message", () => {
  assert.is(
    formatSyslog(BASE),
    '<163>1 2026-11-27T22:35:36.123Z osiris-appliance osiris 4242 escalated [osiris@32473 site="site_0a1b2c3d" event="evt_1"] \uFEFFFirewall disabled on host ws-01',
  );
});

test("formatSyslog() computes PRI as facility × 8 + severity", () => {
  const pri = (m: Partial<SyslogMessage>) => formatSyslog({ ...BASE, ...m }).match(/^<(\d+)>1 /)?.[1];
  assert.is(pri({ facility: "kern", severity: "emergency" }), "0");
  assert.is(pri({ facility: "user", severity: "notice" }), "13");
  assert.is(pri({ facility: "local0", severity: "info" }), "134");
  assert.is(pri({ facility: "local7", severity: "debug" }), "191");
});

test("formatSyslog() escapes quote, backslash and closing bracket in parameter values", () => {
  assert.is(escapeSdValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  const line = formatSyslog({ ...BASE, data: { message: 'say "hi" \\ [x] ok' } });
  assert.ok(line.includes('[osiris@32473 message="say \\"hi\\" \\\\ [x\\] ok"]'), line);
});

test("formatSyslog() leaves out null and undefined parameters and stringifies the others", () => {
  const line = formatSyslog({ ...BASE, data: { site: "s", host: null, check: undefined, tier: 3, ok: false } });
  assert.ok(line.includes('[osiris@32473 site="s" tier="3" ok="false"]'), line);
});

test("formatSyslog() replaces non-printable and non-ASCII header characters and uses - for empty fields", () => {
  const line = formatSyslog({ ...BASE, hostname: "front desk PC\u00e9", procId: undefined, msgId: "", appName: "osiris" });
  assert.ok(line.startsWith("<163>1 2026-11-27T22:35:36.123Z front_desk_PC_ osiris - - [osiris@32473"), line);
  assert.ok(formatSyslog({ ...BASE, hostname: "" }).includes(".123Z - osiris"));
});

test("formatSyslog() cuts header fields to their RFC 5424 lengths", () => {
  const line = formatSyslog({ ...BASE, hostname: "h".repeat(300), msgId: "m".repeat(40), appName: "a".repeat(60) });
  const [, , host, app, , msgid] = line.split(" ");
  assert.is(host?.length, 255);
  assert.is(app?.length, 48);
  assert.is(msgid?.length, 32);
});

test("formatSyslog() rejects parameter names RFC 5424 does not allow", () => {
  for (const name of ["", "a b", "a=b", 'a"b', "a]b", "x".repeat(33), "é"]) {
    assert.throws(() => formatSyslog({ ...BASE, data: { [name]: "v" } }), /parameter name/, name);
  }
});

test("formatSyslog() omits MSG and BOM for an empty message", () => {
  assert.ok(formatSyslog({ ...BASE, message: "" }).endsWith('event="evt_1"]'));
});

test("formatSyslog() truncates the message on a UTF-8 character boundary to fit the byte limit", () => {
  const long = "é".repeat(5_000); // 2 bytes each
  const line = formatSyslog({ ...BASE, message: long }, { maxBytes: UDP_MAX_MESSAGE_BYTES });
  assert.ok(bytes(line) <= UDP_MAX_MESSAGE_BYTES && bytes(line) >= UDP_MAX_MESSAGE_BYTES - 1, String(bytes(line)));
  assert.not.ok(line.includes("\uFFFD"));
  assert.ok(line.includes('event="evt_1"] \uFEFFéé'));
});

test("formatSyslog() rejects an invalid time, a too-small limit and a header that cannot fit", () => {
  assert.throws(() => formatSyslog({ ...BASE, time: Number.NaN }), /time is invalid/);
  assert.throws(() => formatSyslog(BASE, { maxBytes: 100 }), /'maxBytes' must be an integer >= 480: current value is 100/);
  assert.throws(() => formatSyslog({ ...BASE, data: { big: "x".repeat(600) } }, { maxBytes: 480 }), /take \d+ bytes: the limit is 480/);
});

test.run();
