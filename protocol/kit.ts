/**
 * The auditor kit: everything needed to verify a site's evidence offline, with nothing but the public keys in
 * the kit and this code (or the manual procedure in its README).
 *
 * Layout (docs/protocol.md "Auditor kit"):
 *   bundles.jsonl                                   one canonical bundle per line, by appliance then seq
 *   checkpoints/<appliance_id>/<size:12 digits>.note signed notes: appliance signature + relay cosignatures
 *   keys.json                                       appliance keys from enrollment and their recorded
 *                                                   rotations (from which seq each later key signs), relay
 *                                                   witness keys
 *   frontiers.json (optional)                       Merkle peaks before the first bundle of a partial range
 *   README.md                                       how to verify by hand
 *   manifest.json, manifest.sig (relay exports)     the relay's signed statement of the kit: site, range,
 *                                                   each appliance's first and last seq, every file's SHA-256
 *
 * What `verifyKit` proves, and how each kind of tampering shows up:
 * - a changed byte in a bundle: not canonical, schema, or signature failure at that line;
 * - a removed bundle: a seq gap, or (for the last one) a checkpoint that covers more bundles than the kit has;
 * - a duplicated or reordered bundle: seq duplicate / seq gap;
 * - a bundle replaced by a validly signed different one (a fork by the appliance key): the Merkle root no
 *   longer matches the relay-cosigned checkpoint;
 * - a changed or swapped checkpoint: signature failure, or a root that does not match the bundles.
 * Every appliance's last bundle must be covered by a checkpoint with at least one valid relay cosignature, so
 * a truncated tail is detected too.
 * A kit the relay exported also carries its signed manifest: then a cut head (the first bundles removed and
 * frontiers.json recomputed from them, which the chain alone cannot reveal), an edited README or an added file
 * fails too. A kit without one still verifies, and the report says it is unsigned (`manifest: null`).
 * All of this is against the keys the kit carries: a kit rebuilt whole under other keys verifies against those.
 * What ties a kit to the real relay is a key learnt elsewhere (the packet's witness line, the MSP): given
 * `trustedRelayKeyIds`, the kit must carry a manifest signed by one of them, and the manifest hashes every other
 * file (keys.json included), so nothing in the kit then rests on the kit's own word.
 */
import { z } from "zod";
import { type ApplianceKey, type ApplianceSummary, ChainVerifier, type EvidenceKeyEpoch, keyForSeq } from "./chain.ts";
import { applianceOrigin, openCheckpoint, parseNote, relayWitnessName, verifyCosignature } from "./checkpoint.ts";
import { keyId, verify, type Ed25519Impl, type Signer } from "./crypto.ts";
import { canonicalize } from "./canonical.ts";
import { fromHex, fromUtf8, toBase64, toHex, utf8 } from "./encoding.ts";
import { sha256Hex } from "./hash.ts";
import { IntegrityError, ValidationError, type IntegrityCode, type ValidationCode } from "./errors.ts";
import { idSchema, isoTimeSchema, keyIdSchema, publicKeyHexSchema, sha256HexSchema } from "./ids.ts";
import { type AccumulatorState, leafHash, MerkleAccumulator } from "./merkle.ts";
import { parseSchema } from "./schema.ts";
import type { KitFiles } from "./kit-files.ts";

export const KIT_BUNDLES = "bundles.jsonl";
export const KIT_KEYS = "keys.json";
export const KIT_FRONTIERS = "frontiers.json";
export const KIT_README = "README.md";
export const KIT_CHECKPOINTS_DIR = "checkpoints/";
export const KIT_MANIFEST = "manifest.json";
export const KIT_MANIFEST_SIG = "manifest.sig";
/** The kit's files outside checkpoints/ (what any other file is, see KitReport.extra_files). */
const KIT_LAYOUT_FILES: ReadonlySet<string> = new Set([KIT_BUNDLES, KIT_KEYS, KIT_FRONTIERS, KIT_README, KIT_MANIFEST, KIT_MANIFEST_SIG]);
const CHECKPOINT_PATH = /^checkpoints\/([a-z]+_[0-9a-z]{8,40})\/(\d{12})\.note$/;

