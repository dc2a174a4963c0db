/**
 * The appliance's configuration schema: the one owner of every setting, its YAML key (snake_case, kept as is
 * in the typed Config so each setting has one name everywhere), its default and its documentation. The NixOS
 * module generates this YAML; `describeConfigOptions()` (options.ts) exports the same names and defaults.
 *
 * Relative paths are resolved against the config file's directory; with no directory known they are refused.
 * Cross-field rules (reseller mode needs a reseller id, lab targets need a lab site, windows must parse) are
 * checked here too, so a config that loads is a config the daemon can run.
 */
import { isIP } from "node:net";
import { isAbsolute, join, normalize, resolve } from "node:path";
import { z } from "zod";
import { discoveryConfigSchema } from "../discovery/options.ts";
import { HOST_ID_PATTERN, ID_PATTERN } from "../../protocol/ids.ts";
import { parseWindow, TimeZone, WindowError } from "../../protocol/windows/windows.ts";

/** HIPAA §164.316(b)(2)(i): documentation is kept six years; evidence may never be configured to expire sooner. */
export const MIN_RETENTION_DAYS = 2190;
/** Sync more often than this only loads the relay; less often than daily leaves the MSP blind. */
export const SYNC_INTERVAL_BOUNDS_S = { min: 10, max: 86_400 } as const;
/** Orders live at least a minute (clock skew) and at most a day (a stale order is a risk, not a help). */
export const ORDER_TTL_BOUNDS_S = { min: 60, max: 86_400 } as const;
/** Check intervals: faster than a minute floods the evidence log; slower than daily is not monitoring. */
export const CHECK_INTERVAL_BOUNDS_S = { min: 60, max: 86_400 } as const;
/** Collector timeouts: long enough for a slow Windows host, short enough that a cycle cannot stall. */
export const TIMEOUT_BOUNDS_S = { min: 1, max: 600 } as const;
/** Most bundles kept beyond the age rule; a bound so a typo cannot fill the disk. */
export const MAX_RETENTION_COUNT = 10_000_000;
/** An NTP skew threshold above an hour hides real clock faults. */
export const MAX_NTP_SKEW_S = 3600;
/** Lists in config (targets, windows, hosts, addresses) are small; a longer one is a generated mistake. */
export const MAX_LIST_ITEMS = 1000;

const HOSTNAME_PATTERN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MDNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const show = (v: unknown) => JSON.stringify(v);

/** Options for building the schema. */
export interface SchemaOptions {
  /** Directory relative paths are resolved against (the config file's directory). */
  baseDir?: string;
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** https, or http to a loopback address (tests, a relay on the same machine); never credentials in the URL. */
function secureUrl() {
  return z.string().meta({ value_type: "url" }).superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: "custom", message: `must be an absolute URL such as https://relay.example.com; saw ${show(text)}` });
      return;
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
      ctx.addIssue({ code: "custom", message: `must use https (http only to a loopback address); saw ${show(text)}` });
    } else if (url.username !== "" || url.password !== "") {
      ctx.addIssue({ code: "custom", message: `must not contain a user name or password; saw a URL with credentials for ${url.host}` });
    } else if (url.hash !== "") {
      ctx.addIssue({ code: "custom", message: `must not have a #fragment; saw ${show(text)}` });
    }
  });
}

const host = (doc: string) =>
  z
    .string()
    .refine((h) => HOSTNAME_PATTERN.test(h) || isIP(h) !== 0, { error: (iss) => `must be a host name or IP address; saw ${show(iss.input)}` })
    .meta({ description: doc });

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const port = () => int(1, 65_535);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_LIST_ITEMS);

