/**
 * `osiris appliance run --config FILE [--once]`: runs the appliance daemon (JSON log lines on stdout).
 * `--once` runs one full cycle over every target, prints a short summary on stderr and exits: useful to check
 * a new configuration. Exit 2 for a bad config, 1 if the daemon cannot start.
 *
 * With `relay.url` on an appliance not enrolled yet, the daemon does not exit: it checks its targets and waits
 * for `osiris appliance enroll` (appliance/daemon/waiting.ts), then starts recording evidence and syncing.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { loadConfig, ConfigError } from "../appliance/config/index.ts";
import { Appliance } from "../appliance/daemon/appliance.ts";
import { cyclesCompleting, sdNotify } from "../appliance/daemon/sd-notify.ts";
import { StatusHandoff, WaitingAppliance } from "../appliance/daemon/waiting.ts";
import { startStatusServer, type RunningStatusServer } from "../appliance/serve/index.ts";
import { jsonLog } from "../node/json-log.ts";

export const summary = "run the appliance daemon (--config FILE, --once for one cycle)";
const USAGE = "Usage: osiris appliance run --config FILE [--once]";
/** Directory of the built status page, when not ui/dist/status (e.g. a packaged bundle in the Nix store). */
export const STATUS_ASSETS_ENV = "OSIRIS_STATUS_ASSETS";

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { config: { type: "string", short: "c" }, once: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
  } catch (e) {
    console.error(`osiris appliance run: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) return console.log(USAGE), 0;
  if (!values.config) {
    console.error(`osiris appliance run: --config FILE is required\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = await loadConfig(values.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`osiris appliance run: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const log = jsonLog({ level: config.log_level, component: "appliance" });
  const clock = { now: () => Date.now() };
  const deps = { clock, random: (n: number) => new Uint8Array(randomBytes(n)), log };
  const open = async (): Promise<Appliance | null> => {
    try {
      const appliance = await Appliance.open(config, deps);
      const status = appliance.status();
      log.info("started", { appliance_id: status.appliance_id, site_id: status.site_id, fingerprint: status.fingerprint, targets: status.targets.length, simulated: status.simulated });
      return appliance;
    } catch (e) {
      log.error("start_failed", { error: (e as Error).message });
      console.error(`osiris appliance run: cannot start: ${(e as Error).message}`);
      return null;
    }
  };
  // With a relay but not enrolled yet, the daemon waits for `osiris appliance enroll` (daemon/waiting.ts).
  let waiting: WaitingAppliance | null = null;
  if (!values.once) {
    try {
      waiting = await WaitingAppliance.open(config, deps);
    } catch (e) {
      log.error("start_failed", { error: (e as Error).message });
      console.error(`osiris appliance run: cannot start: ${(e as Error).message}`);
      return 1;
    }
  }
  let appliance: Appliance | null = waiting ? null : await open();
  if (!waiting && !appliance) return 1;
  if (values.once && appliance) {
    try {
      const r = await appliance.runCycle({ all: true });
      for (const s of r.scanned) console.error(`${s.host_id.padEnd(24)} ${s.reachable ? `${s.pass} pass, ${s.fail} fail, ${s.error} error` : "unreachable"}`);
      for (const h of r.healing) console.error(`heal ${h.host_id}/${h.check}: ${h.outcome}${h.runbook ? ` (${h.runbook})` : ""}`);
      console.error(`evidence head: seq ${r.evidence_head}${appliance.status().simulated ? "  [simulated lab hosts]" : ""}`);
    } finally {
      await appliance.stop();
    }
    return 0;
  }
  // The read-only status page (and its mDNS advertisement when status_page.mdns is true). A page that cannot
  // start is logged, not fatal: checking and recording evidence matter more than showing them. It follows the
  // daemon from waiting for enrollment to enrolled.
  const subject = new StatusHandoff((waiting ?? appliance)!);
  let page: RunningStatusServer | null = null;
  try {
    page = await startStatusServer(subject, config, log, { clock, ...(process.env[STATUS_ASSETS_ENV] ? { assetsDir: process.env[STATUS_ASSETS_ENV] } : {}) });
  } catch (e) {
    log.error("status_page_failed", { error: (e as Error).message });
  }
  (waiting ?? appliance)!.start();
  // Signal handlers first, so a stop request while notifying systemd below still shuts down cleanly.
  const stopped = new Promise<"stopped">((resolve) => {
    const stop = () => resolve("stopped");
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  // systemd (Type=notify): ready now; watchdog pings while cycles keep completing. No-op without NOTIFY_SOCKET.
  const notify = sdNotify({ env: process.env, pid: process.pid, log });
  let startedAt = clock.now();
  await notify.ready();
  if (notify.watchdogIntervalMs !== null) {
    // A cycle runs every few seconds; none finished for a whole WatchdogSec (2 intervals) means one is hung.
    const maxAgeMs = 2 * notify.watchdogIntervalMs;
    notify.startWatchdog(() => cyclesCompleting(subject.status().last_cycle?.finished_at, startedAt, clock.now(), maxAgeMs));
  }
  let code = 0;
  if (waiting) {
    const ended = await Promise.race([waiting.enrolled.then(() => "enrolled" as const), stopped]);
    await waiting.stop();
    if (ended === "enrolled") {
      log.info("enrolled_starting_sync");
      startedAt = clock.now();
      appliance = await open();
      if (appliance) {
        subject.handOver(appliance);
        appliance.start();
      } else code = 1;
    }
  }
  if (appliance) await stopped;
  log.info("stopping");
  notify.stopWatchdog();
  await notify.stopping();
  await page?.close();
  await appliance?.stop();
  return code;
}
