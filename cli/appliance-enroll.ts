/**
 * `osiris appliance enroll --config FILE [--relay URL] (--code CODE | --code-file FILE | --pending) [--mac MAC]…`
 *
 * Enrolls this appliance with its relay: generates (or loads) its keys, proves possession with a claim code,
 * stores the issued identity and pinned relay keys, and writes the token only to its 0600 key file. With
 * `--pending` (drop-ship) it registers the appliance for an MSP to accept and prints the fingerprint to
 * compare; run it again after acceptance to finish.
 *
 * With none of --code, --code-file or --pending (first boot, iso/provisioning.nix), the claim code comes from
 * the provisioning file matching the config's `enrollment.usb_config_glob` (appliance/provision/usb-config.ts:
 * `relay_url` and `claim_code`; a relay_url other than `relay.url` is refused), else from
 * `enrollment.claim_code_file`; with neither, the appliance registers as pending with its MACs. An appliance
 * already enrolled answers at once, whatever the stick holds. The claim code is never printed or logged.
 *
 * Exit codes: 0 enrolled (or already enrolled), 1 refused by the relay (the reason is printed), 2 wrong usage,
 * config or provisioning file, 75 registered and waiting for an MSP to accept, or the relay unreachable (run
 * again later).
 */
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "../appliance/config/index.ts";
import type { Clock } from "../appliance/engine/types.ts";
import { loadOrCreateIdentity } from "../appliance/identity/index.ts";
import { ensurePrivateDir, openStore } from "../appliance/store/index.ts";
import { findProvisioningFile, ProvisionError, provisionedRelay, readLocalStatus, readProvisioningFile } from "../appliance/provision/index.ts";
import { checkRelayUrl, createRelayFetch, enrollPending, enrollWithClaimCode, RelayHttp, SyncError, type FetchLike } from "../appliance/sync/index.ts";
import { normaliseClaimCode } from "../relay/enroll/claim-code.ts";
import { normaliseMac } from "../relay/enroll/enroll-message.ts";

export const summary = "enroll this appliance with a relay (--relay URL --code CODE, or --pending for drop-ship)";
const USAGE = "Usage: osiris appliance enroll --config FILE [--relay URL] (--code CODE | --code-file FILE | --pending) [--mac MAC]...";

/**
 * Exit codes. `retry` is sysexits' EX_TEMPFAIL (75): registered and waiting for the MSP, or the relay is
 * away; the first-boot provisioning unit (iso/provisioning.nix) treats it as "ask again later".
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, retry: 75 } as const;
/** A claim code file holds one short code; anything bigger is the wrong file. */
export const MAX_CODE_FILE_BYTES = 1024;

/** Where output goes and which effects to use (tests capture and inject). */
export interface EnrollIo {
  out(line: string): void;
  err(line: string): void;
  fetch?: FetchLike;
  clock?: Clock;
  random?: (n: number) => Uint8Array;
  /** MAC addresses to register (default: this machine's non-internal interfaces). */
  macs?: () => string[];
}

const consoleIo: EnrollIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Plain words for the relay's refusals (what a technician at the clinic can act on). */
const REFUSALS: Readonly<Record<string, string>> = {
  claim_code_unknown: "the relay does not know this claim code: check it for typos, or ask your MSP for a new one",
  claim_code_used: "this claim code was already used by another appliance: ask your MSP for a new one",
  claim_code_expired: "this claim code has expired: ask your MSP for a new one",
  claim_code_revoked: "this claim code was revoked by your MSP: ask them for a new one",
  key_already_enrolled: "this appliance's keys are already enrolled at the relay (an earlier enrollment finished there but not here?): ask your MSP to check, or start from a fresh state directory",
  proof_invalid: "the relay could not verify this appliance's key proofs",
  pending_state: "the pending registration was already used to enroll an appliance",
  pending_unknown: "the relay does not know this pending registration",
  rate_limited: "too many enrollment attempts from here: wait a few minutes and try again",
};

export function run(args: string[]): Promise<number> {
  return runWith(args, consoleIo);
}

/** This machine's MAC addresses (non-internal, non-zero), for drop-ship registration. */
export function localMacs(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      const mac = normaliseMac(i.mac);
      if (!i.internal && mac !== null && mac !== "00:00:00:00:00:00") out.add(mac);
    }
  }
  return [...out].sort();
}

