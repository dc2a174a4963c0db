/**
 * Scanning: gather a target's facts, evaluate every catalogue check of its platform with the generic
 * evaluator, and map each evaluation to a `HostCheckResult` (status, expected, actual, controls, reason).
 *
 * A host that cannot be scanned at all (unreachable, auth failure, timeout, garbage output) gives ONE HostScan
 * with `reachable: false`, the error, and no results: the evidence writer records one `error` for the host,
 * not one per check. A fact the gatherer could not read makes only the checks that need it `error`, with the
 * gatherer's reason. Nothing here ever turns missing data into `pass`.
 *
 * `scanSite` scans targets with bounded concurrency and, when many hosts are unreachable at once (a switch or
 * the appliance's own network is down), adds ONE site-level alert instead of a flood of host alerts.
 */
import { CollectError } from "../collect/errors.ts";
import type { Clock, Facts, HostCheckResult, HostScan, TargetRef } from "../engine/types.ts";
import type { Catalogue } from "../../protocol/catalogue/catalogue.ts";
import { evaluateCheck, type CheckEvaluation } from "../../protocol/catalogue/evaluate.ts";
import type { Json } from "../../protocol/catalogue/schema.ts";
import type { Gather, GatheredFacts } from "./facts/gathered.ts";

/** Hosts scanned at once: enough to finish a 50-host clinic quickly, few enough not to swamp the LAN or the DC. */
export const SCAN_CONCURRENCY = 8;
/** Most hosts in one site scan (config lists are bounded the same way). */
export const MAX_SITE_TARGETS = 1000;
/** Extra time a gatherer gets beyond its own timeout to give up by itself before the scan stops waiting. */
export const GATHER_GRACE_MS = 2_000;
/** The site alert needs at least this many unreachable hosts (one or two down is per-host news)... */
export const UNREACHABLE_ALERT_MIN_HOSTS = 3;
/** ...and at least this share of the site's hosts. */
export const UNREACHABLE_ALERT_SHARE = 0.5;
/** Collector error codes that mean "could not reach the host" (not: reached it and it refused or answered garbage). */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(["unreachable", "timeout"]);

export interface ScanHostOptions {
  readonly gather: Gather;
  readonly catalogue: Catalogue;
  /** Per-check parameter overrides from the site config, by check id. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Check ids the site disabled (sync `site_config.disabled_checks`). */
  readonly disabledChecks?: ReadonlySet<string>;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Overrides GATHER_GRACE_MS (tests). */
  readonly graceMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Scans one target. Never throws for a host problem: it is in the HostScan. */
export async function scanHost(target: TargetRef, o: ScanHostOptions): Promise<HostScan> {
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1) throw new RangeError(`Cannot scan ${target.id} as 'timeoutMs' must be a positive integer: current value is ${o.timeoutMs}`);
  const startedMs = o.clock.now();
  const done = (fields: Pick<HostScan, "reachable" | "error" | "facts" | "results">): HostScan => ({
    target,
    started_at: iso(startedMs),
    // A clock that stepped back during the scan must not give finished_at < started_at (the bundle schema refuses it).
    finished_at: iso(Math.max(startedMs, o.clock.now())),
    ...fields,
  });
  let gathered: GatheredFacts;
  try {
    gathered = await gatherBounded(target, o);
  } catch (err) {
    return done({ reachable: false, error: describeError(err), facts: {}, results: [] });
  }
  return done({ reachable: true, error: null, facts: gathered.facts, results: evaluateFacts(target.platform, gathered, o) });
}

/** Evaluates every check of `platform` (except disabled ones) over gathered facts. Pure. */
export function evaluateFacts(
  platform: TargetRef["platform"],
  gathered: GatheredFacts,
  o: Pick<ScanHostOptions, "catalogue" | "params" | "disabledChecks">,
): HostCheckResult[] {
  const results: HostCheckResult[] = [];
  for (const check of o.catalogue.listChecks({ platform })) {
    if (o.disabledChecks?.has(check.id)) continue;
    let evaluation: CheckEvaluation;
    try {
      const params = o.catalogue.checkParams(check.id, o.params?.[check.id] ?? {});
      evaluation = evaluateCheck(check, (name) => o.catalogue.getFact(platform, name), gathered.facts, params);
    } catch (err) {
      // Invalid site overrides: the check cannot run as configured; say so instead of guessing thresholds.
      evaluation = { status: "error", expected: [], actual: {}, reason: `cannot evaluate: ${err instanceof Error ? err.message : String(err)}` };
    }
    results.push({
      check: check.id,
      status: evaluation.status,
      expected: evaluation.expected,
      actual: evaluation.actual as Json,
      controls: o.catalogue.controlKeysFor(check.id),
      reason: evaluation.status === "error" ? withGatherReasons(evaluation.reason, check.facts, gathered.unavailable) : evaluation.reason,
    });
  }
  return results;
}

