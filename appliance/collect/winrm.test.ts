/**
 * The winrm transport against reconstructed recordings of Windows WinRM 2.0 traffic (fixtures/winrm/, see its
 * README): a stand-in for a real Windows host, served over real HTTP/HTTPS on loopback by _test-winrm-replay.ts,
 * which checks every request as a host would (including verifying NTLMv2 responses) and replays the answers.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CollectError } from "./errors.ts";
import { memoryPinStore, pinKey, type PinStore } from "./pins.ts";
import { runPowerShellJson } from "./powershell-json.ts";
import type { Transport, TransportLog } from "./transport.ts";
import { createWinrmTransport, encodedPowerShellArgs, quoteWindowsArg, type WinrmAuth, type WinrmTransportOptions } from "./winrm.ts";
import { loadFixture, pemFingerprint, type Replay, startReplay, type WinrmFixture } from "./_test-winrm-replay.ts";

const FIREWALL_SCRIPT = "Get-NetFirewallProfile | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Enabled = [bool]$_.Enabled } }";

let dir: string;
let certA: { key: string; cert: string };
let certB: { key: string; cert: string };
const replays: Replay[] = [];
const transports: Transport[] = [];

function makeCert(name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=WIN-DC01.clinic.local", "-keyout", key, "-out", cert,
  ], { stdio: "ignore" });
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), "osiris-winrm-"));
  certA = makeCert("a");
  certB = makeCert("b");
});

test.after.each(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(replays.splice(0).map((r) => r.close()));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Serves a fixture over HTTPS with certificate A, another certificate, or plain HTTP (`null`). */
async function serve(fixture: WinrmFixture | string, tls: { key: string; cert: string } | null = certA): Promise<Replay> {
  const r = await startReplay(typeof fixture === "string" ? loadFixture(fixture) : fixture, tls ?? undefined);
  replays.push(r);
  return r;
}

function transport(r: Replay, auth: WinrmAuth, over: Partial<WinrmTransportOptions> = {}): Transport {
  const t = createWinrmTransport({
    host: "127.0.0.1",
    port: r.port,
    https: r.url.startsWith("https:"),
    auth,
    pins: memoryPinStore(),
    connectTimeoutMs: 2_000,
    ...over,
  });
  transports.push(t);
  return t;
}

function basic(f: WinrmFixture, password = f.credentials.password): WinrmAuth {
  return { kind: "basic", username: f.credentials.username, password };
}

async function rejects(p: Promise<unknown>): Promise<CollectError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CollectError) return err;
    throw err;
  }
  throw new Error("expected a CollectError, got a result");
}

test("recorded Windows host (reconstructed): Basic over HTTPS runs a PowerShell JSON check end to end and pins the certificate", async () => {
  const f = loadFixture("basic-success.json");
  const r = await serve(f);
  const pins = memoryPinStore();
  const logs: Parameters<TransportLog>[0][] = [];
  const t = transport(r, basic(f), { pins, log: (e) => logs.push(e) });
  const value = await runPowerShellJson(t, FIREWALL_SCRIPT, { timeoutMs: 20_000 });
  assert.equal(r.errors, []);
  assert.ok(r.finished(), `served: ${r.served.join(" | ")}`);
  assert.equal(value, [
    { Name: "Domain", Enabled: true },
    { Name: "Private", Enabled: true },
    { Name: "Public", Enabled: false },
  ]);
  assert.equal(pins.entries(), { [pinKey("winrm", "127.0.0.1", r.port)]: pemFingerprint(certA.cert) });
  assert.ok(logs.some((e) => e.msg === "winrm certificate trusted on first use"));
});

