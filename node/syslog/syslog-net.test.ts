/**
 * The syslog output against a real rsyslog (Debian packages `rsyslog` and `rsyslog-openssl`) on loopback, over
 * UDP, TCP and TLS. Certificates are generated for each run with the `openssl` command.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { formatSyslog, UDP_MAX_MESSAGE_BYTES, type SyslogMessage } from "./syslog.ts";
import { syslogConnector, type SyslogEndpoint } from "./syslog-net.ts";
import { SyslogSender } from "./syslog-sender.ts";
import { freeTcpUdpPort, requireRsyslogTls, startRsyslog, type ReceivedSyslog } from "./_rsyslog.ts";

const run = promisify(execFile);

const MESSAGE: SyslogMessage = {
  facility: "local4",
  severity: "warning",
  time: Date.UTC(2026, 10, 27, 22, 35, 36, 123),
  hostname: "osiris-appliance",
  procId: 4242,
  msgId: "escalated",
  data: { site: "site_0a1b2c3d", event: "evt_42", check: "win.firewall.enabled", note: 'quote " and ] and \\' },
  message: "Firewall disabled on host ws-01; escalated to L3",
};

function assertReceived(got: ReceivedSyslog | undefined, message: string): void {
  assert.ok(got, "nothing received");
  assert.is(got.pri, "164"); // local4 (20) × 8 + warning (4)
  assert.is(got.time, "2026-11-27T22:35:36.123Z");
  assert.is(got.hostname, "osiris-appliance");
  assert.is(got.app, "osiris");
  assert.is(got.procid, "4242");
  assert.is(got.msgid, "escalated");
  assert.is(got.sd, '[osiris@32473 site="site_0a1b2c3d" event="evt_42" check="win.firewall.enabled" note="quote \\" and \\] and \\\\"]');
  assert.is(got.msg, `\uFEFF${message}`);
}

async function sendAll(endpoint: SyslogEndpoint, lines: string[]): Promise<SyslogSender> {
  const sender = new SyslogSender({ connect: syslogConnector(endpoint), backoffBaseMs: 50, backoffCapMs: 200 });
  for (const line of lines) sender.send(line);
  assert.ok(await sender.flush(5_000), `not flushed: ${JSON.stringify(sender.stats())}`);
  return sender;
}

test("a UDP sender's message reaches rsyslog with header, structured data and message intact", async () => {
  const rsyslog = await startRsyslog({ udp: true });
  try {
    const sender = await sendAll({ transport: "udp", host: "127.0.0.1", port: rsyslog.ports.udp }, [
      formatSyslog(MESSAGE, { maxBytes: UDP_MAX_MESSAGE_BYTES }),
    ]);
    const [got] = await rsyslog.received(1);
    assert.is(got?.input, "imudp");
    assertReceived(got, MESSAGE.message);
    await sender.close();
  } finally {
    await rsyslog.stop();
  }
});

test("a TCP sender frames by octet counting, so messages with newlines arrive whole and in order", async () => {
  const rsyslog = await startRsyslog({ tcp: true });
  try {
    const messages = ["first", "second\nspans two lines", "third é ü"];
    const sender = await sendAll(
      { transport: "tcp", host: "127.0.0.1", port: rsyslog.ports.tcp },
      messages.map((message) => formatSyslog({ ...MESSAGE, message })),
    );
    const got = await rsyslog.received(3);
    assert.is(got.length, 3);
    assert.ok(got.every((g) => g.input === "imtcp"));
    assertReceived(got[0], "first");
    assertReceived(got[1], "second#012spans two lines"); // rsyslog escapes the control character on receipt
    assertReceived(got[2], "third é ü");
    await sender.close();
  } finally {
    await rsyslog.stop();
  }
});

test("a TCP sender queues while rsyslog is down and delivers once it is up, and again after a restart", async () => {
  const port = await freeTcpUdpPort();
  const sender = new SyslogSender({ connect: syslogConnector({ transport: "tcp", host: "127.0.0.1", port }), backoffBaseMs: 50, backoffCapMs: 200 });
  sender.send(formatSyslog({ ...MESSAGE, message: "queued while down" }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(sender.stats().failures >= 1, "connect failed while nothing listened");
  assert.is(sender.stats().queued, 1);

  let rsyslog = await startRsyslog({ tcp: true, ports: { tcp: port } });
  try {
    assert.ok(await sender.flush(5_000));
    assertReceived((await rsyslog.received(1))[0], "queued while down");
    await rsyslog.stop();

    rsyslog = await startRsyslog({ tcp: true, ports: { tcp: port } });
    // The first write after the peer went away may be swallowed by the dead socket (syslog has no
    // acknowledgements); the sender notices the close and the following messages use a new connection.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 0; i < 3; i++) sender.send(formatSyslog({ ...MESSAGE, message: `after restart ${i}` }));
    assert.ok(await sender.flush(5_000));
    const got = await rsyslog.received(2);
    assert.ok(got.some((g) => g.msg === "\uFEFFafter restart 2"), JSON.stringify(got));
  } finally {
    await sender.close();
    await rsyslog.stop();
  }
});

async function makeCert(dir: string, name: string): Promise<{ certFile: string; keyFile: string; pem: string; sha256: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  try {
    await run("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-keyout", keyFile, "-out", certFile, "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
  } catch (error) {
    throw new Error(`openssl could not create a test certificate (install the Debian package openssl): ${String(error)}`);
  }
  const pem = await readFile(certFile, "utf8");
  return { certFile, keyFile, pem, sha256: new X509Certificate(pem).fingerprint256 };
}

test("a TLS sender (RFC 5425) delivers to rsyslog when the receiver's certificate chains to the given CA file", async () => {
  await requireRsyslogTls();
  const dir = await mkdtemp(join(tmpdir(), "osiris-tls-"));
  const cert = await makeCert(dir, "receiver");
  const rsyslog = await startRsyslog({ tls: cert });
  try {
    const sender = await sendAll({ transport: "tls", host: "127.0.0.1", port: rsyslog.ports.tls, tls: { caFile: cert.certFile } }, [formatSyslog(MESSAGE)]);
    const [got] = await rsyslog.received(1);
    assert.is(got?.input, "imtcp");
    assertReceived(got, MESSAGE.message);
    await sender.close();
  } finally {
    await rsyslog.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a TLS sender with a pinned certificate fingerprint delivers without a CA, and refuses a different certificate", async () => {
  await requireRsyslogTls();
  const dir = await mkdtemp(join(tmpdir(), "osiris-tls-"));
  const cert = await makeCert(dir, "receiver");
  const other = await makeCert(dir, "other");
  const rsyslog = await startRsyslog({ tls: cert });
  try {
    const endpoint = (tls: SyslogEndpoint["tls"]): SyslogEndpoint => ({ transport: "tls", host: "127.0.0.1", port: rsyslog.ports.tls, tls });
    const sender = await sendAll(endpoint({ pinSha256: cert.sha256 }), [formatSyslog({ ...MESSAGE, message: "pinned" })]);
    assertReceived((await rsyslog.received(1))[0], "pinned");
    await sender.close();

    const signal = AbortSignal.timeout(5_000);
    await syslogConnector(endpoint({ pinSha256: other.sha256 }))(signal).then(
      () => assert.unreachable("connected despite a wrong pin"),
      (error: Error) => assert.match(error.message, /does not match the pinned SHA-256 fingerprint/),
    );
    await syslogConnector(endpoint({ ca: other.pem }))(signal).then(
      () => assert.unreachable("connected despite an untrusted certificate"),
      (error: Error) => assert.match(error.message, /self[- ]signed|unable to verify|certificate/i),
    );
    // A correct pin does not override a CA that does not vouch for the receiver: both must hold.
    await syslogConnector(endpoint({ ca: other.pem, pinSha256: cert.sha256 }))(signal).then(
      () => assert.unreachable("connected with a pin but an untrusted chain"),
      (error: Error) => assert.match(error.message, /certificate/i),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is((await rsyslog.received(1)).length, 1, "nothing was sent over the refused connections");
  } finally {
    await rsyslog.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("syslogConnector() rejects bad endpoints when created, not when first used", () => {
  assert.throws(() => syslogConnector({ transport: "tcp", host: "127.0.0.1", port: 0 }), /'port' must be an integer in 1-65535: current value is 0/);
  assert.throws(() => syslogConnector({ transport: "udp", host: "", port: 514 }), /'host' is empty/);
  assert.throws(() => syslogConnector({ transport: "tcp", host: "h", port: 6514, tls: {} }), /TLS options were given for transport tcp/);
  assert.throws(() => syslogConnector({ transport: "tls", host: "h", port: 6514, tls: { pinSha256: "abc" } }), /64 hex digits/);
  assert.throws(() => syslogConnector({ transport: "tls", host: "h", port: 6514, tls: { caFile: "/nonexistent/ca.pem" } }), /CA file "\/nonexistent\/ca.pem" cannot be read/);
  assert.throws(() => syslogConnector({ transport: "tls", host: "h", port: 6514, tls: { ca: "x", caFile: "y" } }), /both 'ca' and 'caFile'/);
});

test.run();
