import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePushAck } from "../protocol/sync.ts";
import { errorOf, overHttp, TestAppliance, type Transport } from "../relay/_testing.ts";
import { systemClock } from "../relay/deps.ts";
import { memoryLog } from "../relay/log.ts";
import { runWith } from "./relay-admin.ts";

const OSIRIS = new URL("../bin/osiris.js", import.meta.url).pathname;
/** Start-up includes loading tsx; generous for a loaded CI machine. */
const START_TIMEOUT_MS = 30_000;

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** The exit code once the process has ended; undefined while it runs. */
  exitCode: () => number | null | undefined;
}

function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [OSIRIS, "relay", "serve", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve((exitCode = code))));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`relay did not start in time; stdout: ${out} stderr: ${err}`));
    }, START_TIMEOUT_MS);
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.includes('"relay_listening"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(line) as { url: string }).url, stdout: () => out, stderr: () => err, exited, exitCode: () => exitCode });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code} before listening; stderr: ${err}`));
    });
  });
}

/**
 * Requests to the served relay; a request that fails without an answer ("fetch failed") is reported with its
 * cause and what the relay process said, so a failure in a loaded CI run can be told apart (a crash, a reset).
 */
function diagnosed(served: Served): Transport {
  const http = overHttp(served.url);
  return async (path, init) => {
    try {
      return await http(path, init);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const code = served.exitCode();
      throw new Error(
        `${(e as Error).message} on ${path} (cause: ${cause?.code ?? ""} ${cause?.message ?? "none"}); relay ${code === undefined ? "still running" : `exited with ${code}`}; stderr: ${served.stderr().slice(-2000) || "(empty)"}; last log lines: ${served.stdout().split("\n").slice(-6).join("\n")}`,
      );
    }
  };
}

async function admin(db: string, ...args: string[]): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await runWith([...args, "--db", db, "--json"], { out: (l) => void lines.push(l), err: (l) => void errors.push(l), log: memoryLog().log });
  assert.is(code, 0, errors.join("\n"));
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

test("osiris relay serve runs on loopback: enroll, push with checkpoint, revoke from the admin CLI, stop on SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-serve-"));
  const db = join(dir, "relay.db");
  let served: Served | undefined;
  try {
    served = await serve(["--port", "0", "--db", db, "--key-file", join(dir, "relay.key")]);
    assert.match(served.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const msp = await admin(db, "create-msp", "--name", "Acme");
    const org = await admin(db, "create-org", "--msp", String(msp["id"]), "--name", "Clinic");
    const site = await admin(db, "create-site", "--org", String(org["id"]), "--name", "Main");
    const claim = await admin(db, "claim-code", "--site", String(site["id"]));

    const a = new TestAppliance(diagnosed(served), systemClock);
    assert.is((await a.enroll(String(claim["code"]))).status, 201);
    const res = await a.push(a.entries(await a.makeBundles(4)), await a.checkpoint());
    const ack = parsePushAck(await res.json());
    assert.is(ack.evidence.verified_seq, 4);
    assert.ok(ack.countersigned_checkpoint);

    await admin(db, "revoke-appliance", "--appliance", a.id, "--reason", "test");
    const refused = await a.request("GET", "/api/sync/pull");
    assert.is(refused.status, 401);
    assert.is((await errorOf(refused)).message, "appliance revoked");

    served.child.kill("SIGTERM");
    assert.is(await served.exited, 0);
    assert.match(served.stdout(), /"event":"relay_stopped"/);
    const logged = served.stdout().split("\n").filter(Boolean);
    assert.ok(logged.every((l) => JSON.parse(l) !== null), "every stdout line is a JSON log line");
    assert.not.ok(served.stdout().includes(a.token), "the token is never logged");
    served = undefined;
  } finally {
    if (served) {
      served.child.kill("SIGKILL");
      await served.exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
});

test("osiris relay serve refuses a bad port, --trust-proxy, --public-url or --smtp-from (exit 2), a certificate without its key and an unreadable --db-token-file (exit 1)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-serve-"));
  try {
    const runOnce = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [OSIRIS, "relay", "serve", ...args]);
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (code) => resolve({ code, stderr }));
      });
    assert.is((await runOnce(["--port", "http"])).code, 2);
    await writeFile(join(dir, "cert.pem"), "");
    const noKey = await runOnce(["--port", "0", "--db", join(dir, "r.db"), "--key-file", join(dir, "r.key"), "--tls-cert", join(dir, "cert.pem")]);
    assert.is(noKey.code, 1);
    assert.match(noKey.stderr, /both --tls-cert and --tls-key/);
    const badProxy = await runOnce(["--trust-proxy", "10.0.0.0/8,proxy.example"]);
    assert.is(badProxy.code, 2);
    assert.match(badProxy.stderr, /--trust-proxy: expected an IP address or CIDR .*"proxy\.example"/);
    const noToken = await runOnce(["--port", "0", "--db", "http://127.0.0.1:9/", "--db-token-file", join(dir, "missing-token")]);
    assert.is(noToken.code, 2);
    assert.match(noToken.stderr, /--db-token-file .*missing-token: no such file/);
    // Every file the relay reads at start is checked first, each named by its option, and nothing is created.
    const missing = await runOnce(["--port", "0", "--db", join(dir, "new.db"), "--key-file", join(dir, "new.key"), "--metrics-token-file", join(dir, "nonexist.token"), "--l2-config", dir]);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, /--metrics-token-file .*nonexist\.token: no such file/);
    assert.match(missing.stderr, /--l2-config .*: is not a file/);
    assert.not.ok(existsSync(join(dir, "new.db")) || existsSync(join(dir, "new.key")), "nothing was created");
    // Sign-in links and drop-ship answers carry --public-url: a value that is not a relay's origin is refused.
    for (const [url, reason] of [["not-a-url", /not a URL/], ["ftp://relay.example", /must start with https:\/\//], ["https://relay.example/osiris", /origin alone/]] as const) {
      const bad = await runOnce(["--port", "0", "--db", join(dir, "new.db"), "--public-url", url]);
      assert.is(bad.code, 2, url);
      assert.match(bad.stderr, reason);
    }
    const badFrom = await runOnce(["--port", "0", "--db", join(dir, "new.db"), "--smtp-from", "not-an-address"]);
    assert.is(badFrom.code, 2);
    assert.match(badFrom.stderr, /--smtp-from must be an e-mail address/);
    assert.not.ok(existsSync(join(dir, "new.db")), "still nothing created");
    // A metrics token every user of the host can read is refused, as the relay's key files are.
    const token = join(dir, "metrics.token");
    await writeFile(token, "a-metrics-token-0123456789\n");
    await chmod(token, 0o644);
    const readable = await runOnce(["--port", "0", "--db", join(dir, "m.db"), "--key-file", join(dir, "m.key"), "--metrics-token-file", token]);
    assert.is(readable.code, 1);
    assert.match(readable.stderr, /--metrics-token-file .*metrics\.token is readable by every user of this host \(mode 0644\): run chmod 600/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("osiris relay serve --help lists --trust-proxy and --db-token-file", async () => {
  const child = spawn(process.execPath, [OSIRIS, "relay", "serve", "--help"]);
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.is(code, 0);
  assert.match(stdout, /--trust-proxy CIDR\[,CIDR\]/);
  assert.match(stdout, /--db-token-file/);
});

test.run();
