/**
 * Fact `time.synchronized` of the appliance from whichever time service it runs:
 *
 * - chrony: `chronyc -c tracking` (CSV; leap status `Normal` and a real reference, not the local clock);
 * - systemd-timesyncd (what the NixOS module enables): `timedatectl show-timesync --all`, key=value lines
 *   where `NTPMessage={ Leap=0, Version=4, Mode=4, Stratum=3, … PacketCount=12, Jitter=… }` describes the last
 *   answer from `ServerName`; the line is absent until a server answered. Synchronized = an answer with leap
 *   indicator other than 3 ("not synchronized"), stratum 1..15, and the kernel clock marked synchronized
 *   (`timedatectl show -p NTPSynchronized --value` = yes) when that was asked;
 * - neither: `NTPSynchronized` alone (any NTP daemon that disciplines the kernel clock sets it).
 *
 * Output formats are systemd's (src/timedate/timedatectl.c, print_timesync_property) and chrony's `-c`.
 */

/** The timesyncd properties the decision uses, parsed from `show-timesync --all`. */
export interface TimesyncdState {
  readonly serverName: string;
  readonly serverAddress: string;
  /** The last server answer, or null when none yet (`NTPMessage` absent). */
  readonly message: { readonly leap: number; readonly stratum: number; readonly packetCount: number; readonly ignored: boolean } | null;
}

/** Longest line considered: property values are short; a 4 KiB line is not timedatectl's. */
const MAX_LINE = 4096;

/** Parses `timedatectl show-timesync --all`; undefined when the text has no timesyncd property at all. */
export function parseShowTimesync(text: string): TimesyncdState | undefined {
  const props = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.length === 0 || line.length > MAX_LINE) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    props.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (!props.has("ServerName") && !props.has("NTPMessage") && !props.has("PollIntervalUSec")) return undefined;
  return { serverName: props.get("ServerName") ?? "", serverAddress: props.get("ServerAddress") ?? "", message: parseNtpMessage(props.get("NTPMessage")) };
}

/** `{ Leap=0, Version=4, … }` → the fields used; null when absent or malformed. */
function parseNtpMessage(value: string | undefined): TimesyncdState["message"] {
  if (value === undefined) return null;
  const m = /^\{(.*)\}$/.exec(value.trim());
  if (!m) return null;
  const fields = new Map<string, string>();
  // Timestamps ("Fri 2026-11-27 22:35:36 UTC") contain spaces but no commas.
  for (const part of m[1]!.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const int = (k: string) => (/^\d{1,10}$/.test(fields.get(k) ?? "") ? Number(fields.get(k)) : undefined);
  const leap = int("Leap");
  const stratum = int("Stratum");
  const packetCount = int("PacketCount");
  if (leap === undefined || stratum === undefined || packetCount === undefined) return null;
  return { leap, stratum, packetCount, ignored: fields.get("Ignored") === "yes" };
}

/** Whether timesyncd's last answer makes the clock synchronized; the reason when it does not. */
export function timesyncdSynchronized(s: TimesyncdState, ntpSynchronized: "yes" | "no" | undefined): { synchronized: boolean; why: string } {
  const server = s.serverName ? `${s.serverName}${s.serverAddress ? ` (${s.serverAddress})` : ""}` : "no server";
  if (s.message === null || s.message.packetCount === 0) return { synchronized: false, why: `timesyncd has no answer from ${server} yet` };
  if (s.message.leap === 3) return { synchronized: false, why: `${server} reports itself not synchronized (leap indicator 3)` };
  if (s.message.stratum < 1 || s.message.stratum > 15) return { synchronized: false, why: `${server} answers with stratum ${s.message.stratum}` };
  if (ntpSynchronized === "no") return { synchronized: false, why: `timesyncd talks to ${server} but the kernel clock is not marked synchronized yet` };
  return { synchronized: true, why: `synchronized to ${server}, stratum ${s.message.stratum}` };
}

/** `chronyc -c tracking` → synchronized, or undefined when it is not that CSV. */
export function chronySynchronized(csvLine: string | undefined): boolean | undefined {
  const f = csvLine?.split("\n")[0]?.split(",");
  if (!f || f.length < 14) return undefined;
  return f[f.length - 1]!.trim() === "Normal" && f[0] !== "7F7F0101" && f[0] !== "00000000";
}

/** Probe outputs the decision reads (undefined: the probe did not run or failed); `describe` names failures. */
export interface TimeProbes {
  readonly chrony: string | undefined;
  readonly timesync: string | undefined;
  readonly ntpSynchronized: string | undefined;
  readonly describe: (key: "chrony" | "timesync" | "timedatectl") => string;
}

/** The fact's value, or why it could not be collected. */
export function timeSynchronized(p: TimeProbes): { value: boolean } | { missing: string } {
  const chrony = chronySynchronized(p.chrony);
  if (chrony !== undefined) return { value: chrony };
  const td = p.ntpSynchronized === "yes" || p.ntpSynchronized === "no" ? p.ntpSynchronized : undefined;
  const ts = p.timesync === undefined ? undefined : parseShowTimesync(p.timesync);
  if (ts) return { value: timesyncdSynchronized(ts, td).synchronized };
  if (td !== undefined) return { value: td === "yes" };
  return { missing: `no time service answered: ${(["chrony", "timesync", "timedatectl"] as const).map((k) => p.describe(k)).join("; ")}` };
}