export const kitKeysSchema = z.strictObject({
  schema: z.literal("osiris.kit-keys/v1"),
  appliances: z
    .array(
      z.strictObject({
        appliance_id: idSchema,
        site_id: idSchema,
        public_key: publicKeyHexSchema,
        key_id: keyIdSchema,
        enrolled_at: isoTimeSchema,
        /** Evidence key rotations the relay recorded, by ascending from_seq: each key signs from its from_seq on. */
        rotations: z.array(z.strictObject({ public_key: publicKeyHexSchema, key_id: keyIdSchema, from_seq: z.number().int().min(2), recorded_at: isoTimeSchema })).max(1000).optional(),
      }),
    )
    .max(10_000),
  relay: z.array(z.strictObject({ name: z.string().min(1).max(200), public_key: publicKeyHexSchema, key_id: keyIdSchema })).min(1).max(100),
});
export type KitKeys = z.output<typeof kitKeysSchema>;

export const kitFrontiersSchema = z.strictObject({
  schema: z.literal("osiris.kit-frontiers/v1"),
  appliances: z.array(z.strictObject({ appliance_id: idSchema, size: z.number().int().min(0), peaks: z.array(sha256HexSchema).max(64) })).max(10_000),
});

/** What the relay states about a kit it exported (manifest.json, canonical JSON; no time, so kits stay deterministic). */
export const kitManifestSchema = z.strictObject({
  schema: z.literal("osiris.kit-manifest/v1"),
  site_id: idSchema,
  /** The range asked for: evidence finished in [from, to). */
  from: isoTimeSchema,
  to: isoTimeSchema,
  /**
   * Each chain in the kit: its first and last seq and `head_hash`, the SHA-256 of its last line. They fix
   * bundles.jsonl: the verified chain links every line back from that head to `first_seq`, so the file is not
   * hashed again as a whole (a month of bundles is over 100 MB, and verification speed is a target).
   */
  appliances: z.array(z.strictObject({ appliance_id: idSchema, first_seq: z.number().int().min(1), last_seq: z.number().int().min(1), head_hash: sha256HexSchema })).max(10_000),
  /** Every other file of the kit (all but bundles.jsonl, manifest.json and manifest.sig) and its SHA-256 (hex). */
  files: z.record(z.string().min(1).max(300), sha256HexSchema),
});
export type KitManifest = z.infer<typeof kitManifestSchema>;

/** manifest.sig: a relay key's Ed25519 signature (context `kit_manifest`) over manifest.json's exact bytes. */
export const kitManifestSigSchema = z.strictObject({
  schema: z.literal("osiris.kit-manifest-sig/v1"),
  name: z.string().min(1).max(200),
  key_id: keyIdSchema,
  signature: z.string().regex(/^[0-9a-f]{128}$/, "128 lowercase hex digits"),
});

/** The relay key that signs a kit's manifest (relay/deps.ts RelayKey has this shape). */
export interface KitManifestKey {
  signer: Pick<Signer, "sign" | "publicKey">;
  keyId: string;
  name: string;
}

/** A verified manifest, as reported. */
export interface KitManifestReport {
  site_id: string;
  from: string;
  to: string;
  /** The relay key that signed it: compare it with the one the packet prints. */
  key_id: string;
  name: string;
}

/** One checkpoint as checked. */
export interface KitCheckpoint {
  appliance_id: string;
  size: number;
  root: string;
  /** Relay witnesses whose cosignature verified, with the time they cosigned (Unix seconds). */
  witnesses: { name: string; time: number }[];
}

export interface KitFailure {
  /** The file that failed and, for bundles.jsonl, the 1-based line. */
  file: string;
  line?: number;
  appliance_id?: string;
  seq?: number;
  code: ValidationCode | IntegrityCode;
  reason: string;
}

export type KitReport =
  | {
      ok: true;
      bundles: number;
      appliances: ApplianceSummary[];
      checkpoints: KitCheckpoint[];
      first_time: string | null;
      last_time: string | null;
      /**
       * Files that are not part of a kit's layout, so nothing about them was verified (README.md is part of
       * it, as instructions: it is not evidence either). Verifiers show them, so a file slipped into a kit is
       * never taken as covered by its "verified". Always empty for a kit with a manifest (it lists every file).
       */
      extra_files: string[];
      /** The relay's signed manifest, checked; null for a kit without one (its range and README are unconfirmed). */
      manifest: KitManifestReport | null;
    }
  | { ok: false; bundles: number; failure: KitFailure };

