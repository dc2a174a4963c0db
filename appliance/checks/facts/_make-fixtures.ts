/**
 * Tool (not a test): writes the fact fixtures in fixtures/facts/ from
 * - linux-debian-raw.txt (recorded by _record-linux.ts): linux-pass.json and linux-fail.json, each edit below
 *   named by probe, so what was changed from the real recording is explicit;
 * - reconstructions of what the scripts print on hosts not reachable here (Windows 11, Windows Server 2022
 *   domain controller, macOS, the NixOS appliance).
 *
 *   node --import tsx appliance/checks/facts/_make-fixtures.ts
 *
 * The output is deterministic (fixed times), so re-running it changes nothing unless this file changes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { rulesetSha256 } from "./appliance.ts";
import { FACTS_FIXTURE_SCHEMA } from "./fixture.ts";
import { WINDOWS_RAW_SCHEMA } from "./windows.ts";

type Probe = { rc: number; size: number; out: string };
type Raw = Record<string, unknown> & { schema: string };

const dir = new URL("../../../fixtures/facts/", import.meta.url);
const probe = (out: string, rc = 0): Probe => ({ rc, size: new TextEncoder().encode(out).byteLength + (out ? 1 : 0), out });
const write = (name: string, doc: unknown) => writeFileSync(new URL(name, dir), `${JSON.stringify(doc, null, 2)}\n`);
const fixture = (platform: string, provenance: string, description: string, now: string, context: unknown, output: unknown) => ({
  schema: FACTS_FIXTURE_SCHEMA,
  platform,
  provenance,
  description,
  now,
  ...(context ? { context } : {}),
  output,
});

// ---- linux -----------------------------------------------------------------------------------------------

const recorded = JSON.parse(readFileSync(new URL("linux-debian-raw.txt", dir), "utf8")) as Raw;
const recordedAt = new Date(Number((recorded["now"] as Probe).out) * 1000);
const linuxNow = new Date(recordedAt.getTime() + 60_000).toISOString();
const sshdT = (recorded["sshd_t"] as Probe).out;
const hoursBefore = (h: number) => {
  const d = new Date(recordedAt.getTime() - h * 3_600_000);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  return `${day} ${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} UTC`;
};
const nftInputDrop = JSON.stringify({
  nftables: [
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "inet", name: "filter", handle: 1 } },
    { chain: { family: "inet", table: "filter", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
    { rule: { family: "inet", table: "filter", chain: "input", handle: 4, expr: [{ match: { op: "==", left: { meta: { key: "iifname" } }, right: "lo" } }, { accept: null }] } },
    { rule: { family: "inet", table: "filter", chain: "input", handle: 5, expr: [{ match: { op: "in", left: { ct: { key: "state" } }, right: ["established", "related"] } }, { accept: null }] } },
    { rule: { family: "inet", table: "filter", chain: "input", handle: 6, expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 22 } }, { accept: null }] } },
  ],
});
const lsblkLuks = JSON.stringify(
  {
    blockdevices: [
      { name: "luks-root", type: "crypt", fstype: "ext4", mountpoints: ["/"], children: [{ name: "vda2", type: "part", fstype: "crypto_LUKS", mountpoints: [null], children: [{ name: "vda", type: "disk", fstype: null, mountpoints: [null] }] }] },
      { name: "vda1", type: "part", fstype: "vfat", mountpoints: ["/boot/efi"], children: [{ name: "vda", type: "disk", fstype: null, mountpoints: [null] }] },
      { name: "zram0", type: "disk", fstype: null, mountpoints: ["[SWAP]"] },
    ],
  },
  null,
  3,
);

/** Edits that make the recorded Debian host a passing server (README lists them too). */
function linuxPass(raw: Raw): Raw {
  const d: Raw = structuredClone(raw);
  d["systemd"] = probe("", 0); // host booted with systemd
  delete d["auditd_proc"];
  d["failed"] = probe("", 0); // no failed units
  d["auditd"] = probe("active");
  d["journald"] = probe("active");
  d["fw_nft"] = probe(nftInputDrop); // nftables: input chain, policy drop
  d["sshd_t"] = probe(sshdT.replace("permitrootlogin without-password", "permitrootlogin no").replace("passwordauthentication yes", "passwordauthentication no"));
  d["timedatectl"] = probe("yes");
  d["accept_redirects"] = probe("0");
  d["apt_uu"] = probe('APT::Periodic::Unattended-Upgrade "1";');
  d["uu_installed"] = probe("");
  d["dnf_timer"] = probe("Failed to get unit file state for dnf-automatic.timer: No such file or directory", 1);
  d["nixos_timer"] = probe("Failed to get unit file state for nixos-upgrade.timer: No such file or directory", 1);
  d["backup_units"] = probe("restic-backups-nas.service");
  d["backup_show"] = probe(`ExecMainStatus=0\nResult=success\nExecMainExitTimestamp=${hoursBefore(6)}`);
  d["backup_journal"] = probe("");
  d["lsblk"] = probe(lsblkLuks); // root on LUKS
  return d;
}