/** Builds the schema. Paths resolve against `options.baseDir`. */
export function configSchema(options: SchemaOptions = {}) {
  const path = (doc: string) =>
    z
      .string()
      .min(1)
      .refine((p) => !p.includes("\0"), { error: "path must not contain a NUL byte" })
      .transform((p, ctx) => {
        if (isAbsolute(p)) return normalize(p);
        if (options.baseDir !== undefined) return resolve(options.baseDir, p);
        ctx.addIssue({ code: "custom", message: `must be an absolute path (this config has no file location to resolve it against); saw ${show(p)}` });
        return z.NEVER;
      })
      .meta({ description: doc, value_type: "path" });

  const windowSpec = z
    .strictObject({
      rrule: z.string().meta({ description: 'RFC 5545 RRULE in the site\'s wall-clock time, e.g. "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22"; may start with a "DTSTART:…" line.' }),
      duration: z.string().meta({ description: "ISO 8601 duration, e.g. PT4H (hours are elapsed time, days are calendar days); at most 7 days." }),
      tz: z.string().optional().meta({ description: "IANA time zone of this window; default: site.timezone." }),
    })
    .meta({ description: "A maintenance window." });

  const site = z
    .strictObject({
      id: z.string().regex(ID_PATTERN, { error: (iss) => `must be an id like site_0123abcd (lower-case, ^[a-z]+_[0-9a-z]{8,40}$); saw ${show(iss.input)}` }).optional()
        .meta({ description: "Site id (assigned by the relay at enrollment; set it only for a standalone appliance)." }),
      name: z.string().min(1).max(200).optional().meta({ description: "Clinic name shown on the status page." }),
      timezone: z
        .string()
        .default("UTC")
        .superRefine((tz, ctx) => {
          try {
            TimeZone.of(tz);
          } catch (e) {
            ctx.addIssue({ code: "custom", message: (e as Error).message });
          }
        })
        .meta({ description: "IANA time zone of the clinic (maintenance windows and reports use it), e.g. America/New_York." }),
      healing_mode: z.enum(["observe", "advise", "enforce"]).default("observe")
        .meta({ description: "observe: record only; advise: propose fixes; enforce: apply fixes (through every gate)." }),
      maintenance_windows: list(windowSpec).default([]).meta({ description: "When disruptive healing steps may run." }),
      allow_disruptive_outside_window: z.boolean().default(false)
        .meta({ description: "Let disruptive steps run outside maintenance windows (otherwise they are deferred)." }),
      deployment_mode: z.enum(["direct", "reseller"]).default("direct").meta({ description: "direct: the MSP runs the site; reseller: a partner does, and gets syslog/webhook copies." }),
      reseller_id: z.string().regex(ID_PATTERN, { error: (iss) => `must be an id like rsl_0123abcd; saw ${show(iss.input)}` }).optional()
        .meta({ description: "Reseller id recorded in evidence; required in reseller mode." }),
      l2_enabled: z.boolean().default(false).meta({ description: "Ask the relay's L2 planner (scrubbed facts only) when no L1 rule matches." }),
    })
    .superRefine((s, ctx) => {
      if (s.deployment_mode === "reseller" && s.reseller_id === undefined) {
        ctx.addIssue({ code: "custom", path: ["reseller_id"], message: "is required when deployment_mode is reseller; saw no reseller_id" });
      }
      if (s.deployment_mode === "direct" && s.reseller_id !== undefined) {
        ctx.addIssue({ code: "custom", path: ["reseller_id"], message: `must not be set when deployment_mode is direct; saw ${show(s.reseller_id)}` });
      }
      s.maintenance_windows.forEach((w, i) => {
        try {
          parseWindow({ rrule: w.rrule, duration: w.duration, tz: w.tz ?? s.timezone });
        } catch (e) {
          if (!(e instanceof WindowError)) throw e;
          const key = e.code === "invalid_duration" ? "duration" : e.code === "invalid_zone" ? "tz" : "rrule";
          ctx.addIssue({ code: "custom", path: ["maintenance_windows", i, key], message: e.message });
        }
      });
    })
    .transform((s) => ({ ...s, maintenance_windows: s.maintenance_windows.map((w) => ({ ...w, tz: w.tz ?? s.timezone })) }));

  const relay = z.strictObject({
    url: secureUrl().optional().meta({ description: "Relay base URL (https; http only to loopback). Absent: standalone appliance, no sync." }),
    pin_sha256: z.string().regex(SHA256_HEX, { error: (iss) => `must be 64 lower-case hex digits (SHA-256 of the relay's TLS public key); saw ${show(iss.input)}` }).optional()
      .meta({ description: "Pin the relay's TLS key: lower-case hex SHA-256 of its SubjectPublicKeyInfo." }),
    sync_interval_s: int(SYNC_INTERVAL_BOUNDS_S.min, SYNC_INTERVAL_BOUNDS_S.max).default(60).meta({ description: "Seconds between syncs (±10 % jitter)." }),
    order_ttl_s: int(ORDER_TTL_BOUNDS_S.min, ORDER_TTL_BOUNDS_S.max).default(900).meta({ description: "Longest lifetime accepted for a healing order, in seconds." }),
  });

  const enrollment = z.strictObject({
    claim_code_file: path("File holding the claim code for first-boot enrollment.").optional(),
    usb_config_glob: path("Glob for a provisioning file on a USB stick, e.g. /media/*/osiris.yaml.").optional(),
  });

  const common = {
    id: z.string().regex(HOST_ID_PATTERN, { error: (iss) => `must be a host id (lower-case letters, digits, . _ -; at most 63); saw ${show(iss.input)}` })
      .meta({ description: "Host id used in evidence and incidents." }),
    name: z.string().min(1).max(200).optional().meta({ description: "Display name." }),
  };
  const interval = (defaultS: number) => int(CHECK_INTERVAL_BOUNDS_S.min, CHECK_INTERVAL_BOUNDS_S.max).default(defaultS).meta({ description: "Seconds between check cycles. A scan that finds new drift brings the next one forward to 5 minutes." });
  const timeout = (defaultS: number) => int(TIMEOUT_BOUNDS_S.min, TIMEOUT_BOUNDS_S.max).default(defaultS).meta({ description: "Seconds before a command on this host is abandoned." });
  const credentialRef = z.string().min(1).max(200).meta({ description: "Name of the credential (relay vault or credentials_file)." });
  const target = z.discriminatedUnion("collector", [
    z.strictObject({ ...common, collector: z.literal("local"), platform: z.literal("appliance").default("appliance"), interval_s: interval(300), timeout_s: timeout(30) }),
    z.strictObject({
      ...common,
      collector: z.literal("ssh"),
      address: host("Host name or IP address."),
      port: port().default(22),
      platform: z.enum(["linux", "macos"]).default("linux"),
      credential_ref: credentialRef,
      host_key_sha256: z.string().optional().meta({ description: "Pinned SSH host key fingerprint (SHA256:… as ssh-keygen -lf prints)." }),
      interval_s: interval(900),
      timeout_s: timeout(30),
    }),
    z
      .strictObject({
        ...common,
        collector: z.literal("winrm"),
        address: host("Host name or IP address."),
        port: port().optional().meta({ description: "WinRM port; default 5986 with https, 5985 without." }),
        https: z.boolean().default(true),
        auth: z.enum(["ntlm", "basic"]).default("ntlm"),
        platform: z.literal("windows").default("windows"),
        credential_ref: credentialRef,
        cert_sha256: z.string().regex(SHA256_HEX, { error: (iss) => `must be 64 lower-case hex digits; saw ${show(iss.input)}` }).optional()
          .meta({ description: "Pinned SHA-256 of the host's TLS certificate (pinned on first use when absent)." }),
        interval_s: interval(900),
        timeout_s: timeout(60),
      })
      .transform((t) => ({ ...t, port: t.port ?? (t.https ? 5986 : 5985) })),
    z.strictObject({
      ...common,
      collector: z.literal("lab"),
      host: z.string().min(1).optional().meta({ description: "Host name in the lab site fixture; default: id." }),
      platform: z.enum(["linux", "windows", "macos", "appliance"]),
      interval_s: interval(900),
    }),
  ]);

  const syslog = z
    .strictObject({
      host: host("Syslog receiver host name or IP address."),
      port: port().optional().meta({ description: "Default 6514 for tls, 514 otherwise." }),
      transport: z.enum(["udp", "tcp", "tls"]).default("udp").meta({ description: "RFC 5424 transport." }),
    })
    .transform((s) => ({ ...s, port: s.port ?? (s.transport === "tls" ? 6514 : 514) }));

  return z
    .strictObject({
      state_dir: path("Directory for the database and key files (0700).").prefault("/var/lib/osiris"),
      database: path("libSQL database file; default: <state_dir>/appliance.db.").optional().meta({ default_text: "<state_dir>/appliance.db" }),
      log_level: z.enum(["debug", "info", "warn", "error"]).default("info").meta({ description: "Least severe log level written (JSON lines on stdout)." }),
      site: site.prefault({}).meta({ description: "The clinic site this appliance serves." }),
      relay: relay.prefault({}),
      enrollment: enrollment.prefault({}),
      targets: list(target)
        // On the list itself, and run even when some target is invalid (`when`), so a duplicate id is reported
        // together with every other problem of the config rather than only once those are fixed.
        .superRefine(
          (targets, ctx) => {
            const seen = new Map<string, number>();
            targets.forEach((t: unknown, i) => {
              const id = t !== null && typeof t === "object" ? (t as { id?: unknown }).id : undefined;
              if (typeof id !== "string") return;
              const first = seen.get(id);
              if (first !== undefined) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicates targets[${first}].id; saw ${show(id)}` });
              else seen.set(id, i);
            });
          },
          { when: (payload) => Array.isArray(payload.value) },
        )
        .default([])
        .meta({ description: "Hosts to check: collector local | ssh | winrm | lab." }),
      lab: z.strictObject({ site_dir: path("Lab site fixture directory (fixtures/lab/<site>); its hosts are simulated.") }).optional(),
      credentials_file: path("Standalone mode: YAML file of host credentials (mode 0600), read into memory only.").optional(),
      discovery: discoveryConfigSchema.prefault({}).meta({ description: "Network discovery: the site's subnets (the only addresses ever probed), schedule and rate." }),
      evidence: z
        .strictObject({
          retention_count: int(1, MAX_RETENTION_COUNT).default(200).meta({ description: "Keep at least the newest N acknowledged bundles." }),
          retention_days: z.number().int().max(100 * 366)
            .min(MIN_RETENTION_DAYS, { error: (iss) => `must be at least ${MIN_RETENTION_DAYS} days (6 years, HIPAA §164.316(b)(2)); saw ${show(iss.input)}` })
            .default(MIN_RETENTION_DAYS).meta({ description: "Keep every bundle younger than this many days (at least 2190 = 6 years)." }),
        })
        .prefault({}),
      ntp: z
        .strictObject({
          max_skew_s: z.number().positive().max(MAX_NTP_SKEW_S).default(5).meta({ description: "Alert when the clock is off by more than this many seconds." }),
        })
        .prefault({}),
      status_page: z
        .strictObject({
          port: port().default(8080).meta({ description: "TCP port of the read-only status page." }),
          bind: list(z.string().refine((a) => isIP(a) !== 0, { error: (iss) => `must be an IP address; saw ${show(iss.input)}` })).min(1).default(["0.0.0.0"])
            .meta({ description: "Addresses the status page listens on (the firewall limits it to LAN interfaces)." }),
          mdns: z.boolean().default(true).meta({ description: "Announce the status page over mDNS." }),
          mdns_name: z.string().regex(MDNS_LABEL, { error: (iss) => `must be one DNS label (a-z, 0-9, -); saw ${show(iss.input)}` }).default("osiriscare-appliance")
            .meta({ description: "mDNS host name: <mdns_name>.local." }),
        })
        .prefault({}),
      reseller: z
        .strictObject({
          syslog: syslog.optional().meta({ description: "Reseller's syslog receiver (reseller mode)." }),
          webhook: z
            .strictObject({
              url: secureUrl().meta({ description: "Reseller's webhook (HMAC-SHA256 signed bodies)." }),
              secret_file: path("File holding the webhook HMAC secret."),
            })
            .optional(),
        })
        .prefault({}),
      egress: z
        .strictObject({
          allowed_hosts: list(host("An allowed host name or IP address.")).default([]).meta({ description: "Extra hosts the appliance may reach on 443 (besides the relay)." }),
        })
        .prefault({}),
    })
    .superRefine((c, ctx) => {
      c.targets.forEach((t, i) => {
        if (t.collector === "lab" && c.lab === undefined) {
          ctx.addIssue({ code: "custom", path: ["targets", i, "collector"], message: "is lab but the config has no lab.site_dir; saw collector \"lab\"" });
        }
        if ((t.collector === "ssh" || t.collector === "winrm") && c.relay.url === undefined && c.credentials_file === undefined) {
          ctx.addIssue({ code: "custom", path: ["targets", i, "credential_ref"], message: `has no source: set relay.url or credentials_file; saw credential_ref ${show(t.credential_ref)}` });
        }
      });
      if (c.reseller.syslog !== undefined || c.reseller.webhook !== undefined) {
        if (c.site.deployment_mode !== "reseller") {
          ctx.addIssue({ code: "custom", path: ["reseller"], message: `outputs are set but site.deployment_mode is ${show(c.site.deployment_mode)}` });
        }
      }
    })
    .transform((c) => ({ ...c, database: c.database ?? join(c.state_dir, "appliance.db") }));
}

/** The validated appliance configuration. */
export type Config = z.output<ReturnType<typeof configSchema>>;
/** A host to check, by collector. */
export type Target = Config["targets"][number];
