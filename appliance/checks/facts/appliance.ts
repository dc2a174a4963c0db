/**
 * The appliance's self-checks (platform `appliance`, NixOS): one sh script run with the local transport, and
 * its parser. Facts that come from the signed appliance config rather than from the machine (the pinned
 * system, the expected AV hash, the firewall baseline and whether its signature verified) and the SNTP offset
 * are passed in by the caller.
 *
 * On a machine that is not NixOS, or has no systemd, the facts that cannot exist there are *unavailable* with
 * the reason, so their checks give `error` (or `not_applicable` where the catalogue says so), never `pass`.
 */
import type { Transport } from "../../collect/transport.ts";
import type { Clock } from "../../engine/types.ts";
import { rulesetSha256 } from "../../../protocol/appliance-config.ts";
import { buildScript, fullestMount, MAX_RAW_BYTES, parseProbes, probesFromDoc, RAW_OUTPUT_SLACK_BYTES, round2, shellSettings, unescapeMountPoint, type Probes } from "./_raw.ts";
import { lsblkEncrypted } from "./_lsblk.ts";
import { FactsBuilder, type Gather, type GatheredFacts } from "./gathered.ts";
import { timeSynchronized } from "./time-sync.ts";

export const APPLIANCE_RAW_SCHEMA = "osiris.appliance-raw/v1";
export const DEFAULT_AV_UNIT = "clamav-daemon.service";
export const DEFAULT_LOGGING_UNITS: readonly string[] = ["systemd-journald.service", "auditd.service"];
export const DEFAULT_ENCRYPTED_VOLUMES: readonly string[] = ["/var/lib/osiris"];
export const DEFAULT_RESTORE_TEST_FILE = "/var/lib/osiris/restore-test.json";
/** Most logging units or encrypted volumes checked: a handful is normal. */
export const MAX_LISTED = 16;
const UNIT = /^[A-Za-z0-9@._-]{1,120}\.service$/;
const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_MINUTE = 60_000;