export interface VerifyKitOptions {
  onProgress?: (done: number, total: number) => void;
  impl?: Ed25519Impl;
  /**
   * Relay key ids (16 hex digits) the verifier trusts, learnt outside the kit. When non-empty, a kit whose
   * manifest is missing or signed by another key fails with `untrusted_key`.
   */
  trustedRelayKeyIds?: readonly string[];
}

function text(files: KitFiles, path: string, required: boolean): string | undefined {
  const bytes = files.get(path);
  if (!bytes) {
    if (required) throw new ValidationError("schema", `The kit has no ${path}`);
    return undefined;
  }
  try {
    return fromUtf8(bytes);
  } catch {
    throw new ValidationError("invalid_json", `${path} is not valid UTF-8`);
  }
}

function json(files: KitFiles, path: string, required: boolean): unknown {
  const t = text(files, path, required);
  if (t === undefined) return undefined;
  try {
    return JSON.parse(t);
  } catch (e) {
    throw new ValidationError("invalid_json", `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Thrown inside verification to name the file a failure belongs to. */
class KitProblem extends Error {
  constructor(readonly failure: KitFailure) {
    super(failure.reason);
  }
}

function problem(file: string, e: unknown, extra: Partial<KitFailure> = {}): KitProblem {
  if (e instanceof KitProblem) return e;
  if (e instanceof ValidationError || e instanceof IntegrityError) {
    const d = e.details ?? {};
    return new KitProblem({
      file,
      ...(typeof d["appliance_id"] === "string" ? { appliance_id: d["appliance_id"] } : {}),
      ...(typeof d["seq"] === "number" ? { seq: d["seq"] } : {}),
      ...extra,
      code: e.code,
      reason: e.message,
    });
  }
  throw e;
}

/** A kit's rotation records as epochs, refusing a key id that is not its key's or seqs out of order. */
function kitRotations(applianceId: string, rows: readonly { public_key: string; key_id: string; from_seq: number }[]): EvidenceKeyEpoch[] {
  let last = 1;
  return rows.map((r) => {
    const publicKey = fromHex(r.public_key);
    if (keyId(publicKey) !== r.key_id) throw new ValidationError("schema", `${KIT_KEYS}: appliance ${applianceId}: rotation key_id ${r.key_id} is not the id of its public key`);
    if (r.from_seq <= last) throw new ValidationError("schema", `${KIT_KEYS}: appliance ${applianceId}: rotations must be ordered by from_seq: ${r.from_seq} follows ${last}`);
    last = r.from_seq;
    return { publicKey, from_seq: r.from_seq };
  });
}

/** Runs `read` and reports what it throws against `file` (not the bundles a later step reads). */
function withFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw problem(file, e);
  }
}

/**
 * keys.json, checked: each appliance listed once, and every `key_id` the id of the key beside it (a kit whose
 * keys were swapped while their ids were kept must not pass as the relay's, whose ids the packet prints).
 */
function readKeys(files: KitFiles): { keys: KitKeys; applianceKeys: Map<string, ApplianceKey> } {
  const keys = parseSchema(kitKeysSchema, json(files, KIT_KEYS, true), KIT_KEYS);
  const applianceKeys = new Map<string, ApplianceKey>();
  for (const a of keys.appliances) {
    const publicKey = fromHex(a.public_key);
    if (applianceKeys.has(a.appliance_id)) throw new ValidationError("schema", `${KIT_KEYS}: appliance ${a.appliance_id} is listed twice`);
    if (keyId(publicKey) !== a.key_id) throw new ValidationError("schema", `${KIT_KEYS}: appliance ${a.appliance_id}: key_id ${a.key_id} is not the id of its public_key (${keyId(publicKey)})`);
    applianceKeys.set(a.appliance_id, { publicKey, siteId: a.site_id, ...(a.rotations ? { rotations: kitRotations(a.appliance_id, a.rotations) } : {}) });
  }
  for (const r of keys.relay) {
    const id = keyId(fromHex(r.public_key));
    if (r.key_id !== id || r.name !== relayWitnessName(id)) {
      throw new ValidationError("schema", `${KIT_KEYS}: relay key ${r.name}: its key_id and name must be those of its public_key (${relayWitnessName(id)})`);
    }
  }
  return { keys, applianceKeys };
}

/** Verifies a whole kit offline. Never throws for bad kit content: the report names the first failure. */
export async function verifyKit(files: KitFiles, opts: VerifyKitOptions = {}): Promise<KitReport> {
  let bundles = 0;
  try {
    const { keys, applianceKeys } = withFile(KIT_KEYS, () => readKeys(files));
    const manifest = await readManifest(files, keys);
    if (opts.trustedRelayKeyIds?.length) checkTrustedSigner(manifest?.report ?? null, opts.trustedRelayKeyIds);

    // Frontiers: where a partial range's Merkle tree starts.
    const accumulators = new Map<string, MerkleAccumulator>();
    const frontiers = withFile(KIT_FRONTIERS, () => json(files, KIT_FRONTIERS, false));
    if (frontiers !== undefined) {
      for (const f of withFile(KIT_FRONTIERS, () => parseSchema(kitFrontiersSchema, frontiers, KIT_FRONTIERS)).appliances) {
        const state: AccumulatorState = { size: f.size, peaks: f.peaks.map(fromHex) };
        try {
          accumulators.set(f.appliance_id, MerkleAccumulator.fromState(state));
        } catch (e) {
          throw new ValidationError("schema", `${KIT_FRONTIERS}: appliance ${f.appliance_id}: ${(e as Error).message}`);
        }
      }
    }

    // Checkpoints: verify signatures first, index them by appliance and size.
    const checkpoints = new Map<string, Map<number, KitCheckpoint & { rootBytes: Uint8Array; path: string }>>();
    for (const path of [...files.keys()].sort()) {
      if (!path.startsWith(KIT_CHECKPOINTS_DIR)) continue;
      const m = CHECKPOINT_PATH.exec(path);
      if (!m) throw new KitProblem({ file: path, code: "schema", reason: `${path} is not named checkpoints/<appliance_id>/<size, 12 digits>.note` });
      const applianceId = m[1]!, fileSize = Number(m[2]);
      try {
        const key = applianceKeys.get(applianceId);
        if (!key) throw new IntegrityError("unknown_key", `appliance ${applianceId} has no key in ${KIT_KEYS}`, { appliance_id: applianceId });
        const note = parseNote(text(files, path, true)!);
        // A checkpoint of size S is signed by the key in force after bundle S, i.e. the one for seq S + 1.
        const cp = await openCheckpoint(note, applianceOrigin(applianceId), keyForSeq(key, fileSize + 1));
        if (cp.size !== fileSize) throw new IntegrityError("checkpoint_mismatch", `the note is for tree size ${cp.size}, its file name says ${fileSize}`, { appliance_id: applianceId });
        const witnesses: KitCheckpoint["witnesses"] = [];
        for (const relay of keys.relay) {
          if (!note.signatures.some((s) => s.name === relay.name)) continue;
          witnesses.push({ name: relay.name, time: await verifyCosignature(note, relay.name, fromHex(relay.public_key)) });
        }
        if (witnesses.length === 0) throw new IntegrityError("unknown_key", `checkpoint of size ${cp.size} has no cosignature from a relay key in ${KIT_KEYS}`, { appliance_id: applianceId });
        let bySize = checkpoints.get(applianceId);
        if (!bySize) checkpoints.set(applianceId, (bySize = new Map()));
        bySize.set(cp.size, { appliance_id: applianceId, size: cp.size, root: toBase64(cp.root), rootBytes: cp.root, witnesses, path });
      } catch (e) {
        throw problem(path, e, { appliance_id: applianceId });
      }
    }

    // Bundles: chain verification, feeding each appliance's Merkle tree and comparing at checkpoint sizes.
    const raw = text(files, KIT_BUNDLES, true)!;
    if (raw !== "" && !raw.endsWith("\n")) throw new KitProblem({ file: KIT_BUNDLES, code: "schema", reason: `${KIT_BUNDLES} must end with a newline` });
    const lines = raw === "" ? [] : raw.slice(0, -1).split("\n");
    const empty = lines.indexOf("");
    if (empty >= 0) throw new KitProblem({ file: KIT_BUNDLES, line: empty + 1, code: "schema", reason: `line ${empty + 1} is empty` });
    const chain = new ChainVerifier(applianceKeys, { ...(opts.impl ? { impl: opts.impl } : {}) });
    // verifyLines checks signatures in parallel but calls onBundle in line order, after each line verified.
    const result = await chain.verifyLines(lines, {
      onProgress: (n) => opts.onProgress?.(n, lines.length),
      onBundle: ({ bundle, line }, lineNumber) => {
        try {
          let acc = accumulators.get(bundle.appliance_id);
          if (!acc) accumulators.set(bundle.appliance_id, (acc = new MerkleAccumulator()));
          if (acc.size !== bundle.seq - 1) {
            throw new IntegrityError(
              frontiers === undefined ? "seq_gap" : "checkpoint_mismatch",
              `appliance ${bundle.appliance_id} starts at seq ${bundle.seq}, but the Merkle frontier covers ${acc.size} bundles (expected ${bundle.seq - 1}; see ${KIT_FRONTIERS})`,
              { appliance_id: bundle.appliance_id, seq: bundle.seq },
            );
          }
          acc.append(leafHash(line));
          const cp = checkpoints.get(bundle.appliance_id)?.get(bundle.seq);
          if (cp && toHex(acc.root()) !== toHex(cp.rootBytes)) {
            throw new IntegrityError("checkpoint_mismatch", `the Merkle root of seq 1..${bundle.seq} does not match the signed checkpoint ${cp.path}`, {
              appliance_id: bundle.appliance_id,
              seq: bundle.seq,
            });
          }
          bundles++;
        } catch (e) {
          throw problem(KIT_BUNDLES, e, { line: lineNumber });
        }
      },
    });
    if (result.failure) {
      const f = result.failure;
      throw new KitProblem({ file: KIT_BUNDLES, line: f.line, ...(f.appliance_id ? { appliance_id: f.appliance_id } : {}), ...(f.seq !== undefined ? { seq: f.seq } : {}), code: f.code, reason: f.reason });
    }

    // Coverage: every checkpoint matched a bundle, and every chain's tail is covered by one.
    const summaries = chain.summaries();
    for (const [applianceId, bySize] of checkpoints) {
      const s = summaries.find((x) => x.appliance_id === applianceId);
      const base = frontierOf(frontiers, applianceId); // the tree just before the kit's first bundle
      for (const cp of bySize.values()) {
        const fail = (reason: string) => new KitProblem({ file: cp.path, appliance_id: applianceId, code: "checkpoint_mismatch", reason });
        const lastSeq = s?.last_seq ?? base.size;
        if (cp.size > lastSeq) throw fail(`the checkpoint covers ${cp.size} bundles of appliance ${applianceId}, but the kit's bundles end at seq ${lastSeq}: bundles are missing`);
        if (cp.size < base.size) throw fail(`the checkpoint at size ${cp.size} lies before the kit's range (which starts after seq ${base.size}) and cannot be checked`);
        if (cp.size === base.size && toHex(MerkleAccumulator.fromState(base).root()) !== toHex(cp.rootBytes)) {
          throw fail(`the checkpoint at size ${cp.size} does not match the Merkle frontier in ${KIT_FRONTIERS}`);
        }
      }
    }
    for (const s of summaries) {
      if (!checkpoints.get(s.appliance_id)?.has(s.last_seq)) {
        throw new KitProblem({
          file: KIT_BUNDLES,
          appliance_id: s.appliance_id,
          seq: s.last_seq,
          code: "checkpoint_mismatch",
          reason: `the last bundle of appliance ${s.appliance_id} (seq ${s.last_seq}) is not covered by a cosigned checkpoint of that size, so a truncated tail could not be detected`,
        });
      }
    }

    const all = [...checkpoints.values()].flatMap((m) => [...m.values()]).map(({ rootBytes: _r, path: _p, ...cp }) => cp);
    all.sort((a, b) => (a.appliance_id === b.appliance_id ? a.size - b.size : a.appliance_id < b.appliance_id ? -1 : 1));
    const times = summaries.flatMap((s) => [s.first_time, s.last_time]).sort();
    // Last, so a changed bundle is still named by its line and reason rather than as a changed file.
    if (manifest) checkManifest(files, manifest.doc, summaries);
    const extra = [...files.keys()].filter((p) => !KIT_LAYOUT_FILES.has(p) && !p.startsWith(KIT_CHECKPOINTS_DIR)).sort();
    return {
      ok: true,
      bundles,
      appliances: summaries,
      checkpoints: all,
      first_time: times[0] ?? null,
      last_time: times[times.length - 1] ?? null,
      extra_files: extra,
      manifest: manifest?.report ?? null,
    };
  } catch (e) {
    return { ok: false, bundles, failure: problem(KIT_BUNDLES, e).failure };
  }
}

