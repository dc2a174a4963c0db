/**
 * mDNS for real, without touching the host's network: two network namespaces joined by a veth pair (RFC 5737
 * TEST-NET addresses, a multicast route on each side). The real daemon (`osiris appliance run`, lab site,
 * status_page.mdns: true) runs in one; from the other, clients that are not bonjour-service — our stdlib query
 * (_mdns-query.ts) and Debian's avahi (avahi-resolve, avahi-browse, nss-mdns through getent and curl) —
 * resolve `osiriscare-appliance.local` and fetch the page over that link.
 *
 * avahi needs a system D-Bus; both run in a private mount namespace with their own /run (a tmpfs), so
 * nothing of the host's /run, D-Bus or avahi is touched. Namespaces and processes are removed whatever
 * happens. Needs root and Debian's iproute2, avahi-daemon, avahi-utils, libnss-mdns, dbus, curl.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildStatusPage } from "../../ui/status/_build.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LAB_SITE = join(ROOT, "fixtures/lab/riverside-family-clinic");
const ID = process.pid % 100_000;
const NS_A = `osr-a-${ID}`;
const NS_C = `osr-c-${ID}`;
const VETH_A = `ova${ID}`;
const VETH_C = `ovc${ID}`;
const APPLIANCE_IP = "192.0.2.10";
const SECOND_IP = "192.0.2.11";
const CLIENT_IP = "192.0.2.20";
const PORT = 8080;
/** Bounds on each wait, so a broken setup fails instead of hanging the suite. */
const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 20_000;
/** The advertiser polls interfaces every 10 s (ADDRESS_POLL_MS); allow two polls. */
const REANNOUNCE_TIMEOUT_MS = 25_000;
const REQUIRED = ["/usr/sbin/ip", "/usr/sbin/avahi-daemon", "/usr/bin/avahi-resolve", "/usr/bin/avahi-browse", "/usr/bin/dbus-daemon", "/usr/bin/curl", "/usr/bin/nsenter", "/usr/bin/getent"];

let work: string;
let assetsDir: string;
let holder: ChildProcess | null = null;
const daemons: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sh(cmd: string, args: string[], timeout = COMMAND_TIMEOUT_MS): Promise<string> {
  return (await run(cmd, args, { timeout, maxBuffer: 4 * 1024 * 1024 })).stdout;
}
/** A command in the client namespace, inside the holder's private mount namespace (its own /run). */
const inClient = (args: string[], timeout?: number) => sh("nsenter", ["-t", String(holder!.pid), "-m", "-n", ...args], timeout);
const inClientOk = (args: string[], timeout?: number) => inClient(args, timeout).then((out) => ({ ok: true as const, out }), (e: Error & { stdout?: string; stderr?: string }) => ({ ok: false as const, out: `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}` }));

function cleanupSync(): void {
  for (const d of daemons) if (d.exitCode === null && d.pid) try { process.kill(d.pid, "SIGKILL"); } catch { /* gone */ }
  if (holder?.pid && holder.exitCode === null) {
    // avahi and dbus live in the holder's namespaces; stop them before the holder so nothing outlives the test.
    for (const args of [["avahi-daemon", "-k"], ["sh", "-c", "kill $(cat /run/dbus/pid) 2>/dev/null || true"]]) {
      try { execFileSync("nsenter", ["-t", String(holder.pid), "-m", "-n", ...args], { stdio: "ignore", timeout: 5_000 }); } catch { /* not running */ }
    }
    try { process.kill(holder.pid, "SIGKILL"); } catch { /* gone */ }
  }
  for (const ns of [NS_A, NS_C]) try { execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" }); } catch { /* not there */ }
}

async function setUpNetwork(): Promise<void> {
  const ip = (...args: string[]) => sh("ip", args);
  await ip("netns", "add", NS_A);
  await ip("netns", "add", NS_C);
  await ip("link", "add", VETH_A, "type", "veth", "peer", "name", VETH_C);
  await ip("link", "set", VETH_A, "netns", NS_A);
  await ip("link", "set", VETH_C, "netns", NS_C);
  await ip("-n", NS_A, "addr", "add", `${APPLIANCE_IP}/24`, "dev", VETH_A);
  await ip("-n", NS_C, "addr", "add", `${CLIENT_IP}/24`, "dev", VETH_C);
  for (const [ns, dev] of [[NS_A, VETH_A], [NS_C, VETH_C]] as const) {
    await ip("-n", ns, "link", "set", "lo", "up");
    await ip("-n", ns, "link", "set", dev, "up", "multicast", "on");
    await ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev);
  }
  // `ip netns exec` gives the holder its own mount namespace (slave of the host's): the tmpfs on /run stays private.
  holder = spawn("ip", ["netns", "exec", NS_C, "sh", "-c", "mount -t tmpfs -o mode=755 osiris-test-run /run && mkdir -p /run/dbus /run/avahi-daemon && touch /run/.ready && exec sleep 3600"], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    if ((await inClientOk(["test", "-e", "/run/.ready"])).ok) break;
    if (i > 50) throw new Error("the client namespace's private /run did not come up");
    await sleep(100);
  }
  await inClient(["dbus-daemon", "--system", "--fork"]);
}