test("recorded Windows host (reconstructed): NTLM over HTTPS negotiates, answers the challenge and authenticates every request on one connection", async () => {
  const f = loadFixture("ntlm-success.json");
  const r = await serve(f);
  const t = transport(r, { kind: "ntlm", username: f.credentials.username, password: f.credentials.password });
  const res = await t.run({ program: "hostname.exe", args: [] }, { timeoutMs: 20_000 });
  assert.equal(r.errors, []);
  assert.ok(r.finished(), `served: ${r.served.join(" | ")}`);
  assert.is(r.rejected, 0);
  assert.is(res.exitCode, 0);
  assert.is(res.stdout, "WIN-DC01\r\n");
  assert.is(res.stderr, "");
});

test("recorded Windows host (reconstructed): NTLM with a wrong password fails the host's NTLMv2 check with auth_failed", async () => {
  const f = loadFixture("ntlm-success.json");
  const r = await serve(f);
  const t = transport(r, { kind: "ntlm", username: f.credentials.username, password: "not-the-password" });
  const err = await rejects(t.run({ program: "hostname.exe", args: [] }, { timeoutMs: 20_000 }));
  assert.is(err.code, "auth_failed");
  assert.is(r.rejected, 1);
  assert.equal(r.errors, []);
});

test("recorded Windows host (reconstructed): HTTP 401 to Basic credentials is auth_failed", async () => {
  const f = loadFixture("http-401.json");
  const r = await serve(f);
  const err = await rejects(transport(r, basic(f, "wrong-password")).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 20_000 }));
  assert.is(err.code, "auth_failed");
  assert.match(err.message, /rejected the Basic credentials for osiris-scan/);
  assert.equal(r.errors, []);
  assert.ok(r.finished());
});

test("recorded Windows host (reconstructed): an AccessDenied SOAP fault is auth_failed with the host's reason", async () => {
  const f = loadFixture("soap-fault-access-denied.json");
  const r = await serve(f);
  const err = await rejects(transport(r, basic(f)).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 20_000 }));
  assert.is(err.code, "auth_failed");
  assert.match(err.message, /denied access to Create: Access is denied\./);
  assert.equal(err.details, { subcode: "w:AccessDenied", wsmanCode: "5" });
  assert.equal(r.errors, []);
});

test("recorded Windows host (reconstructed): a quota fault is remote_fault naming the fault and its code", async () => {
  const f = loadFixture("soap-fault-quota.json");
  const r = await serve(f);
  const err = await rejects(transport(r, basic(f)).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 20_000 }));
  assert.is(err.code, "remote_fault");
  assert.match(err.message, /fault w:QuotaLimit \(2150859173\): The WS-Management service cannot process the request\. This user is allowed a maximum number of 30 concurrent shells/);
  assert.equal(r.errors, []);
});

test("recorded Windows host (reconstructed): a command that never finishes times out, then is terminated and its shell deleted", async () => {
  const f = loadFixture("command-timeout.json");
  const r = await serve(f);
  const started = Date.now();
  const err = await rejects(transport(r, basic(f)).run({ script: "Start-Sleep -Seconds 3600", shell: "powershell" }, { timeoutMs: 1_200 }));
  assert.is(err.code, "timeout");
  assert.ok(Date.now() - started < 4_000);
  assert.equal(r.errors, []);
  assert.ok(r.finished(), `Signal and Delete were sent; served: ${r.served.join(" | ")}`);
  assert.ok(r.served.filter((n) => n.startsWith("Receive")).length >= 2, "Receive was retried after each OperationTimeout fault");
});

test("recorded Windows host (reconstructed): aborting a running command still terminates it and deletes the shell", async () => {
  const f = loadFixture("command-timeout.json");
  const r = await serve(f);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 500);
  const err = await rejects(transport(r, basic(f)).run({ script: "Start-Sleep -Seconds 3600", shell: "powershell" }, { timeoutMs: 20_000, signal: ac.signal }));
  assert.is(err.code, "aborted");
  assert.equal(r.errors, []);
  assert.ok(r.finished());
});

test("recorded Windows host (reconstructed): a truncated XML answer is a protocol error", async () => {
  const f = loadFixture("malformed-xml.json");
  const r = await serve(f);
  const err = await rejects(transport(r, basic(f)).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 20_000 }));
  assert.is(err.code, "protocol");
  assert.match(err.message, /not well-formed XML/);
  assert.equal(r.errors, []);
});

