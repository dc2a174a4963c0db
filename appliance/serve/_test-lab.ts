/**
 * Test helper: a real lab appliance (the Riverside simulated clinic, run by the real daemon, collectors,
 * healing engine and evidence log) driven with a fake clock into a state with one of each thing the status
 * page must explain:
 *
 * - RFC-FS01 `windows.smb1_disabled`: SMB1 turned on at 3 h; its fix is disruptive → deferred to the
 *   maintenance window (Sat 02:00 America/New_York) → "fix scheduled for Sat 02:00";
 * - rfc-nas01 `linux.unattended_upgrades`: automatic updates turned off at 3 h (a drift this helper adds to
 *   a copy of the site); its fix needs approval → "waiting for approval";
 * - RFC-BILLING `windows.bitlocker`: BitLocker suspended at 26 h; encryption is never auto-fixed → escalated
 *   → "your IT provider has been notified" (relay configured) / "needs to look at this" (standalone).
 *
 * Everything else passes at the last cycle (26 h 30 min after start, Thu 26 Nov 2026 12:30 in New York).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { configSchema, type Config } from "../config/index.ts";
import { Appliance } from "../daemon/appliance.ts";
import type { Log } from "../engine/types.ts";

export const LAB_START_MS = Date.parse("2026-11-25T15:00:00Z"); // Wed 10:00 in New York
const HOUR = 3_600_000;
/** Cycle times (hours after the start) that lead to the state described above. */
export const LAB_CYCLES_H = [0, 3.25, 26.25, 26.5] as const;
const RIVERSIDE = fileURLToPath(new URL("../../fixtures/lab/riverside-family-clinic/", import.meta.url));

export const quietLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface LabFixture {
  appliance: Appliance;
  config: Config;
  clock: { now(): number; set(ms: number): void };
  dir: string;
  close(): Promise<void>;
}

/**
 * A copy of the Riverside site whose NAS also loses automatic updates at 3 h (absolute paths inside), without
 * the drift that exists for the learning-loop demo (it would add a fourth item to the curated state).
 */
async function writeSite(dir: string): Promise<string> {
  const doc = JSON.parse(await readFile(join(RIVERSIDE, "site.json"), "utf8")) as {
    hosts: { base: string }[];
    drift: { id?: string; [key: string]: unknown }[];
    effects: string | unknown[];
  };
  for (const h of doc.hosts) h.base = resolve(RIVERSIDE, h.base);
  if (typeof doc.effects === "string") doc.effects = resolve(RIVERSIDE, doc.effects);
  doc.drift = doc.drift.filter((d) => d.id !== "defender-mode-unreadable");
  doc.drift.push({ id: "nas-autoupdate-off", host: "rfc-nas01", at: "PT3H", set: { "autoupdate.enabled": false }, note: "status page test: a fix that needs approval" });
  const siteDir = join(dir, "site");
  await mkdir(siteDir, { recursive: true });
  await writeFile(join(siteDir, "site.json"), JSON.stringify(doc, null, 1));
  return siteDir;
}

export interface LabOptions {
  /** Configure a relay URL (the appliance is still enrolled standalone here; only the wording changes). */
  relay?: boolean;
  /** Run the cycles (default true); false leaves a freshly opened appliance that never checked anything. */
  drive?: boolean;
  log?: Log;
}

/** Opens and drives the lab appliance. Call close() to stop it and delete its state. */
export async function openLabAppliance(options: LabOptions = {}): Promise<LabFixture> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-status-lab-"));
  const site_dir = await writeSite(dir);
  const raw = {
    state_dir: join(dir, "state"),
    site: {
      id: "site_riverside01",
      name: "Riverside Family Clinic",
      timezone: "America/New_York",
      healing_mode: "enforce",
      maintenance_windows: [{ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", duration: "PT4H" }],
    },
    lab: { site_dir },
    status_page: { bind: ["127.0.0.1"], mdns: false },
  };
  const config = configSchema().parse(raw);
  let now = LAB_START_MS;
  const clock = { now: () => now, set: (ms: number) => void (now = ms) };
  const appliance = await Appliance.open(config, { clock, random: (n) => new Uint8Array(randomBytes(n)), log: options.log ?? quietLog });
  try {
    if (options.drive !== false) {
      for (const h of LAB_CYCLES_H) {
        clock.set(LAB_START_MS + h * HOUR);
        await appliance.runCycle({ all: true });
      }
    }
  } catch (e) {
    await appliance.stop();
    throw e;
  }
  // The relay flag only changes what the page says; enrolling with a real relay is the sync client's business.
  const shown: Config = options.relay ? { ...config, relay: { ...config.relay, url: "https://relay.example.test" } } : config;
  return {
    appliance,
    config: shown,
    clock,
    dir,
    async close() {
      await appliance.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
