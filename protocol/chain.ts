/**
 * Per-appliance hash chains of evidence bundles.
 *
 * `ChainVerifier` checks lines and keeps, per appliance, only the state the next line is checked against
 * (`ChainState`: last seq, head hash, site, latest finished_at). The relay's ingest persists that state and
 * resumes from it; `verifyChain` runs it over a whole file (an auditor kit, an export) and reports the first
 * failure with its line number. Lines of different appliances may interleave.
 *
 * Checks for each line: canonical JSON and schema (`evidence.ts`, which includes `started_at ≤ finished_at`);
 * the appliance has a registered key (never one carried in the data) and `key_id` names it; the signature;
 * evidence key rotations (below);
 * `site_id` is the registered site and never changes; `seq` is exactly last + 1 (`seq_gap` / `seq_duplicate`);
 * `prev_hash` is the SHA-256 of the previous line; `finished_at` is not more than the tolerance behind the
 * latest one seen (against the latest, not the previous, so a slow drift backwards is caught too). When a line
 * fails both its signature and a chain check, the signature wins: a tampered seq is a bad signature.
 *
 * Evidence key rotation (key-rotation.ts): the switch is a `system` bundle at seq N, signed by the key in force,
 * that names the key signing N+1 onwards. The caller's records (`ApplianceKey.rotations`) say from which seq each
 * later key signs; a bundle is checked only with the key its seq falls under, so a new key before its switch
 * point (or the old one after it) fails. A recorded switch must be announced by the bundle before it, and an
 * announced key must be the recorded one, or (relay ingest, before it recorded the seq) the `pending` key the
 * relay accepted from a statement signed by the appliance's identity key: a key named in the chain is never
 * trusted on its own say-so.
 *
 * Throughput: signature checks dominate, and WebCrypto runs them off the main thread, so `verifyLines` keeps
 * up to PIPELINE_WINDOW of them in flight while it parses and chain-checks the following lines against a
 * speculative head. Committed state only ever advances in line order over lines whose signatures verified,
 * so the result is exactly that of checking one line at a time.
 */
import { z } from "zod";
import { createVerifier, keyId, type Ed25519Impl, type Verifier } from "./crypto.ts";
import { IntegrityError, ValidationError, type IntegrityCode, type ValidationCode } from "./errors.ts";
import { badBundleSignature, bundleSignatureValid, checkBundleKeyId, openBundleLine, type OpenedBundle } from "./evidence.ts";
import { idSchema, isoTimeSchema, parseIsoTime, sha256HexSchema } from "./ids.ts";
import { announcedEvidenceKey } from "./key-rotation.ts";
import { parseSchema } from "./schema.ts";

/** How far `finished_at` may go back behind the latest one seen: NTP steps and clock fixes, not back-dating. */
export const DEFAULT_TIME_TOLERANCE_MS = 5 * 60_000;
/** `onProgress` is called after every this many bundles (and once at the end). */
export const PROGRESS_INTERVAL = 1000;
/** Signature checks in flight at once in `verifyLines`: enough that the main thread hands out work in batches and both cores stay busy (32: 0.72 of raw verify, 256: 0.84). */
export const PIPELINE_WINDOW = 256;

/** A later evidence key and the first seq it signs. */
export interface EvidenceKeyEpoch {
  publicKey: Uint8Array;
  from_seq: number;
}

/** An appliance's registered evidence key (from enrollment), its site if the caller knows it, and later keys. */
export interface ApplianceKey {
  /** The key that signs from seq 1 (until the first rotation). */
  publicKey: Uint8Array;
  siteId?: string;
  /** Recorded rotations, by ascending `from_seq` (each > 1). */
  rotations?: readonly EvidenceKeyEpoch[];
  /** A successor accepted but not yet announced in the chain (relay ingest): an announcement may name it. */
  pending?: Uint8Array;
}

const NO_EPOCHS: readonly EvidenceKeyEpoch[] = [];

/** The key in force for `seq`: the last epoch starting at or before it. */
export function keyForSeq(key: ApplianceKey, seq: number, learned: readonly EvidenceKeyEpoch[] = []): Uint8Array {
  let current = key.publicKey;
  // Recorded epochs, then learned ones (which start after every recorded one): the last that has begun wins.
  // Two loops rather than one over a joined copy: this runs for every bundle verified.
  for (const e of key.rotations ?? NO_EPOCHS) if (e.from_seq <= seq) current = e.publicKey;
  for (const e of learned) if (e.from_seq <= seq) current = e.publicKey;
  return current;
}

