/**
 * Linux hosts: one POSIX sh script, run over the transport as `{script, shell: "sh"}`, that gathers every
 * fact the catalogue documents for platform `linux`, and its parser.
 *
 * The script only reads (sshd -T or sshd_config, the firewall tools, systemctl, df, /proc, stat, openssl,
 * lsblk, getent); it needs no python or jq. Privileged reads go through `sudo -n` when the account is not
 * root and sudo asks no password; where a read fails, the fact is reported unavailable with the tool's
 * message, never guessed. Where the host has no systemd (containers, OpenRC), facts that only systemd can
 * answer (failed units, backup jobs) are unavailable and their checks give `error`, not `pass`.
 */
import type { Transport } from "../../collect/transport.ts";
import type { Clock } from "../../engine/types.ts";
import { buildScript, fullestMount, MAX_RAW_BYTES, parseDf, parseProbes, probeJson, probesFromDoc, RAW_OUTPUT_SLACK_BYTES, round2, shellSettings, unescapeMountPoint, type Probes } from "./_raw.ts";
import { FactsBuilder, type Gather, type GatheredFacts } from "./gathered.ts";
import { lsblkUnencrypted } from "./_lsblk.ts";

export const LINUX_RAW_SCHEMA = "osiris.linux-raw/v1";

/** Certificate files checked when the site inventory names none (catalogue fact certs.count). */
export const DEFAULT_CERT_PATHS: readonly string[] = ["/etc/letsencrypt/live/*/cert.pem", "/etc/ssl/certs/server.crt", "/etc/pki/tls/certs/localhost.crt"];
/** Most certificate patterns per host. */
export const MAX_CERT_PATHS = 32;
const UNIT = /^[A-Za-z0-9@._-]{1,120}\.service$/;
const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;