/**
 * manifest.json and manifest.sig, checked against the relay keys in keys.json (null when the kit has neither).
 * Only the signature is checked here; what the manifest says is compared with the kit by checkManifest.
 */
async function readManifest(files: KitFiles, keys: KitKeys): Promise<{ doc: KitManifest; report: KitManifestReport } | null> {
  const bytes = files.get(KIT_MANIFEST);
  const sigFile = files.get(KIT_MANIFEST_SIG);
  if (!bytes && !sigFile) return null;
  if (!bytes || !sigFile) throw new KitProblem({ file: bytes ? KIT_MANIFEST_SIG : KIT_MANIFEST, code: "schema", reason: `The kit has ${bytes ? KIT_MANIFEST : KIT_MANIFEST_SIG} without ${bytes ? KIT_MANIFEST_SIG : KIT_MANIFEST}` });
  const sig = withFile(KIT_MANIFEST_SIG, () => parseSchema(kitManifestSigSchema, json(files, KIT_MANIFEST_SIG, true), KIT_MANIFEST_SIG));
  const relay = keys.relay.find((k) => k.key_id === sig.key_id && k.name === sig.name);
  if (!relay) throw new KitProblem({ file: KIT_MANIFEST_SIG, code: "unknown_key", reason: `the manifest is signed by ${sig.name}, which is not a relay key in ${KIT_KEYS}` });
  if (!(await verify("kit_manifest", bytes, fromHex(sig.signature), fromHex(relay.public_key)))) {
    throw new KitProblem({ file: KIT_MANIFEST_SIG, code: "bad_signature", reason: `the relay signature does not match ${KIT_MANIFEST}: the manifest was changed` });
  }
  const doc = withFile(KIT_MANIFEST, () => parseSchema(kitManifestSchema, json(files, KIT_MANIFEST, true), KIT_MANIFEST));
  return { doc, report: { site_id: doc.site_id, from: doc.from, to: doc.to, key_id: sig.key_id, name: sig.name } };
}

