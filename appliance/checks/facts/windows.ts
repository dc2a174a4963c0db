/**
 * Windows hosts: one PowerShell script (run over WinRM through `runPowerShellJson`, which returns its output
 * as compact JSON) that gathers every fact the catalogue documents for platform `windows`, and its parser.
 *
 * Each probe runs in its own try/catch: a probe that throws leaves its facts *unavailable* with the exception
 * message (in `errors`), so one broken cmdlet costs one check an `error`, not the whole host. The script prints
 * values close to raw (strings for enums, so ConvertTo-Json cannot turn them into numbers); the parser
 * validates every member and does the filtering the catalogue describes (private DNS addresses, sorting).
 *
 * The script must fit Windows' command-line limit once base64-encoded for -EncodedCommand (about 12,000
 * characters including the JSON wrapper); windows.test.ts checks it.
 */
import { runPowerShellJson } from "../../collect/powershell-json.ts";
import { CollectError } from "../../collect/errors.ts";
import type { Transport } from "../../collect/transport.ts";
import type { Clock } from "../../engine/types.ts";
import type { Json } from "../../../protocol/catalogue/schema.ts";
import { FactsBuilder, type Gather, type GatheredFacts } from "./gathered.ts";

export const WINDOWS_RAW_SCHEMA = "osiris.windows-raw/v1";
/** The scan's JSON is a few KiB; anything near this is not our script talking. */
export const MAX_WINDOWS_JSON_BYTES = 256 * 1024;
/** Longest list the parser accepts (exclusions, admins, DNS servers, volumes). */
export const MAX_LIST = 256;
const MS_PER_DAY = 86_400_000;

/** Subcategory GUIDs of the audit facts (locale-independent). */
export const AUDIT_SUBCATEGORIES: Readonly<Record<string, string>> = {
  "audit.credential_validation": "{0CCE923F-69AE-11D9-BED3-505054503030}",
  "audit.logon": "{0CCE9215-69AE-11D9-BED3-505054503030}",
  "audit.logoff": "{0CCE9216-69AE-11D9-BED3-505054503030}",
  "audit.account_lockout": "{0CCE9217-69AE-11D9-BED3-505054503030}",
  "audit.special_logon": "{0CCE921B-69AE-11D9-BED3-505054503030}",
  "audit.user_account_management": "{0CCE9235-69AE-11D9-BED3-505054503030}",
  "audit.security_group_management": "{0CCE9237-69AE-11D9-BED3-505054503030}",
  "audit.audit_policy_change": "{0CCE922F-69AE-11D9-BED3-505054503030}",
  "audit.security_state_change": "{0CCE9210-69AE-11D9-BED3-505054503030}",
  "audit.system_integrity": "{0CCE9212-69AE-11D9-BED3-505054503030}",
  "audit.process_creation": "{0CCE922B-69AE-11D9-BED3-505054503030}",
  "audit.sensitive_privilege_use": "{0CCE9228-69AE-11D9-BED3-505054503030}",
};
const AUDIT_VALUES = new Set(["No Auditing", "Success", "Failure", "Success and Failure"]);

