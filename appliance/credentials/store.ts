/**
 * The appliance's host credentials, in memory only: those the relay sealed to this appliance (replaced as a
 * whole at every pull, opened with the X25519 credentials key) and, for a standalone appliance or as a
 * fallback, those of the config's credentials file. Nothing here writes to the database, a log or an error
 * message anything but ids, kinds, targets and user names; credential objects print as `[redacted]`.
 *
 * Which credential serves a target (`forTarget`): a relay credential whose id is the target's
 * `credential_ref`; else the relay credential whose target covers the host id (an exact id beats a pattern,
 * a longer pattern beats a shorter one, then the lower id); else the file's `credential_ref` entry. Only
 * kinds the collector speaks count: ssh_password/ssh_key for ssh, winrm_basic/winrm_ntlm for winrm.
 *
 * Objects are kept when a pull brings the same credential again, so transports built from one (transport.ts)
 * reconnect only when a credential really changed.
 */
import type { SealedCredential } from "../../protocol/sync.ts";
import { openCredential, targetMatches, targetSpecificity, type CredentialKind } from "../../node/sealed-credential.ts";
import type { X25519Key } from "../../node/x25519.ts";
import type { Credential, Credentials } from "../config/credentials.ts";
import type { Log } from "../engine/types.ts";

/** Collectors that use credentials, and the relay kinds each can use. */
export const KINDS_FOR: Readonly<Record<"ssh" | "winrm", readonly CredentialKind[]>> = {
  ssh: ["ssh_password", "ssh_key"],
  winrm: ["winrm_basic", "winrm_ntlm"],
};
export type CredentialCollector = keyof typeof KINDS_FOR;

/** A credential ready for a collector: the config's shape, where it came from, and (WinRM) the auth it names. */
export interface HostCredential {
  readonly source: "relay" | "file";
  /** The relay credential id, or the file's credential_ref. */
  readonly ref: string;
  readonly credential: Credential;
  /** For a relay WinRM credential, the auth its kind names; null: the target's config decides. */
  readonly winrmAuth: "basic" | "ntlm" | null;
}

/** What the status page and logs may show about a relay credential. */
export interface CredentialInfo {
  credential_id: string;
  target: string;
  kind: CredentialKind;
  username: string;
}

export interface ApplyReport {
  loaded: number;
  /** Whether any credential was added, removed or changed. */
  changed: boolean;
  /** Credentials that did not open (ids and reason codes only). */
  refused: { credential_id: string; reason: string }[];
}

export interface HostCredentialsOptions {
  /** The appliance's X25519 credentials key (ApplianceIdentity.credentials). */
  key: Pick<X25519Key, "publicKey" | "sharedSecret">;
  applianceId: string;
  /** The config's credentials file, when there is one. */
  file?: Credentials;
  log: Pick<Log, "info" | "warn" | "error">;
}

interface RelayEntry {
  info: CredentialInfo;
  host: HostCredential;
  /** Compared to spot a changed secret without keeping a second copy around. */
  secret: string;
}

const REDACTED = Symbol.for("nodejs.util.inspect.custom");

/** Freezes `value` and makes it print as `shown` through JSON.stringify and util.inspect. */
function redacting<T extends object>(value: T, shown: object): T {
  Object.defineProperty(value, "toJSON", { value: () => shown, enumerable: false });
  Object.defineProperty(value, REDACTED, { value: () => shown, enumerable: false });
  return Object.freeze(value);
}

function toHost(info: CredentialInfo, secret: string): HostCredential {
  const shown = { ...info, secret: "[redacted]" };
  const credential: Credential =
    info.kind === "ssh_key"
      ? redacting({ type: "ssh_key" as const, username: info.username, private_key: secret }, shown)
      : redacting({ type: "password" as const, username: info.username, password: secret }, shown);
  const winrmAuth = info.kind === "winrm_basic" ? "basic" : info.kind === "winrm_ntlm" ? "ntlm" : null;
  return redacting({ source: "relay" as const, ref: info.credential_id, credential, winrmAuth }, shown);
}