/** The manifest is signed by a relay key the verifier trusts (checked before any bundle: nothing else counts without it). */
function checkTrustedSigner(manifest: KitManifestReport | null, trusted: readonly string[]): void {
  const named = trusted.length === 1 ? `relay key ${trusted[0]}` : `any of the relay keys ${trusted.join(", ")}`;
  if (!manifest) {
    throw new KitProblem({ file: KIT_MANIFEST_SIG, code: "untrusted_key", reason: `the kit has no relay-signed manifest, so it cannot be tied to ${named}` });
  }
  if (!trusted.includes(manifest.key_id)) {
    throw new KitProblem({
      file: KIT_MANIFEST_SIG,
      code: "untrusted_key",
      reason: `the manifest is signed by relay key ${manifest.key_id}, not by ${named}: this kit was not exported by the relay you trust, or was rebuilt under another key`,
    });
  }
}

/**
 * The kit is exactly what the manifest lists: the same appliances and seq ranges (checked first: a cut-off start
 * is named as such), then the same files with the same bytes.
 */
function checkManifest(files: KitFiles, manifest: KitManifest, summaries: readonly ApplianceSummary[]): void {
  const fail = (file: string, reason: string, extra: Partial<KitFailure> = {}) => new KitProblem({ file, code: "manifest_mismatch", reason, ...extra });
  for (const a of manifest.appliances) {
    const s = summaries.find((x) => x.appliance_id === a.appliance_id);
    if (!s) throw fail(KIT_BUNDLES, `appliance ${a.appliance_id} has no bundles in the kit, but the relay exported seq ${a.first_seq}-${a.last_seq}`, { appliance_id: a.appliance_id });
    if (s.first_seq !== a.first_seq || s.last_seq !== a.last_seq) {
      throw fail(KIT_BUNDLES, `appliance ${a.appliance_id}: the kit holds seq ${s.first_seq}-${s.last_seq}, the relay exported seq ${a.first_seq}-${a.last_seq}`, { appliance_id: a.appliance_id });
    }
    if (s.head_hash !== a.head_hash) {
      throw fail(KIT_BUNDLES, `appliance ${a.appliance_id}: its chain ends at a bundle (seq ${s.last_seq}) other than the one the relay exported`, { appliance_id: a.appliance_id, seq: s.last_seq });
    }
  }
  for (const s of summaries) {
    if (!manifest.appliances.some((a) => a.appliance_id === s.appliance_id)) throw fail(KIT_BUNDLES, `appliance ${s.appliance_id} is not in the relay's signed ${KIT_MANIFEST}`, { appliance_id: s.appliance_id });
    if (s.site_id !== manifest.site_id) throw fail(KIT_BUNDLES, `appliance ${s.appliance_id} belongs to site ${s.site_id}, the manifest is for site ${manifest.site_id}`, { appliance_id: s.appliance_id });
  }
  for (const [path, bytes] of files) {
    if (path === KIT_MANIFEST || path === KIT_MANIFEST_SIG || path === KIT_BUNDLES) continue; // bundles: by head_hash above
    const listed = manifest.files[path];
    if (listed === undefined) throw fail(path, `${path} is not in the relay's signed ${KIT_MANIFEST}: it was added to the kit`);
    if (listed !== sha256Hex(bytes)) throw fail(path, `${path} differs from the file the relay exported (its SHA-256 is not the one in ${KIT_MANIFEST})`);
  }
  for (const path of Object.keys(manifest.files)) if (!files.has(path)) throw fail(path, `${path} is listed in the relay's signed ${KIT_MANIFEST} but missing from the kit`);
}

