/**
 * Order handlers for credentials (register them with the OrderProcessor):
 *
 * - `validate_credential {credential_id, host_id}`: signs in to the configured host with exactly that relay
 *   credential over a fresh connection, runs a harmless probe (`id -un` over ssh, the user name over WinRM)
 *   and reports `success` or `failed` with a detail that starts with the failure class (`auth_failed: …`,
 *   `unreachable: …`, `timeout: …`, `host_key_mismatch: …`, `not_held: …`, `unknown_host: …`), which the
 *   relay shows as the credential's last validation. The detail never holds the secret: the collectors'
 *   messages never do, and any text that would is replaced before it leaves.
 * - `update_credentials_now`: the sync client opens the pull's credentials before it runs the pull's orders,
 *   so by the time this runs they are fresh; it reports how many this appliance holds.
 */
import { isCollectError, type PinStore, type Transport } from "../collect/index.ts";
import type { Target } from "../config/index.ts";
import type { Clock, Log } from "../engine/types.ts";
import type { OrderHandler, OrderHandlerResult } from "../orders/index.ts";
import { createHostTransport, transportLogOf, type HostTransportDeps, type RemoteTarget } from "./host-transport.ts";
import { KINDS_FOR, type HostCredentials } from "./store.ts";

/** The probe's budget: the ssh connect timeout (10 s) plus a little for the command. */
export const VALIDATE_TIMEOUT_MS = 20_000;

export interface CredentialOrderDeps {
  credentials: HostCredentials;
  /** The config's targets (the hosts this appliance knows how to reach). */
  targets: readonly Target[];
  /** Host key / certificate pins (share the daemon's, so a changed host key is caught here too). */
  pins: PinStore;
  clock: Clock;
  log: Pick<Log, "debug" | "info" | "warn">;
  timeoutMs?: number;
}

const fail = (code: string, message: string): OrderHandlerResult => ({ outcome: "failed", detail: `${code}: ${message}` });

/** Replaces every occurrence of `secret` (and of any long line of it, e.g. a key's) in `text`. */
function scrub(text: string, secret: string): string {
  let out = text.split(secret).join("[redacted]");
  for (const line of secret.split(/\r?\n/)) if (line.length >= 16) out = out.split(line).join("[redacted]");
  return out;
}

export function credentialOrderHandlers(d: CredentialOrderDeps): { validate_credential: OrderHandler; update_credentials_now: OrderHandler } {
  const timeoutMs = d.timeoutMs ?? VALIDATE_TIMEOUT_MS;
  const tdeps: HostTransportDeps = { pins: d.pins, now: () => d.clock.now(), log: transportLogOf(d.log) };
  const validate_credential: OrderHandler = async (_order, ctx) => {
    const credentialId = String(ctx.params["credential_id"]);
    const hostId = String(ctx.params["host_id"]);
    const held = d.credentials.byId(credentialId);
    if (!held) return fail("not_held", `this appliance holds no credential ${credentialId} (deleted on the relay, or it could not be opened here: see the appliance log)`);
    const target = d.targets.find((t) => t.id === hostId);
    if (!target) return fail("unknown_host", `${hostId} is not a target in this appliance's configuration`);
    if (target.collector !== "ssh" && target.collector !== "winrm") return fail("unknown_host", `${hostId} is a ${target.collector} target${target.collector === "lab" ? " (simulated)" : ""}; there is nothing to sign in to`);
    if (!KINDS_FOR[target.collector].includes(held.info.kind)) return fail("wrong_kind", `credential ${credentialId} is ${held.info.kind}, but ${hostId} is reached over ${target.collector}`);
    const remote: RemoteTarget = target;
    const started = d.clock.now();
    let transport: Transport | null = null;
    const secret = held.host.credential.type === "password" ? held.host.credential.password : held.host.credential.private_key;
    try {
      transport = createHostTransport(remote, held.host, tdeps);
      const probe = remote.collector === "ssh" ? { program: "id", args: ["-un"] } : { script: "[Environment]::UserName", shell: "powershell" as const };
      const r = await transport.run(probe, { timeoutMs, signal: ctx.signal, maxOutputBytes: 4096 });
      const ms = Math.round(d.clock.now() - started);
      const who = r.exitCode === 0 && /^[\w.@\\-]{1,256}$/.test(r.stdout.trim()) ? ` as ${r.stdout.trim()}` : "";
      return { outcome: "success", detail: scrub(`ok: signed in to ${hostId} (${remote.collector} ${remote.address}:${remote.port})${who} with credential ${credentialId} in ${ms} ms`, secret) };
    } catch (e) {
      if (isCollectError(e)) return fail(e.code, scrub(e.message, secret));
      return fail("error", scrub(e instanceof Error ? e.message : String(e), secret));
    } finally {
      await transport?.close().catch(() => undefined);
    }
  };
  const update_credentials_now: OrderHandler = async () => {
    const held = d.credentials.list();
    return { outcome: "success", detail: `credentials refreshed in this sync: ${held.length} held (${held.map((c) => c.credential_id).join(", ") || "none"})` };
  };
  return { validate_credential, update_credentials_now };
}