/** The scan script. Probes: see the parser below for what each member means. */
export const WINDOWS_SCRIPT = String.raw`$o = [ordered]@{ schema = '${WINDOWS_RAW_SCHEMA}' }
$E = [ordered]@{}
function P([string]$k, [scriptblock]$b) {
  try { $o[$k] = & $b } catch { $m = ($_.Exception.Message -replace '\s+', ' ').Trim(); $E[$k] = $m.Substring(0, [Math]::Min(200, $m.Length)) }
}
P now_ms { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }
P domain_role { [int](Get-CimInstance Win32_ComputerSystem).DomainRole }
P firewall { $h = @{}; Get-NetFirewallProfile -PolicyStore ActiveStore | % { $h["$($_.Name)"] = "$($_.Enabled)" }; $h }
P defender { $s = Get-MpComputerStatus; @{ mode = "$($s.AMRunningMode)"; rtp = [bool]$s.RealTimeProtectionEnabled; av = [bool]$s.AntivirusEnabled; sig_age = [int]$s.AntivirusSignatureAge } }
P exclusions { $p = Get-MpPreference; ,@(@($p.ExclusionPath | ? { $_ } | % { "path:$_" }) + @($p.ExclusionExtension | ? { $_ } | % { "ext:$_" }) + @($p.ExclusionProcess | ? { $_ } | % { "process:$_" })) }
P wu_start { $s = Get-Service wuauserv -ErrorAction SilentlyContinue; if ($s) { "$($s.StartType)" } else { $null } }
P patch_ms {
  $d = $null
  try {
    $q = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); $n = $q.GetTotalHistoryCount()
    if ($n -gt 0) { $d = $q.QueryHistory(0, [Math]::Min($n, 500)) | ? { $_.Operation -eq 1 -and $_.ResultCode -eq 2 } | % { [DateTime]::SpecifyKind($_.Date, 'Utc') } | sort -Descending | select -First 1 }
  } catch { }
  if (-not $d) { $d = Get-HotFix | ? { $_.InstalledOn } | % { $_.InstalledOn.ToUniversalTime() } | sort -Descending | select -First 1 }
  if ($d) { ([DateTimeOffset]$d).ToUnixTimeMilliseconds() } else { $null }
}
P eventlog { "$((Get-Service EventLog).Status)" }
P audit { $h = @{}; auditpol /get /category:* /r | ? { $_ } | ConvertFrom-Csv | % { $h[$_.'Subcategory GUID'] = $_.'Inclusion Setting' }; $h }
P bitlocker { if (Get-Command Get-BitLockerVolume -ErrorAction SilentlyContinue) { ,@(Get-BitLockerVolume | ? { "$($_.VolumeType)" -in 'OperatingSystem','Data' -and "$($_.ProtectionStatus)" -ne 'On' } | % { $_.MountPoint }) } else { 'unavailable' } }
P smb { $s = Get-SmbServerConfiguration; $c = Get-SmbClientConfiguration; @{ v1 = [bool]$s.EnableSMB1Protocol; server_signing = [bool]$s.RequireSecuritySignature; client_signing = [bool]$c.RequireSecuritySignature } }
P screenlock {
  $v = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' -ErrorAction SilentlyContinue).InactivityTimeoutSecs
  if ($v -gt 0) { return [int]$v }
  $k = 'Software\Policies\Microsoft\Windows\Control Panel\Desktop'; $t = $null
  $keys = @("HKCU:\$k") + @(Get-ChildItem Registry::HKEY_USERS -ErrorAction SilentlyContinue | ? { $_.PSChildName -match '^S-1-5-21-[\d-]+$' } | % { "Registry::$($_.Name)\$k" })
  foreach ($r in $keys) {
    $p = Get-ItemProperty $r -ErrorAction SilentlyContinue
    if ($p -and "$($p.ScreenSaverIsSecure)" -eq '1' -and [int]"0$($p.ScreenSaveTimeOut)" -gt 0) { $x = [int]$p.ScreenSaveTimeOut; if ($t -eq $null -or $x -gt $t) { $t = $x } }
  }
  $t
}
P admins {
  try { $m = Get-LocalGroupMember -SID S-1-5-32-544 | % { if ("$($_.SID)" -match '-500$') { 'Administrator' } else { ("$($_.Name)" -split '\\')[-1] } } }
  catch {
    $m = ([ADSI]'WinNT://./Administrators,group').psbase.Invoke('Members') | % {
      $n = $_.GetType().InvokeMember('Name', 'GetProperty', $null, $_, $null)
      $b = $_.GetType().InvokeMember('objectSid', 'GetProperty', $null, $_, $null)
      if ((New-Object Security.Principal.SecurityIdentifier($b, 0)).Value -match '-500$') { 'Administrator' } else { $n } }
  }
  ,@($m)
}
P guest { [bool](Get-LocalUser | ? { "$($_.SID)" -like 'S-1-5-21-*-501' } | select -First 1).Enabled }
P rdp {
  $ts = Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server'
  $w = Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
  @{ enabled = ($ts.fDenyTSConnections -eq 0); nla = ($w.UserAuthentication -eq 1) }
}
P policy {
  $f = [IO.Path]::GetTempFileName()
  try {
    secedit /export /cfg $f /areas SECURITYPOLICY | Out-Null
    $h = @{}; Get-Content $f | % { if ($_ -match '^\s*(MinimumPasswordLength|LockoutBadCount)\s*=\s*(\d+)') { $h[$Matches[1]] = [int]$Matches[2] } }; $h
  } finally { Remove-Item $f -ErrorAction SilentlyContinue }
}
P dns { ,@(Get-NetAdapter | ? { "$($_.Status)" -eq 'Up' } | Get-DnsClientServerAddress -AddressFamily IPv4 | % { $_.ServerAddresses }) }
P w32time { "$((Get-Service W32Time).Status)" }
P spooler { "$((Get-Service Spooler -ErrorAction SilentlyContinue).Status)" }
$o.errors = $E
$o`;

