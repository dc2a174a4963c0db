/**
 * The fixed PowerShell of every Windows step action: the three service actions and the scripts of
 * `powershell.script` (WINDOWS_SCRIPTS in the catalogue). Parameters are in `$P`, decoded from a JSON document
 * by the runner's prelude; nothing else varies. Each script returns `@{ ok = …; detail = … }`, which the JSON
 * wrapper (collect/powershell-json.ts) prints.
 *
 * Snapshots (`*.snapshot`, `auditpol.backup`) are kept on the host under %ProgramData%\OsirisCare\snapshots, so
 * the matching restore in a runbook's rollback finds them even if the appliance restarted in between; a
 * restore without a snapshot fails, and a restore removes the snapshot it used.
 */

/** Helpers every script gets. */
export const PS_HELPERS = String.raw`$SnapDir = Join-Path $env:ProgramData 'OsirisCare\snapshots'
function Save-Snap([string]$n, $v) { New-Item -ItemType Directory -Force -Path $SnapDir | Out-Null; ConvertTo-Json -InputObject $v -Compress | Set-Content -Encoding UTF8 -Path (Join-Path $SnapDir "$n.json") }
function Read-Snap([string]$n) { $f = Join-Path $SnapDir "$n.json"; if (-not (Test-Path $f)) { throw "no $n snapshot was taken on this host; nothing to restore" }; $v = Get-Content -Raw $f | ConvertFrom-Json; Remove-Item $f; $v }
function Done([string]$d) { @{ ok = $true; detail = $d } }
function Fail([string]$d) { @{ ok = $false; detail = $d } }
$SysKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
$RdpKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
`;

/** How long a service may take to reach its state. */
export const SERVICE_WAIT_S = 60;

/** The service actions (parameters: $P.service, $P.mode). */
export const WINDOWS_SERVICE_ACTIONS: Readonly<Record<string, string>> = {
  "windows.service_restart": String.raw`$s = Get-Service -Name $P.service
if ("$($s.Status)" -eq 'Running') { Restart-Service -Name $P.service -Force } else { Start-Service -Name $P.service }
$s.WaitForStatus('Running', [TimeSpan]::FromSeconds(${SERVICE_WAIT_S}))
Done "$($P.service) is running"`,
  "windows.service_stop": String.raw`$s = Get-Service -Name $P.service
Stop-Service -Name $P.service -Force
$s.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(${SERVICE_WAIT_S}))
Done "$($P.service) is stopped"`,
  "windows.service_set_start_mode": String.raw`Set-Service -Name $P.service -StartupType $P.mode
Done "$($P.service) start mode is $((Get-Service -Name $P.service).StartType)"`,
};

const AUDIT_GUIDS = [
  "0CCE923F", "0CCE9215", "0CCE9216", "0CCE9217", "0CCE921B", "0CCE9235", "0CCE9237", "0CCE922F", "0CCE9210", "0CCE9212", "0CCE922B", "0CCE9228",
].map((g) => `'{${g}-69AE-11D9-BED3-505054503030}'`).join(",");