async function startAvahi(hostName: string, publishAddresses: boolean): Promise<void> {
  await inClientOk(["avahi-daemon", "-k"]);
  for (let i = 0; i < 50 && (await inClientOk(["avahi-daemon", "-c"])).ok; i++) await sleep(100);
  const conf = join(work, `avahi-${hostName}.conf`);
  await writeFile(
    conf,
    [
      "[server]",
      `host-name=${hostName}`,
      "domain-name=local",
      "use-ipv4=yes",
      "use-ipv6=no",
      `allow-interfaces=${VETH_C}`,
      "enable-dbus=yes",
      "ratelimit-interval-usec=1000000",
      "ratelimit-burst=1000",
      "[wide-area]",
      "enable-wide-area=no",
      "[publish]",
      `publish-addresses=${publishAddresses ? "yes" : "no"}`,
      "publish-hinfo=no",
      "publish-workstation=no",
      "publish-domain=no",
      "",
    ].join("\n"),
  );
  await inClient(["avahi-daemon", "-D", "-f", conf, "--no-drop-root", "--no-chroot", "--no-rlimits"]);
  for (let i = 0; !(await inClientOk(["avahi-daemon", "-c"])).ok; i++) {
    if (i > 50) throw new Error("avahi-daemon did not start in the client namespace");
    await sleep(100);
  }
}