export class HostCredentials {
  readonly #o: HostCredentialsOptions;
  #relay = new Map<string, RelayEntry>();
  readonly #file = new Map<string, HostCredential>();
  #loaded = false;
  #waiters: (() => void)[] = [];
  #generation = 0;

  constructor(options: HostCredentialsOptions) {
    this.#o = options;
    for (const [ref, credential] of options.file ?? []) {
      this.#file.set(ref, Object.freeze({ source: "file" as const, ref, credential, winrmAuth: null }));
    }
  }

  /** Whether a pull has delivered the relay's credentials since start (until then only the file's exist). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Bumped whenever the set of relay credentials changes. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Replaces the relay credentials with the ones in a pull. Each is opened with the appliance's key; one
   * that does not open (or is not what its label says) is left out and reported, never partly used.
   */
  async apply(sealed: readonly SealedCredential[]): Promise<ApplyReport> {
    const next = new Map<string, RelayEntry>();
    const refused: ApplyReport["refused"] = [];
    for (const s of sealed) {
      try {
        const p = await openCredential(s, this.#o.key, this.#o.applianceId);
        const info: CredentialInfo = { credential_id: p.credential_id, target: p.target, kind: p.kind, username: p.username };
        const old = this.#relay.get(p.credential_id);
        const same = old && old.secret === p.secret && old.info.target === info.target && old.info.kind === info.kind && old.info.username === info.username;
        next.set(p.credential_id, same ? old : { info, host: toHost(info, p.secret), secret: p.secret });
      } catch (e) {
        refused.push({ credential_id: s.credential_id, reason: (e as { code?: string }).code ?? "open_failed" });
      }
    }
    const changed = next.size !== this.#relay.size || [...next].some(([id, entry]) => this.#relay.get(id) !== entry);
    this.#relay = next;
    if (changed) this.#generation++;
    if (!this.#loaded) {
      this.#loaded = true;
      for (const wake of this.#waiters.splice(0)) wake();
    }
    for (const r of refused) this.#o.log.error("credential_refused", { credential_id: r.credential_id, reason: r.reason, hint: "the relay sealed it to another key or it was altered; it is not used" });
    if (changed) this.#o.log.info("credentials_updated", { loaded: next.size, refused: refused.length, credentials: [...next.values()].map((e) => e.info) });
    return { loaded: next.size, changed, refused };
  }

  /** Resolves once the first pull delivered credentials, or with false after `ms` (or when `signal` aborts). */
  whenLoaded(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#loaded) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(v);
      };
      const wake = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }

  /** A relay credential by id (null when this appliance does not hold it). */
  byId(credentialId: string): { info: CredentialInfo; host: HostCredential } | null {
    const e = this.#relay.get(credentialId);
    return e ? { info: e.info, host: e.host } : null;
  }

  /** The credential serving a target (see the module comment), or null. */
  forTarget(target: { id: string; credential_ref: string; collector: CredentialCollector }): HostCredential | null {
    const kinds = KINDS_FOR[target.collector];
    const fits = (e: RelayEntry) => kinds.includes(e.info.kind);
    const named = this.#relay.get(target.credential_ref);
    if (named && fits(named)) return named.host;
    let best: RelayEntry | null = null;
    for (const e of this.#relay.values()) {
      if (!fits(e) || !targetMatches(e.info.target, target.id)) continue;
      if (!best) best = e;
      else {
        const d = targetSpecificity(e.info.target) - targetSpecificity(best.info.target);
        if (d > 0 || (d === 0 && e.info.credential_id < best.info.credential_id)) best = e;
      }
    }
    if (best) return best.host;
    return this.#file.get(target.credential_ref) ?? null;
  }

  /** The relay credentials held now, without secrets. */
  list(): CredentialInfo[] {
    return [...this.#relay.values()].map((e) => ({ ...e.info }));
  }
}