/**
 * Adds the relay's signed manifest to a laid-out kit (relay exports): every file's SHA-256, the site, the range
 * and each appliance's seq range. Deterministic (Ed25519 signatures are), so the ZIP stays byte-identical.
 */
export async function addKitManifest(files: KitFiles, scope: Omit<KitManifest, "schema" | "files">, key: KitManifestKey): Promise<void> {
  const listed: Record<string, string> = {};
  for (const path of [...files.keys()].sort()) {
    if (path === KIT_MANIFEST || path === KIT_MANIFEST_SIG) throw new TypeError(`Cannot add a manifest: the kit already has ${path}`);
    if (path !== KIT_BUNDLES) listed[path] = sha256Hex(files.get(path)!);
  }
  const doc: KitManifest = { schema: "osiris.kit-manifest/v1", site_id: scope.site_id, from: scope.from, to: scope.to, appliances: scope.appliances, files: listed };
  const bytes = utf8(canonicalize(parseSchema(kitManifestSchema, doc, "kit manifest")) + "\n");
  const signature = await key.signer.sign("kit_manifest", bytes);
  files.set(KIT_MANIFEST, bytes);
  files.set(KIT_MANIFEST_SIG, utf8(JSON.stringify({ schema: "osiris.kit-manifest-sig/v1", name: key.name, key_id: key.keyId, signature: toHex(signature) }, null, 2) + "\n"));
}