export async function runWith(args: string[], io: EnrollIo): Promise<number> {
  const usage = (message: string) => (io.err(`osiris appliance enroll: ${message}\n${USAGE}`), EXIT.usage);
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c" },
        relay: { type: "string" },
        code: { type: "string" },
        "code-file": { type: "string" },
        pending: { type: "boolean" },
        mac: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (values.help) return io.out(USAGE), EXIT.ok;
  if (!values.config) return usage("--config FILE is required");
  const ways = [values.code !== undefined, values["code-file"] !== undefined, values.pending === true].filter(Boolean).length;
  if (ways > 1) return usage("give only one of --code CODE, --code-file FILE or --pending");

  let config: Config;
  try {
    config = await loadConfig(values.config);
  } catch (e) {
    if (e instanceof ConfigError) return usage(e.message);
    throw e;
  }
  // An appliance enrolled already has nothing to read from a stick (which may be long gone or replaced).
  if (ways === 0) {
    const done = await enrolledAlready(config);
    if (done !== null) return io.out(`already enrolled: ${done}`), EXIT.ok;
  }
  // With none given (first boot): the stick's provisioning file, else the config's claim code file, else pending.
  let provisioned: { code: string; relay: string; from: string } | null = null;
  if (ways === 0 && config.enrollment.usb_config_glob !== undefined) {
    try {
      const found = await findProvisioningFile(config.enrollment.usb_config_glob);
      if (found !== null) {
        const file = await readProvisioningFile(found);
        provisioned = { code: file.claim_code, relay: provisionedRelay(file, values.relay ?? config.relay.url), from: found };
      }
    } catch (e) {
      if (!(e instanceof ProvisionError)) throw e;
      io.err(`osiris appliance enroll: ${e.message}`);
      return EXIT.usage;
    }
  }
  let codeFile = values["code-file"] ?? (ways === 0 && provisioned === null ? config.enrollment.claim_code_file : undefined);
  if (ways === 0 && codeFile !== undefined && values["code-file"] === undefined && !(await exists(codeFile))) {
    io.err(`osiris appliance enroll: no claim code file at ${codeFile} (enrollment.claim_code_file)`);
    codeFile = undefined;
  }
  if (ways === 0 && provisioned === null && codeFile === undefined) io.err("osiris appliance enroll: no claim code (no provisioning file, no claim code file): registering this appliance as pending");
  const relayUrl = provisioned?.relay ?? values.relay ?? config.relay.url;
  if (!relayUrl) return usage("--relay URL is required (the config has no relay.url)");
  if (values.relay && config.relay.url && checkUrl(values.relay) !== checkUrl(config.relay.url)) {
    return usage(`--relay ${values.relay} differs from relay.url ${config.relay.url} in ${values.config}: the daemon would sync somewhere else`);
  }
  try {
    checkRelayUrl(relayUrl);
  } catch (e) {
    if (e instanceof SyncError) return usage(e.message);
    throw e;
  }

  let code: string | null = provisioned?.code ?? null;
  if (provisioned !== null) io.err(`osiris appliance enroll: using the claim code in the provisioning file ${provisioned.from}`);
  else if (values.code !== undefined || codeFile !== undefined) {
    try {
      code = values.code ?? (await readCodeFile(codeFile!));
    } catch (e) {
      return usage(`cannot read the claim code file ${codeFile}: ${(e as Error).message}`);
    }
    if (normaliseClaimCode(code) === null) return usage("the claim code is not well formed: it has 20 letters and digits, like 7KQ2M-XH3PD-0W9RT-ZB4NC");
  }
  const macs = values.mac ?? (io.macs ?? localMacs)();
  if (macs.some((m) => normaliseMac(m) === null)) return usage(`--mac must be a MAC address like aa:bb:cc:dd:ee:ff; saw ${macs.find((m) => normaliseMac(m) === null)}`);
  if (code === null && macs.length === 0) return usage("registering as pending needs at least one MAC address (none found on this machine: pass --mac)");

  const clock = io.clock ?? { now: () => Date.now() };
  const random = io.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const quiet = { info: () => undefined };
  await ensurePrivateDir(config.state_dir);
  const store = await openStore(config.database, { log: quiet });
  try {
    const identity = await loadOrCreateIdentity(config.state_dir, store, { random, clock });
    const relay = new RelayHttp({ url: relayUrl, fetch: io.fetch ?? createRelayFetch(config.relay.pin_sha256 ? { pinSha256: config.relay.pin_sha256 } : {}), clock, random });
    const deps = { relay, identity, store, stateDir: config.state_dir, clock };
    const result = code !== null ? await enrollWithClaimCode(deps, code, macs) : await enrollPending(deps, macs);
    if (result.state === "pending") {
      io.out(`registered with ${relay.base.origin} as pending: ${result.pending_id}`);
      io.out(`fingerprint: ${result.fingerprint}`);
      io.out("ask your MSP to accept this appliance after comparing the fingerprint, then run this command again");
      return EXIT.retry;
    }
    io.out(`${result.changed ? "enrolled" : "already enrolled"}: ${result.appliance_id}`);
    io.out(`site: ${result.site_id}`);
    io.out(`fingerprint: ${result.fingerprint}`);
    io.out(`relay: ${relay.base.origin} (keys ${result.relay_keys.join(", ")})`);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    const reason = e instanceof SyncError && e.relayCode !== undefined ? (REFUSALS[e.relayCode] ?? e.message) : e.message;
    io.err(`osiris appliance enroll: ${reason}`);
    if (e instanceof SyncError && e.code === "insecure_url") return EXIT.usage;
    return e instanceof SyncError && (e.code === "unreachable" || e.code === "timeout") ? EXIT.retry : EXIT.refused;
  } finally {
    store.close();
  }
}

/** The appliance id when the store says this appliance is enrolled, else null (read without creating anything). */
async function enrolledAlready(config: Config): Promise<string | null> {
  const s = await readLocalStatus(config);
  return s.enrollment === "enrolled" && s.token_file ? (s.appliance_id ?? "?") : null;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readCodeFile(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error("not a regular file");
  if (info.size > MAX_CODE_FILE_BYTES) throw new Error(`${info.size} bytes; a claim code file holds at most ${MAX_CODE_FILE_BYTES}`);
  return (await readFile(path, "utf8")).trim();
}

function checkUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
