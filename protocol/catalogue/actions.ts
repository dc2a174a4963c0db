/**
 * The fixed list of step actions a runbook may use, per platform, with the parameters each takes. The
 * appliance implements exactly these (nothing else runs on a host), so a runbook, a promoted rule or an L2
 * answer can only combine known, reviewed operations — never carry a script of its own.
 *
 * Windows steps run PowerShell the appliance ships: `powershell.script` names one of `WINDOWS_SCRIPTS` and
 * passes that script's parameters next to `script`.
 *
 * Snapshots: an action named `*.snapshot` (or `auditpol.backup`) returns the state it is about to change; the
 * executor keeps it for the attempt, and the matching `*.restore_snapshot` (`auditpol.restore_backup`) in the
 * runbook's rollback puts that state back. A restore without a snapshot taken in the same attempt fails.
 */
import type { ParamProperty, ParamsSchema } from "./params.ts";
import type { Platform } from "./schema.ts";

/** What an action does and the parameters it takes. */
export interface ActionSpec {
  readonly description: string;
  readonly params_schema: ParamsSchema;
}

function schema(properties: Record<string, ParamProperty>, required: string[] = Object.keys(properties)): ParamsSchema {
  return { type: "object", properties, required, additionalProperties: false };
}
const none = schema({});

const unit: ParamProperty = {
  type: "string",
  description: "systemd unit name",
  max: 128,
  pattern: "^[A-Za-z0-9@._-]{1,120}\\.(?:service|socket|timer|target)$",
};
const sizeMb: ParamProperty = { type: "integer", description: "size limit in MiB", min: 50, max: 10_240 };

/** Windows services a runbook may start, stop or reconfigure. */
export const WINDOWS_SERVICES = ["wuauserv", "EventLog", "W32Time", "Spooler", "WinDefend", "MpsSvc"] as const;
const windowsService: ParamProperty = { type: "enum", description: "Windows service name", values: [...WINDOWS_SERVICES] };

/** PowerShell scripts the appliance ships for Windows hosts, by id. */
export const WINDOWS_SCRIPTS: Readonly<Record<string, ActionSpec>> = Object.freeze({
  "firewall.enable_all_profiles": { description: "Set-NetFirewallProfile -Profile Domain,Private,Public -Enabled True", params_schema: none },
  "defender.enable_realtime": {
    description: "Set-MpPreference: turn real-time, behaviour and download (IOAV) monitoring back on; reports Tamper Protection or policy blocks",
    params_schema: none,
  },
  "defender.update_signatures": { description: "Update-MpSignature (Microsoft Update, then the MMPC fallback)", params_schema: none },
  "smb.snapshot": { description: "Returns EnableSMB1Protocol and the server and client RequireSecuritySignature settings", params_schema: none },
  "smb.disable_v1": { description: "Set-SmbServerConfiguration -EnableSMB1Protocol $false -Force (no reboot needed for the server side)", params_schema: none },
  "smb.require_signing": { description: "Require SMB signing on the server and the client (Set-SmbServerConfiguration / Set-SmbClientConfiguration)", params_schema: none },
  "smb.restore_snapshot": { description: "Puts back the settings returned by smb.snapshot", params_schema: none },
  "screenlock.snapshot": { description: "Returns the machine inactivity limit (InactivityTimeoutSecs) and screen-saver policy values", params_schema: none },
  "screenlock.set_timeout": {
    description: "Sets the machine inactivity limit (HKLM\\...\\Policies\\System InactivityTimeoutSecs) so the session locks after the timeout",
    params_schema: schema({ timeout_s: { type: "integer", description: "seconds of inactivity before the screen locks", min: 60, max: 900 } }),
  },
  "screenlock.restore_snapshot": { description: "Puts back the values returned by screenlock.snapshot", params_schema: none },
  "auditpol.backup": { description: "auditpol /backup to a file in the appliance's working directory on the host", params_schema: none },
  "auditpol.apply_baseline": {
    description: "Enables success and failure auditing for the subcategories the windows.audit_policy check requires (by GUID, locale-independent)",
    params_schema: none,
  },
  "auditpol.restore_backup": { description: "auditpol /restore from the file written by auditpol.backup", params_schema: none },
  "accounts.disable_guest": { description: "Disable-LocalUser for the built-in guest account (RID 501), whatever it is named", params_schema: none },
  "rdp.snapshot": { description: "Returns the RDP-Tcp UserAuthentication and SecurityLayer values", params_schema: none },
  "rdp.require_nla": { description: "Sets RDP-Tcp UserAuthentication = 1 (Network Level Authentication required)", params_schema: none },
  "rdp.restore_snapshot": { description: "Puts back the values returned by rdp.snapshot", params_schema: none },
  "time.resync": { description: "w32tm /resync /force, then reports the new offset", params_schema: none },
});