export interface WindowsParseContext {
  /** Epoch ms the ages are measured against (the appliance's clock). */
  readonly now: number;
  /** The appliance's clock at the midpoint of the WinRM round trip, for time.offset_ms_abs. */
  readonly midpointMs: number;
}

const WHAT = "The Windows fact script";

function fail(target: string, problem: string): CollectError {
  return new CollectError("protocol", `${WHAT} on ${target} printed unusable output: ${problem}`);
}

export function createWindowsGatherer(transport: Transport, opts: { readonly clock: Clock }): Gather {
  return async (_target, { timeoutMs, signal }) => {
    const before = opts.clock.now();
    const doc = await runPowerShellJson(transport, WINDOWS_SCRIPT, { timeoutMs, maxJsonBytes: MAX_WINDOWS_JSON_BYTES, ...(signal ? { signal } : {}) });
    const after = opts.clock.now();
    return parseWindowsDoc(doc, transport.target, { now: after, midpointMs: before + (after - before) / 2 });
  };
}

type Doc = Record<string, Json>;
const isObj = (v: Json | undefined): v is Doc => v !== null && typeof v === "object" && !Array.isArray(v);

/** A string list from a PowerShell value: null → [], a lone string → [it]; undefined if anything else. */
function list(v: Json | undefined): string[] | undefined {
  if (v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.length <= MAX_LIST && v.every((x) => typeof x === "string")) return v as string[];
  return undefined;
}

const sortedUnique = (xs: readonly string[]) => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Private, loopback, link-local and unspecified IPv4 addresses are not public DNS servers. */
export function isPublicIpv4(a: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return false;
  const [x, y] = [Number(m[1]), Number(m[2])];
  if ([x, y, Number(m[3]), Number(m[4])].some((n) => n > 255)) return false;
  return !(x === 10 || x === 127 || x === 0 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 169 && y === 254));
}

