/**
 * The appliance health check after a system switch (step action `nixos.health_check`): systemd reports the
 * system `running`, the daemon's unit is active, and whatever else the caller adds (the daemon checks its
 * store is writable). Polled every HEALTH_POLL_MS until it holds or the timeout passes. Unprivileged: the
 * helper runs it as root after its own switch, the daemon as itself for the runbook's health step.
 */
import type { CommandResult } from "./command.ts";

export const DAEMON_UNIT = "osiris-appliance.service";
export const HEALTH_POLL_MS = 2000;
/** Each systemctl query is quick; a hung one must not eat the whole health budget. */
export const HEALTH_QUERY_TIMEOUT_MS = 10_000;

export interface HealthDeps {
  readonly exec: (argv: readonly string[], timeoutMs: number) => Promise<CommandResult>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** An extra condition, checked after systemd's; returns null when fine or why not. */
  readonly extra?: () => Promise<string | null>;
  readonly signal?: AbortSignal;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly detail: string;
}

export async function waitHealthy(timeoutMs: number, d: HealthDeps): Promise<HealthReport> {
  const deadline = d.now() + timeoutMs;
  let last = "not checked";
  for (;;) {
    const sys = (await d.exec(["systemctl", "is-system-running"], HEALTH_QUERY_TIMEOUT_MS)).stdout.trim() || "unknown";
    const unit = (await d.exec(["systemctl", "is-active", DAEMON_UNIT], HEALTH_QUERY_TIMEOUT_MS)).stdout.trim() || "unknown";
    const extra = sys === "running" && unit === "active" && d.extra ? await d.extra() : null;
    if (sys === "running" && unit === "active" && extra === null) return { ok: true, detail: `system running, ${DAEMON_UNIT} active` };
    last = extra ?? `system state ${sys}, ${DAEMON_UNIT} ${unit}`;
    if (d.now() + HEALTH_POLL_MS > deadline || d.signal?.aborted) return { ok: false, detail: `not healthy after ${Math.round(timeoutMs / 1000)} s: ${last}` };
    await d.sleep(HEALTH_POLL_MS);
  }
}
