/**
 * Transports for ssh and winrm targets whose credential may change while the daemon runs (relay credentials
 * arrive with each pull). `credentialedTransport` looks the credential up at every command: while it is the
 * same object the connection is reused; when it changed, a new transport is built with it and the old one is
 * closed once its running commands finish. Until the first pull, commands in the first FIRST_PULL_WAIT_MS
 * after start wait for the relay's credentials, so a restart does not turn every host into an "auth failed"
 * error (and an appliance that starts offline loses those seconds once, not per command).
 *
 * `createHostTransport` is the one place a config target plus a credential become an ssh or winrm transport
 * (the daemon's targets and the validate_credential order both use it).
 */
import { CollectError, createSshTransport, createWinrmTransport, type Command, type PinStore, type RunOptions, type RunResult, type Transport, type TransportLog } from "../collect/index.ts";
import type { Target } from "../config/index.ts";
import type { Log } from "../engine/types.ts";
import type { HostCredential, HostCredentials } from "./store.ts";

/** Longest a command waits for the first pull's credentials (the sync loop pulls within seconds of start). */
export const FIRST_PULL_WAIT_MS = 15_000;

export type RemoteTarget = Extract<Target, { collector: "ssh" | "winrm" }>;

export interface HostTransportDeps {
  pins: PinStore;
  /** Monotonic ms for the transports' timers. */
  now: () => number;
  log: TransportLog;
}

/** The transports' log callback writing to the appliance log (entries carry no secrets). */
export function transportLogOf(log: Pick<Log, "debug" | "info" | "warn">): TransportLog {
  return ({ level, msg, ...fields }) => log[level](msg, fields);
}

/** An ssh or winrm transport for `target` authenticating with `host` (the config's auth unless the credential names one). */
export function createHostTransport(target: RemoteTarget, host: HostCredential, deps: HostTransportDeps): Transport {
  const c = host.credential;
  if (target.collector === "ssh") {
    const auth = c.type === "password" ? ({ kind: "password", password: c.password } as const) : ({ kind: "key", privateKey: c.private_key, ...(c.passphrase ? { passphrase: c.passphrase } : {}) } as const);
    return createSshTransport({ host: target.address, port: target.port, username: c.username, auth, pins: deps.pins, clock: deps.now, log: deps.log });
  }
  if (c.type !== "password") throw new CollectError("unsupported", `WinRM needs a password credential; ${host.ref} is an SSH key`);
  const username = c.domain ? `${c.domain}\\${c.username}` : c.username;
  const auth = (host.winrmAuth ?? target.auth) === "basic" ? ({ kind: "basic", username, password: c.password } as const) : ({ kind: "ntlm", username, password: c.password } as const);
  return createWinrmTransport({ host: target.address, https: target.https, port: target.port, auth, pins: deps.pins, clock: deps.now, log: deps.log });
}

interface Entry {
  host: HostCredential;
  transport: Transport;
  active: number;
  retired: boolean;
}

/** A transport for `target` that follows its credential in `store` (see the module comment). */
export function credentialedTransport(target: RemoteTarget, store: HostCredentials, deps: HostTransportDeps & { firstPullWaitMs?: number }): Transport {
  const label = `${target.collector} ${target.id} (${target.address}:${target.port})`;
  const waitUntil = deps.now() + (deps.firstPullWaitMs ?? FIRST_PULL_WAIT_MS);
  let current: Entry | null = null;
  let closed = false;
  const retire = (e: Entry) => {
    e.retired = true;
    if (e.active === 0) void e.transport.close().catch(() => undefined);
  };
  return {
    kind: target.collector,
    target: label,
    async run(cmd: Command, opts: RunOptions): Promise<RunResult> {
      if (closed) throw new CollectError("closed", `Transport to ${label} is closed`);
      const left = waitUntil - deps.now();
      if (!store.loaded && left > 0) await store.whenLoaded(Math.min(left, opts.timeoutMs), opts.signal);
      const host = store.forTarget({ id: target.id, credential_ref: target.credential_ref, collector: target.collector });
      if (!host) {
        throw new CollectError("auth_failed", `No credential for ${label}: the relay sent none covering ${target.id} for ${target.collector}, and credential_ref ${JSON.stringify(target.credential_ref)} is not in a credentials file`);
      }
      if (current?.host !== host) {
        if (current) retire(current);
        current = { host, transport: createHostTransport(target, host, deps), active: 0, retired: false };
      }
      const entry = current;
      entry.active++;
      try {
        return await entry.transport.run(cmd, opts);
      } finally {
        entry.active--;
        if (entry.retired && entry.active === 0) void entry.transport.close().catch(() => undefined);
      }
    },
    async close() {
      closed = true;
      const e = current;
      current = null;
      if (e) await e.transport.close();
    },
  };
}