const PROBES = String.raw`rec now date -u +%s
rec uid id -u
osiris_systemd=
if test -d /run/systemd/system; then osiris_systemd=1; fi
rec systemd test -d /run/systemd/system
if have ufw; then rec fw_ufw $TMO $PRIV ufw status; fi
if have firewall-cmd; then rec fw_firewalld $TMO firewall-cmd --state; fi
if have nft; then rec fw_nft $TMO $PRIV nft -j list ruleset; fi
if have iptables; then rec fw_iptables $TMO $PRIV iptables -S INPUT; fi
osiris_sshd_path() { command -v sshd || { test -x /usr/sbin/sshd && echo /usr/sbin/sshd; }; }
osiris_sshd_config() {
  test -r /etc/ssh/sshd_config || { echo "cannot read /etc/ssh/sshd_config"; return 1; }
  while IFS= read -r line || test -n "$line"; do
    set -f; set -- $line; set +f
    case $1 in
      [Ii][Nn][Cc][Ll][Uu][Dd][Ee])
        shift
        for pat in "$@"; do
          case $pat in /*) ;; *) pat=/etc/ssh/$pat ;; esac
          for f in $pat; do if test -f "$f"; then cat "$f"; echo; fi; done
        done ;;
      *) printf '%s\n' "$line" ;;
    esac
  done </etc/ssh/sshd_config
}
if rec sshd_path osiris_sshd_path; then
  osiris_sshd=$(osiris_sshd_path | head -n 1)
  rec sshd_t $TMO $PRIV "$osiris_sshd" -T || rec sshd_config osiris_sshd_config
fi
if test -n "$osiris_systemd"; then rec failed $TMO systemctl --failed --plain --no-legend --no-pager; fi
osiris_df() { df -P -x tmpfs -x devtmpfs -x squashfs -x overlay -x nfs -x nfs4 -x cifs -x fuse.lxcfs 2>/dev/null || df -P; }
rec df osiris_df
rec ro_mounts awk '$4 ~ /(^|,)ro(,|$)/ { print $2 }' /proc/mounts
if test -n "$osiris_systemd"; then
  rec auditd $TMO systemctl is-active auditd.service
  rec journald $TMO systemctl is-active systemd-journald.service
else
  rec auditd_proc sh -c 'cat /proc/[0-9]*/comm 2>/dev/null | grep -qx auditd'
fi
osiris_journald_conf() {
  if have systemd-analyze; then $TMO systemd-analyze cat-config systemd/journald.conf && return 0; fi
  cat /etc/systemd/journald.conf /etc/systemd/journald.conf.d/*.conf /run/systemd/journald.conf.d/*.conf 2>/dev/null
  return 0
}
rec journald_conf osiris_journald_conf
rec journal_dir test -d /var/log/journal
if have timedatectl; then rec timedatectl $TMO timedatectl show -p NTPSynchronized --value; fi
if have chronyc; then rec chrony $TMO chronyc -c tracking; fi
rec syncookies cat /proc/sys/net/ipv4/tcp_syncookies
rec accept_redirects cat /proc/sys/net/ipv4/conf/all/accept_redirects
rec accept_source_route cat /proc/sys/net/ipv4/conf/all/accept_source_route
if have apt-config; then
  rec apt_uu sh -c 'apt-config dump | grep -i "^APT::Periodic::Unattended-Upgrade "'
  rec uu_installed test -x /usr/bin/unattended-upgrade
fi
if test -n "$osiris_systemd"; then
  rec dnf_timer systemctl is-enabled dnf-automatic.timer dnf-automatic-install.timer
  rec nixos_timer systemctl is-enabled nixos-upgrade.timer
fi
rec mode_passwd stat -c %a /etc/passwd
rec mode_group stat -c %a /etc/group
rec mode_shadow $PRIV stat -c %a /etc/shadow
rec mode_gshadow $PRIV stat -c %a /etc/gshadow
osiris_certs() {
  for f in $(printf '%s\n' "$OSIRIS_CERT_GLOBS" | tr ',' ' '); do
    test -f "$f" || continue
    if have openssl; then
      e=$($PRIV openssl x509 -noout -enddate -in "$f" 2>/dev/null) && printf '%s\t%s\n' "$e" "$f"
    else
      printf 'no-openssl\t%s\n' "$f"
    fi
  done
  return 0
}
rec certs osiris_certs
osiris_backup_units() {
  if test -n "$OSIRIS_BACKUP_UNIT"; then echo "$OSIRIS_BACKUP_UNIT"; return 0; fi
  { systemctl list-units --all --plain --no-legend --no-pager 'restic-backups-*.service' 'borgmatic.service' 'borgbackup-job-*.service'
    systemctl list-unit-files --plain --no-legend --no-pager 'restic-backups-*.service' 'borgmatic.service' 'borgbackup-job-*.service'
  } 2>/dev/null | awk '$1 ~ /\.service$/ { print $1 }' | sort -u
}
if test -n "$osiris_systemd"; then
  rec backup_units osiris_backup_units
  osiris_unit=$(osiris_backup_units | head -n 1)
  if test -n "$osiris_unit"; then
    rec backup_show $TMO systemctl show -p ExecMainExitTimestamp -p ExecMainStatus -p Result --no-pager "$osiris_unit"
    rec backup_journal sh -c 'journalctl -u "$1" -o short-unix --no-pager -n 2000 2>/dev/null | grep -E "Finished|Deactivated successfully" | tail -n 1' sh "$osiris_unit"
  fi
fi
osiris_lsblk() { lsblk -J -s -o NAME,TYPE,FSTYPE,MOUNTPOINTS 2>/dev/null || lsblk -J -s -o NAME,TYPE,FSTYPE,MOUNTPOINT; }
if have lsblk; then rec lsblk osiris_lsblk; fi
osiris_uid0() { { getent passwd 2>/dev/null || cat /etc/passwd; } | awk -F: '$3 == 0 { print $1 }'; }
rec uid0 osiris_uid0`;

/** Options from the site inventory and config for one Linux host. */
export interface LinuxGatherOptions {
  /** The host's role in the site inventory (fact host.role); left unavailable when the inventory has none. */
  readonly role?: string;
  /** Certificate file patterns (absolute paths, `*` allowed); default DEFAULT_CERT_PATHS. */
  readonly certPaths?: readonly string[];
  /** The backup job's systemd unit, when it is not one of the standard names. */
  readonly backupUnit?: string;
}

