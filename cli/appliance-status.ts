/**
 * `osiris appliance status [--url URL] [--json]`: reads a running appliance's status page JSON (the same
 * report the clinic's page shows, through the page's typed client) and prints it as plain text — for a
 * technician on an SSH session or a monitoring check. Read-only, like the page. Exit 0 when the report was
 * read (whatever it says), 1 when it could not be, 2 on wrong usage.
 */
import { parseArgs } from "node:util";
import { parseStatusReport, type StatusReport } from "../ui/status/api.ts";

export const summary = "print a running appliance's status page (--url, default http://127.0.0.1:8080/)";
const USAGE = "Usage: osiris appliance status [--url http://osiriscare-appliance.local:8080/] [--json]";
export const DEFAULT_URL = "http://127.0.0.1:8080/";
/** The page answers in milliseconds; a slow answer means something is wrong. */
export const FETCH_TIMEOUT_MS = 10_000;

/** The report as plain text lines. */
export function formatStatus(r: StatusReport): string {
  const lines = [`${r.site.name}${r.simulated ? "  [SIMULATED: lab devices, not real computers]" : ""}`, "", r.overall.headline];
  if (r.overall.detail) lines.push(r.overall.detail);
  if (r.relay.banner) lines.push("", `! ${r.relay.banner}`);
  lines.push("", `Last check:          ${r.last_check?.text ?? "not yet"}`, `Maintenance window:  ${r.next_window?.text ?? "none set"}`, `IT provider:         ${r.relay.text}`);
  if (r.attention.length) {
    lines.push("", "Needs attention:");
    for (const i of r.attention) lines.push(`  - ${i.device_name}: ${i.title} — ${i.status_text}`);
  }
  lines.push("", "Areas:");
  for (const c of r.categories) lines.push(`  ${c.title.padEnd(22)} ${c.text}`);
  lines.push("", "Devices:");
  for (const d of r.devices) lines.push(`  ${d.name.padEnd(24)} ${d.state_text}${d.simulated ? " (simulated)" : ""}`);
  lines.push("", `Key fingerprint:     ${r.appliance.fingerprint}`, `Evidence log:        ${r.appliance.evidence.text}`, `Appliance:           ${r.appliance.id}`);
  return lines.join("\n");
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { url: { type: "string", default: DEFAULT_URL }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
  } catch (e) {
    console.error(`osiris appliance status: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) return console.log(USAGE), 0;
  let url: URL;
  try {
    url = new URL("api/status", values.url.endsWith("/") ? values.url : `${values.url}/`);
  } catch {
    console.error(`osiris appliance status: --url must be a URL such as ${DEFAULT_URL}: current value is ${JSON.stringify(values.url)}\n${USAGE}`);
    return 2;
  }
  try {
    const res = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`the appliance answered ${res.status}`);
    const text = await res.text();
    const report = parseStatusReport(text);
    console.log(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    return 0;
  } catch (e) {
    console.error(`osiris appliance status: cannot read ${url.href}: ${(e as Error).message}`);
    return 1;
  }
}