/** "facts not collected: a, b" becomes "facts not collected: a (why), b (why)". */
function withGatherReasons(reason: string | null, facts: readonly string[], unavailable: Readonly<Record<string, string>>): string | null {
  const known = facts.filter((f) => Object.hasOwn(unavailable, f));
  if (!reason?.startsWith("facts not collected:") || known.length === 0) return reason;
  const names = reason.slice("facts not collected:".length).split(",").map((s) => s.trim()).filter(Boolean);
  return `facts not collected: ${names.map((n) => (Object.hasOwn(unavailable, n) ? `${n} (${unavailable[n]})` : n)).join("; ")}`;
}

async function gatherBounded(target: TargetRef, o: ScanHostOptions): Promise<GatheredFacts> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new CollectError("timeout", `Gathering facts from ${target.id} did not finish within ${o.timeoutMs} ms`, { timeoutMs: o.timeoutMs }));
    }, o.timeoutMs + (o.graceMs ?? GATHER_GRACE_MS));
  });
  try {
    if (o.signal?.aborted) throw new CollectError("aborted", `Scan of ${target.id} was aborted by the caller`);
    return await Promise.race([o.gather(target, { timeoutMs: o.timeoutMs, signal: controller.signal }), guard]);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}

/** Longest error message kept in a HostScan. */
const MAX_ERROR_MESSAGE = 300;

function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof CollectError) return { code: err.code, message: err.message.slice(0, MAX_ERROR_MESSAGE) };
  if (err instanceof RangeError || err instanceof TypeError) return { code: "misconfigured", message: err.message.slice(0, MAX_ERROR_MESSAGE) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: "internal", message: `fact gathering failed unexpectedly: ${message}`.slice(0, MAX_ERROR_MESSAGE) };
}

// ---- site ----------------------------------------------------------------------------------------------

export interface SiteAlert {
  readonly kind: "many_hosts_unreachable";
  readonly message: string;
  /** Ids of the unreachable hosts (callers raise this one alert instead of one per host). */
  readonly hosts: readonly string[];
  readonly total: number;
}

export interface SiteScan {
  /** One per target, in the order given. */
  readonly scans: HostScan[];
  readonly alerts: SiteAlert[];
  /** Network facts for the `network.host_reachability` check: scan.target_count, scan.unreachable_percent. */
  readonly network: Facts;
}

export interface ScanSiteOptions extends ScanHostOptions {
  readonly concurrency?: number;
}

/** Whether a scan failed because the host could not be reached (the site alert and network facts count these). */
export function isUnreachable(scan: HostScan): boolean {
  return !scan.reachable && scan.error !== null && UNREACHABLE_CODES.has(scan.error.code);
}

/** Scans every target (at most `concurrency` at once) and derives the site alert and network facts. */
export async function scanSite(targets: readonly TargetRef[], o: ScanSiteOptions): Promise<SiteScan> {
  const concurrency = o.concurrency ?? SCAN_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new RangeError(`Cannot scan a site as 'concurrency' must be an integer from 1 to 64: current value is ${concurrency}`);
  if (targets.length > MAX_SITE_TARGETS) throw new RangeError(`Cannot scan more than ${MAX_SITE_TARGETS} targets at once: current count is ${targets.length}`);
  const scans: HostScan[] = new Array<HostScan>(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      scans[i] = await scanHost(targets[i]!, o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));

  // The appliance checking itself is not a site host (catalogue: scan.target_count excludes it).
  const hosts = scans.filter((s) => s.target.platform !== "appliance");
  const down = hosts.filter(isUnreachable);
  const alerts: SiteAlert[] = [];
  if (down.length >= UNREACHABLE_ALERT_MIN_HOSTS && down.length >= hosts.length * UNREACHABLE_ALERT_SHARE) {
    alerts.push({
      kind: "many_hosts_unreachable",
      message: `${down.length} of ${hosts.length} hosts could not be reached; check the clinic network and the appliance's connection before individual hosts`,
      hosts: down.map((s) => s.target.id),
      total: hosts.length,
    });
  }
  const network: Facts = { scan: { target_count: hosts.length, unreachable_percent: hosts.length ? Math.round((down.length / hosts.length) * 10_000) / 100 : 0 } };
  return { scans, alerts, network };
}