/** Edits that make the passing host fail every Linux check. */
function linuxFail(pass: Raw): Raw {
  const d: Raw = structuredClone(pass);
  d["fw_nft"] = probe(JSON.stringify({ nftables: [{ metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } }] })); // empty ruleset
  d["sshd_t"] = probe(sshdT.replace("permitrootlogin without-password", "permitrootlogin yes").replace("kbdinteractiveauthentication no", "kbdinteractiveauthentication yes"));
  d["failed"] = probe("restic-backups-nas.service loaded failed failed restic backup nas\nsmartd.service loaded failed failed Self Monitoring and Reporting Technology (SMART) Daemon");
  d["df"] = probe("Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/mapper/luks-root 264212084 250001500  14210584      95% /\n/dev/vda1          523248      6220    517028       2% /boot/efi");
  d["auditd"] = probe("inactive", 3);
  d["journald_conf"] = probe("# /etc/systemd/journald.conf\n[Journal]\nStorage=volatile");
  d["timedatectl"] = probe("no");
  d["syncookies"] = probe("0");
  d["accept_redirects"] = probe("1");
  d["accept_source_route"] = probe("1");
  d["apt_uu"] = probe("", 1);
  d["uu_installed"] = probe("", 1);
  d["mode_passwd"] = probe("666");
  d["mode_shadow"] = probe("644");
  d["certs"] = probe(`notAfter=${opensslDate(new Date(recordedAt.getTime() + 9 * 86_400_000))}\t/etc/ssl/certs/server.crt`);
  d["backup_show"] = probe(`ExecMainStatus=1\nResult=exit-code\nExecMainExitTimestamp=${hoursBefore(2)}`);
  d["backup_journal"] = probe(`${Math.floor(recordedAt.getTime() / 1000) - 9 * 86_400}.123456 nas systemd[1]: restic-backups-nas.service: Deactivated successfully.`);
  d["lsblk"] = (recorded["lsblk"] as Probe) as unknown; // the recorded, unencrypted disk
  d["uid0"] = probe("root\ntoor");
  return d;
}

function opensslDate(d: Date): string {
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
  return `${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()} GMT`;
}

const lp = linuxPass(recorded);
write("linux-pass.json", fixture("linux", "derived", "The Debian 12 recording (linux-debian-raw.txt) with the edits listed in README.md that make it a passing server.", linuxNow, { role: "server" }, lp));
write("linux-fail.json", fixture("linux", "derived", "linux-pass.json with the edits listed in README.md that make every Linux check fail.", linuxNow, { role: "server" }, linuxFail(lp)));
write("linux-debian.json", fixture("linux", "recorded", "linux-debian-raw.txt as recorded (this Debian 12 VM, no systemd as PID 1), evaluated one minute after recording.", linuxNow, { role: "server" }, recorded));

// ---- windows (reconstructed) -----------------------------------------------------------------------------

