/**
 * The ssh transport against a real OpenSSH server (Debian's openssh-server) that each suite starts on a
 * loopback port with freshly generated keys; see _test-sshd.ts for how the password account is provided
 * without touching this machine's accounts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { CollectError } from "./errors.ts";
import { memoryPinStore, pinKey } from "./pins.ts";
import { createSshTransport, type SshAuth, type SshTransportOptions } from "./ssh.ts";
import { quoteShellWord } from "./ssh-command.ts";
import type { Transport, TransportLog } from "./transport.ts";
import { freePort } from "../../node/_test-ports.ts";
import { sshdMissing, startSshd, type TestSshd } from "./_test-sshd.ts";

const missing = sshdMissing();
if (missing) throw new Error(`The ssh transport tests need a real sshd: ${missing}`);

let sshd: TestSshd;
let kbd: TestSshd;
const opened: Transport[] = [];

test.before(async () => {
  [sshd, kbd] = await Promise.all([startSshd("password"), startSshd("keyboard-interactive")]);
});

test.after.each(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

test.after(async () => {
  await Promise.all([sshd?.stop(), kbd?.stop()]);
});

function transport(over: Partial<SshTransportOptions> & { auth?: SshAuth } = {}, server: TestSshd = sshd): Transport {
  const t = createSshTransport({
    host: "127.0.0.1",
    port: server.port,
    username: "root",
    auth: { kind: "key", privateKey: server.userKey },
    pins: memoryPinStore(),
    connectTimeoutMs: 5_000,
    ...over,
  });
  opened.push(t);
  return t;
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

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 3_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && alive(pid)) await new Promise((r) => setTimeout(r, 25));
  return !alive(pid);
}

test("connects with a key, pins the host key on first use as ssh-keygen prints it, and runs a program", async () => {
  const pins = memoryPinStore();
  const logs: Parameters<TransportLog>[0][] = [];
  const t = transport({ pins, log: (e) => logs.push(e) });
  const r = await t.run({ program: "id", args: ["-u"] }, { timeoutMs: 10_000 });
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, "0\n");
  assert.equal(pins.entries(), { [pinKey("ssh", "127.0.0.1", sshd.port)]: sshd.hostKeyFingerprint });
  assert.ok(logs.some((e) => e.msg === "ssh host key trusted on first use" && e.fingerprint === sshd.hostKeyFingerprint));
  assert.is(t.target, `ssh root@127.0.0.1:${sshd.port}`);
});

test("accepts a host whose key matches the pin", async () => {
  const pins = memoryPinStore({ [pinKey("ssh", "127.0.0.1", sshd.port)]: sshd.hostKeyFingerprint });
  const r = await transport({ pins }).run({ program: "true", args: [] }, { timeoutMs: 10_000 });
  assert.is(r.exitCode, 0);
});

test("passes every argument literally through the remote login shell", async () => {
  const args = ["plain", "two words", "it's", `"dq"`, "$(id)", "`id`", "; exit 9", "*", "", "new\nline", "back\\slash", "ünï ✓"];
  const r = await transport().run({ program: "printf", args: ["[%s]\\n", ...args] }, { timeoutMs: 10_000 });
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, args.map((a) => `[${a}]\n`).join(""));
  assert.is(quoteShellWord("it's"), `'it'\\''s'`);
});

test("sends an sh script over stdin to sh -s and reports exit code, stdout and stderr", async () => {
  const script = `x='single '"'"'quoted'"'"''\necho "$x"\necho "to stderr ✓" >&2\nexit 3\n`;
  const r = await transport().run({ script, shell: "sh" }, { timeoutMs: 10_000 });
  assert.is(r.exitCode, 3);
  assert.is(r.stdout, "single 'quoted'\n");
  assert.is(r.stderr, "to stderr ✓\n");
});

test("reuses one connection for consecutive and concurrent commands", async () => {
  const t = transport();
  const conn = async () => (await t.run({ script: 'echo "$SSH_CONNECTION"', shell: "sh" }, { timeoutMs: 10_000 })).stdout;
  const first = await conn();
  const parallel = await Promise.all(Array.from({ length: 6 }, conn));
  assert.ok(first.length > 0);
  for (const c of parallel) assert.is(c, first);
});

test("reconnects after an idle close", async () => {
  const t = transport({ idleCloseMs: 50 });
  const conn = async () => (await t.run({ script: 'echo "$SSH_CONNECTION"', shell: "sh" }, { timeoutMs: 10_000 })).stdout;
  const first = await conn();
  await new Promise((r) => setTimeout(r, 300));
  const second = await conn();
  assert.is.not(second, first, "a new TCP connection (new client port) was opened");
});

test("times out, kills the remote command's process group, and the connection stays usable", async () => {
  const t = transport();
  const pidFile = join(sshd.dir, "timeout.pids");
  const started = Date.now();
  const err = await rejects(
    // 4 s leaves a loaded CI machine time to start the remote shell before the timeout fires.
    t.run({ script: `echo $$ > '${pidFile}'\nsleep 60 &\necho $! >> '${pidFile}'\nwait\n`, shell: "sh" }, { timeoutMs: 4_000 }),
  );
  assert.is(err.code, "timeout");
  assert.ok(Date.now() - started < 10_000);
  const pids = readFileSync(pidFile, "utf8").trim().split("\n").map(Number);
  assert.is(pids.length, 2);
  for (const pid of pids) assert.ok(await waitDead(pid), `remote process ${pid} was killed`);
  assert.is((await t.run({ program: "echo", args: ["still here"] }, { timeoutMs: 10_000 })).stdout, "still here\n");
});

test("ends background processes a command leaves behind when it exits", async () => {
  const started = Date.now();
  const r = await transport().run({ script: "sleep 30 >/dev/null 2>&1 &\necho $!\n", shell: "sh" }, { timeoutMs: 10_000 });
  assert.is(r.exitCode, 0);
  assert.ok(Date.now() - started < 5_000);
  assert.ok(await waitDead(Number(r.stdout.trim())), "the background sleep was killed");
});

test("reports a missing remote program as exit code 127", async () => {
  const r = await transport().run({ program: "osiris-no-such-program", args: [] }, { timeoutMs: 10_000 });
  assert.is(r.exitCode, 127);
});

test("stops a command that prints more than its cap with output_too_large", async () => {
  const t = transport();
  const err = await rejects(t.run({ program: "yes", args: [] }, { timeoutMs: 10_000, maxOutputBytes: 64 * 1024 }));
  assert.is(err.code, "output_too_large");
  assert.is((await t.run({ program: "echo", args: ["ok"] }, { timeoutMs: 10_000 })).stdout, "ok\n");
});

/** Pids whose command line is exactly `argv` (read from /proc; sshd runs on this machine). */
function pidsOf(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8") === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

test("rejects with aborted when the caller's signal fires, and the remote program is killed", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 500);
  const argv = ["sleep", "31.25"];
  const err = await rejects(transport().run({ program: argv[0] ?? "", args: argv.slice(1) }, { timeoutMs: 20_000, signal: ac.signal }));
  assert.is(err.code, "aborted");
  const until = Date.now() + 3_000;
  while (pidsOf(argv).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  assert.equal(pidsOf(argv), [], "the remote sleep is gone");
});

