/**
 * The appliance's fact gatherer with the root-only firewall facts taken from the privileged helper.
 *
 * The daemon cannot run `nft -j list ruleset` (it has no CAP_NET_ADMIN), so each cycle it starts
 * `osiris-helper@firewall-snapshot.service` and uses its result: `firewall.ruleset_sha256` from the helper,
 * `firewall.nftables_active` = nftables.service active (asked here; no privilege needed) AND the helper saw a
 * chain. When the helper is unavailable and the script's own nft probe also failed, both facts are
 * unavailable with the helper's reason, so the check gives `error`, never a pass or a false fail. Where the
 * script's probe worked (a development machine run as root) its values stay.
 */
import { deleteFact, setFact, type Gather, type GatheredFacts } from "../checks/mod.ts";
import type { CommandRunner } from "./command.ts";
import type { HelperClient } from "./client.ts";

const HASH = "firewall.ruleset_sha256";
const ACTIVE = "firewall.nftables_active";
const SYSTEMCTL_TIMEOUT_MS = 10_000;

export interface HelperFactsOptions {
  readonly helper: HelperClient;
  readonly run: CommandRunner;
}

export function withHelperFirewallFacts(inner: Gather, o: HelperFactsOptions): Gather {
  return async (target, opts) => {
    const [gathered, inv] = await Promise.all([inner(target, opts), o.helper.invoke("firewall-snapshot", { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) })]);
    const facts = structuredClone(gathered.facts);
    const unavailable: Record<string, string> = { ...gathered.unavailable };
    const set = (name: string, value: boolean | string | null) => {
      setFact(facts, name, value);
      delete unavailable[name];
    };
    const missing = (name: string, reason: string) => {
      deleteFact(facts, name);
      unavailable[name] = reason.slice(0, 240);
    };

    const fw = inv.status === "done" && inv.result.outcome === "success" ? inv.result.firewall : undefined;
    if (fw) {
      set(HASH, fw.ruleset_sha256);
      if (!(ACTIVE in gathered.unavailable)) {
        const r = await o.run(["systemctl", "is-active", "nftables.service"], { timeoutMs: SYSTEMCTL_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}) });
        set(ACTIVE, r.stdout.trim() === "active" && fw.has_chain);
      }
    } else if (HASH in gathered.unavailable) {
      const why = inv.status === "done" ? `${inv.result.action} ${inv.result.outcome}: ${inv.result.detail}` : inv.reason;
      const reason = `${why}; the daemon cannot list the ruleset itself (no CAP_NET_ADMIN)`;
      missing(HASH, reason);
      missing(ACTIVE, reason);
    }
    return { facts, unavailable } satisfies GatheredFacts;
  };
}