/** The script for a host; settings are validated (RangeError naming the bad value). */
export function linuxScript(opts: LinuxGatherOptions = {}): string {
  const certPaths = opts.certPaths ?? DEFAULT_CERT_PATHS;
  if (certPaths.length > MAX_CERT_PATHS) throw new RangeError(`Cannot check more than ${MAX_CERT_PATHS} certificate paths: current count is ${certPaths.length}`);
  for (const p of certPaths) if (!p.startsWith("/")) throw new RangeError(`Certificate paths must be absolute: current value is ${JSON.stringify(p)}`);
  if (opts.backupUnit !== undefined && !UNIT.test(opts.backupUnit)) throw new RangeError(`backupUnit must be a systemd service name: current value is ${JSON.stringify(opts.backupUnit)}`);
  const settings = shellSettings({ OSIRIS_CERT_GLOBS: certPaths.join(","), OSIRIS_BACKUP_UNIT: opts.backupUnit ?? "" });
  return buildScript(LINUX_RAW_SCHEMA, settings, PROBES);
}

/** What the parser needs besides the output: the appliance's clock (ages) and inventory facts. */
export interface LinuxParseContext {
  /** Epoch ms the ages are measured against. */
  readonly now: number;
  readonly role?: string;
}

/** Parses the script's stdout into facts (CollectError on garbage). */
export function parseLinuxOutput(stdout: string, target: string, ctx: LinuxParseContext): GatheredFacts {
  return linuxFactsFromProbes(parseProbes(stdout, LINUX_RAW_SCHEMA, "The Linux fact script", target), ctx);
}

/** Parses an already decoded raw document (fixtures). */
export function parseLinuxDoc(doc: unknown, target: string, ctx: LinuxParseContext): GatheredFacts {
  return linuxFactsFromProbes(probesFromDoc(doc, LINUX_RAW_SCHEMA, "The Linux fact script", target), ctx);
}

/** The host's own clock when the script ran (epoch ms), if it printed one. */
export function collectedAt(probes: Probes): number | undefined {
  const s = probes.ok("now");
  return s && /^\d{9,11}$/.test(s) ? Number(s) * 1000 : undefined;
}

export function createLinuxGatherer(transport: Transport, opts: LinuxGatherOptions & { readonly clock: Clock }): Gather {
  const script = linuxScript(opts);
  return async (_target, { timeoutMs, signal }) => {
    const r = await transport.run({ script, shell: "sh" }, { timeoutMs, maxOutputBytes: MAX_RAW_BYTES + RAW_OUTPUT_SLACK_BYTES, ...(signal ? { signal } : {}) });
    return parseLinuxOutput(r.stdout, transport.target, { now: opts.clock.now(), ...(opts.role !== undefined ? { role: opts.role } : {}) });
  };
}

// ---- parsing -------------------------------------------------------------------------------------------

export function linuxFactsFromProbes(p: Probes, ctx: LinuxParseContext): GatheredFacts {
  const b = new FactsBuilder();
  const systemd = p.get("systemd")?.rc === 0;
  const noSystemd = "systemd is not running on this host (no /run/systemd/system)";

  if (ctx.role !== undefined) b.set("host.role", ctx.role);
  else b.missing("host.role", "the site inventory gives no role for this host");

  firewall(p, b);
  sshd(p, b);

  if (!systemd) b.missing("services.failed_units", `${noSystemd}, so failed units cannot be listed`);
  else {
    const out = p.ok("failed");
    if (out === undefined) b.missing("services.failed_units", p.describe("failed"));
    else b.set("services.failed_units", [...new Set(out.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((u) => u.length > 0 && !u.startsWith("●")))].sort());
  }

  disk(p, b);

  if (systemd) {
    const a = p.get("auditd");
    b.setOr("audit.auditd_active", a ? a.out.trim() === "active" : undefined, p.describe("auditd"));
  } else {
    const a = p.get("auditd_proc");
    b.setOr("audit.auditd_active", a ? a.rc === 0 : undefined, p.describe("auditd_proc"));
  }
  journal(p, b, systemd);
  time(p, b);

  for (const [fact, key] of [["kernel.tcp_syncookies", "syncookies"], ["kernel.accept_redirects", "accept_redirects"], ["kernel.accept_source_route", "accept_source_route"]] as const) {
    const v = p.ok(key);
    b.setOr(fact, v !== undefined && /^-?\d{1,6}$/.test(v) ? Number(v) : undefined, v === undefined ? p.describe(key) : `unexpected value ${JSON.stringify(v.slice(0, 40))}`);
  }

  autoupdate(p, b, systemd);
  fileModes(p, b);
  certs(p, b, ctx.now);
  backup(p, b, systemd, ctx.now);

  const lsblk = p.get("lsblk");
  if (!lsblk) b.missing("disk.unencrypted_mounts", "lsblk is not installed");
  else {
    const found = lsblkUnencrypted(probeJson(lsblk));
    b.setOr("disk.unencrypted_mounts", found, lsblk.truncated ? "lsblk output was too long" : p.describe("lsblk"));
  }

  const uid0 = p.ok("uid0");
  b.setOr("accounts.uid0", uid0 === undefined ? undefined : [...new Set(uid0.split("\n").map((s) => s.trim()).filter(Boolean))].sort(), p.describe("uid0"));
  return b.build();
}