interface Appliance {
  child: ChildProcess;
  events: { event: string; [k: string]: unknown }[];
  waitFor(event: string, match?: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** `osiris appliance run` in the appliance namespace, its JSON log lines collected. */
async function startAppliance(name: string, bind: string[]): Promise<Appliance> {
  const config = join(work, `${name}.yaml`);
  await writeFile(
    config,
    [
      `state_dir: ${join(work, `state-${name}`)}`,
      "site: {id: site_riverside01, name: Riverside Family Clinic, timezone: America/New_York, healing_mode: enforce}",
      `lab: {site_dir: ${LAB_SITE}}`,
      `status_page: {bind: ${JSON.stringify(bind)}, port: ${PORT}, mdns: true}`,
      "",
    ].join("\n"),
  );
  const child = spawn("ip", ["netns", "exec", NS_A, process.execPath, join(ROOT, "bin/osiris.js"), "appliance", "run", "--config", config], {
    cwd: ROOT,
    env: { ...process.env, OSIRIS_STATUS_ASSETS: assetsDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  daemons.push(child);
  const events: Appliance["events"] = [];
  let buffered = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString("utf8");
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as Appliance["events"][number]);
      } catch {
        events.push({ event: "non_json_stdout", line });
      }
      for (const w of waiters) w();
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return {
    child,
    events,
    waitFor(event, match = () => true, timeoutMs = START_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find((e) => e.event === event && match(e));
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          } else if (child.exitCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`the appliance exited (${child.exitCode}) before ${event}: ${stderr.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${event} within ${timeoutMs} ms; events: ${events.map((e) => e.event).join(", ")}; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        waiters.add(check);
        child.once("exit", check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

interface Answer {
  name: string;
  type: string | number;
  ttl: number;
  data: unknown;
}

/** Our stdlib mDNS client, run in the client namespace. */
async function query(...asks: string[]): Promise<Answer[]> {
  const out = await sh("ip", ["netns", "exec", NS_C, process.execPath, "--import", "tsx", join(ROOT, "appliance/serve/_mdns-query.ts"), CLIENT_IP, "1500", ...asks]);
  return JSON.parse(out.trim().split("\n").at(-1)!) as Answer[];
}

const addressesOf = (answers: Answer[], host: string) =>
  answers.filter((a) => a.type === "A" && a.name.toLowerCase() === host && a.ttl > 0).map((a) => String(a.data)).sort();

test.before(async () => {
  if (process.getuid?.() !== 0) throw new Error("the mDNS namespace test needs root (ip netns, mount)");
  const missing = REQUIRED.filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`missing ${missing.join(", ")}: apt-get install -y iproute2 avahi-daemon avahi-utils libnss-mdns dbus curl util-linux`);
  process.once("exit", cleanupSync);
  work = await mkdtemp(join(tmpdir(), "osiris-mdns-netns-"));
  assetsDir = await buildStatusPage(join(work, "page"));
  cleanupSync();
  await setUpNetwork();
});

test.after(async () => {
  cleanupSync();
  if (work) await rm(work, { recursive: true, force: true });
});

test("from another namespace, osiriscare-appliance.local resolves to the page's address only, and the page loads over the link", async () => {
  await startAvahi("mdns-test-client", false);
  const appliance = await startAppliance("first", ["0.0.0.0"]);
  try {
    const published = await appliance.waitFor("mdns_published");
    assert.is(published.host, "osiriscare-appliance.local");
    assert.equal(published.addresses, [APPLIANCE_IP]);

    // Our stdlib client: the A record carries the veth address and nothing else (no loopback, no host address).
    const answers = await query("osiriscare-appliance.local:A", "_http._tcp.local:PTR");
    assert.equal(addressesOf(answers, "osiriscare-appliance.local"), [APPLIANCE_IP]);
    assert.ok(answers.some((a) => a.type === "PTR" && a.data === "OsirisCare status page._http._tcp.local"), JSON.stringify(answers));
    const srv = answers.find((a) => a.type === "SRV")?.data as { port: number; target: string } | undefined;
    assert.equal(srv && { port: srv.port, target: srv.target }, { port: PORT, target: "osiriscare-appliance.local" });

    // avahi (what Linux clients use) and nss-mdns (what every program's getaddrinfo uses).
    assert.match(await inClient(["avahi-resolve", "-4", "-n", "osiriscare-appliance.local"]), new RegExp(`^osiriscare-appliance\\.local\\s+${APPLIANCE_IP.replace(/\./g, "\\.")}\\s*$`));
    const browse = await inClient(["avahi-browse", "-rtp", "_http._tcp"], 30_000);
    assert.ok(browse.split("\n").some((l) => l.startsWith("=;") && l.includes(`;osiriscare-appliance.local;${APPLIANCE_IP};${PORT};`) && l.includes("path=/")), browse);
    assert.match(await inClient(["getent", "hosts", "osiriscare-appliance.local"]), new RegExp(`^${APPLIANCE_IP.replace(/\./g, "\\.")}\\s+osiriscare-appliance\\.local`));

    const page = await inClient(["curl", "-sS", "--max-time", "5", `http://osiriscare-appliance.local:${PORT}/`]);
    assert.match(page, /<osiris-status-page>/);
    assert.match(page, /src="\/assets\/index-[\w-]+\.js"/);
    const status = JSON.parse(await inClient(["curl", "-sS", "--max-time", "5", `http://osiriscare-appliance.local:${PORT}/api/status`])) as { schema: string; simulated: boolean };
    assert.is(status.schema, "osiris.status/v1");
    assert.is(status.simulated, true);
    assert.is((await inClient(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", `http://osiriscare-appliance.local:${PORT}/api/status`])).trim(), "405");

    // A new address on the interface is announced without a restart (the advertiser polls the interfaces).
    await sh("ip", ["-n", NS_A, "addr", "add", `${SECOND_IP}/24`, "dev", VETH_A]);
    await appliance.waitFor("mdns_published", (e) => JSON.stringify(e.addresses) === JSON.stringify([APPLIANCE_IP, SECOND_IP]), REANNOUNCE_TIMEOUT_MS);
    assert.equal(addressesOf(await query("osiriscare-appliance.local:A"), "osiriscare-appliance.local"), [APPLIANCE_IP, SECOND_IP]);
  } finally {
    await appliance.stop();
  }
  assert.ok(appliance.events.some((e) => e.event === "mdns_withdrawn"), "goodbye sent on stop");
  assert.not.ok(appliance.events.some((e) => e.event === "non_json_stdout"), "nothing but JSON log lines on stdout");
  // The goodbye packets (TTL 0) flushed avahi's cache: the name no longer resolves.
  const after = await inClientOk(["avahi-resolve", "-4", "-n", "osiriscare-appliance.local"]);
  assert.not.match(after.out, new RegExp(`${APPLIANCE_IP.replace(/\./g, "\\.")}\\s*$`, "m"));
  await sh("ip", ["-n", NS_A, "addr", "del", `${SECOND_IP}/24`, "dev", VETH_A]);
});

test("when another device already answers for osiriscare-appliance.local, the appliance renames itself osiriscare-appliance-2.local", async () => {
  // avahi in the client namespace claims our host name with its own address.
  await startAvahi("osiriscare-appliance", true);
  for (let i = 0; !(await inClientOk(["avahi-resolve", "-4", "-n", "osiriscare-appliance.local"], 8_000)).out.includes(CLIENT_IP); i++) {
    if (i > 20) throw new Error("avahi did not claim osiriscare-appliance.local");
    await sleep(250);
  }
  const appliance = await startAppliance("second", [APPLIANCE_IP]);
  try {
    const published = await appliance.waitFor("mdns_published");
    assert.is(published.host, "osiriscare-appliance-2.local");
    assert.ok(appliance.events.some((e) => e.event === "mdns_name_conflict"));
    assert.match(await inClient(["avahi-resolve", "-4", "-n", "osiriscare-appliance-2.local"]), new RegExp(`${APPLIANCE_IP.replace(/\./g, "\\.")}\\s*$`));
    assert.equal(addressesOf(await query("osiriscare-appliance-2.local:A"), "osiriscare-appliance-2.local"), [APPLIANCE_IP]);
    assert.is((await inClient(["curl", "-sS", "--max-time", "5", `http://osiriscare-appliance-2.local:${PORT}/healthz`])).trim(), "ok");
    // The other device keeps its name.
    assert.match(await inClient(["avahi-resolve", "-4", "-n", "osiriscare-appliance.local"]), new RegExp(`${CLIENT_IP.replace(/\./g, "\\.")}\\s*$`));
  } finally {
    await appliance.stop();
  }
});

test.run();