const winNow = "2026-11-27T15:00:00.000Z";
const winMs = Date.parse(winNow);
const AUDIT_PASS: Record<string, string> = {
  "{0CCE923F-69AE-11D9-BED3-505054503030}": "Success and Failure",
  "{0CCE9215-69AE-11D9-BED3-505054503030}": "Success and Failure",
  "{0CCE9216-69AE-11D9-BED3-505054503030}": "Success",
  "{0CCE9217-69AE-11D9-BED3-505054503030}": "Failure",
  "{0CCE921B-69AE-11D9-BED3-505054503030}": "Success",
  "{0CCE9235-69AE-11D9-BED3-505054503030}": "Success and Failure",
  "{0CCE9237-69AE-11D9-BED3-505054503030}": "Success",
  "{0CCE922F-69AE-11D9-BED3-505054503030}": "Success",
  "{0CCE9210-69AE-11D9-BED3-505054503030}": "Success",
  "{0CCE9212-69AE-11D9-BED3-505054503030}": "Success and Failure",
  "{0CCE922B-69AE-11D9-BED3-505054503030}": "Success",
  "{0CCE9228-69AE-11D9-BED3-505054503030}": "Success and Failure",
  "{0CCE9211-69AE-11D9-BED3-505054503030}": "No Auditing",
  "{0CCE9213-69AE-11D9-BED3-505054503030}": "Success and Failure",
  "{0CCE921C-69AE-11D9-BED3-505054503030}": "No Auditing",
  "{0CCE9224-69AE-11D9-BED3-505054503030}": "No Auditing",
  "{0CCE9227-69AE-11D9-BED3-505054503030}": "No Auditing",
};
const win11Pass = {
  schema: WINDOWS_RAW_SCHEMA,
  now_ms: winMs + 412,
  domain_role: 1,
  firewall: { Domain: "True", Private: "True", Public: "True" },
  defender: { mode: "Normal", rtp: true, av: true, sig_age: 0 },
  exclusions: [],
  wu_start: "Manual",
  patch_ms: winMs - 9 * 86_400_000 - 3_600_000,
  eventlog: "Running",
  audit: AUDIT_PASS,
  bitlocker: [],
  smb: { v1: false, client_signing: true, server_signing: true },
  screenlock: 900,
  admins: ["Administrator", "Domain Admins"],
  guest: false,
  rdp: { nla: true, enabled: true },
  policy: { LockoutBadCount: 5, MinimumPasswordLength: 14 },
  dns: ["192.168.20.10", "192.168.20.11"],
  w32time: "Running",
  spooler: "Running",
  errors: {},
};
const win11Fail = {
  ...win11Pass,
  now_ms: winMs + 96_000,
  firewall: { Domain: "True", Private: "False", Public: "False" },
  defender: { mode: "Normal", rtp: false, av: true, sig_age: 12 },
  exclusions: ["path:C:\\Users\\Public\\Scans", "ext:.tmp", "process:scanner.exe"],
  wu_start: "Disabled",
  patch_ms: winMs - 120 * 86_400_000,
  eventlog: "Stopped",
  audit: { ...AUDIT_PASS, "{0CCE9215-69AE-11D9-BED3-505054503030}": "Success", "{0CCE922B-69AE-11D9-BED3-505054503030}": "No Auditing" },
  bitlocker: ["C:"],
  smb: { v1: true, client_signing: false, server_signing: false },
  screenlock: null,
  admins: ["Administrator", "Domain Admins", "frontdesk"],
  guest: true,
  rdp: { nla: false, enabled: true },
  policy: { LockoutBadCount: 0, MinimumPasswordLength: 6 },
  dns: ["192.168.20.10", "203.0.113.53"],
  w32time: "Stopped",
};
const dcPass = {
  ...win11Pass,
  domain_role: 5,
  wu_start: "Automatic",
  admins: ["Administrator", "Domain Admins", "Enterprise Admins"],
  dns: ["127.0.0.1", "192.168.20.11"],
  spooler: "Stopped",
  screenlock: 600,
};
const dcFail = { ...win11Fail, domain_role: 5, spooler: "Running" };
const winDesc = "Reconstructed, not recorded: no Windows host is reachable from this machine. The JSON the scan script prints";
write("windows-pass.json", fixture("windows", "reconstructed", `${winDesc} on a domain-joined Windows 11 Pro 23H2 workstation that passes every workstation check.`, winNow, null, win11Pass));
write("windows-fail.json", fixture("windows", "reconstructed", `${winDesc} on the same workstation with every workstation check failing.`, winNow, null, win11Fail));
write("windows-dc-pass.json", fixture("windows", "reconstructed", `${winDesc} on a Windows Server 2022 domain controller that passes (print spooler stopped).`, winNow, null, dcPass));
write("windows-dc-fail.json", fixture("windows", "reconstructed", `${winDesc} on the same domain controller with the spooler running and the other checks failing.`, winNow, null, dcFail));

// ---- macOS (reconstructed) -------------------------------------------------------------------------------

