/**
 * macOS hosts (the catalogue has six macos checks): a minimal sh gatherer over ssh and its parser. Reads
 * fdesetup, socketfilterfw, spctl, csrutil, the SoftwareUpdate and screensaver preferences (managed ones take
 * precedence), pmset and `sysadminctl -screenLock status` as the console user.
 */
import type { Transport } from "../../collect/transport.ts";
import { buildScript, MAX_RAW_BYTES, parseProbes, probesFromDoc, RAW_OUTPUT_SLACK_BYTES, type Probes } from "./_raw.ts";
import { FactsBuilder, type Gather, type GatheredFacts } from "./gathered.ts";

export const MACOS_RAW_SCHEMA = "osiris.macos-raw/v1";
const SECONDS_PER_MINUTE = 60;

const PROBES = String.raw`rec now date -u +%s
rec filevault $TMO fdesetup status
rec firewall $TMO /usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate
rec gatekeeper $TMO spctl --status
rec sip $TMO csrutil status
M="/Library/Managed Preferences"
rec su_check_managed defaults read "$M/com.apple.SoftwareUpdate" AutomaticCheckEnabled
rec su_critical_managed defaults read "$M/com.apple.SoftwareUpdate" CriticalUpdateInstall
rec su_check defaults read /Library/Preferences/com.apple.SoftwareUpdate AutomaticCheckEnabled
rec su_critical defaults read /Library/Preferences/com.apple.SoftwareUpdate CriticalUpdateInstall
osiris_user=$(stat -f %Su /dev/console 2>/dev/null)
osiris_as_user() {
  if test -z "$osiris_user" || test "$osiris_user" = root; then echo "no console user"; return 2; fi
  launchctl asuser "$(id -u "$osiris_user")" sudo -u "$osiris_user" "$@"
}
rec idle_managed defaults read "$M/com.apple.screensaver" idleTime
rec idle osiris_as_user defaults -currentHost read com.apple.screensaver idleTime
rec displaysleep sh -c 'pmset -g | awk "/ displaysleep /{ print \$2 }"'
rec screenlock osiris_as_user sysadminctl -screenLock status`;

export function macosScript(): string {
  return buildScript(MACOS_RAW_SCHEMA, "", PROBES);
}

const WHAT = "The macOS fact script";

export function parseMacosOutput(stdout: string, target: string): GatheredFacts {
  return macosFactsFromProbes(parseProbes(stdout, MACOS_RAW_SCHEMA, WHAT, target));
}

export function parseMacosDoc(doc: unknown, target: string): GatheredFacts {
  return macosFactsFromProbes(probesFromDoc(doc, MACOS_RAW_SCHEMA, WHAT, target));
}

export function createMacosGatherer(transport: Transport): Gather {
  const script = macosScript();
  return async (_target, { timeoutMs, signal }) => {
    const r = await transport.run({ script, shell: "sh" }, { timeoutMs, maxOutputBytes: MAX_RAW_BYTES + RAW_OUTPUT_SLACK_BYTES, ...(signal ? { signal } : {}) });
    return parseMacosOutput(r.stdout, transport.target);
  };
}

const int = (s: string | undefined) => (s !== undefined && /^\d{1,7}$/.test(s) ? Number(s) : undefined);

export function macosFactsFromProbes(p: Probes): GatheredFacts {
  const b = new FactsBuilder();
  const says = (key: string, re: RegExp) => {
    const probe = p.get(key);
    return probe && probe.out.trim() ? re.test(probe.out) : undefined;
  };
  b.setOr("filevault.enabled", says("filevault", /FileVault is On\./), p.describe("filevault"));
  const fw = /State = (\d)/.exec(p.get("firewall")?.out ?? "");
  b.setOr("firewall.enabled", fw ? fw[1] === "1" || fw[1] === "2" : says("firewall", /enabled/), p.describe("firewall"));
  b.setOr("gatekeeper.enabled", says("gatekeeper", /assessments enabled/), p.describe("gatekeeper"));
  b.setOr("sip.enabled", says("sip", /status: enabled\./), p.describe("sip"));

  const pref = (key: string) => p.ok(`${key}_managed`) ?? p.ok(key);
  const check = pref("su_check");
  const critical = pref("su_critical");
  // An unset key reads as the default: automatic checks and critical installs are on unless turned off.
  b.set("autoupdate.enabled", (check ?? "1") === "1" && (critical ?? "1") === "1");

  const idle = int(p.ok("idle_managed") ?? p.ok("idle"));
  const sleepMin = int(p.ok("displaysleep"));
  const candidates = [idle, sleepMin === undefined ? undefined : sleepMin * SECONDS_PER_MINUTE].filter((v): v is number => v !== undefined && v > 0);
  if (idle === undefined && sleepMin === undefined) b.missing("screenlock.idle_s", `${p.describe("idle")}; ${p.describe("displaysleep")}`);
  else b.set("screenlock.idle_s", candidates.length ? Math.min(...candidates) : null);

  const lock = p.get("screenlock")?.out ?? "";
  const delay = /screenLock delay is (\d+) seconds?/.exec(lock);
  b.setOr(
    "screenlock.password_delay_s",
    /delay is immediate/.test(lock) ? 0 : delay ? Number(delay[1]) : /screenLock is off/.test(lock) ? null : undefined,
    p.describe("screenlock"),
  );
  return b.build();
}
