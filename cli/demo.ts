/**
 * `osiris demo` (what `npm start` runs): a relay on loopback with a demo MSP, a partner and two clinics, and
 * one appliance per lab site of fixtures/lab/, each enrolled through a real claim code (the real `osiris
 * appliance enroll` command), syncing its evidence to the relay and healing simulated drift. State lives in
 * one directory (default ./.osiris-demo); a second start reuses it. Everything binds to 127.0.0.1 and nothing
 * is advertised over mDNS unless --mdns is given. Ctrl-C stops everything cleanly.
 *
 * The lab hosts are simulated; their clock runs --speed times faster (default 60: an hour of lab time per
 * minute) so drift, healing and the maintenance window show within minutes.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../appliance/config/index.ts";
import { Appliance } from "../appliance/daemon/appliance.ts";
import type { Clock } from "../appliance/engine/types.ts";
import { startStatusServer, type RunningStatusServer } from "../appliance/serve/index.ts";
import { createClaimCode } from "../relay/enroll/claim-codes.ts";
import { jsonLog as relayJsonLog } from "../relay/log.ts";
import { runRelay } from "../relay/serve/run.ts";
import { seedSimulatedHistory } from "../relay/learning/index.ts";
import { createUser } from "../relay/auth/users.ts";
import { createMsp, createOrganisation, createPartner, createSite, updateSiteSettings } from "../relay/tenants/tenants.ts";
import { jsonLog } from "../node/json-log.ts";
import { startFailure } from "./relay-serve.ts";

export const summary = "run the demo: relay + simulated clinic appliances on loopback (--dir, --port, --speed, --mdns)";

const ROOT = new URL("..", import.meta.url).pathname;
const USAGE = "Usage: osiris demo [--dir ./.osiris-demo] [--port 8787] [--speed 60] [--mdns]";

/** The demo's clinics: lab site fixture, display name, time zone, status page port (relay port + 1, + 2). */
const CLINICS = [
  { lab: "riverside-family-clinic", org: "Riverside Family Clinic", partner: false, tz: "America/Chicago" },
  { lab: "lakeside-pediatrics", org: "Lakeside Pediatrics", partner: true, tz: "America/New_York" },
] as const;

/** How often the demo scans each simulated host, in real seconds (the config's minimum). */
const DEMO_SCAN_INTERVAL_S = 60;

/**
 * Demo sign-ins, printed at start. The password is public on purpose (a demo on loopback, simulated data);
 * a real relay's users are created with `osiris relay admin create-user` and their own passwords.
 */
export const DEMO_PASSWORD = "osiris-demo-only";
const DEMO_USERS = [
  { email: "admin@demo-msp.test", name: "Morgan (MSP admin)", role: "msp_admin" },
  { email: "tech@demo-partner.test", name: "Parker (partner technician)", role: "partner_tech" },
  { email: "owner@lakeside-pediatrics.test", name: "Lee (clinic owner)", role: "client_owner" },
] as const;

interface DemoState {
  msp_id: string;
  partner_id: string;
  users?: { email: string; role: string }[];
  sites: { site_id: string; name: string; lab: string; config: string; status_port: number }[];
}

function runCli(args: string[], logFile: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, "bin/osiris.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", async (code) => {
      await writeFile(logFile, out, { flag: "a" });
      done({ code: code ?? 1, out });
    });
  });
}

/** Lab time: starts at the first demo start and runs `speed` times faster, persisted so restarts continue. */
async function labClock(dir: string, speed: number): Promise<Clock> {
  const file = join(dir, "lab-clock.json");
  let anchor: number;
  try {
    anchor = (JSON.parse(await readFile(file, "utf8")) as { anchor_ms: number }).anchor_ms;
  } catch {
    anchor = Date.now();
    await writeFile(file, JSON.stringify({ anchor_ms: anchor, speed }) + "\n");
  }
  return { now: () => Math.floor(anchor + (Date.now() - anchor) * speed) };
}

