/**
 * systemd service notifications (sd_notify(3)) for `osiris appliance run` under `Type=notify`:
 * `READY=1` once the daemon has started, `WATCHDOG=1` every WatchdogSec/2 while it is healthy, `STOPPING=1`
 * on shutdown. Without `NOTIFY_SOCKET` in the environment every call is a no-op.
 *
 * `NOTIFY_SOCKET` is an AF_UNIX datagram socket, which Node cannot open, so the default sender spawns
 * `systemd-notify VAR=VALUE`. The NixOS unit sets `NotifyAccess=all` so a child's message counts, and
 * systemd-notify (systemd ≥ 246) waits for systemd to have processed the message before it exits, which
 * closes the race where systemd no longer finds the sender's cgroup. The sender is injectable for tests.
 *
 * A watchdog ping is sent only when `healthy()` says so: a hung cycle stops the pings and systemd restarts
 * the service, which is the point of the watchdog. A failed send is logged, never thrown.
 */
import { spawn } from "node:child_process";

/** A hung `systemd-notify` must not pile up processes: it is killed after this long. */
export const NOTIFY_TIMEOUT_MS = 5_000;
/** Shortest watchdog interval accepted (a misconfigured WATCHDOG_USEC must not become a busy loop). */
export const MIN_WATCHDOG_INTERVAL_MS = 100;

/** Sends one notification line (`READY=1`); rejects when it could not be delivered. */
export type NotifySend = (state: string) => Promise<void>;

export interface SdNotifyOptions {
  /** The process environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID). */
  env: Readonly<Record<string, string | undefined>>;
  /** This process's id, compared with WATCHDOG_PID. */
  pid: number;
  /** Default: spawn `systemd-notify` found on PATH. */
  send?: NotifySend;
  log?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

export interface SdNotify {
  /** True when NOTIFY_SOCKET is set (messages are sent at all). */
  readonly enabled: boolean;
  /** Half of WatchdogSec in milliseconds, or null when systemd runs no watchdog for this process. */
  readonly watchdogIntervalMs: number | null;
  ready(): Promise<void>;
  stopping(): Promise<void>;
  /** Pings `WATCHDOG=1` every `watchdogIntervalMs` while `healthy()` returns true; no-op without a watchdog. */
  startWatchdog(healthy: () => boolean): void;
  /** Stops the watchdog timer. */
  stopWatchdog(): void;
}

/** The watchdog interval systemd asks for (WATCHDOG_USEC / 2), or null; see sd_watchdog_enabled(3). */
export function watchdogIntervalMs(env: SdNotifyOptions["env"], pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(MIN_WATCHDOG_INTERVAL_MS, Math.floor(usec / 2000));
}

/** Sends through the `systemd-notify` program (it reads NOTIFY_SOCKET from the environment it inherits). */
export function spawnSystemdNotify(env: SdNotifyOptions["env"]): NotifySend {
  return (state) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn("systemd-notify", [state], { stdio: "ignore", env: { ...env } as NodeJS.ProcessEnv });
      const timer = setTimeout(() => child.kill("SIGKILL"), NOTIFY_TIMEOUT_MS);
      child.once("error", (e) => (clearTimeout(timer), reject(e)));
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`systemd-notify ${state} exited with ${signal ?? `code ${code}`}`));
      });
    });
}

export function sdNotify(o: SdNotifyOptions): SdNotify {
  const enabled = Boolean(o.env.NOTIFY_SOCKET);
  const interval = enabled ? watchdogIntervalMs(o.env, o.pid) : null;
  const send = o.send ?? spawnSystemdNotify(o.env);
  let timer: NodeJS.Timeout | null = null;
  // One watchdog message in flight at most: a slow systemd-notify must not stack up behind the timer.
  let inFlight = false;

  const notify = async (state: string): Promise<void> => {
    if (!enabled) return;
    try {
      await send(state);
    } catch (e) {
      o.log?.warn("sd_notify_failed", { state, error: (e as Error).message });
    }
  };

  return {
    enabled,
    watchdogIntervalMs: interval,
    ready: () => notify("READY=1"),
    stopping: () => notify("STOPPING=1"),
    startWatchdog(healthy) {
      if (interval === null || timer) return;
      timer = setInterval(() => {
        if (inFlight || !healthy()) return;
        inFlight = true;
        void notify("WATCHDOG=1").finally(() => (inFlight = false));
      }, interval);
      // The watchdog alone must not keep the process alive after the daemon stopped.
      timer.unref();
    },
    stopWatchdog() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/**
 * The daemon's health for the watchdog: a check cycle finished (or the daemon started) within `maxAgeMs`.
 * The schedule runs a cycle every few seconds, so a stale `finished_at` means a cycle is hung.
 */
export function cyclesCompleting(lastFinishedAt: string | null | undefined, startedAtMs: number, nowMs: number, maxAgeMs: number): boolean {
  const finished = lastFinishedAt ? Date.parse(lastFinishedAt) : Number.NaN;
  const latest = Number.isFinite(finished) ? Math.max(finished, startedAtMs) : startedAtMs;
  return nowMs - latest <= maxAgeMs;
}
