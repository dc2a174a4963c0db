/**
 * Trust on first use for host identities: an SSH host key or a WinRM HTTPS certificate.
 *
 * The first time the appliance reaches `host:port` it records the SHA-256 fingerprint of what the host
 * presented, through an injected `PinStore` (the appliance persists it in its database; tests use
 * `memoryPinStore`). Every later connection must present the same fingerprint or is refused with
 * `host_key_mismatch` before any credential is sent. An MSP replaces a pin deliberately (host rebuilt,
 * certificate renewed) by editing the store, never automatically.
 *
 * Fingerprints use OpenSSH's format, `SHA256:` + unpadded base64 of the SHA-256 digest, for SSH keys (hash
 * of the public key blob, as `ssh-keygen -lf` prints) and for TLS certificates (hash of the DER leaf).
 */

import { createHash } from "node:crypto";
import { CollectError } from "./errors.ts";

export interface PinStore {
  /** The recorded fingerprint for `key`, or undefined when the host has never been seen. */
  get(key: string): Promise<string | undefined>;
  /** Records the fingerprint seen on first use. */
  remember(key: string, fingerprint: string): Promise<void>;
}

/** Store key for a host: `ssh:[host]:port` / `winrm:[host]:port`, like known_hosts' bracketed form. */
export function pinKey(kind: "ssh" | "winrm", host: string, port: number): string {
  return `${kind}:[${host.toLowerCase()}]:${port}`;
}

/** `SHA256:<unpadded base64>` of the bytes. */
export function sha256Fingerprint(bytes: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(bytes).digest("base64").replace(/=+$/, "")}`;
}

export type PinOutcome = { readonly outcome: "matched" | "first_use"; readonly fingerprint: string };

/**
 * Compares `fingerprint` with the pin for `key`. Returns `first_use` when none is recorded (the caller
 * records it with `recordPin` once the peer has proven it holds the key), `matched` when equal, and throws
 * `host_key_mismatch` otherwise. The error names both fingerprints: they are public, and an operator needs
 * them to decide whether the host was rebuilt or impersonated.
 */
export async function checkPin(store: PinStore, key: string, fingerprint: string, target: string): Promise<PinOutcome> {
  let pinned: string | undefined;
  try {
    pinned = await store.get(key);
  } catch {
    throw new CollectError("protocol", `Could not read the pinned fingerprint for ${target} from the pin store`);
  }
  if (pinned === undefined) return { outcome: "first_use", fingerprint };
  if (pinned === fingerprint) return { outcome: "matched", fingerprint };
  throw new CollectError(
    "host_key_mismatch",
    `The identity of ${target} changed: pinned ${pinned}, presented ${fingerprint}. ` +
      "Refusing to connect; if the host was rebuilt, replace its pin deliberately.",
    { pinned, presented: fingerprint },
  );
}

/** Records a first-use pin, mapping a store failure to a clear error. */
export async function recordPin(store: PinStore, key: string, fingerprint: string, target: string): Promise<void> {
  try {
    await store.remember(key, fingerprint);
  } catch {
    throw new CollectError("protocol", `Could not record the first-use fingerprint for ${target} in the pin store`);
  }
}

/** An in-memory PinStore for tests and one-off CLI use; `entries()` shows what was recorded. */
export function memoryPinStore(initial: Readonly<Record<string, string>> = {}): PinStore & {
  entries(): Record<string, string>;
} {
  const pins = new Map(Object.entries(initial));
  return {
    get: async (key) => pins.get(key),
    remember: async (key, fp) => {
      pins.set(key, fp);
    },
    entries: () => Object.fromEntries(pins),
  };
}