/** An nft -j ruleset filters input: a chain on hook input with policy drop, or with at least one rule. */
export function nftFiltersInput(doc: unknown): boolean | undefined {
  if (doc === null || typeof doc !== "object" || !Array.isArray((doc as { nftables?: unknown }).nftables)) return undefined;
  const items = (doc as { nftables: unknown[] }).nftables;
  const inputChains = new Set<string>();
  let dropPolicy = false;
  for (const it of items) {
    const chain = (it as { chain?: Record<string, unknown> } | null)?.chain;
    if (chain && chain["hook"] === "input") {
      inputChains.add(`${String(chain["family"])} ${String(chain["table"])} ${String(chain["name"])}`);
      if (chain["policy"] === "drop") dropPolicy = true;
    }
  }
  if (dropPolicy) return true;
  return items.some((it) => {
    const rule = (it as { rule?: Record<string, unknown> } | null)?.rule;
    return !!rule && inputChains.has(`${String(rule["family"])} ${String(rule["table"])} ${String(rule["chain"])}`);
  });
}

function firewall(p: Probes, b: FactsBuilder): void {
  const failures: string[] = [];
  const tests: [backend: string, key: string, verdict: () => boolean | undefined][] = [
    ["ufw", "fw_ufw", () => (p.get("fw_ufw")?.rc === 0 ? /^Status: active/m.test(p.get("fw_ufw")!.out) : undefined)],
    ["firewalld", "fw_firewalld", () => {
      const f = p.get("fw_firewalld")!;
      if (f.out.trim() === "running") return true;
      return /not running/.test(f.out) ? false : undefined;
    }],
    ["nftables", "fw_nft", () => nftFiltersInput(probeJson(p.get("fw_nft")))],
    ["iptables", "fw_iptables", () => (p.get("fw_iptables")?.rc === 0 ? /^-P INPUT DROP\b|^-A INPUT /m.test(p.get("fw_iptables")!.out) : undefined)],
  ];
  for (const [backend, key, verdict] of tests) {
    if (!p.has(key)) continue;
    const v = verdict();
    if (v === true) {
      b.set("firewall.active", true).set("firewall.backend", backend);
      return;
    }
    if (v === undefined) failures.push(p.describe(key));
  }
  if (failures.length) {
    const why = `no firewall tool confirmed filtering and some could not be read: ${failures.join("; ")}`;
    b.missing("firewall.active", why).missing("firewall.backend", why);
    return;
  }
  b.set("firewall.active", false).set("firewall.backend", null);
}

/** OpenSSH defaults for options left unset (OpenSSH ≥ 7.0). */
const SSHD_DEFAULTS: Readonly<Record<string, string>> = { permitrootlogin: "prohibit-password", passwordauthentication: "yes", kbdinteractiveauthentication: "yes" };