const PROBES = String.raw`rec now date -u +%s
osiris_systemd=
if test -d /run/systemd/system; then osiris_systemd=1; fi
rec systemd test -d /run/systemd/system
rec current_system readlink -f /run/current-system
osiris_generations() {
  for l in /nix/var/nix/profiles/system-*-link; do
    test -L "$l" || continue
    printf '%s %s %s\n' "$(basename "$l")" "$(stat -c %Y "$l")" "$(readlink -f "$l")"
  done
}
rec generations osiris_generations
if test -n "$osiris_systemd"; then rec av_active systemctl is-active "$OSIRIS_AV_UNIT"; fi
osiris_av_sha() {
  p=$OSIRIS_AV_BINARY
  if test -z "$p"; then
    p=$(systemctl show -p ExecStart --value "$OSIRIS_AV_UNIT" 2>/dev/null | sed -n 's/^{ path=\([^ ;]*\).*/\1/p' | head -n 1)
  fi
  test -n "$p" || { echo "no binary path: set av.binary_path or give the unit an ExecStart"; return 2; }
  r=$(readlink -f "$p") || r=$p
  if test -f "$r"; then sha256sum "$r"; else echo "missing $r"; fi
}
rec av_sha osiris_av_sha
osiris_backup() {
  case $OSIRIS_BACKUP_TOOL in
    restic) RESTIC_REPOSITORY=$OSIRIS_BACKUP_REPO RESTIC_PASSWORD_FILE=$OSIRIS_BACKUP_PASSFILE $TMO restic "$@" ;;
    borg) BORG_REPO=$OSIRIS_BACKUP_REPO BORG_PASSCOMMAND="cat $OSIRIS_BACKUP_PASSFILE" $TMO borg "$@" ;;
    *) echo "no backup repository configured"; return 2 ;;
  esac
}
case $OSIRIS_BACKUP_TOOL in
  restic) rec backup_reach osiris_backup cat config --json && rec backup_latest osiris_backup snapshots --json --latest 1 ;;
  borg) rec backup_reach osiris_backup info --json && rec backup_latest osiris_backup list --json --last 1 ;;
esac
if test -f "$OSIRIS_RESTORE_TEST_FILE"; then rec restore_test cat "$OSIRIS_RESTORE_TEST_FILE"; fi
osiris_log_units() {
  for u in $(printf '%s\n' "$OSIRIS_LOG_UNITS" | tr ',' ' '); do printf '%s %s\n' "$u" "$(systemctl is-active "$u" 2>/dev/null)"; done
}
if test -n "$osiris_systemd"; then
  rec log_units osiris_log_units
  if test "$OSIRIS_CANARY" = 1 && have systemd-cat; then
    printf 'OSIRIS-CANARY %s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" | systemd-cat -t osiris-canary 2>/dev/null
  fi
  rec canary $TMO journalctl -t osiris-canary --since=-24h -o json -n 1 --no-pager
  rec nft_active systemctl is-active nftables.service
fi
if have nft; then rec nft_ruleset $TMO nft -j list ruleset; fi
osiris_luks() {
  for v in $(printf '%s\n' "$OSIRIS_LUKS_VOLUMES" | tr ',' ' '); do
    s=$(findmnt -n -o SOURCE --target "$v" 2>/dev/null | head -n 1)
    printf '@@volume %s %s\n' "$v" "$s"
    if test -n "$s"; then lsblk -J -s -o NAME,TYPE,FSTYPE "$s" 2>&1; fi
  done
}
rec luks osiris_luks
if have chronyc; then rec chrony $TMO chronyc -c tracking; fi
if have timedatectl; then rec timesync $TMO timedatectl show-timesync --all; fi
if have timedatectl; then rec timedatectl $TMO timedatectl show -p NTPSynchronized --value; fi
osiris_df() { df -P -x tmpfs -x devtmpfs -x squashfs -x overlay -x nfs -x nfs4 -x cifs 2>/dev/null || df -P; }
rec df osiris_df
rec ro_mounts awk '$4 ~ /(^|,)ro(,|$)/ { print $2 }' /proc/mounts`;

/** Where the backups go; the password stays in its file (the script passes the file name, never the secret). */
export interface ApplianceBackupConfig {
  readonly tool: "restic" | "borg";
  readonly repository: string;
  readonly passwordFile: string;
}

/** Values of the verified, signed appliance config (held in the store by the sync part). */
export interface ApplianceContext {
  readonly pinnedSystem: string | null;
  readonly expectedAvSha256: string | null;
  readonly firewallBaselineSha256: string | null;
  readonly firewallBaselineSignatureValid: boolean;
}

export interface ApplianceGatherOptions {
  readonly avUnit?: string;
  readonly avBinaryPath?: string;
  readonly loggingUnits?: readonly string[];
  readonly encryptedVolumes?: readonly string[];
  readonly backup?: ApplianceBackupConfig | null;
  readonly restoreTestFile?: string;
  /** Write a canary line to the journal each cycle (default true). */
  readonly canary?: boolean;
}