/** The recorded or learned epoch that starts at `fromSeq`, if any. */
function epochFrom(key: ApplianceKey | undefined, learned: readonly EvidenceKeyEpoch[], fromSeq: number): EvidenceKeyEpoch | undefined {
  for (const e of key?.rotations ?? NO_EPOCHS) if (e.from_seq === fromSeq) return e;
  for (const e of learned) if (e.from_seq === fromSeq) return e;
  return undefined;
}

/** Throws the IntegrityError for a chain check that failed at bundle `b`. */
function chainBroken(b: { appliance_id: string; seq: number }, code: IntegrityCode, message: string): never {
  throw new IntegrityError(code, message, { appliance_id: b.appliance_id, seq: b.seq });
}
export type ApplianceKeys = ReadonlyMap<string, ApplianceKey>;

/** What the next line of one appliance is checked against; persist it to resume verification later. */
export const chainStateSchema = z.strictObject({
  appliance_id: idSchema,
  site_id: idSchema,
  seq: z.number().int().min(1),
  head_hash: sha256HexSchema,
  /** The latest `finished_at` seen (not necessarily the last bundle's). */
  last_time: isoTimeSchema,
});
export type ChainState = z.output<typeof chainStateSchema>;

/** What one run saw of one appliance's chain. */
export interface ApplianceSummary {
  appliance_id: string;
  site_id: string;
  first_seq: number;
  last_seq: number;
  count: number;
  /** `started_at` of the first bundle seen. */
  first_time: string;
  /** The latest `finished_at` seen. */
  last_time: string;
  head_hash: string;
}

export interface ChainFailure {
  /** 1-based number of the failing line. */
  line: number;
  appliance_id?: string;
  seq?: number;
  code: ValidationCode | IntegrityCode;
  reason: string;
}

export interface ChainVerifierOptions {
  timeToleranceMs?: number;
  /** Require each appliance's first line to be seq 1 (unless resumed); otherwise a chain may start anywhere. */
  fromGenesis?: boolean;
  /** States saved from an earlier run (`states()`), to continue those chains. */
  resume?: Iterable<ChainState>;
  impl?: Ed25519Impl;
  /**
   * Where signature checks run: a Verifier for a public key (the relay's worker pool, relay/ingest/verify-pool.ts).
   * Default: `createVerifier(publicKey, impl)`, in this thread's runtime.
   */
  verifierFor?: (publicKey: Uint8Array) => Verifier;
}

export interface VerifyLinesOptions {
  /** Called with the number of bundles verified so far, every PROGRESS_INTERVAL bundles and at the end. */
  onProgress?: (verified: number) => void;
  /** Called for each verified bundle, in line order (e.g. to store it, or to collect Merkle leaves). */
  onBundle?: (opened: OpenedBundle, lineNumber: number) => void;
}

/** An appliance's head after some line: immutable, so a speculative head never disturbs the committed one. */
interface Head {
  readonly state: Readonly<ChainState>;
  readonly lastMs: number;
  readonly summary: Readonly<ApplianceSummary>;
  /** Switches to the `pending` key announced by verified lines (not yet in the caller's records). */
  readonly learned: readonly EvidenceKeyEpoch[];
}

interface InFlight {
  lineNumber: number;
  opened: OpenedBundle;
  valid: Promise<boolean>;
  keyId: string;
  head: Head;
}

type Outcome = { ok: true } | { ok: false; failure: ChainFailure };

/** Best effort, for the report only: which appliance and seq a line that failed to parse claims to be. */
function claimedIdentity(line: string): { appliance_id?: string; seq?: number } {
  try {
    const v: unknown = JSON.parse(line);
    if (v === null || typeof v !== "object") return {};
    const { appliance_id, seq } = v as Record<string, unknown>;
    return { ...(typeof appliance_id === "string" ? { appliance_id } : {}), ...(typeof seq === "number" ? { seq } : {}) };
  } catch {
    return {};
  }
}

function failureOf(e: unknown, lineNumber: number, line: string): ChainFailure {
  if (!(e instanceof ValidationError || e instanceof IntegrityError)) throw e;
  const d = e.details ?? {};
  const who = typeof d["appliance_id"] === "string" ? { appliance_id: d["appliance_id"], ...(typeof d["seq"] === "number" ? { seq: d["seq"] } : {}) } : claimedIdentity(line);
  return { line: lineNumber, ...who, code: e.code, reason: e.message };
}