test("a certificate that differs from the pin fails with host_key_mismatch before any request is sent", async () => {
  const f = loadFixture("basic-success.json");
  const r = await serve(f, certB);
  const pins: PinStore = memoryPinStore({ [pinKey("winrm", "127.0.0.1", r.port)]: pemFingerprint(certA.cert) });
  const err = await rejects(transport(r, basic(f), { pins }).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 20_000 }));
  assert.is(err.code, "host_key_mismatch");
  assert.equal(err.details, { pinned: pemFingerprint(certA.cert), presented: pemFingerprint(certB.cert) });
  assert.is(r.requests, 0, "no request, and so no credential, reached the host");
});

test("Basic over plain HTTP is refused unless allowUnencrypted, and then works (reconstructed recording)", async () => {
  const f = loadFixture("basic-success.json");
  const r = await serve(f, null);
  try {
    transport(r, basic(f));
    assert.unreachable("should refuse");
  } catch (err) {
    assert.instance(err, CollectError);
    assert.is((err as CollectError).code, "unsupported");
    assert.match((err as CollectError).message, /clear text.*HTTPS \(port 5986\)/);
  }
  assert.is(r.requests, 0);
  const value = await runPowerShellJson(transport(r, basic(f), { allowUnencrypted: true }), FIREWALL_SCRIPT, { timeoutMs: 20_000 });
  assert.equal(r.errors, []);
  assert.is((value as unknown[]).length, 3);
});

test("NTLM over plain HTTP is refused with advice to use HTTPS", () => {
  try {
    createWinrmTransport({ host: "127.0.0.1", https: false, auth: { kind: "ntlm", username: "CLINIC\\x", password: "p" }, pins: memoryPinStore() });
    assert.unreachable("should refuse");
  } catch (err) {
    assert.instance(err, CollectError);
    assert.is((err as CollectError).code, "unsupported");
    assert.match((err as CollectError).message, /Refusing NTLM over plain HTTP.*message encryption.*Use HTTPS \(port 5986\)/);
  }
});

test("a closed port is unreachable, and so is a host that never completes the TLS handshake", async () => {
  const silent: Server = createServer(() => {});
  await new Promise<void>((res) => silent.listen(0, "127.0.0.1", res));
  const addr = silent.address();
  const silentPort = typeof addr === "object" && addr ? addr.port : 0;
  const closed = createServer();
  await new Promise<void>((res) => closed.listen(0, "127.0.0.1", res));
  const ca = closed.address();
  const closedPort = typeof ca === "object" && ca ? ca.port : 0;
  await new Promise<void>((res) => closed.close(() => res()));
  try {
    const auth: WinrmAuth = { kind: "basic", username: "u", password: "p" };
    const mk = (port: number) => {
      const t = createWinrmTransport({ host: "127.0.0.1", port, auth, pins: memoryPinStore(), connectTimeoutMs: 400 });
      transports.push(t);
      return t;
    };
    const e1 = await rejects(mk(closedPort).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 5_000 }));
    assert.is(e1.code, "unreachable");
    assert.match(e1.message, /ECONNREFUSED/);
    const started = Date.now();
    const e2 = await rejects(mk(silentPort).run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 5_000 }));
    assert.is(e2.code, "unreachable");
    assert.ok(Date.now() - started < 2_500);
  } finally {
    silent.close();
  }
});

test("refuses sh scripts and over-long command lines before sending anything", async () => {
  const f = loadFixture("basic-success.json");
  const r = await serve(f);
  const t = transport(r, basic(f));
  assert.is((await rejects(t.run({ script: "uname", shell: "sh" }, { timeoutMs: 1_000 }))).code, "unsupported");
  try {
    await t.run({ script: "x".repeat(20_000), shell: "powershell" }, { timeoutMs: 1_000 });
    assert.unreachable("should refuse");
  } catch (err) {
    assert.instance(err, RangeError);
  }
  assert.is(r.requests, 0);
});