/** Parses the script's JSON value (from runPowerShellJson, or a fixture). Throws CollectError("protocol") on garbage. */
export function parseWindowsDoc(doc: unknown, target: string, ctx: WindowsParseContext): GatheredFacts {
  if (!isObj(doc as Json)) throw fail(target, "expected a JSON object");
  const d = doc as Doc;
  if (d["schema"] !== WINDOWS_RAW_SCHEMA) throw fail(target, `schema is ${JSON.stringify(d["schema"])?.slice(0, 60)}, expected ${WINDOWS_RAW_SCHEMA}`);
  const errors = d["errors"];
  if (errors !== undefined && !isObj(errors)) throw fail(target, "errors must be an object");
  const err = (k: string) => {
    const e = isObj(errors) ? errors[k] : undefined;
    return typeof e === "string" ? `${k} failed: ${e}` : `${k} was not reported`;
  };
  const b = new FactsBuilder();
  const get = (k: string): Json | undefined => (Object.hasOwn(d, k) ? d[k] : undefined);
  const bool = (v: Json | undefined) => (typeof v === "boolean" ? v : undefined);
  const int = (v: Json | undefined) => (typeof v === "number" && Number.isSafeInteger(v) ? v : undefined);
  const bad = (k: string) => (get(k) === undefined ? err(k) : `${k} has an unexpected shape`);

  const role = int(get("domain_role"));
  b.setOr("host.is_domain_controller", role === undefined ? undefined : role >= 4, bad("domain_role"));

  const fw = get("firewall");
  for (const profile of ["Domain", "Private", "Public"]) {
    const v = isObj(fw) ? fw[profile] : undefined;
    b.setOr(`firewall.${profile.toLowerCase()}_enabled`, v === "True" || v === "1" ? true : v === "False" || v === "0" ? false : undefined, isObj(fw) ? `profile ${profile} not reported` : bad("firewall"));
  }

  const def = get("defender");
  if (def === undefined) {
    // Get-MpComputerStatus failing means Defender is not present (catalogue: null).
    for (const f of ["running_mode", "realtime_enabled", "antivirus_enabled", "signature_age_days"]) b.set(`defender.${f}`, null);
  } else if (isObj(def)) {
    b.setOr("defender.running_mode", typeof def["mode"] === "string" && def["mode"] !== "" ? def["mode"] : null, "");
    b.setOr("defender.realtime_enabled", bool(def["rtp"]), "defender.rtp has an unexpected shape");
    b.setOr("defender.antivirus_enabled", bool(def["av"]), "defender.av has an unexpected shape");
    b.setOr("defender.signature_age_days", int(def["sig_age"]), "defender.sig_age has an unexpected shape");
  } else for (const f of ["running_mode", "realtime_enabled", "antivirus_enabled", "signature_age_days"]) b.missing(`defender.${f}`, bad("defender"));
  const excl = list(get("exclusions"));
  b.setOr("defender.exclusions", excl && sortedUnique(excl), bad("exclusions"));

  const wu = get("wu_start");
  b.setOr("wu.service_start_mode", wu === null ? null : typeof wu === "string" && ["Automatic", "Manual", "Disabled"].includes(wu) ? wu : undefined, bad("wu_start"));

  const patch = get("patch_ms");
  b.setOr("patch.last_installed_age_days", patch === null ? null : int(patch) === undefined ? undefined : Math.round(((ctx.now - (patch as number)) / MS_PER_DAY) * 100) / 100, bad("patch_ms"));

  const evt = get("eventlog");
  b.setOr("eventlog.service_running", typeof evt === "string" ? evt === "Running" : undefined, bad("eventlog"));

  const audit = get("audit");
  for (const [fact, guid] of Object.entries(AUDIT_SUBCATEGORIES)) {
    const v = isObj(audit) ? audit[guid] : undefined;
    b.setOr(fact, typeof v === "string" && AUDIT_VALUES.has(v) ? v : undefined, isObj(audit) ? `auditpol did not list subcategory ${guid}${typeof v === "string" ? ` with a known setting (got ${JSON.stringify(v.slice(0, 40))})` : ""}` : bad("audit"));
  }

  const bl = get("bitlocker");
  b.setOr("bitlocker.unprotected_volumes", bl === "unavailable" ? null : list(bl) && sortedUnique(list(bl)!), bad("bitlocker"));

  const smb = get("smb");
  b.setOr("smb.v1_enabled", isObj(smb) ? bool(smb["v1"]) : undefined, bad("smb"));
  b.setOr("smb.server_signing_required", isObj(smb) ? bool(smb["server_signing"]) : undefined, bad("smb"));
  b.setOr("smb.client_signing_required", isObj(smb) ? bool(smb["client_signing"]) : undefined, bad("smb"));

  const lock = get("screenlock");
  b.setOr("screenlock.timeout_s", lock === null ? null : int(lock), bad("screenlock"));

  const admins = list(get("admins"));
  b.setOr("admins.members", admins && sortedUnique(admins), bad("admins"));
  b.setOr("accounts.guest_enabled", bool(get("guest")), bad("guest"));

  const rdp = get("rdp");
  b.setOr("rdp.enabled", isObj(rdp) ? bool(rdp["enabled"]) : undefined, bad("rdp"));
  b.setOr("rdp.nla_required", isObj(rdp) ? bool(rdp["nla"]) : undefined, bad("rdp"));

  const pol = get("policy");
  b.setOr("policy.min_password_length", isObj(pol) ? int(pol["MinimumPasswordLength"]) : undefined, isObj(pol) ? "secedit did not export MinimumPasswordLength" : bad("policy"));
  b.setOr("policy.lockout_threshold", isObj(pol) ? int(pol["LockoutBadCount"]) : undefined, isObj(pol) ? "secedit did not export LockoutBadCount" : bad("policy"));

  const dns = list(get("dns"));
  b.setOr("dns.public_servers", dns && sortedUnique(dns.filter(isPublicIpv4)), bad("dns"));

  const w32 = get("w32time");
  b.setOr("time.service_running", typeof w32 === "string" ? w32 === "Running" : undefined, bad("w32time"));
  const hostNow = int(get("now_ms"));
  b.setOr("time.offset_ms_abs", hostNow === undefined ? undefined : Math.abs(hostNow - Math.round(ctx.midpointMs)), bad("now_ms"));
  const spool = get("spooler");
  b.setOr("spooler.running", typeof spool === "string" ? spool === "Running" : undefined, bad("spooler"));
  return b.build();
}
