/**
 * Generated lab sites for the benchmark and scale tests: `generateLabSite({hosts: 50})` gives a site document
 * (the same format as fixtures/lab/<site>/site.json) with one appliance, one domain controller, about one
 * Linux server in eight and Windows workstations for the rest, each with drift at pseudo-random but
 * seed-determined times. Resolve it with `resolveLabSite(doc, GENERATED_SITE_DIR)`.
 */
import { fileURLToPath } from "node:url";
import type { Json } from "../../protocol/catalogue/schema.ts";
import { MAX_LAB_HOSTS, type LabSiteDoc } from "./site.ts";

/** fixtures/lab/ of this checkout. */
export const LAB_FIXTURES_DIR = fileURLToPath(new URL("../../fixtures/lab/", import.meta.url));
/** Where a generated site's relative references (../../facts/…, ../effects.json) resolve from. */
export const GENERATED_SITE_DIR = fileURLToPath(new URL("../../fixtures/lab/generated/", import.meta.url));
/** Fewest hosts: the appliance and a domain controller. */
export const MIN_GENERATED_HOSTS = 2;
/** Latest drift offset, in hours: drift spreads over the first two days. */
const DRIFT_SPREAD_HOURS = 48;

/** Drift a generated host may get, per platform. */
const TEMPLATES: Readonly<Record<"windows" | "linux" | "appliance", readonly Readonly<Record<string, Json>>[]>> = {
  windows: [
    { "firewall.public_enabled": false },
    { "defender.realtime_enabled": false },
    { "smb.v1_enabled": true },
    { "accounts.guest_enabled": true },
    { "screenlock.timeout_s": null },
    { "wu.service_start_mode": "Disabled" },
    { "rdp.nla_required": false },
    { "audit.logon": "No Auditing" },
  ],
  linux: [{ "kernel.accept_redirects": 1 }, { "sshd.permit_root_login": "yes" }, { "time.synchronized": false }, { "services.failed_units": ["smartd.service"] }],
  appliance: [{ "av.service_active": false }, { "backup.last_restore_test_age_days": 45 }],
};

/** mulberry32: a tiny seeded PRNG, so the same seed gives the same site. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface GenerateOptions {
  readonly hosts: number;
  readonly seed?: number;
}

export function generateLabSite(o: GenerateOptions): LabSiteDoc {
  if (!Number.isInteger(o.hosts) || o.hosts < MIN_GENERATED_HOSTS || o.hosts > MAX_LAB_HOSTS) {
    throw new RangeError(`Cannot generate a lab site as 'hosts' must be an integer from ${MIN_GENERATED_HOSTS} to ${MAX_LAB_HOSTS}: current value is ${o.hosts}`);
  }
  const random = prng(o.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const hosts: LabSiteDoc["hosts"] = [
    { id: "gen-appliance", name: "OsirisCare appliance", platform: "appliance", role: "appliance", base: "../../facts/appliance-pass.json" },
    { id: "gen-dc01", name: "GEN-DC01", platform: "windows", role: "domain_controller", base: "../../facts/windows-dc-pass.json" },
  ];
  for (let i = 1; hosts.length < o.hosts; i++) {
    const linux = i % 8 === 0;
    const n = String(i).padStart(3, "0");
    hosts.push(
      linux
        ? { id: `gen-srv${n}`, name: `gen-srv${n}`, platform: "linux", role: "server", base: "../../facts/linux-pass.json" }
        : { id: `gen-ws${n}`, name: `GEN-WS${n}`, platform: "windows", role: "workstation", base: "../../facts/windows-pass.json" },
    );
  }
  const drift: NonNullable<LabSiteDoc["drift"]> = [];
  for (const h of hosts) {
    if (h.id === "gen-dc01") continue;
    const set = pick(TEMPLATES[h.platform as keyof typeof TEMPLATES]);
    const minutes = 10 + Math.floor(random() * DRIFT_SPREAD_HOURS * 60);
    drift.push({ id: `${h.id}-drift`, host: h.id, at: `PT${Math.floor(minutes / 60)}H${minutes % 60}M`, set: { ...set } });
  }
  return {
    schema: "osiris.lab-site/v1",
    simulated: true,
    site: { id: `site_generated${String(o.hosts).padStart(3, "0")}`, name: `Generated clinic, ${o.hosts} hosts (simulated)`, timezone: "UTC" },
    hosts,
    drift,
    effects: "../effects.json",
    failures: [],
  };
}