test("quoteWindowsArg() produces arguments CommandLineToArgvW gives back unchanged", () => {
  const cases: [string, string][] = [
    ["plain", "plain"],
    ["", '""'],
    ["two words", '"two words"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["C:\\Program Files\\x\\", '"C:\\Program Files\\x\\\\"'],
    ["a\\\\b", "a\\\\b"],
    ['back\\"quote', '"back\\\\\\"quote"'],
  ];
  for (const [input, want] of cases) assert.is(quoteWindowsArg(input), want, input);
});

test("encodedPowerShellArgs() sends the script as base64 UTF-16LE with progress output silenced", () => {
  const args = encodedPowerShellArgs("Write-Output 'ünï ✓'");
  assert.equal(args.slice(0, 3), ["-NoProfile", "-NonInteractive", "-EncodedCommand"]);
  const script = Buffer.from(args[3] ?? "", "base64").toString("utf16le");
  assert.is(script, "$ProgressPreference = 'SilentlyContinue'\nWrite-Output 'ünï ✓'");
  assert.match(args[3] ?? "", /^[A-Za-z0-9+/]+=*$/);
});

test("a planted password appears in no error or log entry on any failure path (reconstructed recordings)", async () => {
  const secret = `Planted-Secret-${crypto.randomUUID()}`;
  const entries: string[] = [];
  const log: TransportLog = (e) => entries.push(JSON.stringify(e));
  const record = (err: unknown) => {
    const e = err as CollectError;
    entries.push(e.message, String(e.stack), JSON.stringify(e), JSON.stringify(e.details ?? {}));
  };
  const withSecret = (name: string): WinrmFixture => {
    const f = loadFixture(name);
    return { ...f, credentials: { ...f.credentials, password: secret } };
  };
  const run = async (t: Transport, timeoutMs = 20_000) => {
    try {
      await t.run({ script: "Start-Sleep -Seconds 3600", shell: "powershell" }, { timeoutMs });
      assert.unreachable("should fail");
    } catch (err) {
      record(err);
    }
  };
  const basicWrong = await serve("http-401.json");
  await run(transport(basicWrong, { kind: "basic", username: "osiris-scan", password: secret }, { log }));
  const ntlm = await serve("ntlm-success.json");
  await run(transport(ntlm, { kind: "ntlm", username: "CLINIC\\osiris-scan", password: secret }, { log }));
  for (const name of ["soap-fault-access-denied.json", "soap-fault-quota.json", "malformed-xml.json"]) {
    const f = withSecret(name);
    await run(transport(await serve(f), basic(f), { log }));
  }
  const slow = withSecret("command-timeout.json");
  await run(transport(await serve(slow), basic(slow), { log }), 800);
  const mismatch = await serve(withSecret("basic-success.json"), certB);
  await run(transport(mismatch, { kind: "basic", username: "osiris-scan", password: secret }, {
    log,
    pins: memoryPinStore({ [pinKey("winrm", "127.0.0.1", mismatch.port)]: pemFingerprint(certA.cert) }),
  }));
  const gone = createWinrmTransport({ host: "127.0.0.1", port: 1, auth: { kind: "ntlm", username: "CLINIC\\x", password: secret }, pins: memoryPinStore(), log });
  transports.push(gone);
  await run(gone);
  try {
    createWinrmTransport({ host: "127.0.0.1", https: false, auth: { kind: "basic", username: "u", password: secret }, pins: memoryPinStore(), log });
  } catch (err) {
    record(err);
  }
  const all = entries.join("\n");
  assert.ok(entries.length >= 36, "every path produced an error");
  assert.not.ok(all.includes(secret), "the planted password leaked");
  assert.not.ok(all.includes(Buffer.from(`osiris-scan:${secret}`).toString("base64")), "the Basic header leaked");
});

test.run();
