import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { freePort } from "../../node/_test-ports.ts";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cyclesCompleting, sdNotify, watchdogIntervalMs } from "./sd-notify.ts";

const OSIRIS = fileURLToPath(new URL("../../bin/osiris.js", import.meta.url));
const RIVERSIDE = fileURLToPath(new URL("../../fixtures/lab/riverside-family-clinic/", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A temp dir holding a fake `systemd-notify` that appends its arguments (one call per line) to `calls`. */
async function fakeSystemdNotify(): Promise<{ dir: string; calls: string; read(): Promise<string[]>; env: Record<string, string>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-sd-notify-"));
  const calls = join(dir, "calls");
  await writeFile(calls, "");
  const script = join(dir, "systemd-notify");
  await writeFile(script, `#!/bin/sh\necho "$*" >> '${calls}'\n`);
  await chmod(script, 0o755);
  return {
    dir,
    calls,
    read: async () => (await readFile(calls, "utf8")).split("\n").filter((l) => l !== ""),
    env: { PATH: `${dir}:${process.env.PATH ?? ""}` },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test("sdNotify sends READY=1 then WATCHDOG=1 through systemd-notify on PATH when NOTIFY_SOCKET is set", async () => {
  const fake = await fakeSystemdNotify();
  const n = sdNotify({ env: { ...fake.env, NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "200000" }, pid: process.pid });
  try {
    assert.ok(n.enabled);
    assert.is(n.watchdogIntervalMs, 100);
    await n.ready();
    n.startWatchdog(() => true);
    await until(async () => (await fake.read()).includes("WATCHDOG=1"), 5_000, "WATCHDOG=1");
    n.stopWatchdog();
    await n.stopping();
    const calls = await fake.read();
    assert.is(calls[0], "READY=1");
    assert.is(calls[1], "WATCHDOG=1");
    assert.is(calls.at(-1), "STOPPING=1");
  } finally {
    n.stopWatchdog();
    await fake.close();
  }
});

test("sdNotify sends nothing without NOTIFY_SOCKET", async () => {
  const fake = await fakeSystemdNotify();
  const n = sdNotify({ env: { ...fake.env, WATCHDOG_USEC: "200000" }, pid: process.pid });
  try {
    assert.not.ok(n.enabled);
    assert.is(n.watchdogIntervalMs, null);
    await n.ready();
    n.startWatchdog(() => true);
    await sleep(300);
    await n.stopping();
    assert.equal(await fake.read(), []);
  } finally {
    n.stopWatchdog();
    await fake.close();
  }
});

test("sdNotify sends no WATCHDOG=1 while the daemon is not healthy", async () => {
  const sent: string[] = [];
  const n = sdNotify({ env: { NOTIFY_SOCKET: "@x", WATCHDOG_USEC: "200000" }, pid: 1, send: async (s) => void sent.push(s) });
  n.startWatchdog(() => false);
  await sleep(350);
  n.stopWatchdog();
  assert.equal(sent, []);
});

test("sdNotify logs a failed send and does not throw", async () => {
  const warnings: unknown[] = [];
  const n = sdNotify({ env: { NOTIFY_SOCKET: "@x" }, pid: 1, send: async () => Promise.reject(new Error("no such program")), log: { warn: (m, f) => void warnings.push({ m, f }) } });
  await n.ready();
  assert.equal(warnings, [{ m: "sd_notify_failed", f: { state: "READY=1", error: "no such program" } }]);
});

test("watchdogIntervalMs is half of WATCHDOG_USEC, and null when WATCHDOG_PID names another process", () => {
  assert.is(watchdogIntervalMs({ WATCHDOG_USEC: "120000000" }, 42), 60_000);
  assert.is(watchdogIntervalMs({ WATCHDOG_USEC: "120000000", WATCHDOG_PID: "42" }, 42), 60_000);
  assert.is(watchdogIntervalMs({ WATCHDOG_USEC: "120000000", WATCHDOG_PID: "7" }, 42), null);
  assert.is(watchdogIntervalMs({}, 42), null);
  assert.is(watchdogIntervalMs({ WATCHDOG_USEC: "garbage" }, 42), null);
  assert.is(watchdogIntervalMs({ WATCHDOG_USEC: "2" }, 42), 100, "a tiny WatchdogSec does not become a busy loop");
});

test("cyclesCompleting is true while a cycle finished (or the daemon started) within the bound", () => {
  const t0 = Date.parse("2026-11-28T00:00:00Z");
  assert.ok(cyclesCompleting(null, t0, t0 + 60_000, 120_000), "no cycle yet, started recently");
  assert.not.ok(cyclesCompleting(null, t0, t0 + 121_000, 120_000), "no cycle for a whole WatchdogSec");
  assert.ok(cyclesCompleting("2026-11-28T00:05:00.000Z", t0, t0 + 6 * 60_000, 120_000));
  assert.not.ok(cyclesCompleting("2026-11-28T00:05:00.000Z", t0, t0 + 8 * 60_000, 120_000), "last cycle 3 minutes ago: hung");
});

/** Runs the real `osiris appliance run` on a lab config with the fake systemd-notify first on PATH. */
async function runDaemon(extraEnv: Record<string, string>, fake: Awaited<ReturnType<typeof fakeSystemdNotify>>, waitFor: (calls: string[]) => boolean, holdMs = 0): Promise<{ calls: string[]; code: number | null; stderr: string }> {
  const config = join(fake.dir, "appliance.yaml");
  const port = await freePort();
  await writeFile(config, `state_dir: ${fake.dir}/state
site: { id: site_riverside01, name: Riverside Family Clinic, timezone: America/Chicago, healing_mode: observe }
lab: { site_dir: ${RIVERSIDE} }
status_page: { bind: ["127.0.0.1"], port: ${port}, mdns: false }
log_level: error
`);
  // Only what the test gives: a NOTIFY_SOCKET inherited from the test runner's own environment must not leak in.
  const { NOTIFY_SOCKET: _n, WATCHDOG_USEC: _w, WATCHDOG_PID: _p, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = { ...inherited, ...fake.env, ...extraEnv, OSIRIS_STATUS_ASSETS: "/nonexistent-osiris-assets" };
  const child = spawn(process.execPath, [OSIRIS, "appliance", "run", "--config", config], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => void (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  try {
    // Started = the status page answers; then give the notifier time to act.
    await until(async () => fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.ok, () => false), 30_000, "the status page");
    await sleep(holdMs);
    await until(async () => waitFor(await fake.read()), 10_000, "the expected notifications");
  } finally {
    child.kill("SIGTERM");
  }
  const code = await exited;
  return { calls: await fake.read(), code, stderr };
}

test("osiris appliance run under systemd sends READY=1, then WATCHDOG=1 as cycles complete, and STOPPING=1 on SIGTERM", async () => {
  const fake = await fakeSystemdNotify();
  try {
    const r = await runDaemon({ NOTIFY_SOCKET: "/run/systemd/notify", WATCHDOG_USEC: "400000" }, fake, (c) => c.includes("WATCHDOG=1"));
    assert.is(r.code, 0, r.stderr);
    assert.is(r.calls[0], "READY=1");
    assert.is(r.calls[1], "WATCHDOG=1");
    assert.is(r.calls.at(-1), "STOPPING=1");
    assert.is(r.calls.filter((c) => c === "READY=1").length, 1);
  } finally {
    await fake.close();
  }
});

test("osiris appliance run without NOTIFY_SOCKET never calls systemd-notify", async () => {
  const fake = await fakeSystemdNotify();
  try {
    // Running for 1.5 s is more than 7 watchdog intervals of 200 ms.
    const r = await runDaemon({ WATCHDOG_USEC: "400000" }, fake, () => true, 1_500);
    assert.is(r.code, 0, r.stderr);
    assert.equal(await fake.read(), []);
  } finally {
    await fake.close();
  }
});

test.run();
