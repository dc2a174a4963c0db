/**
 * The appliance's fact gatherer with `luks.unencrypted_volumes` taken from the privileged helper.
 *
 * The daemon runs with `PrivateDevices=true`: its fact script finds each volume's source (`findmnt`) but
 * `lsblk` cannot open a device node that is not there, so the fact comes back unavailable. Then this wrapper
 * starts `osiris-helper@luks-status.service` and maps each configured volume (a path, default
 * /var/lib/osiris) to the mounted filesystem that holds it — the longest mount point that is a path prefix of
 * it, what `findmnt --target` does — and lists the volumes whose filesystem is not on an encrypted device.
 * When the helper is unavailable the fact stays unavailable with its reason, so the check gives `error`,
 * never a pass or a false fail. Where the script's own probe worked (a development machine run as root) its
 * value stays and the helper is not started.
 */
import { DEFAULT_ENCRYPTED_VOLUMES } from "../checks/facts/appliance.ts";
import { deleteFact, setFact, type Gather, type GatheredFacts } from "../checks/mod.ts";
import type { HelperClient } from "./client.ts";
import type { LuksVolume } from "./result.ts";

const FACT = "luks.unencrypted_volumes";

export interface HelperLuksOptions {
  readonly helper: HelperClient;
  /** The data volumes that must be encrypted (absolute paths); default DEFAULT_ENCRYPTED_VOLUMES. */
  readonly volumes?: readonly string[];
}

/** The reported filesystem holding `path`: the longest mount point equal to it or a directory above it. */
export function containingMount(path: string, volumes: readonly LuksVolume[]): LuksVolume | undefined {
  let best: LuksVolume | undefined;
  for (const v of volumes) {
    if (!v.mount.startsWith("/")) continue; // [SWAP]
    const inside = v.mount === "/" || path === v.mount || path.startsWith(`${v.mount}/`);
    if (inside && (best === undefined || v.mount.length > best.mount.length)) best = v;
  }
  return best;
}

/** The configured volumes that are not on an encrypted device (no filesystem holding one counts as not), sorted. */
export function unencryptedVolumes(configured: readonly string[], reported: readonly LuksVolume[]): string[] {
  return configured.filter((p) => containingMount(p, reported)?.encrypted !== true).sort();
}

export function withHelperLuksFacts(inner: Gather, o: HelperLuksOptions): Gather {
  const configured = o.volumes ?? DEFAULT_ENCRYPTED_VOLUMES;
  for (const p of configured) if (!p.startsWith("/")) throw new RangeError(`Encrypted volumes must be absolute paths: current value is ${JSON.stringify(p)}`);
  return async (target, opts) => {
    const gathered = await inner(target, opts);
    if (!(FACT in gathered.unavailable)) return gathered;
    const inv = await o.helper.invoke("luks-status", { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
    const facts = structuredClone(gathered.facts);
    const unavailable: Record<string, string> = { ...gathered.unavailable };
    const luks = inv.status === "done" && inv.result.outcome === "success" ? inv.result.luks : undefined;
    if (luks) {
      setFact(facts, FACT, unencryptedVolumes(configured, luks.volumes));
      delete unavailable[FACT];
    } else {
      const why = inv.status === "done" ? `${inv.result.action} ${inv.result.outcome}: ${inv.result.detail}` : inv.reason;
      deleteFact(facts, FACT);
      unavailable[FACT] = `${why}; the daemon cannot see block devices itself (PrivateDevices)`.slice(0, 240);
    }
    return { facts, unavailable } satisfies GatheredFacts;
  };
}