function frontierOf(frontiers: unknown, applianceId: string): AccumulatorState {
  if (frontiers === undefined) return { size: 0, peaks: [] };
  const f = parseSchema(kitFrontiersSchema, frontiers, KIT_FRONTIERS).appliances.find((x) => x.appliance_id === applianceId);
  return f ? { size: f.size, peaks: f.peaks.map(fromHex) } : { size: 0, peaks: [] };
}

/** What goes into a kit; `buildKitFiles` lays it out. */
export interface KitContents {
  /** Canonical bundle lines, in any order: they are sorted by appliance id and seq. */
  lines?: string[];
  /**
   * Or `bundles.jsonl` already encoded: each line then "\n", ordered by appliance id (as JavaScript compares
   * strings), then seq, which the caller guarantees, so the bytes are those `lines` would give. A month of
   * bundles is then held once, as bytes, instead of as strings and bytes (relay/export/kit-export.ts).
   */
  bundles?: Uint8Array;
  keys: KitKeys;
  /** Signed checkpoint notes with their appliance. */
  checkpoints: { appliance_id: string; size: number; note: string }[];
  /** Peaks of each appliance's tree just before its first line, when the range does not start at seq 1. */
  frontiers?: { appliance_id: string; state: AccumulatorState }[];
  readme: string;
}

