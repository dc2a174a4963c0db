/** Test fixtures for the evidence log: a temporary state directory, store, enrolled identity and log. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSigner, keyId } from "../../protocol/crypto.ts";
import { toHex } from "../../protocol/encoding.ts";
import { sha256 } from "../../protocol/hash.ts";
import { isoTime } from "../../protocol/ids.ts";
import type { EvidenceDraft } from "../engine/types.ts";
import { loadOrCreateIdentity, type ApplianceIdentity } from "../identity/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { EvidenceLog, type SystemContext } from "./log.ts";

export const T0 = Date.parse("2026-11-27T22:35:36.123Z");
export const SITE = "site_0123456789ab";
export const APP = "app_0123456789ab";
/** The relay key tests pin (and sign orders / cosign checkpoints with). */
export const relaySigner = createSigner(sha256("test relay key"));
export const relayPinned = { key_id: keyId(relaySigner.publicKey), public_key: toHex(relaySigner.publicKey), name: "relay-test" };

/** Deterministic bytes: SHA-256 of a seed and a counter. */
export function seeded(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 32) out.set(sha256(`${seed}/${counter++}`).subarray(0, Math.min(32, n - i)), i);
    return out;
  };
}

/** A clock tests move by hand. */
export function manualClock(start = T0): { now(): number; set(ms: number): void; advance(ms: number): void } {
  let t = start;
  return { now: () => t, set: (ms) => void (t = ms), advance: (ms) => void (t += ms) };
}

export interface LogFixture {
  dir: string;
  store: Store;
  identity: ApplianceIdentity;
  log: EvidenceLog;
  clock: ReturnType<typeof manualClock>;
  warnings: string[];
}

/** Opens (or reopens) the store under `dir` and an enrolled identity, and builds an EvidenceLog on them. */
export async function openFixture(dir: string, opts: { clock?: ReturnType<typeof manualClock>; system?: SystemContext; seed?: string } = {}): Promise<LogFixture> {
  const clock = opts.clock ?? manualClock();
  const store = await openStore(join(dir, "appliance.db"), { log: { info: () => undefined } });
  const identity = await loadOrCreateIdentity(join(dir, "state"), store, { random: seeded(opts.seed ?? "fixture"), clock });
  if (identity.state !== "enrolled") await identity.enrollStandalone(SITE, { applianceId: APP, relayKeys: [relayPinned] });
  const warnings: string[] = [];
  const log = new EvidenceLog({ store, identity: identity.enrolled(), clock, ...(opts.system ? { system: opts.system } : {}), log: { warn: (m, f) => void warnings.push(`${m} ${JSON.stringify(f ?? {})}`) } });
  return { dir, store, identity, log, clock, warnings };
}

/** Runs `fn` with a fresh fixture in a temporary directory, removed afterwards. */
export async function withLog(fn: (f: LogFixture) => Promise<void>, opts: { clock?: ReturnType<typeof manualClock>; system?: SystemContext } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-evidence-"));
  const f = await openFixture(dir, opts);
  try {
    await fn(f);
  } finally {
    f.store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A check-cycle draft for one host at `at` (ms). */
export function cycleDraft(at: number, host = "host-1", status: "pass" | "fail" = "pass"): EvidenceDraft {
  const t = isoTime(at);
  return {
    kind: "check_cycle",
    outcome: status,
    host_id: host,
    timestamps: { started_at: t, finished_at: t },
    results: [{ check: "linux.firewall_enabled", status, expected: true, actual: status === "pass", controls: ["hipaa:164.312(c)(1)"] }],
  };
}

/** A system draft at `at` (ms) with an optional padding string (to make big lines). */
export function systemDraft(at: number, padding = ""): EvidenceDraft {
  const t = isoTime(at);
  return { kind: "system", outcome: "alert", timestamps: { started_at: t, finished_at: t }, post_state: padding ? { padding } : {} };
}

/** Collects an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}