const macNow = "2026-11-27T15:00:00.000Z";
const missingKey = (key: string) => probe(`\nThe domain/default pair of (/Library/Managed Preferences/com.apple.SoftwareUpdate, ${key}) does not exist`, 1);
const macPass = {
  schema: "osiris.macos-raw/v1",
  now: probe(String(Math.floor(Date.parse(macNow) / 1000))),
  filevault: probe("FileVault is On."),
  firewall: probe("Firewall is enabled. (State = 1)"),
  gatekeeper: probe("assessments enabled"),
  sip: probe("System Integrity Protection status: enabled."),
  su_check_managed: missingKey("AutomaticCheckEnabled"),
  su_critical_managed: missingKey("CriticalUpdateInstall"),
  su_check: probe("1"),
  su_critical: probe("1"),
  idle_managed: probe("\nThe domain/default pair of (/Library/Managed Preferences/com.apple.screensaver, idleTime) does not exist", 1),
  idle: probe("600"),
  displaysleep: probe("10"),
  screenlock: probe("2026-11-27 15:00:01.123 sysadminctl[4211:60311] screenLock delay is immediate"),
};
const macFail = {
  ...macPass,
  filevault: probe("FileVault is Off."),
  firewall: probe("Firewall is disabled. (State = 0)"),
  gatekeeper: probe("assessments disabled"),
  sip: probe("System Integrity Protection status: disabled."),
  su_check: probe("0"),
  idle: probe("0"),
  displaysleep: probe("0"),
  screenlock: probe("2026-11-27 15:00:01.123 sysadminctl[4211:60311] screenLock is off"),
};
const macDesc = "Reconstructed, not recorded: no Mac is reachable from this machine. What the macOS fact script prints on macOS 14 Sonoma";
write("macos-pass.json", fixture("macos", "reconstructed", `${macDesc} with FileVault, firewall, Gatekeeper, SIP, automatic updates and a 10-minute screen lock on.`, macNow, null, macPass));
write("macos-fail.json", fixture("macos", "reconstructed", `${macDesc} with every one of those turned off.`, macNow, null, macFail));

// ---- appliance (reconstructed NixOS) ---------------------------------------------------------------------