/** Effective global sshd options from `sshd -T` output, or from sshd_config text (first value wins, Match blocks ignored). */
export function sshdOptions(text: string, fromConfig: boolean): Record<string, string> {
  const opts: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(\S+)/.exec(line);
    if (!m) continue;
    let key = m[1]!.toLowerCase();
    if (fromConfig && key === "match") break;
    if (key === "challengeresponseauthentication") key = "kbdinteractiveauthentication";
    const value = m[2]!.toLowerCase().replace(/^"|"$/g, "");
    if (fromConfig && key in opts) continue;
    opts[key] = value;
  }
  if (fromConfig) for (const [k, v] of Object.entries(SSHD_DEFAULTS)) opts[k] ??= v;
  if (opts["permitrootlogin"] === "without-password") opts["permitrootlogin"] = "prohibit-password";
  return opts;
}

function sshd(p: Probes, b: FactsBuilder): void {
  const names = ["sshd.permit_root_login", "sshd.password_authentication", "sshd.kbd_interactive_authentication"] as const;
  const keys = ["permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication"] as const;
  const installed = p.get("sshd_path")?.rc === 0;
  b.set("sshd.installed", installed);
  if (!installed) {
    for (const n of names) b.set(n, null);
    return;
  }
  const t = p.ok("sshd_t");
  const conf = p.ok("sshd_config");
  const opts = t !== undefined ? sshdOptions(t, false) : conf !== undefined ? sshdOptions(conf, true) : undefined;
  names.forEach((n, i) => b.setOr(n, opts?.[keys[i]!], opts ? `sshd -T does not report ${keys[i]}` : `${p.describe("sshd_t")}; ${p.describe("sshd_config")}`));
}

/** File systems that are not local disks, for hosts where df could not exclude them itself. */
const PSEUDO_FS = /^(tmpfs|devtmpfs|overlay|shm|none|udev|run|cgroup2?|proc|sysfs)$|^\/\/|:\//;

function disk(p: Probes, b: FactsBuilder): void {
  const df = p.get("df");
  const ro = new Set((p.ok("ro_mounts") ?? "").split("\n").filter(Boolean).map(unescapeMountPoint));
  const local = df ? parseDf(df.out).filter((r) => !PSEUDO_FS.test(r.fs)) : [];
  const best = fullestMount(["header", ...local.map((r) => `${r.fs} 0 0 0 ${r.used}% ${r.mount}`)].join("\n"), ro);
  const why = df ? (df.rc === 0 ? "df listed no writable local filesystem" : p.describe("df")) : "df did not run";
  b.setOr("disk.max_used_percent", best?.used, why).setOr("disk.fullest_mount", best?.mount, why);
}

function journal(p: Probes, b: FactsBuilder, systemd: boolean): void {
  if (!systemd) {
    // Without systemd there is no systemd journal at all, let alone a persistent one.
    b.set("journal.persistent", false);
    return;
  }
  const conf = p.get("journald_conf");
  if (!conf) {
    b.missing("journal.persistent", "journald configuration could not be read");
    return;
  }
  let storage = "auto";
  for (const line of conf.out.split("\n")) {
    const m = /^\s*Storage\s*=\s*(\S+)/.exec(line);
    if (m) storage = m[1]!.toLowerCase();
  }
  const dir = p.get("journal_dir")?.rc === 0;
  b.set("journal.persistent", storage === "persistent" || (storage === "auto" && dir));
}

function time(p: Probes, b: FactsBuilder): void {
  const td = p.ok("timedatectl");
  if (td === "yes" || td === "no") {
    b.set("time.synchronized", td === "yes");
    return;
  }
  const chrony = p.ok("chrony");
  if (chrony !== undefined) {
    const f = chrony.split("\n")[0]!.split(",");
    const leap = f[f.length - 1]?.trim();
    if (f.length >= 14 && leap) {
      b.set("time.synchronized", leap === "Normal" && f[0] !== "7F7F0101" && f[0] !== "00000000");
      return;
    }
  }
  const tried = ["timedatectl", "chrony"].filter((k) => p.has(k)).map((k) => p.describe(k));
  b.missing("time.synchronized", tried.length ? `no time service answered: ${tried.join("; ")}` : "neither timedatectl nor chronyc is available");
}