/**
 * The lines, each followed by "\n", as UTF-8, encoded straight into one buffer: a month of bundles is about
 * 100 MB, and joining it into one string first would hold it three times (report packets, issue 7).
 */
function lineBytes(lines: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  let out = new Uint8Array(lines.reduce((n, l) => n + l.length + 1, 0)); // exact when the lines are ASCII
  let at = 0;
  for (const line of lines) {
    for (;;) {
      const r = encoder.encodeInto(line, out.subarray(at));
      if (r.read === line.length && at + r.written < out.length) {
        at += r.written;
        out[at++] = 0x0a;
        break;
      }
      const bigger = new Uint8Array(Math.max(out.length * 2, at + line.length * 3 + 1));
      bigger.set(out.subarray(0, at));
      out = bigger;
    }
  }
  return at === out.length ? out : out.slice(0, at);
}

/** Lays out a kit's files deterministically (same contents → same bytes). */
export function buildKitFiles(contents: KitContents): KitFiles {
  if ((contents.lines === undefined) === (contents.bundles === undefined)) throw new TypeError("Cannot build kit: give either the bundle lines or the encoded bundles file");
  const { bundles } = contents;
  if (bundles && bundles.length > 0 && bundles[bundles.length - 1] !== 0x0a) throw new TypeError("Cannot build kit: the encoded bundles file does not end with a newline");
  const files: KitFiles = new Map();
  files.set(KIT_BUNDLES, bundles ?? sortedLineBytes(contents.lines!));
  const keys = { ...contents.keys, appliances: [...contents.keys.appliances].sort((a, b) => (a.appliance_id < b.appliance_id ? -1 : 1)) };
  files.set(KIT_KEYS, utf8(JSON.stringify(keys, null, 2) + "\n"));
  for (const cp of contents.checkpoints) files.set(`${KIT_CHECKPOINTS_DIR}${cp.appliance_id}/${String(cp.size).padStart(12, "0")}.note`, utf8(cp.note));
  const frontiers = (contents.frontiers ?? []).filter((f) => f.state.size > 0);
  if (frontiers.length) {
    const doc = {
      schema: "osiris.kit-frontiers/v1",
      appliances: frontiers.sort((a, b) => (a.appliance_id < b.appliance_id ? -1 : 1)).map((f) => ({ appliance_id: f.appliance_id, size: f.state.size, peaks: f.state.peaks.map(toHex) })),
    };
    files.set(KIT_FRONTIERS, utf8(JSON.stringify(doc, null, 2) + "\n"));
  }
  files.set(KIT_README, utf8(contents.readme));
  return files;
}

/** The lines sorted by appliance id, then seq, encoded as `bundles.jsonl`. */
function sortedLineBytes(lines: readonly string[]): Uint8Array {
  const keyed = lines.map((line) => {
    const m = /"appliance_id":"([^"]+)"/.exec(line), s = /"seq":(\d+)/.exec(line);
    if (!m || !s) throw new ValidationError("schema", "Cannot build kit: a line has no appliance_id or seq");
    return { id: m[1]!, seq: Number(s[1]), line };
  });
  keyed.sort((a, b) => (a.id === b.id ? a.seq - b.seq : a.id < b.id ? -1 : 1));
  return lineBytes(keyed.map((k) => k.line));
}