const appNow = "2026-11-27T15:00:00.000Z";
const appS = Math.floor(Date.parse(appNow) / 1000);
const system = "/nix/store/9f3kq2v8w1l7m0c5x4z6b8n2p1r3t5y7-nixos-system-osiris-appliance-24.11.20261102.a1b2c3d";
const oldSystem = "/nix/store/2b7c0k1d9f8g7h6j5k4l3m2n1p0q9r8s-nixos-system-osiris-appliance-24.11.20261005.0f9e8d7";
const clamd = "/nix/store/k5j4h3g2f1d0s9a8p7o6i5u4y3t2r1e0-clamav-1.4.1/bin/clamd";
const clamdSha = "3c1f0e9a7b5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e";
const applianceRuleset = {
  nftables: [
    { metainfo: { version: "1.1.1", release_name: "Commodore Bullmoose #2", json_schema_version: 1 } },
    { table: { family: "inet", name: "osiris", handle: 3 } },
    { chain: { family: "inet", table: "osiris", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "drop" } },
    { chain: { family: "inet", table: "osiris", name: "output", handle: 2, type: "filter", hook: "output", prio: 0, policy: "drop" } },
    { rule: { family: "inet", table: "osiris", chain: "input", handle: 5, expr: [{ match: { op: "==", left: { meta: { key: "iifname" } }, right: "lo" } }, { accept: null }] } },
    { rule: { family: "inet", table: "osiris", chain: "input", handle: 6, expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 80 } }, { accept: null }] } },
    { rule: { family: "inet", table: "osiris", chain: "output", handle: 7, expr: [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 443 } }, { accept: null }] } },
  ],
};
const baseline = rulesetSha256(applianceRuleset) as string;
const lsblkCrypt = JSON.stringify({ blockdevices: [{ name: "osiris-data", type: "crypt", fstype: "ext4", children: [{ name: "nvme0n1p3", type: "part", fstype: "crypto_LUKS", children: [{ name: "nvme0n1", type: "disk", fstype: null }] }] }] }, null, 3);
const lsblkPlain = JSON.stringify({ blockdevices: [{ name: "nvme0n1p2", type: "part", fstype: "ext4", children: [{ name: "nvme0n1", type: "disk", fstype: null }] }] }, null, 3);
const canary = (ageS: number) => JSON.stringify({ __CURSOR: "s=4f1c;i=2a11;b=9e2d;m=1b2c3d;t=6446b1;x=7788", __REALTIME_TIMESTAMP: String((appS - ageS) * 1_000_000 + 123_456), _SYSTEMD_UNIT: "osiris-appliance.service", SYSLOG_IDENTIFIER: "osiris-canary", MESSAGE: "OSIRIS-CANARY 9b1e0f4c2d7a6e35", PRIORITY: "6" });
const generations = (ageDays: number, current: string) => [
  `system-41-link ${appS - 40 * 86_400} ${oldSystem}`,
  `system-42-link ${appS - Math.round(ageDays * 86_400)} ${current}`,
].join("\n");
const appPass = {
  schema: "osiris.appliance-raw/v1",
  now: probe(String(appS)),
  systemd: probe("", 0),
  current_system: probe(system),
  generations: probe(generations(12.5, system)),
  av_active: probe("active"),
  av_sha: probe(`${clamdSha}  ${clamd}`),
  backup_reach: probe(JSON.stringify({ version: 2, id: "5ad4b2ecfa1b3e9c7d6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", chunker_polynomial: "3dfcb7e3a1b2c5" })),
  backup_latest: probe(JSON.stringify([{ time: new Date((appS - 7 * 3600) * 1000).toISOString().replace(".000Z", ".481293517Z"), tree: "8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c", paths: ["/var/lib/osiris", "/etc/osiris"], hostname: "osiris-appliance", username: "root", id: "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", short_id: "0a1b2c3d" }])),
  restore_test: probe(JSON.stringify({ finished_at: new Date((appS - 6 * 86_400) * 1000).toISOString(), ok: true, files: 10, bytes: 48_211_303, snapshot: "0a1b2c3d" })),
  log_units: probe("systemd-journald.service active\nauditd.service active"),
  canary: probe(canary(290)),
  nft_active: probe("active"),
  nft_ruleset: probe(JSON.stringify(applianceRuleset)),
  luks: probe(`@@volume /var/lib/osiris /dev/mapper/osiris-data\n${lsblkCrypt}`),
  chrony: probe("C0A80101,192.168.1.1,3,1795791540.118310720,0.000012904,0.000004217,0.000021350,-9.412,0.002,0.031,0.011427432,0.000522916,1030.1,Normal"),
  df: probe("Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/disk/by-label/nixos 61611820 19210012  39241892      33% /\n/dev/mapper/osiris-data 120395004 41018320  73217872      36% /var/lib/osiris\n/dev/nvme0n1p1  523248    61220    462028      12% /boot"),
  ro_mounts: probe("/nix/store"),
};
const appFail = {
  ...appPass,
  generations: probe(generations(45.2, oldSystem)),
  current_system: probe(oldSystem),
  av_active: probe("inactive", 3),
  av_sha: probe(`0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff  ${clamd}`),
  backup_latest: probe(JSON.stringify([{ time: new Date((appS - 50 * 3600) * 1000).toISOString(), paths: ["/var/lib/osiris"], hostname: "osiris-appliance", id: "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", short_id: "ffeeddcc" }])),
  restore_test: probe(JSON.stringify({ finished_at: new Date((appS - 41 * 86_400) * 1000).toISOString(), ok: false, files: 10, bytes: 0, snapshot: "ffeeddcc" })),
  log_units: probe("systemd-journald.service active\nauditd.service failed"),
  canary: probe(canary(3 * 3600)),
  nft_active: probe("inactive", 3),
  nft_ruleset: probe(JSON.stringify({ nftables: [applianceRuleset.nftables[0], applianceRuleset.nftables[1], { chain: { family: "inet", table: "osiris", name: "input", handle: 1, type: "filter", hook: "input", prio: 0, policy: "accept" } }] })),
  luks: probe(`@@volume /var/lib/osiris /dev/nvme0n1p2\n${lsblkPlain}`),
  chrony: probe("7F7F0101,127.127.1.1,10,1795791540.118310720,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,64.0,Not synchronised"),
  df: probe("Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/disk/by-label/nixos 61611820 58530229   3081591      95% /\n/dev/mapper/osiris-data 120395004 41018320  73217872      36% /var/lib/osiris"),
};
const appContext = (ok: boolean) => ({
  pinned_system: system,
  expected_av_sha256: clamdSha,
  firewall_baseline_sha256: baseline,
  firewall_baseline_signature_valid: true,
  ntp_offset_ms: ok ? 14 : 7_250,
  backup_configured: true,
});
const appDesc = "Reconstructed, not recorded: this machine is not NixOS. What the appliance fact script prints on a NixOS 24.11 appliance";
write("appliance-pass.json", fixture("appliance", "reconstructed", `${appDesc} in good order (pinned system running, ClamAV up, backups fresh, LUKS data volume).`, appNow, appContext(true), appPass));
write("appliance-fail.json", fixture("appliance", "reconstructed", `${appDesc} with every self-check failing.`, appNow, appContext(false), appFail));
console.log("fixtures written to", dir.pathname);