test("a key the server does not accept fails with auth_failed", async () => {
  const err = await rejects(transport({ auth: { kind: "key", privateKey: sshd.otherKey } }).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
  assert.is(err.code, "auth_failed");
});

test("an unreadable private key fails with auth_failed", async () => {
  const err = await rejects(transport({ auth: { kind: "key", privateKey: "not a key" } }).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
  assert.is(err.code, "auth_failed");
});

test("a host key that differs from the pin fails with host_key_mismatch before any authentication", async () => {
  const wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  const pins = memoryPinStore({ [pinKey("ssh", "127.0.0.1", sshd.port)]: wrong });
  const logBefore = sshd.log().length;
  const err = await rejects(transport({ pins }).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
  assert.is(err.code, "host_key_mismatch");
  assert.equal(err.details, { pinned: wrong, presented: sshd.hostKeyFingerprint });
  assert.equal(pins.entries(), { [pinKey("ssh", "127.0.0.1", sshd.port)]: wrong }, "the pin was not replaced");
  await new Promise((r) => setTimeout(r, 200));
  const newLog = sshd.log().slice(logBefore);
  assert.not.match(newLog, /Accepted|Failed publickey|userauth/i, "no credential reached the server");
});

test("a closed port fails with unreachable", async () => {
  const port = await freePort();
  const err = await rejects(transport({ port }).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
  assert.is(err.code, "unreachable");
  assert.match(err.message, /ECONNREFUSED/);
});

test("a host that accepts TCP but never speaks SSH fails with unreachable after the connect timeout", async () => {
  const silent: Server = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const addr = silent.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  try {
    const started = Date.now();
    const err = await rejects(transport({ port, connectTimeoutMs: 400 }).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
    assert.is(err.code, "unreachable");
    assert.ok(Date.now() - started < 3_000);
  } finally {
    silent.close();
  }
});

test("close() stops running commands and later runs fail with closed", async () => {
  const t = transport();
  await t.run({ program: "true", args: [] }, { timeoutMs: 10_000 });
  const running = rejects(t.run({ program: "sleep", args: ["30"] }, { timeoutMs: 20_000 }));
  await new Promise((r) => setTimeout(r, 300));
  await t.close();
  assert.is((await running).code, "closed");
  assert.is((await rejects(t.run({ program: "true", args: [] }, { timeoutMs: 1_000 }))).code, "closed");
});

test("refuses PowerShell scripts with unsupported", async () => {
  const err = await rejects(transport().run({ script: "Get-Date", shell: "powershell" }, { timeoutMs: 1_000 }));
  assert.is(err.code, "unsupported");
});

test("password authentication works, and a wrong password fails with auth_failed", async () => {
  const user = sshd.passwordUser;
  if (!user) throw new Error("mount namespaces are not available here, so no throwaway password account could be provided");
  const ok = await transport({ username: user.name, auth: { kind: "password", password: user.password } }).run({ program: "id", args: ["-un"] }, { timeoutMs: 10_000 });
  assert.is(ok.stdout, `${user.name}\n`);
  const err = await rejects(transport({ username: user.name, auth: { kind: "password", password: "wrong" } }).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
  assert.is(err.code, "auth_failed");
});

test("password authentication answers a PAM keyboard-interactive password prompt", async () => {
  const user = kbd.passwordUser;
  if (!user) throw new Error("mount namespaces are not available here, so no throwaway password account could be provided");
  const ok = await transport({ username: user.name, auth: { kind: "password", password: user.password } }, kbd).run({ program: "id", args: ["-un"] }, { timeoutMs: 10_000 });
  assert.is(ok.stdout, `${user.name}\n`);
  const err = await rejects(transport({ username: user.name, auth: { kind: "password", password: "wrong" } }, kbd).run({ program: "true", args: [] }, { timeoutMs: 10_000 }));
  assert.is(err.code, "auth_failed");
});

test("a planted password, passphrase and private key appear in no error or log entry on any failure path", async () => {
  const secret = `Planted-Secret-${crypto.randomUUID()}`;
  const keyPath = join(sshd.dir, "secret_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", secret, "-C", "", "-f", keyPath], { stdio: "ignore" });
  const encryptedKey = readFileSync(keyPath, "utf8");
  const keyBody = encryptedKey.split("\n").filter((l) => l && !l.startsWith("-----"));
  const entries: string[] = [];
  const log: TransportLog = (e) => entries.push(JSON.stringify(e));
  const closedPort = await freePort();
  const wrongPin = memoryPinStore({ [pinKey("ssh", "127.0.0.1", sshd.port)]: "SHA256:wrong" });
  const pw = (password: string) => ({ kind: "password", password }) as const;
  const cases: [Partial<SshTransportOptions>, { program: string; args: string[] } | { script: string; shell: "sh" }, number][] = [
    [{ auth: pw(secret) }, { program: "true", args: [] }, 10_000], // root refuses passwords here: auth_failed
    [{ username: sshd.passwordUser?.name ?? "nobody", auth: pw(secret) }, { program: "true", args: [] }, 10_000],
    [{ auth: { kind: "key", privateKey: encryptedKey, passphrase: "wrong" } }, { program: "true", args: [] }, 10_000],
    [{ auth: { kind: "key", privateKey: encryptedKey } }, { program: "true", args: [] }, 10_000],
    [{ auth: { kind: "key", privateKey: encryptedKey, passphrase: secret } }, { program: "true", args: [] }, 10_000], // key not authorized
    [{ auth: pw(secret), pins: wrongPin }, { program: "true", args: [] }, 10_000],
    [{ auth: pw(secret), port: closedPort }, { program: "true", args: [] }, 10_000],
    [{}, { program: "sleep", args: ["10"] }, 300],
    [{}, { program: "yes", args: [] }, 10_000],
  ];
  let failures = 0;
  for (const [over, cmd, timeoutMs] of cases) {
    try {
      await transport({ ...over, log }).run(cmd, { timeoutMs, maxOutputBytes: 4096 });
    } catch (err) {
      failures++;
      const e = err as CollectError;
      entries.push(e.message, String(e.stack), JSON.stringify(e), JSON.stringify(e.details ?? {}));
    }
  }
  assert.is(failures, cases.length, "every case failed");
  const all = entries.join("\n");
  assert.not.ok(all.includes(secret), "the planted secret leaked");
  for (const line of keyBody) assert.not.ok(all.includes(line), "private key material leaked");
});

test.run();