async function seed(dir: string, relayUrl: string, port: number, relay: Awaited<ReturnType<typeof runRelay>>): Promise<DemoState> {
  const env = { clock: { now: () => Date.now() }, random: (n: number) => new Uint8Array(randomBytes(n)) };
  const db = relay.db;
  const msp = await createMsp(db, { name: "Demo MSP" }, env);
  const partner = await createPartner(db, { msp_id: msp.id, name: "Demo Partner IT" }, env);
  const state: DemoState = { msp_id: msp.id, partner_id: partner.id, sites: [] };
  for (const [i, c] of CLINICS.entries()) {
    const org = await createOrganisation(db, { msp_id: msp.id, ...(c.partner ? { partner_id: partner.id } : {}), name: c.org }, env);
    const site = await createSite(db, { org_id: org.id, name: `${c.org} (main office)`, timezone: c.tz }, env);
    // Demo policy: heal automatically; disruptive fixes nightly at 01:00 for 3 hours (lab time runs fast).
    await updateSiteSettings(db, site.id, { healing_mode: "enforce", maintenance_windows: [{ rrule: "FREQ=DAILY;BYHOUR=1;BYMINUTE=0", duration: "PT3H", tz: c.tz }] });
    const code = await createClaimCode(db, { site_id: site.id, created_by: "demo" }, env);
    const appDir = join(dir, c.lab);
    await mkdir(appDir, { recursive: true, mode: 0o700 });
    const statusPort = port + 1 + i;
    const config = join(appDir, "appliance.yaml");
    // Every lab host as a target scanned each minute (a real site scans hosts every 15 minutes).
    const labSite = JSON.parse(await readFile(join(ROOT, "fixtures/lab", c.lab, "site.json"), "utf8")) as { hosts: { id: string; name: string; platform: string }[] };
    const targets = labSite.hosts.flatMap((h) => [`  - id: ${h.id}`, `    name: ${JSON.stringify(h.name)}`, "    collector: lab", `    platform: ${h.platform}`, `    interval_s: ${DEMO_SCAN_INTERVAL_S}`]);
    await writeFile(
      config,
      [
        `state_dir: ${join(appDir, "state")}`,
        "site:",
        `  name: ${c.org}`,
        `  timezone: ${c.tz}`,
        "relay:",
        `  url: ${relayUrl}`,
        "  sync_interval_s: 10",
        "lab:",
        `  site_dir: ${join(ROOT, "fixtures/lab", c.lab)}`,
        "targets:",
        ...targets,
        "status_page:",
        `  port: ${statusPort}`,
        '  bind: ["127.0.0.1"]',
        "  mdns: false",
        "",
      ].join("\n"),
    );
    const enrolled = await runCli(["appliance", "enroll", "--config", config, "--relay", relayUrl, "--code", code.code], join(dir, "enroll.log"));
    if (enrolled.code !== 0) throw new Error(`enrolling the ${c.org} appliance failed: ${enrolled.out.trim()}`);
    state.sites.push({ site_id: site.id, name: c.org, lab: c.lab, config, status_port: statusPort });
  }
  const lakesideOrg = (await db.execute({ sql: "SELECT o.id FROM organisations o WHERE o.msp_id = ? AND o.partner_id = ?", args: [msp.id, partner.id] })).rows[0]?.["id"];
  state.users = [];
  for (const u of DEMO_USERS) {
    const tenant = u.role === "partner_tech" ? { partner_id: partner.id } : u.role === "client_owner" ? { org_id: String(lakesideOrg) } : {};
    await createUser(db, msp.id, { email: u.email, name: u.name, role: u.role, password: DEMO_PASSWORD, ...tenant }, env);
    state.users.push({ email: u.email, role: u.role });
  }
  // A labelled, simulated history of past resolutions, so the learning loop has candidates to show.
  await seedSimulatedHistory(db, { sites: state.sites.map((s) => s.site_id), now: Date.now() });
  await writeFile(join(dir, "demo.json"), JSON.stringify(state, null, 2) + "\n");
  return state;
}

/** A started demo: what to print and how to stop it. */
interface RunningDemo {
  state: DemoState;
  relayUrl: string;
  /** The relay key that signs exported kits (its witness name), for `evidence verify --relay-key`. */
  relayKeyName: string;
  stop(): Promise<void>;
}

/**
 * Starts the relay and the appliances with their status pages. On failure, stops whatever it had started
 * and rethrows: the caller reports it (and removes a state directory this run created).
 */