/** Verifies lines against per-appliance chain state; see the module comment. */
export class ChainVerifier {
  readonly #keys: ApplianceKeys;
  readonly #toleranceMs: number;
  readonly #fromGenesis: boolean;
  readonly #makeVerifier: (publicKey: Uint8Array) => Verifier;
  readonly #heads = new Map<string, Head>();
  readonly #verifiers = new Map<string, { verifier: Verifier; keyId: string }>();
  #tail: Promise<void> = Promise.resolve();

  constructor(keys: ApplianceKeys, opts: ChainVerifierOptions = {}) {
    this.#keys = keys;
    this.#toleranceMs = opts.timeToleranceMs ?? DEFAULT_TIME_TOLERANCE_MS;
    if (!Number.isFinite(this.#toleranceMs) || this.#toleranceMs < 0) {
      throw new RangeError(`Cannot verify chains: timeToleranceMs must be a non-negative number, current value is ${opts.timeToleranceMs}`);
    }
    this.#fromGenesis = opts.fromGenesis ?? false;
    const impl = opts.impl ?? "auto";
    this.#makeVerifier = opts.verifierFor ?? ((publicKey) => createVerifier(publicKey, impl));
    for (const raw of opts.resume ?? []) {
      const state = parseSchema(chainStateSchema, raw, "chain state");
      const summary = { ...summaryOf(state, state.last_time, 0), first_seq: state.seq + 1 };
      this.#heads.set(state.appliance_id, { state, lastMs: parseIsoTime(state.last_time), summary, learned: [] });
    }
  }

  /** Runs `task` after every earlier push/verifyLines settled, so concurrent callers cannot race on the state. */
  #serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Checks one line and, if it is good, advances that appliance's chain. Throws ValidationError or
   * IntegrityError (details: appliance_id, seq) and leaves the state unchanged on any failure.
   */
  push(line: string): Promise<OpenedBundle> {
    return this.#serialise(async () => {
      const opened = openBundleLine(line);
      const { verifier, keyId } = this.#verifierFor(opened, this.#heads.get(opened.bundle.appliance_id));
      checkBundleKeyId(opened.bundle, keyId);
      if (!(await bundleSignatureValid(opened, verifier))) throw badBundleSignature(opened.bundle, keyId);
      this.#heads.set(opened.bundle.appliance_id, this.#advance(opened, this.#heads.get(opened.bundle.appliance_id)));
      return opened;
    });
  }

  /**
   * Checks lines in order (empty lines are skipped but counted) and stops at the first failure, which it
   * returns instead of throwing. The state afterwards covers exactly the lines before that failure. Other
   * errors (a throwing iterator or callback) propagate.
   */
  verifyLines(lines: Iterable<string> | AsyncIterable<string>, opts: VerifyLinesOptions = {}): Promise<{ bundles: number; failure: ChainFailure | null }> {
    return this.#serialise(async () => {
      const speculative = new Map<string, Head>();
      const queue: InFlight[] = [];
      let bundles = 0;

      const settle = async (f: InFlight): Promise<Outcome> => {
        if (!(await f.valid)) return { ok: false, failure: failureOf(badBundleSignature(f.opened.bundle, f.keyId), f.lineNumber, f.opened.line) };
        this.#heads.set(f.opened.bundle.appliance_id, f.head);
        bundles++;
        opts.onBundle?.(f.opened, f.lineNumber);
        if (opts.onProgress && bundles % PROGRESS_INTERVAL === 0) opts.onProgress(bundles);
        return { ok: true };
      };
      /** Settles everything in flight; the first earlier failure, if any, beats the current line's. */
      const drain = async (): Promise<Outcome> => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const r = await settle(f);
          if (!r.ok) return r;
        }
        return { ok: true };
      };
      const stop = async (e: unknown, lineNumber: number, line: string, valid?: Promise<boolean>, opened?: OpenedBundle, kid?: string) => {
        const earlier = await drain();
        if (!earlier.ok) return { bundles, failure: earlier.failure };
        if (valid && opened && kid && !(await valid)) return { bundles, failure: failureOf(badBundleSignature(opened.bundle, kid), lineNumber, line) };
        return { bundles, failure: failureOf(e, lineNumber, line) };
      };

      let lineNumber = 0;
      for await (const line of lines) {
        lineNumber++;
        if (line === "") continue;
        let opened: OpenedBundle;
        let v: { verifier: Verifier; keyId: string };
        try {
          opened = openBundleLine(line);
          v = this.#verifierFor(opened, speculative.get(opened.bundle.appliance_id) ?? this.#heads.get(opened.bundle.appliance_id));
          checkBundleKeyId(opened.bundle, v.keyId);
        } catch (e) {
          return stop(e, lineNumber, line);
        }
        const id = opened.bundle.appliance_id;
        const valid = bundleSignatureValid(opened, v.verifier);
        let head: Head;
        try {
          head = this.#advance(opened, speculative.get(id) ?? this.#heads.get(id));
        } catch (e) {
          return stop(e, lineNumber, line, valid, opened, v.keyId);
        }
        speculative.set(id, head);
        queue.push({ lineNumber, opened, valid, keyId: v.keyId, head });
        if (queue.length >= PIPELINE_WINDOW) {
          const r = await settle(queue.shift()!);
          if (!r.ok) return { bundles, failure: r.failure };
        }
      }
      const r = await drain();
      if (!r.ok) return { bundles, failure: r.failure };
      opts.onProgress?.(bundles);
      return { bundles, failure: null };
    });
  }

  /** The verifier of the key in force for this bundle's seq (given the head it follows). */
  #verifierFor(opened: OpenedBundle, head: Head | undefined): { verifier: Verifier; keyId: string } {
    const id = opened.bundle.appliance_id;
    const key = this.#keys.get(id);
    if (!key) throw new IntegrityError("unknown_key", `appliance_id: ${id} has no registered key`, { appliance_id: id, seq: opened.bundle.seq });
    const publicKey = keyForSeq(key, opened.bundle.seq, head?.learned);
    const kid = keyId(publicKey);
    let v = this.#verifiers.get(kid);
    if (!v) {
      v = { verifier: this.#makeVerifier(publicKey), keyId: kid };
      this.#verifiers.set(kid, v);
    }
    return v;
  }

  /** Checks a bundle against the recorded switches; returns the head's learned switches after it. */
  #rotations(b: OpenedBundle["bundle"], learned: readonly EvidenceKeyEpoch[]): readonly EvidenceKeyEpoch[] {
    const key = this.#keys.get(b.appliance_id);
    const announced = announcedEvidenceKey(b);
    const next = epochFrom(key, learned, b.seq + 1);
    if (next && !announced) {
      chainBroken(b, "unknown_key", `key_id: the evidence key ${keyId(next.publicKey)} is recorded from seq ${b.seq + 1}, but bundle seq ${b.seq} does not announce the switch`);
    }
    if (!announced) return learned;
    const named = keyId(announced);
    if (next) {
      if (keyId(next.publicKey) !== named) chainBroken(b, "unknown_key", `post_state.new_key_id: bundle seq ${b.seq} announces evidence key ${named}, but ${keyId(next.publicKey)} is recorded from seq ${b.seq + 1}`);
      return learned;
    }
    if (key?.pending && keyId(key.pending) === named) return [...learned, { publicKey: key.pending, from_seq: b.seq + 1 }];
    return chainBroken(b, "unknown_key", `post_state.new_key_id: bundle seq ${b.seq} announces evidence key ${named}, which is not on record for appliance ${b.appliance_id}`);
  }

  /** Switches to keys announced in verified lines and not yet in the caller's records (the relay records them). */
  learnedRotations(applianceId: string): EvidenceKeyEpoch[] {
    return [...(this.#heads.get(applianceId)?.learned ?? [])];
  }

  /** The chain checks: returns the head after `opened`, or throws IntegrityError. Pure (never mutates `prior`). */
  #advance(opened: OpenedBundle, prior: Head | undefined): Head {
    const b = opened.bundle;
    const registered = this.#keys.get(b.appliance_id)?.siteId;
    if (registered !== undefined && b.site_id !== registered) {
      chainBroken(b, "site_mismatch", `site_id: appliance ${b.appliance_id} is registered at ${registered}, bundle seq ${b.seq} says ${b.site_id}`);
    }
    const finishedMs = parseIsoTime(b.timestamps.finished_at);
    if (!prior) {
      if (this.#fromGenesis && b.seq !== 1) chainBroken(b, "seq_gap", `seq: chain of appliance ${b.appliance_id} starts at seq ${b.seq}, expected 1`);
      const state = { appliance_id: b.appliance_id, site_id: b.site_id, seq: b.seq, head_hash: opened.hash, last_time: b.timestamps.finished_at };
      return { state, lastMs: finishedMs, summary: summaryOf(state, b.timestamps.started_at, 1), learned: this.#rotations(b, []) };
    }

    const { state } = prior;
    if (b.site_id !== state.site_id) chainBroken(b, "site_mismatch", `site_id: appliance ${b.appliance_id} wrote for ${state.site_id} up to seq ${state.seq}, then ${b.site_id} at seq ${b.seq}`);
    const expected = state.seq + 1;
    if (b.seq < expected) chainBroken(b, "seq_duplicate", `seq: ${b.seq} of appliance ${b.appliance_id} again after seq ${state.seq}, expected ${expected}`);
    if (b.seq > expected) chainBroken(b, "seq_gap", `seq: jumps from ${state.seq} to ${b.seq} for appliance ${b.appliance_id}, expected ${expected}`);
    if (b.prev_hash !== state.head_hash) {
      chainBroken(b, "prev_hash_mismatch", `prev_hash: seq ${b.seq} of appliance ${b.appliance_id} links to ${b.prev_hash}, but seq ${state.seq} hashes to ${state.head_hash}`);
    }
    if (finishedMs < prior.lastMs - this.#toleranceMs) {
      chainBroken(b, "time_backwards", `timestamps.finished_at: ${b.timestamps.finished_at} at seq ${b.seq} is more than ${this.#toleranceMs} ms before ${state.last_time}, seen earlier in this chain`);
    }

    const later = finishedMs > prior.lastMs;
    const next = { ...state, seq: b.seq, head_hash: opened.hash, last_time: later ? b.timestamps.finished_at : state.last_time };
    const s = prior.summary;
    return {
      state: next,
      learned: this.#rotations(b, prior.learned),
      lastMs: later ? finishedMs : prior.lastMs,
      summary: { ...s, first_time: s.count === 0 ? b.timestamps.started_at : s.first_time, last_seq: b.seq, count: s.count + 1, last_time: next.last_time, head_hash: opened.hash },
    };
  }

  /** The state to persist for one appliance (a copy), or undefined if none of its lines was seen. */
  state(applianceId: string): ChainState | undefined {
    const h = this.#heads.get(applianceId);
    return h && { ...h.state };
  }

  /** States of every appliance seen (or resumed), ordered by appliance id. */
  states(): ChainState[] {
    return [...this.#heads.keys()].sort().map((id) => this.state(id)!);
  }

  /** What was verified per appliance (appliances only resumed, with no new line, are left out), by appliance id. */
  summaries(): ApplianceSummary[] {
    return [...this.#heads.values()]
      .filter((h) => h.summary.count > 0)
      .map((h) => ({ ...h.summary }))
      .sort((a, b) => (a.appliance_id < b.appliance_id ? -1 : a.appliance_id > b.appliance_id ? 1 : 0));
  }
}

function summaryOf(state: ChainState, firstTime: string, count: number): ApplianceSummary {
  return {
    appliance_id: state.appliance_id,
    site_id: state.site_id,
    first_seq: state.seq,
    last_seq: state.seq,
    count,
    first_time: firstTime,
    last_time: state.last_time,
    head_hash: state.head_hash,
  };
}

export type ChainReport =
  | { ok: true; bundles: number; appliances: ApplianceSummary[] }
  | { ok: false; bundles: number; failure: ChainFailure };

export interface VerifyChainOptions extends ChainVerifierOptions, VerifyLinesOptions {}

/**
 * Verifies every line (empty lines are skipped but counted) and stops at the first failure. `keys` maps each
 * appliance id to the key registered at enrollment.
 */
export async function verifyChain(lines: Iterable<string> | AsyncIterable<string>, keys: ApplianceKeys, opts: VerifyChainOptions = {}): Promise<ChainReport> {
  const verifier = new ChainVerifier(keys, opts);
  const { bundles, failure } = await verifier.verifyLines(lines, opts);
  return failure ? { ok: false, bundles, failure } : { ok: true, bundles, appliances: verifier.summaries() };
}
