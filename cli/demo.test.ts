/**
 * `osiris demo` as a user starts it: a real relay and two lab appliances enrolled through real claim codes,
 * on loopback ports; Ctrl-C (SIGINT) stops it cleanly; a second start reuses the same state.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { promisify } from "node:util";
import { freePortRun } from "../node/_test-ports.ts";

const ROOT = new URL("..", import.meta.url).pathname;

const PORT = await freePortRun(3);

function start(dir: string): { child: ChildProcess; ready: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [join(ROOT, "bin/osiris.js"), "demo", "--dir", dir, "--port", String(PORT)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start in time:\n${out}`)), 90_000);
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("Ctrl-C stops the demo")) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.stderr!.on("data", (d) => (out += d));
    child.on("exit", () => reject(new Error(`demo exited early:\n${out}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, ready, exit };
}

test("osiris demo starts a relay and two enrolled lab appliances on loopback, and stops cleanly on Ctrl-C", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-demo-"));
  try {
    const first = start(dir);
    const out = await first.ready;
    assert.match(out, /OsirisCare demo started/);
    assert.match(out, new RegExp(`dashboard +http://127\\.0\\.0\\.1:${PORT}/ `));
    assert.match(out, /sign in +admin@demo-msp\.test +osiris-demo-only +\(msp_admin\)/);
    assert.match(out, new RegExp(`status page +http://127\\.0\\.0\\.1:${PORT + 1}/ +Riverside Family Clinic \\(simulated lab clinic\\)`));
    assert.match(out, new RegExp(`status page +http://127\\.0\\.0\\.1:${PORT + 2}/ +Lakeside Pediatrics`));

    assert.is((await fetch(`http://127.0.0.1:${PORT}/healthz`)).status, 200);
    const login = await fetch(`http://127.0.0.1:${PORT}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "owner@lakeside-pediatrics.test", password: "osiris-demo-only" }) });
    assert.is(login.status, 200, "the printed demo sign-in works");
    assert.is(((await login.json()) as { user: { role: string } }).user.role, "client_owner");
    const status = (await (await fetch(`http://127.0.0.1:${PORT + 1}/api/status`)).json()) as { simulated: boolean; site: { name: string }; relay: { state: string } };
    assert.is(status.simulated, true);
    assert.is(status.site.name, "Riverside Family Clinic");
    assert.is.not(status.relay.state, "standalone", "the demo appliance is enrolled with the relay");

    // The printed audit command works as printed (it needs the relay's key file to sign the kit's manifest).
    const audit = /audit: osiris (evidence export .*) --out kit\.zip/.exec(out);
    assert.ok(audit, "the demo prints an export command");
    const kit = join(dir, "kit.zip");
    const exported = await promisify(execFile)(process.execPath, [join(ROOT, "bin/osiris.js"), ...audit[1]!.split(" "), "--out", kit]);
    assert.match(exported.stdout, /^wrote .*kit\.zip/);
    const verify = /then: osiris (evidence verify kit\.zip --relay-key osiriscare\.relay\/[0-9a-f]{16})\n/.exec(out);
    assert.ok(verify, "the demo prints the verify command with its relay key");
    const verified = await promisify(execFile)(process.execPath, [join(ROOT, "bin/osiris.js"), ...verify[1]!.split(" ")], { cwd: dir });
    assert.match(verified.stdout, /^OK +kit\.zip: /);
    assert.match(verified.stdout, /manifest signed by osiriscare\.relay\/[0-9a-f]{16} \(the relay key you gave\)/);

    first.child.kill("SIGINT");
    assert.is(await first.exit, 0, "Ctrl-C stops the demo with exit code 0");

    const second = start(dir);
    assert.match(await second.ready, /OsirisCare demo resumed/);
    second.child.kill("SIGINT");
    assert.is(await second.exit, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Runs `osiris demo …` to its end (for the runs that fail to start). */
async function demoFails(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, "bin/osiris.js"), "demo", ...args], { timeout: 60_000 });
    return { code: 0, stdout: "", stderr: "" };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test("osiris demo on a busy port says so in one line, exits 1 and leaves no state directory behind", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "osiris-demo-busy-"));
  const busy = createServer();
  await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await demoFails("--dir", join(tmp, "state"), "--port", String(port));
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr.trim(), `osiris demo: cannot start: port ${port} on 127.0.0.1 is already in use (another relay or demo may be running): stop it or choose another --port (the demo also uses the next two ports for the clinics' status pages)`);
    assert.not.ok(existsSync(join(tmp, "state")), "the state directory this run created is removed");
    assert.equal(await readdir(tmp), []);
  } finally {
    busy.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

test("osiris demo --dir naming a file is wrong usage (exit 2, one line)", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "osiris-demo-file-"));
  try {
    await writeFile(join(tmp, "passwd"), "root:x:0:0\n");
    const r = await demoFails("--dir", join(tmp, "passwd"), "--port", String(PORT));
    assert.is(r.code, 2);
    assert.is(r.stderr.trim(), `osiris demo: --dir ${join(tmp, "passwd")} is not a directory: give a directory for the demo's state (default ./.osiris-demo)`);
    assert.equal(await readdir(tmp), ["passwd"]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test.run();