/** The `powershell.script` scripts, by script id. */
export const WINDOWS_SCRIPT_BODIES: Readonly<Record<string, string>> = {
  "firewall.enable_all_profiles": String.raw`Set-NetFirewallProfile -Profile Domain,Private,Public -Enabled True
$off = @(Get-NetFirewallProfile -PolicyStore ActiveStore | ? { "$($_.Enabled)" -ne 'True' } | % { $_.Name })
if ($off.Count) { Fail "still off (a group policy may enforce it): $($off -join ', ')" } else { Done 'firewall on for Domain, Private and Public' }`,
  "defender.enable_realtime": String.raw`Set-MpPreference -DisableRealtimeMonitoring $false -DisableBehaviorMonitoring $false -DisableIOAVProtection $false
$s = Get-MpComputerStatus
if ($s.RealTimeProtectionEnabled) { Done 'real-time protection on' } else { Fail "real-time protection still off (tamper protected: $($s.IsTamperProtected); a policy may turn it off)" }`,
  "defender.update_signatures": String.raw`try { Update-MpSignature -UpdateSource MicrosoftUpdateServer } catch { Update-MpSignature -UpdateSource MMPC }
Done "signatures are $((Get-MpComputerStatus).AntivirusSignatureAge) days old"`,
  "smb.snapshot": String.raw`$s = Get-SmbServerConfiguration; $c = Get-SmbClientConfiguration
Save-Snap smb @{ v1 = [bool]$s.EnableSMB1Protocol; server = [bool]$s.RequireSecuritySignature; client = [bool]$c.RequireSecuritySignature }
Done 'SMB settings saved'`,
  "smb.disable_v1": String.raw`Set-SmbServerConfiguration -EnableSMB1Protocol $false -Force
Done 'SMB1 disabled on the server'`,
  "smb.require_signing": String.raw`Set-SmbServerConfiguration -RequireSecuritySignature $true -Force
Set-SmbClientConfiguration -RequireSecuritySignature $true -Force
Done 'SMB signing required (server and client)'`,
  "smb.restore_snapshot": String.raw`$v = Read-Snap smb
Set-SmbServerConfiguration -EnableSMB1Protocol ([bool]$v.v1) -RequireSecuritySignature ([bool]$v.server) -Force
Set-SmbClientConfiguration -RequireSecuritySignature ([bool]$v.client) -Force
Done 'SMB settings restored'`,
  "screenlock.snapshot": String.raw`Save-Snap screenlock @{ timeout = (Get-ItemProperty $SysKey -ErrorAction SilentlyContinue).InactivityTimeoutSecs }
Done 'screen lock settings saved'`,
  "screenlock.set_timeout": String.raw`New-ItemProperty -Path $SysKey -Name InactivityTimeoutSecs -PropertyType DWord -Value ([int]$P.timeout_s) -Force | Out-Null
Done "machine inactivity limit set to $([int]$P.timeout_s) s"`,
  "screenlock.restore_snapshot": String.raw`$v = Read-Snap screenlock
if ($null -eq $v.timeout) { Remove-ItemProperty -Path $SysKey -Name InactivityTimeoutSecs -ErrorAction SilentlyContinue } else { New-ItemProperty -Path $SysKey -Name InactivityTimeoutSecs -PropertyType DWord -Value ([int]$v.timeout) -Force | Out-Null }
Done 'screen lock settings restored'`,
  "auditpol.backup": String.raw`New-Item -ItemType Directory -Force -Path $SnapDir | Out-Null
$f = Join-Path $SnapDir 'auditpol.csv'
auditpol /backup /file:$f | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "auditpol /backup failed with exit code $LASTEXITCODE" } else { Done 'audit policy backed up' }`,
  "auditpol.apply_baseline": String.raw`$bad = @()
foreach ($g in @(${AUDIT_GUIDS})) { auditpol /set /subcategory:$g /success:enable /failure:enable | Out-Null; if ($LASTEXITCODE -ne 0) { $bad += $g } }
if ($bad.Count) { Fail "auditpol /set failed for $($bad -join ', ')" } else { Done 'success and failure auditing on for the 12 required subcategories' }`,
  "auditpol.restore_backup": String.raw`$f = Join-Path $SnapDir 'auditpol.csv'
if (-not (Test-Path $f)) { throw 'no audit policy backup was taken on this host; nothing to restore' }
auditpol /restore /file:$f | Out-Null
if ($LASTEXITCODE -ne 0) { Fail "auditpol /restore failed with exit code $LASTEXITCODE" } else { Remove-Item $f; Done 'audit policy restored' }`,
  "accounts.disable_guest": String.raw`$g = Get-LocalUser | ? { "$($_.SID)" -like 'S-1-5-21-*-501' } | select -First 1
if (-not $g) { Fail 'no built-in guest account (RID 501) found' } else { Disable-LocalUser -SID $g.SID; Done "guest account $($g.Name) disabled" }`,
  "rdp.snapshot": String.raw`$w = Get-ItemProperty $RdpKey
Save-Snap rdp @{ ua = $w.UserAuthentication; sl = $w.SecurityLayer }
Done 'RDP settings saved'`,
  "rdp.require_nla": String.raw`Set-ItemProperty -Path $RdpKey -Name UserAuthentication -Value 1 -Type DWord
Done 'Network Level Authentication required for RDP'`,
  "rdp.restore_snapshot": String.raw`$v = Read-Snap rdp
if ($null -ne $v.ua) { Set-ItemProperty -Path $RdpKey -Name UserAuthentication -Value ([int]$v.ua) -Type DWord }
if ($null -ne $v.sl) { Set-ItemProperty -Path $RdpKey -Name SecurityLayer -Value ([int]$v.sl) -Type DWord }
Done 'RDP settings restored'`,
  "time.resync": String.raw`$out = (w32tm /resync /force) -join ' '
if ($LASTEXITCODE -ne 0) { Fail "w32tm /resync failed: $out" } else { Done 'clock resynchronised' }`,
};