/** The action list per platform. */
export const STEP_ACTIONS: Readonly<Record<Platform, Readonly<Record<string, ActionSpec>>>> = Object.freeze({
  appliance: {
    "systemd.restart": { description: "systemctl restart (starts it if stopped), then waits until it is active", params_schema: schema({ unit }) },
    "systemd.start": {
      description: "systemctl start of a oneshot job, waiting until it finishes; fails if it ends failed",
      params_schema: schema({ unit, wait_s: { type: "integer", description: "longest wait for the job", min: 10, max: 7200, default: 3600 } }, ["unit"]),
    },
    "nixos.switch_generation": {
      description: "Switches the system to the pinned (signed) system closure, or back to the previous generation; records both generation numbers",
      params_schema: schema({ target: { type: "enum", description: "which system to switch to", values: ["pinned", "previous"] } }),
    },
    "nixos.health_check": {
      description: "Waits for systemctl is-system-running = running, the appliance daemon and status page up, and the evidence store writable",
      params_schema: schema({ timeout_s: { type: "integer", description: "longest wait for a healthy system", min: 10, max: 900 } }),
    },
    "nft.restore_baseline": {
      description: "Verifies the signed firewall baseline against the pinned relay keys and loads it atomically (nft -f, flush ruleset first)",
      params_schema: none,
    },
    "restic.restore_test": {
      description:
        "Restores sample files from the newest snapshot into a fresh scratch directory, compares SHA-256 with the snapshot's content, writes the result to the restore-test status file, deletes the scratch directory",
      params_schema: schema({
        sample_files: { type: "integer", description: "number of files to restore", min: 1, max: 100 },
        max_total_mb: { type: "integer", description: "stop adding files beyond this much data", min: 1, max: 10_240 },
      }),
    },
    "journal.vacuum": { description: "journalctl --vacuum-size (keeps the newest logs)", params_schema: schema({ max_size_mb: sizeMb }) },
    "nix.collect_garbage": {
      description: "Deletes system generations older than the newest N (never the current or the pinned one), then nix-collect-garbage",
      params_schema: schema({ keep_generations: { type: "integer", description: "generations kept for rollback", min: 2, max: 50 } }),
    },
  },
  linux: {
    "systemd.restart": { description: "sudo systemctl restart (starts it if stopped), then waits until it is active", params_schema: schema({ unit }) },
    "systemd.enable_now": { description: "sudo systemctl enable --now", params_schema: schema({ unit }) },
    "systemd.restart_failed": {
      description: "For each unit in systemctl --failed (at most N): reset-failed, restart; reports the units it touched",
      params_schema: schema({ max_units: { type: "integer", description: "most units restarted in one attempt", min: 1, max: 20 } }),
    },
    "sshd.set_option": {
      description: "Sets one option in /etc/ssh/sshd_config.d/00-osiris.conf (first match wins in sshd), adding the Include line if the main file lacks it",
      params_schema: schema({
        option: { type: "enum", description: "sshd option", values: ["PermitRootLogin", "PasswordAuthentication", "KbdInteractiveAuthentication"] },
        value: { type: "enum", description: "option value", values: ["no", "yes", "prohibit-password"] },
      }),
    },
    "sshd.remove_option": {
      description: "Removes an option set by sshd.set_option",
      params_schema: schema({ option: { type: "enum", description: "sshd option", values: ["PermitRootLogin", "PasswordAuthentication", "KbdInteractiveAuthentication"] } }),
    },
    "sshd.reload": { description: "sshd -t; only if the configuration is valid, reload ssh.service or sshd.service (whichever exists)", params_schema: none },
    "sysctl.snapshot": { description: "Saves the current values of the keys sysctl.set may change", params_schema: none },
    "sysctl.set": {
      description: "Sets a kernel parameter now and in /etc/sysctl.d/90-osiris.conf",
      params_schema: schema({
        key: {
          type: "enum",
          description: "kernel parameter",
          values: [
            "net.ipv4.ip_forward",
            "net.ipv4.tcp_syncookies",
            "net.ipv4.conf.all.accept_redirects",
            "net.ipv4.conf.default.accept_redirects",
            "net.ipv4.conf.all.send_redirects",
            "net.ipv4.conf.all.accept_source_route",
          ],
        },
        value: { type: "integer", description: "value", min: 0, max: 1 },
      }),
    },
    "sysctl.restore_snapshot": { description: "Puts back the values saved by sysctl.snapshot (now and in the drop-in file)", params_schema: none },
    "file.chmod": {
      description: "Sets the mode of an account database file and its owner to root (group shadow for shadow files where that group exists)",
      params_schema: schema(
        {
          path: { type: "enum", description: "file", values: ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"] },
          mode: { type: "enum", description: "octal mode", values: ["644", "640", "600", "400", "000"] },
          missing_ok: { type: "boolean", description: "succeed if the file does not exist", default: false },
        },
        ["path", "mode"],
      ),
    },
    "journald.set_storage": {
      description: "Writes Storage= to /etc/systemd/journald.conf.d/90-osiris.conf and restarts systemd-journald",
      params_schema: schema({ storage: { type: "enum", description: "journald storage mode", values: ["persistent", "auto"] } }),
    },
    "timesync.enable": { description: "Enables and starts chronyd or systemd-timesyncd, whichever is installed; fails if neither is", params_schema: none },
    "autoupdate.enable": {
      description: "Turns on automatic updates: unattended-upgrades (Debian/Ubuntu) or dnf-automatic.timer (RHEL family); fails if the package is missing",
      params_schema: schema({ security_only: { type: "boolean", description: "install security updates only", default: true } }, []),
    },
    "journal.vacuum": { description: "journalctl --vacuum-size (keeps the newest logs)", params_schema: schema({ max_size_mb: sizeMb }) },
    "packages.clean_cache": { description: "apt-get clean or dnf clean packages", params_schema: none },
  },
  windows: {
    "windows.service_restart": { description: "Starts the service, or restarts it if running; waits until Running", params_schema: schema({ service: windowsService }) },
    "windows.service_stop": { description: "Stops the service and waits until Stopped", params_schema: schema({ service: windowsService }) },
    "windows.service_set_start_mode": {
      description: "Set-Service -StartupType",
      params_schema: schema({ service: windowsService, mode: { type: "enum", description: "start mode", values: ["Automatic", "Manual", "Disabled"] } }),
    },
    "powershell.script": {
      description: "Runs one of the appliance's PowerShell scripts (WINDOWS_SCRIPTS) with its parameters; the script prints one JSON object",
      params_schema: schema({ script: { type: "enum", description: "script id", values: Object.keys(WINDOWS_SCRIPTS) } }),
    },
  },
  macos: {
    "macos.firewall_enable": { description: "socketfilterfw --setglobalstate on", params_schema: none },
    "macos.auto_update_enable": {
      description: "softwareupdate --schedule on; AutomaticCheckEnabled, AutomaticDownload and CriticalUpdateInstall = 1 in com.apple.SoftwareUpdate",
      params_schema: none,
    },
  },
  network: {},
});

/**
 * The parameter schema a step's params must satisfy: the action's, and for `powershell.script` the script's
 * parameters next to `script`. Returns an error message when the action (or script) is not in the list.
 */
export function stepParamsSchema(platform: Platform, action: string, params: Readonly<Record<string, unknown>>): ParamsSchema | string {
  const spec = STEP_ACTIONS[platform][action];
  if (!spec) {
    const known = Object.keys(STEP_ACTIONS[platform]);
    return `action '${action}' is not a ${platform} step action (known: ${known.length ? known.join(", ") : "none"})`;
  }
  if (action !== "powershell.script") return spec.params_schema;
  const script = params["script"];
  if (typeof script !== "string" || !Object.hasOwn(WINDOWS_SCRIPTS, script)) {
    return `powershell.script needs 'script' naming one of ${Object.keys(WINDOWS_SCRIPTS).join(", ")}: current value is ${JSON.stringify(script)}`;
  }
  const own = WINDOWS_SCRIPTS[script]!.params_schema;
  return schema({ ...spec.params_schema.properties, ...own.properties }, [...spec.params_schema.required, ...own.required]);
}