/** The script for these settings; every setting is validated (RangeError naming it). */
export function applianceScript(o: ApplianceGatherOptions = {}): string {
  const units = o.loggingUnits ?? DEFAULT_LOGGING_UNITS;
  const volumes = o.encryptedVolumes ?? DEFAULT_ENCRYPTED_VOLUMES;
  const av = o.avUnit ?? DEFAULT_AV_UNIT;
  for (const u of [av, ...units]) if (!UNIT.test(u)) throw new RangeError(`Unit names must look like name.service: current value is ${JSON.stringify(u)}`);
  if (units.length > MAX_LISTED || volumes.length > MAX_LISTED) throw new RangeError(`At most ${MAX_LISTED} logging units and volumes: current counts are ${units.length} and ${volumes.length}`);
  for (const p of [...volumes, o.avBinaryPath, o.restoreTestFile, o.backup?.passwordFile]) {
    if (p !== undefined && !p.startsWith("/")) throw new RangeError(`Paths must be absolute: current value is ${JSON.stringify(p)}`);
  }
  const settings = shellSettings({
    OSIRIS_AV_UNIT: av,
    OSIRIS_AV_BINARY: o.avBinaryPath ?? "",
    OSIRIS_LOG_UNITS: units.join(","),
    OSIRIS_LUKS_VOLUMES: volumes.join(","),
    OSIRIS_BACKUP_TOOL: o.backup?.tool ?? "",
    OSIRIS_BACKUP_REPO: o.backup?.repository ?? "",
    OSIRIS_BACKUP_PASSFILE: o.backup?.passwordFile ?? "",
    OSIRIS_RESTORE_TEST_FILE: o.restoreTestFile ?? DEFAULT_RESTORE_TEST_FILE,
    OSIRIS_CANARY: o.canary === false ? "0" : "1",
  });
  return buildScript(APPLIANCE_RAW_SCHEMA, settings, PROBES);
}

export interface ApplianceParseContext {
  readonly now: number;
  readonly context: ApplianceContext;
  /** Median SNTP offset (ms, absolute) or null when fewer than 3 servers answered; undefined when not measured. */
  readonly ntpOffsetMs?: number | null;
  readonly backupConfigured: boolean;
}

const WHAT = "The appliance fact script";

export function parseApplianceOutput(stdout: string, target: string, ctx: ApplianceParseContext): GatheredFacts {
  return applianceFactsFromProbes(parseProbes(stdout, APPLIANCE_RAW_SCHEMA, WHAT, target), ctx);
}

export function parseApplianceDoc(doc: unknown, target: string, ctx: ApplianceParseContext): GatheredFacts {
  return applianceFactsFromProbes(probesFromDoc(doc, APPLIANCE_RAW_SCHEMA, WHAT, target), ctx);
}

export interface ApplianceGathererDeps extends ApplianceGatherOptions {
  readonly clock: Clock;
  /** The signed config's values, read fresh each cycle. */
  readonly context: () => ApplianceContext | Promise<ApplianceContext>;
  /** SNTP measurement (see sntp.ts); absent → time.offset_ms_abs unavailable. */
  readonly ntpOffset?: (signal?: AbortSignal) => Promise<number | null>;
}

export function createApplianceGatherer(transport: Transport, deps: ApplianceGathererDeps): Gather {
  const script = applianceScript(deps);
  return async (_target, { timeoutMs, signal }) => {
    const [r, context, ntp] = await Promise.all([
      transport.run({ script, shell: "sh" }, { timeoutMs, maxOutputBytes: MAX_RAW_BYTES + RAW_OUTPUT_SLACK_BYTES, ...(signal ? { signal } : {}) }),
      deps.context(),
      deps.ntpOffset ? deps.ntpOffset(signal) : Promise.resolve(undefined),
    ]);
    return parseApplianceOutput(r.stdout, transport.target, { now: deps.clock.now(), context, ...(ntp !== undefined ? { ntpOffsetMs: ntp } : {}), backupConfigured: !!deps.backup });
  };
}

// ---- parsing -------------------------------------------------------------------------------------------

export { rulesetSha256 };

