import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { buildResellerEvent, eventToSyslog, MAX_EVENT_MESSAGE_CHARS, publishResellerEvent, type ResellerEventInput } from "./events.ts";
import { formatSyslog, STREAM_MAX_MESSAGE_BYTES, syslogConnector, SyslogSender } from "../../node/syslog/index.ts";
import { webCryptoHmacSha256, type WebhookDeps } from "./webhook.ts";
import { startRsyslog } from "../../node/syslog/_rsyslog.ts";

const INPUT: ResellerEventInput = {
  site_id: "site_0a1b2c3d",
  appliance_id: "app_9f8e7d6c",
  host_id: "host_ws01",
  check_id: "win.firewall.enabled",
  outcome: "escalated",
  tier: "L3",
  severity: "high",
  time: Date.UTC(2026, 10, 27, 22, 35, 36, 123),
  message: "Firewall still disabled after runbook; front desk says call Dr. Roe at (555) 123-4567 or roe@clinic.example",
};
const PHI = ["555", "123-4567", "roe@clinic.example"];

test("buildResellerEvent() produces the PHI-free event shape with a content-derived id", () => {
  const { event, redactions } = buildResellerEvent(INPUT);
  assert.equal(Object.keys(event).sort(), ["appliance_id", "check_id", "host_id", "id", "message", "outcome", "schema", "severity", "site_id", "tier", "time"]);
  assert.is(event.schema, "osiris.reseller-event/v1");
  assert.is(event.time, "2026-11-27T22:35:36.123Z");
  assert.is(event.message, "Firewall still disabled after runbook; front desk says call Dr. Roe at [REDACTED:phone] or [REDACTED:email]");
  assert.equal(redactions, [{ kind: "phone", count: 1 }, { kind: "email", count: 1 }]);
  assert.match(event.id, /^evt_[0-9a-f]{32}$/);
  assert.is(buildResellerEvent(INPUT).event.id, event.id, "same input, same id");
  assert.is.not(buildResellerEvent({ ...INPUT, outcome: "success" }).event.id, event.id);
});

test("buildResellerEvent() fills absent host, check and tier with null", () => {
  const { event } = buildResellerEvent({ ...INPUT, host_id: undefined, check_id: null, tier: undefined });
  assert.is(event.host_id, null);
  assert.is(event.check_id, null);
  assert.is(event.tier, null);
});

test("buildResellerEvent() scrubs before truncating, so PHI at the cut never leaks", () => {
  const message = `${"x".repeat(MAX_EVENT_MESSAGE_CHARS - 8)} SSN 123-45-6789 ${"y".repeat(5_000)}`;
  const { event, redactions } = buildResellerEvent({ ...INPUT, message });
  assert.is(event.message.length, MAX_EVENT_MESSAGE_CHARS);
  assert.ok(event.message.endsWith("…"));
  assert.not.match(event.message, /\d{2}/);
  assert.equal(redactions, [{ kind: "ssn", count: 1 }]);
});

test("buildResellerEvent() rejects input outside the shape with a message naming the field", () => {
  const bad: [Partial<ResellerEventInput>, RegExp][] = [
    [{ site_id: "" }, /'site_id' must be 1-128 characters/],
    [{ host_id: "jane doe's pc" }, /'host_id' must be 1-128 characters of \[A-Za-z0-9._:-\]: current value is "jane doe's pc"/],
    [{ appliance_id: "a@b.example" }, /'appliance_id'/],
    [{ outcome: "exploded" as never }, /'outcome' must be one of pass, fail/],
    [{ tier: "L4" as never }, /'tier' must be L1, L2, L3 or null/],
    [{ severity: "urgent" as never }, /'severity'/],
    [{ time: Number.NaN }, /'time' must be a valid time/],
  ];
  for (const [override, message] of bad) assert.throws(() => buildResellerEvent({ ...INPUT, ...override }), message, JSON.stringify(override));
});

test("eventToSyslog() puts every field in the osiris structured data and maps severity", () => {
  const { event } = buildResellerEvent(INPUT);
  const line = formatSyslog(eventToSyslog(event, { facility: "local4", hostname: "osiris-appliance", procId: 7 }));
  assert.is(
    line,
    `<163>1 2026-11-27T22:35:36.123Z osiris-appliance osiris 7 escalated [osiris@32473 event="${event.id}" site="site_0a1b2c3d" appliance="app_9f8e7d6c" ` +
      `host="host_ws01" check="win.firewall.enabled" outcome="escalated" tier="L3" severity="high"] \uFEFF${event.message}`,
  );
  const sev = (severity: ResellerEventInput["severity"]) => eventToSyslog(buildResellerEvent({ ...INPUT, severity }).event, { facility: "user", hostname: "h" }).severity;
  assert.equal(["critical", "high", "medium", "low", "info"].map((s) => sev(s as ResellerEventInput["severity"])), ["critical", "error", "warning", "notice", "info"]);
});

test("publishResellerEvent() delivers only the scrubbed event to a real rsyslog and a real webhook receiver", async () => {
  const rsyslog = await startRsyslog({ tcp: true });
  const bodies: { body: string; signature: string | undefined }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      bodies.push({ body, signature: req.headers["x-osiris-signature"] as string | undefined });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sender = new SyslogSender({ connect: syslogConnector({ transport: "tcp", host: "127.0.0.1", port: rsyslog.ports.tcp }) });
  try {
    const deps: WebhookDeps = { fetch: globalThis.fetch, hmac: webCryptoHmacSha256, now: Date.now, random: Math.random, sleep: async () => {} };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const result = await publishResellerEvent(INPUT, {
      syslog: { sender, facility: "local4", hostname: "osiris-appliance", maxBytes: STREAM_MAX_MESSAGE_BYTES },
      webhook: { target: { url, secret: "s3cret" }, deps },
    });
    assert.is(result.syslog, "queued");
    assert.equal(result.webhook, { ok: true, attempts: 1, status: 200, error: null });
    assert.ok(await sender.flush(5_000));

    const [line] = await rsyslog.received(1);
    assert.ok(line);
    assert.ok(line.sd.includes(`event="${result.event.id}"`) && line.sd.includes('outcome="escalated"'), line.sd);
    assert.is(line.msg, `\uFEFF${result.event.message}`);
    const [hook] = bodies;
    assert.ok(hook);
    assert.equal(JSON.parse(hook.body), result.event);
    assert.is(hook.signature, `sha256=${createHmac("sha256", "s3cret").update(hook.body).digest("hex")}`);
    for (const phi of PHI) {
      assert.not.ok(line.raw.includes(phi), `syslog carries ${phi}`);
      assert.not.ok(hook.body.includes(phi), `webhook carries ${phi}`);
    }
  } finally {
    await sender.close();
    server.closeAllConnections(); // the client's keep-alive connection would hold close() for seconds
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rsyslog.stop();
  }
});

test("publishResellerEvent() reports a closed syslog sender and skips unconfigured channels", async () => {
  const result = await publishResellerEvent(INPUT, { syslog: { sender: { send: () => false }, facility: "user", hostname: "h", maxBytes: 2048 } });
  assert.is(result.syslog, "refused");
  assert.is(result.webhook, null);
  assert.is((await publishResellerEvent(INPUT, {})).syslog, null);
});

test.run();