function autoupdate(p: Probes, b: FactsBuilder, systemd: boolean): void {
  const enabled = (key: string) => (p.ok(key) ?? "").split("\n").some((l) => l.trim() === "enabled");
  let mechanism: string | null = null;
  if (/"1"/.test(p.ok("apt_uu") ?? "") && p.get("uu_installed")?.rc === 0) mechanism = "unattended-upgrades";
  else if (enabled("dnf_timer")) mechanism = "dnf-automatic";
  else if (enabled("nixos_timer")) mechanism = "nixos-upgrade";
  if (mechanism === null && !p.has("apt_uu") && !systemd) {
    const why = "no apt-config, and systemd is not running: automatic updates cannot be checked";
    b.missing("autoupdate.enabled", why).missing("autoupdate.mechanism", why);
    return;
  }
  b.set("autoupdate.enabled", mechanism !== null).set("autoupdate.mechanism", mechanism);
}

function mode(p: Probes, key: string): string | null | undefined {
  const probe = p.get(key);
  if (!probe) return undefined;
  if (probe.rc !== 0) return /No such file/.test(probe.out) ? null : undefined;
  const v = probe.out.trim();
  return /^[0-7]{1,4}$/.test(v) ? v.padStart(3, "0") : undefined;
}

function fileModes(p: Probes, b: FactsBuilder): void {
  for (const [fact, key, nullable] of [
    ["files.passwd_mode", "mode_passwd", false],
    ["files.group_mode", "mode_group", false],
    ["files.shadow_mode", "mode_shadow", false],
    ["files.gshadow_mode", "mode_gshadow", true],
  ] as const) {
    const v = mode(p, key);
    b.setOr(fact, v === null && !nullable ? undefined : v, p.describe(key));
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `notAfter=Nov 27 23:45:00 2027 GMT` → epoch ms. */
export function parseOpensslDate(s: string): number | undefined {
  const m = /^notAfter=([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+(\d{4})\s+GMT$/.exec(s.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return undefined;
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

function certs(p: Probes, b: FactsBuilder, now: number): void {
  const out = p.get("certs");
  if (!out) {
    b.missing("certs.count", "certificate probe did not run").missing("certs.min_days_remaining", "certificate probe did not run");
    return;
  }
  const lines = out.out.split("\n").filter(Boolean);
  if (lines.some((l) => l.startsWith("no-openssl\t"))) {
    const why = "certificate files exist but openssl is not installed to read them";
    b.missing("certs.count", why).missing("certs.min_days_remaining", why);
    return;
  }
  const ends = lines.map((l) => parseOpensslDate(l.split("\t")[0] ?? "")).filter((t): t is number => t !== undefined);
  b.set("certs.count", ends.length);
  b.set("certs.min_days_remaining", ends.length ? round2((Math.min(...ends) - now) / MS_PER_DAY) : null);
}

/** `Wed 2026-11-25 02:00:03 UTC` (systemctl show under TZ=UTC) → epoch ms. */
export function parseSystemdTimestamp(s: string): number | undefined {
  const m = /(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) UTC$/.exec(s.trim());
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : undefined;
}

function backup(p: Probes, b: FactsBuilder, systemd: boolean, now: number): void {
  if (!systemd) {
    const why = "systemd is not running on this host, and backup jobs are found through their systemd units";
    b.missing("backup.tool", why).missing("backup.last_success_age_hours", why);
    return;
  }
  const unit = (p.ok("backup_units") ?? "").split("\n").map((s) => s.trim()).find(Boolean);
  if (!unit) {
    b.set("backup.tool", null).set("backup.last_success_age_hours", null);
    return;
  }
  b.set("backup.tool", unit.startsWith("restic-backups-") ? "restic" : unit === "borgmatic.service" || unit.startsWith("borgbackup-job-") ? "borg" : "other");
  const show = Object.fromEntries((p.ok("backup_show") ?? "").split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
  let finished = show["ExecMainStatus"] === "0" ? parseSystemdTimestamp(show["ExecMainExitTimestamp"] ?? "") : undefined;
  if (finished === undefined) {
    const m = /^(\d{9,11})(?:\.\d+)?\s/.exec(p.ok("backup_journal") ?? "");
    if (m) finished = Number(m[1]) * 1000;
  }
  b.set("backup.last_success_age_hours", finished === undefined ? null : round2((now - finished) / MS_PER_HOUR));
}