function jsonOf(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** RFC 3339 time with any number of fraction digits (restic prints nanoseconds) → epoch ms. */
export function parseTime(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const t = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(t) ? t : undefined;
}

export function applianceFactsFromProbes(p: Probes, ctx: ApplianceParseContext): GatheredFacts {
  const b = new FactsBuilder();
  const systemd = p.get("systemd")?.rc === 0;
  const noSystemd = "systemd is not running on this machine";
  const { now, context } = ctx;

  // NixOS generation and pin.
  const current = p.ok("current_system");
  const isNixos = current !== undefined && current.startsWith("/nix/store/");
  const notNixos = "this machine is not NixOS (no /run/current-system in the Nix store)";
  b.setOr("nixos.current_system", isNixos ? current : undefined, notNixos);
  b.set("nixos.pinned_system", context.pinnedSystem);
  if (!isNixos) b.missing("nixos.generation_age_days", notNixos);
  else {
    let best: { n: number; mtime: number } | undefined;
    for (const line of (p.ok("generations") ?? "").split("\n")) {
      const m = /^system-(\d+)-link (\d+) (\S+)$/.exec(line.trim());
      if (m && m[3] === current && (!best || Number(m[1]) > best.n)) best = { n: Number(m[1]), mtime: Number(m[2]) * 1000 };
    }
    b.setOr("nixos.generation_age_days", best ? round2((now - best.mtime) / MS_PER_DAY) : undefined, "no system profile generation points at the running system");
  }

  // Antivirus.
  if (!systemd) b.missing("av.service_active", noSystemd);
  else b.set("av.service_active", (p.get("av_active")?.out.trim() ?? "") === "active");
  const avOut = p.ok("av_sha");
  const sha = avOut === undefined ? undefined : /^([0-9a-f]{64})\s/.exec(avOut)?.[1] ?? (avOut.startsWith("missing ") ? null : undefined);
  b.setOr("av.binary_sha256", sha, p.describe("av_sha"));
  b.set("av.expected_binary_sha256", context.expectedAvSha256);

  backup(p, b, ctx);

  // Logging.
  if (!systemd) {
    b.missing("logging.inactive_services", noSystemd).missing("logging.canary_age_minutes", `${noSystemd}, so there is no journal to write the canary to`);
  } else {
    const lines = (p.ok("log_units") ?? "").split("\n").filter(Boolean);
    b.setOr("logging.inactive_services", p.has("log_units") ? lines.filter((l) => l.split(" ")[1] !== "active").map((l) => l.split(" ")[0]!).sort() : undefined, p.describe("log_units"));
    const canary = p.get("canary");
    if (!canary || canary.rc !== 0) b.missing("logging.canary_age_minutes", p.describe("canary"));
    else {
      const entry = jsonOf(canary.out.trim().split("\n").pop()) as { __REALTIME_TIMESTAMP?: unknown } | undefined;
      const us = typeof entry?.__REALTIME_TIMESTAMP === "string" && /^\d{1,20}$/.test(entry.__REALTIME_TIMESTAMP) ? Number(entry.__REALTIME_TIMESTAMP) : undefined;
      b.set("logging.canary_age_minutes", us === undefined ? null : round2(Math.max(0, now - us / 1000) / MS_PER_MINUTE));
    }
  }

  // Firewall.
  const nftDoc = p.get("nft_ruleset")?.rc === 0 && !p.get("nft_ruleset")!.truncated ? jsonOf(p.get("nft_ruleset")!.out) : undefined;
  const hash = p.has("nft_ruleset") ? rulesetSha256(nftDoc) : null;
  const hasChain = Array.isArray((nftDoc as { nftables?: unknown } | undefined)?.nftables) && (nftDoc as { nftables: unknown[] }).nftables.some((it) => it !== null && typeof it === "object" && "chain" in it);
  if (!systemd) b.missing("firewall.nftables_active", noSystemd);
  else b.set("firewall.nftables_active", p.get("nft_active")?.out.trim() === "active" && hasChain);
  b.setOr("firewall.ruleset_sha256", hash, p.describe("nft_ruleset"));
  b.set("firewall.baseline_sha256", context.firewallBaselineSha256);
  b.set("firewall.baseline_signature_valid", context.firewallBaselineSignatureValid);

  // LUKS volumes.
  const luks = p.get("luks");
  if (!luks || luks.truncated) b.missing("luks.unencrypted_volumes", luks ? "the volume listing was too long" : "the volume probe did not run");
  else {
    const unencrypted: string[] = [];
    let unknown: string | undefined;
    for (const part of luks.out.split(/^@@volume /m).slice(1)) {
      const [head = "", ...rest] = part.split("\n");
      const [volume = "", source = ""] = head.trim().split(" ");
      const enc = source ? lsblkEncrypted(jsonOf(rest.join("\n"))) : false;
      if (enc === undefined) unknown = `lsblk could not describe ${source} (for ${unescapeMountPoint(volume)})`;
      else if (!enc) unencrypted.push(volume);
    }
    b.setOr("luks.unencrypted_volumes", unknown ? undefined : unencrypted.sort(), unknown ?? "");
  }

  // Time.
  const sync = timeSynchronized({ chrony: p.ok("chrony"), timesync: p.ok("timesync"), ntpSynchronized: p.ok("timedatectl"), describe: (k) => p.describe(k) });
  if ("value" in sync) b.set("time.synchronized", sync.value);
  else b.missing("time.synchronized", sync.missing);
  b.setOr("time.offset_ms_abs", ctx.ntpOffsetMs === undefined ? undefined : ctx.ntpOffsetMs === null ? null : Math.abs(ctx.ntpOffsetMs), "no time servers are configured for the offset measurement");

  // Disk.
  const ro = new Set((p.ok("ro_mounts") ?? "").split("\n").filter(Boolean).map(unescapeMountPoint));
  const best = fullestMount(p.get("df")?.out ?? "", ro);
  b.setOr("disk.max_used_percent", best?.used, p.describe("df")).setOr("disk.fullest_mount", best?.mount, p.describe("df"));
  return b.build();
}

function backup(p: Probes, b: FactsBuilder, ctx: ApplianceParseContext): void {
  if (!ctx.backupConfigured) {
    b.set("backup.repository_reachable", false).set("backup.last_success_age_hours", null);
  } else {
    const reach = p.get("backup_reach");
    b.set("backup.repository_reachable", reach?.rc === 0);
    const latest = jsonOf(p.ok("backup_latest"));
    // restic: [{time, ...}]; borg: {archives: [{time|start, ...}]} (local time, printed under TZ=UTC).
    const list: unknown[] | undefined = Array.isArray(latest) ? latest : Array.isArray((latest as { archives?: unknown } | undefined)?.archives) ? (latest as { archives: unknown[] }).archives : undefined;
    if (!list) b.missing("backup.last_success_age_hours", reach?.rc === 0 ? p.describe("backup_latest") : `the repository did not answer: ${p.describe("backup_reach")}`);
    else {
      const times = list.map((s) => {
        const o = (s ?? {}) as { time?: unknown; start?: unknown };
        const t = typeof o.time === "string" && !/[zZ]|[+-]\d\d:?\d\d$/.test(o.time) ? `${o.time}Z` : o.time ?? o.start;
        return parseTime(t);
      }).filter((t): t is number => t !== undefined);
      b.set("backup.last_success_age_hours", times.length ? round2((ctx.now - Math.max(...times)) / MS_PER_HOUR) : null);
    }
  }
  const rt = p.get("restore_test");
  if (!rt) b.set("backup.last_restore_test_age_days", null).set("backup.last_restore_test_ok", null);
  else {
    const doc = jsonOf(p.ok("restore_test")) as { finished_at?: unknown; ok?: unknown } | undefined;
    const at = parseTime(doc?.finished_at);
    const why = `the restore-test status file is not {finished_at, ok} JSON (${p.describe("restore_test")})`;
    b.setOr("backup.last_restore_test_age_days", at === undefined ? undefined : round2((ctx.now - at) / MS_PER_DAY), why);
    b.setOr("backup.last_restore_test_ok", typeof doc?.ok === "boolean" ? doc.ok : undefined, why);
  }
}
