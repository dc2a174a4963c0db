/**
 * `osiris appliance status --config FILE [--json]`: the appliance's state from its own files, without the
 * daemon (appliance/provision/local-status.ts): enrollment (`unclaimed | pending | enrolled`), ids, key
 * fingerprint, healing mode in force, outbox and acknowledgements, last sync. Short lines for the console
 * banner (iso/console-banner.sh); `--json` with the same fields.
 *
 * `osiris appliance status [--url URL] [--json]`: reads a running appliance's status page JSON (the same
 * report the clinic's page shows, through the page's typed client) and prints it as plain text — for a
 * technician on an SSH session or a monitoring check.
 *
 * Read-only either way. Exit 0 when the state or report was read (whatever it says), 1 when it could not be,
 * 2 on wrong usage or a bad config.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../appliance/config/index.ts";
import { formatLocalStatus, readLocalStatus } from "../appliance/provision/index.ts";
import { parseStatusReport, type StatusReport } from "../ui/status/api.ts";

export const summary = "print the appliance's state (--config FILE, without the daemon) or its status page (--url)";
export const DEFAULT_URL = "http://127.0.0.1:8080/";
const USAGE = `Usage: osiris appliance status --config FILE [--json]\n       osiris appliance status [--url URL] [--json]\n  --url  the appliance's status page (default ${DEFAULT_URL}; on the clinic's network e.g. http://osiriscare-appliance.local:8080/)`;
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
    ({ values } = parseArgs({ args, options: { config: { type: "string", short: "c" }, url: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
  } catch (e) {
    console.error(`osiris appliance status: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) return console.log(USAGE), 0;
  if (values.config !== undefined && values.url !== undefined) {
    console.error(`osiris appliance status: give --config FILE or --url URL, not both\n${USAGE}`);
    return 2;
  }
  if (values.config !== undefined) return localStatus(values.config, values.json === true);
  const target = values.url ?? DEFAULT_URL;
  let url: URL;
  try {
    // The page's address, or its API's (what a user copies from the browser or the docs): both work.
    const base = target.replace(/\/api\/status\/?$/, "");
    url = new URL("api/status", base.endsWith("/") ? base : `${base}/`);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("not http");
  } catch {
    console.error(`osiris appliance status: --url must be an http(s) URL such as ${DEFAULT_URL}: current value is ${JSON.stringify(target)}\n${USAGE}`);
    return 2;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (e) {
    console.error(`osiris appliance status: cannot reach the appliance status page at ${target}: ${unreachable(e)} (is the appliance running?${values.url === undefined ? " give its address with --url" : ""})`);
    return 1;
  }
  try {
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

/** Why a fetch failed, in words (fetch itself only says "fetch failed"; the reason is in its cause). */
function unreachable(e: unknown): string {
  const err = e as Error & { cause?: NodeJS.ErrnoException };
  if (err.name === "TimeoutError") return `no answer within ${FETCH_TIMEOUT_MS / 1000} s`;
  switch (err.cause?.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name not found";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    case "ECONNRESET":
      return "connection reset";
  }
  return err.cause?.message ?? err.message;
}

async function localStatus(configPath: string, json: boolean): Promise<number> {
  let config;
  try {
    config = await loadConfig(configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`osiris appliance status: ${e.message}`);
    return 2;
  }
  try {
    const s = await readLocalStatus(config);
    console.log(json ? JSON.stringify(s, null, 2) : formatLocalStatus(s));
    return 0;
  } catch (e) {
    console.error(`osiris appliance status: ${(e as Error).message}`);
    return 1;
  }
}