async function startDemo(dir: string, port: number, speed: number, mdns: boolean, fresh: boolean): Promise<RunningDemo> {
  const write = (file: string) => (line: string) => void writeFile(join(dir, file), line, { flag: "a" }).catch(() => undefined);
  const clock = { now: () => Date.now() };
  const relay = await runRelay({ db: join(dir, "relay.db"), keyFile: join(dir, "relay.key"), vaultKeyFile: join(dir, "vault.key"), learningIntervalMs: 10_000, host: "127.0.0.1", port, log: relayJsonLog(write("relay.log"), clock) });
  const relayUrl = relay.url.replace(/\/$/, "");
  const running: { appliance: Appliance; page: RunningStatusServer }[] = [];
  const stop = async () => {
    for (const r of running) {
      await r.page.close().catch(() => undefined);
      await r.appliance.stop().catch(() => undefined);
    }
    await relay.close();
  };
  try {
    const state = fresh ? await seed(dir, relayUrl, port, relay) : (JSON.parse(await readFile(join(dir, "demo.json"), "utf8")) as DemoState);
    const lab = await labClock(dir, speed);
    for (const s of state.sites) {
      const config = await loadConfig(s.config);
      const log = jsonLog({ level: "info", component: s.lab, write: write(`${s.lab}.log`) });
      const appliance = await Appliance.open(mdns ? { ...config, status_page: { ...config.status_page, mdns: true } } : config, { clock, random: (n) => new Uint8Array(randomBytes(n)), log, labClock: lab });
      try {
        running.push({ appliance, page: await startStatusServer(appliance, config, log) });
      } catch (e) {
        await appliance.stop().catch(() => undefined);
        throw e;
      }
      appliance.start();
    }
    return { state, relayUrl, relayKeyName: relay.deps.relayKey.name, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { dir: { type: "string", default: ".osiris-demo" }, port: { type: "string", default: "8787" }, speed: { type: "string", default: "60" }, mdns: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
  } catch (e) {
    console.error(`osiris demo: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) return console.log(USAGE), 0;
  const port = Number(values.port), speed = Number(values.speed);
  if (!Number.isInteger(port) || port < 1 || port > 65533) return console.error(`osiris demo: --port must be 1..65533: current value is ${values.port}`), 2;
  if (!Number.isFinite(speed) || speed < 1 || speed > 3600) return console.error(`osiris demo: --speed must be 1..3600: current value is ${values.speed}`), 2;
  const dir = resolve(values.dir);
  const existed = await stat(dir).catch(() => null);
  if (existed && !existed.isDirectory()) return console.error(`osiris demo: --dir ${values.dir} is not a directory: give a directory for the demo's state (default ./.osiris-demo)`), 2;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return console.error(`osiris demo: cannot create --dir ${values.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`), 2;
  }
  const fresh = !existsSync(join(dir, "demo.json"));

  // Listen before announcing anything: a signal that arrives with no listener kills the process at once.
  const stopRequested = new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  let demo: RunningDemo;
  try {
    demo = await startDemo(dir, port, speed, values.mdns === true, fresh);
  } catch (e) {
    // A state directory this run created holds only a half-seeded relay: remove it, so the next start is fresh.
    if (!existed) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    console.error(`osiris demo: cannot start: ${startFailure(e, "--port (the demo also uses the next two ports for the clinics' status pages)")}`);
    return 1;
  }
  const { state, relayUrl, relayKeyName } = demo;
  try {
    console.log(`OsirisCare demo ${fresh ? "started" : "resumed"} (state in ${dir}; logs: ${dir}/*.log)`);
    console.log(`  dashboard          ${relayUrl}/   (MSP and partner dashboard, client portal)`);
    for (const u of state.users ?? []) console.log(`  sign in            ${u.email.padEnd(32)} ${DEMO_PASSWORD}   (${u.role})`);
    for (const s of state.sites) console.log(`  status page        http://127.0.0.1:${s.status_port}/   ${s.name} (simulated lab clinic)`);
    console.log(`  lab time runs ${speed}x: drift appears within minutes, then is healed or scheduled for the nightly window`);
    console.log(`  demo tenants: MSP ${state.msp_id}, partner ${state.partner_id}; sites ${state.sites.map((s) => s.site_id).join(", ")}`);
    console.log(`  audit: osiris evidence export --db ${join(dir, "relay.db")} --key-file ${join(dir, "relay.key")} --site ${state.sites[0]?.site_id} --from 2026-01-01T00:00:00Z --to 2030-01-01T00:00:00Z --out kit.zip`);
    console.log(`         then: osiris evidence verify kit.zip --relay-key ${relayKeyName}`);
    console.log("  Ctrl-C stops the demo");
    await stopRequested;
    console.log("stopping…");
    return 0;
  } finally {
    await demo.stop();
  }
}
