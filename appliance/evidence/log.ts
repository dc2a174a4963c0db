/**
 * The appliance's evidence log: signed, hash-chained bundles in the `evidence` table, each with its outbox row
 * for the relay, plus the Merkle log's checkpoints.
 *
 * One append is one store transaction: the bundles, one `evidence` outbox row per bundle (body = the line),
 * the caller's extra outbox rows and the new chain head (seq, hash, Merkle peaks; see state.ts) commit
 * together or not at all. A crash at any point leaves the log exactly as it was before or after the append.
 *
 * Signing before the transaction, safely. Building and signing a batch takes far longer than writing it, so
 * `append` signs first and then holds the write lock only to insert. That needs the chain head it signed
 * against to still be the head when it writes. Within the process this is guaranteed by construction: every
 * operation that moves the head (append, `transaction`) runs inside this log's exclusive section, one at a
 * time, and there is one EvidenceLog per database (one Store per file per process, store/README.md), so the
 * cached head cannot go stale between signing and writing. Another process writing the same chain would be a
 * deployment bug; it is still caught, because the transaction re-reads the persisted head before inserting
 * and, if it moved, discards the signed batch and signs again against the new head (MAX_HEAD_RETRIES times).
 *
 * `transaction(fn)` is for writers that must decide inside the transaction what to append (the order
 * processor: nonce check and evidence in one commit); it signs inside the transaction, which is fine for
 * the occasional order.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { InStatement } from "@libsql/client";
import { canonicalize } from "../../protocol/canonical.ts";
import { applianceOrigin, formatCheckpointBody, parseNote, relayWitnessName, signNote, verifyCosignature, verifyNoteSignature } from "../../protocol/checkpoint.ts";
import { toHex, utf8 } from "../../protocol/encoding.ts";
import { IntegrityError, ValidationError } from "../../protocol/errors.ts";
import { buildBundle, signBundle, type BundleKind, type DeploymentMode } from "../../protocol/evidence.ts";
import { isoTime } from "../../protocol/ids.ts";
import { leafHash, MerkleAccumulator } from "../../protocol/merkle.ts";
import { parseSchema } from "../../protocol/schema.ts";
import { outboxEntrySchema } from "../../protocol/sync.ts";
import { CATALOGUE_VERSION } from "../../protocol/catalogue/mod.ts";
import type { Clock, EvidenceDraft, EvidenceSink, Log, OutboxDraft } from "../engine/types.ts";
import type { EnrolledIdentity } from "../identity/index.ts";
import type { Store, Tx } from "../store/index.ts";
import { EvidenceError, storeFailure } from "./errors.ts";
import { laterTime, readHead, samePoint, writeHead, type ChainPoint, type Executor } from "./state.ts";
import { verifyStored, type LocalVerification } from "./verify.ts";

/** Most bundles in one append: a 50-host cycle is ~50; this bounds how long one append holds the write lock. */
export const MAX_APPEND_DRAFTS = 5_000;
/** Most extra outbox rows in one append. */
export const MAX_APPEND_OUTBOX = 5_000;
/** Most bytes of bundle lines in one append: bounds memory while a batch is signed. */
export const MAX_APPEND_BYTES = 32 * 1024 * 1024;
/** Rows per multi-row INSERT: 200 rows × 5 values stays far below SQLite's 32,766 bound variables. */
export const INSERT_CHUNK_ROWS = 200;
/** How often an append re-signs after another writer moved the head before giving up with `head_moved`. */
export const MAX_HEAD_RETRIES = 3;
/** Rows read per query when streaming lines (export, verification): bounds memory per page. */
export const READ_PAGE_ROWS = 1_000;

/** Bundle fields taken from the appliance's system and site rather than from each draft. */
export interface SystemContext {
  /** Catalogue version in force (default: CATALOGUE_VERSION). */
  policy_version?: string;
  nixos_revision?: string | null;
  derivation_digest?: string | null;
  deployment_mode?: DeploymentMode;
  reseller_id?: string | null;
}

/** The system fields that follow the site's configuration while the daemon runs. */
export type SiteFields = Required<Pick<SystemContext, "deployment_mode" | "reseller_id">>;

export interface EvidenceLogOptions {
  store: Store;
  identity: EnrolledIdentity;
  clock: Clock;
  system?: SystemContext;
  /**
   * The site's deployment mode and reseller as they are now (the relay's site configuration can change them
   * while the daemon runs); when given, read for every batch and preferred to `system`'s.
   */
  site?: () => SiteFields;
  /**
   * The clock offset measured lately (ms, local minus reference), or null when none is fresh: stamped as
   * `ntp_offset_ms` on every bundle whose draft does not carry its own.
   */
  clockOffsetMs?: () => number | null;
  log?: Pick<Log, "warn">;
}

/** Where the chain stands. `size` is the Merkle tree size (= seq). */
export interface HeadInfo {
  seq: number;
  hash: string;
  last_time: string | null;
  size: number;
  /** RFC 6962 root of the whole log, lower-case hex. */
  root_hash: string;
}

export interface CheckpointRecord {
  size: number;
  note: string;
  countersigned_note: string | null;
}

/** Appends inside a caller's transaction (see `EvidenceLog.transaction`). */
export interface EvidenceWriter {
  readonly tx: Tx;
  append(drafts: EvidenceDraft[], outbox?: OutboxDraft[]): Promise<{ seqs: number[] }>;
}

interface SignedRow {
  seq: number;
  line: string;
  hash: string;
  kind: BundleKind;
}

interface Prepared {
  rows: SignedRow[];
  head: ChainPoint;
}

/** The evidence log of one enrolled appliance. One instance per database; see the module comment. */
export class EvidenceLog implements EvidenceSink {
  readonly #store: Store;
  readonly #identity: EnrolledIdentity;
  readonly #clock: Clock;
  readonly #log: Pick<Log, "warn"> | undefined;
  readonly #system: Required<SystemContext>;
  readonly #clockOffsetMs: () => number | null;
  readonly #site: (() => SiteFields) | undefined;
  readonly #origin: string;
  /** The persisted head as of our last commit; undefined after a failure (then re-read). */
  #head: ChainPoint | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #inside = new AsyncLocalStorage<true>();

  constructor(options: EvidenceLogOptions) {
    this.#store = options.store;
    this.#identity = options.identity;
    this.#clock = options.clock;
    this.#log = options.log;
    const s = options.system ?? {};
    this.#system = {
      policy_version: s.policy_version ?? CATALOGUE_VERSION,
      nixos_revision: s.nixos_revision ?? null,
      derivation_digest: s.derivation_digest ?? null,
      deployment_mode: s.deployment_mode ?? "direct",
      reseller_id: s.reseller_id ?? null,
    };
    this.#clockOffsetMs = options.clockOffsetMs ?? (() => null);
    this.#site = options.site;
    this.#origin = applianceOrigin(options.identity.appliance_id);
  }

  /** Checkpoint origin and note key name: `osiriscare.appliance/<appliance_id>`. */
  get origin(): string {
    return this.#origin;
  }

  /**
   * Appends bundles built from `drafts` (seq, prev_hash and the system fields are filled in here) and, in the
   * same transaction, one `evidence` outbox row per bundle followed by `outbox`. Resolves with the new seqs.
   * Throws EvidenceError `invalid_draft`, `batch_too_large`, `disk_full`, `store_failed`, `head_moved`.
   */
  append(drafts: EvidenceDraft[], outbox: OutboxDraft[] = []): Promise<{ seqs: number[] }> {
    let outboxRows: string[];
    try {
      outboxRows = this.#checkBatch(drafts, outbox);
    } catch (e) {
      return Promise.reject(e);
    }
    if (drafts.length === 0 && outbox.length === 0) return Promise.resolve({ seqs: [] });
    return this.#exclusive("append", async () => {
      for (let attempt = 1; ; attempt++) {
        const head = this.#head ?? (await this.#run("read the chain head", readHead));
        const rulesetHash = await this.#run("read the rule set hash", rulesetHashOf);
        const prepared = await this.#prepare(head, drafts, rulesetHash);
        try {
          await this.#store.transaction(async (tx) => {
            const current = await readHead(tx);
            if (!samePoint(current, head)) {
              throw new EvidenceError("head_moved", `the chain head moved from seq ${head.seq} to ${current.seq} while a batch was signed (another writer on ${this.#store.path}?)`);
            }
            await this.#write(tx, prepared, outbox, outboxRows);
          });
        } catch (e) {
          this.#head = undefined;
          if (e instanceof EvidenceError && e.code === "head_moved" && attempt < MAX_HEAD_RETRIES) continue;
          throw this.#failure(e, "append evidence");
        }
        this.#head = prepared.head;
        return { seqs: prepared.rows.map((r) => r.seq) };
      }
    });
  }

  /**
   * Runs `fn` in one store transaction with a writer that appends bundles inside it; everything `fn` does
   * through `w.tx` and `w.append` commits together. Do not call other EvidenceLog methods from `fn` (they
   * wait for this one: refused with a TypeError).
   */
  transaction<T>(fn: (w: EvidenceWriter) => Promise<T>): Promise<T> {
    return this.#exclusive("transaction", async () => {
      let head: ChainPoint | undefined;
      try {
        const result = await this.#store.transaction(async (tx) => {
          let current = await readHead(tx);
          const writer: EvidenceWriter = {
            tx,
            append: async (drafts, outbox = []) => {
              const outboxRows = this.#checkBatch(drafts, outbox);
              if (drafts.length === 0 && outbox.length === 0) return { seqs: [] };
              const prepared = await this.#prepare(current, drafts, await rulesetHashOf(tx));
              await this.#write(tx, prepared, outbox, outboxRows);
              current = prepared.head;
              return { seqs: prepared.rows.map((r) => r.seq) };
            },
          };
          const value = await fn(writer);
          head = current;
          return value;
        });
        this.#head = head;
        return result;
      } catch (e) {
        this.#head = undefined;
        throw this.#failure(e, "write evidence");
      }
    });
  }

  /** Where the chain stands now. */
  head(): Promise<HeadInfo> {
    return this.#exclusive("head", async () => {
      const h = this.#head ?? (await this.#run("read the chain head", readHead));
      return { seq: h.seq, hash: h.hash, last_time: h.last_time, size: h.seq, root_hash: toHex(MerkleAccumulator.fromState(h.merkle).root()) };
    });
  }

  /**
   * Signs a C2SP checkpoint of the whole log (origin and key name `osiriscare.appliance/<appliance_id>`) and
   * stores it; returns the stored one if that size was already checkpointed. Null while the log is empty.
   */
  checkpoint(): Promise<CheckpointRecord | null> {
    return this.#exclusive("checkpoint", async () => {
      const h = await this.#run("read the chain head", readHead);
      if (h.seq === 0) return null;
      const existing = await this.#checkpointRow(h.seq);
      if (existing) return existing;
      const body = formatCheckpointBody({ origin: this.#origin, size: h.seq, root: MerkleAccumulator.fromState(h.merkle).root() });
      const note = await signNote(body, this.#origin, this.#identity.evidenceSigner);
      await this.#run("store a checkpoint", (db) =>
        db.execute({ sql: "INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING", args: [h.seq, note, this.#now()] }),
      );
      return (await this.#checkpointRow(h.seq)) ?? { size: h.seq, note, countersigned_note: null };
    });
  }

  /** The checkpoint of the largest size signed so far, or null. */
  async latestCheckpoint(): Promise<CheckpointRecord | null> {
    const rs = await this.#run("read checkpoints", (db) => db.execute("SELECT size, note, countersigned_note FROM checkpoints ORDER BY size DESC LIMIT 1"));
    return rs.rows[0] ? checkpointOf(rs.rows[0]) : null;
  }

  /**
   * Stores the relay's countersigned version of our checkpoint of `size`, after checking that its body is
   * ours, that it still carries our signature, and that a pinned relay key's witness cosignature verifies.
   * Throws EvidenceError `unknown_checkpoint`, `checkpoint_mismatch`, `bad_cosignature`.
   */
  async recordCountersigned(size: number, note: string): Promise<void> {
    const ours = await this.#checkpointRow(size);
    if (!ours) throw new EvidenceError("unknown_checkpoint", `no checkpoint of size ${size} was signed by this appliance`);
    let text: string;
    try {
      const theirs = parseNote(note), mine = parseNote(ours.note);
      text = theirs.text;
      if (text !== mine.text) throw new EvidenceError("checkpoint_mismatch", `the countersigned checkpoint of size ${size} has a different body from the one this appliance signed`);
      // Our signature as we wrote it, byte for byte: the evidence key that signed it may have been rotated since.
      const kept = mine.signatures.every((m) => theirs.signatures.some((t) => t.name === m.name && t.base64 === m.base64));
      if (!kept) await verifyNoteSignature(note, this.#origin, this.#identity.evidenceSigner.publicKey);
    } catch (e) {
      if (e instanceof EvidenceError) throw e;
      if (e instanceof ValidationError || e instanceof IntegrityError) {
        throw new EvidenceError("checkpoint_mismatch", `the countersigned checkpoint of size ${size} is not this appliance's signed checkpoint: ${e.message}`, { cause: e });
      }
      throw e;
    }
    const keys = this.#identity.relayKeys;
    let verified = false;
    for (const k of keys) {
      try {
        await verifyCosignature(note, relayWitnessName(k.key_id), k.publicKey);
        verified = true;
        break;
      } catch (e) {
        if (!(e instanceof IntegrityError || e instanceof ValidationError)) throw e;
      }
    }
    if (!verified) {
      const pinned = keys.map((k) => k.key_id).join(", ") || "none";
      throw new EvidenceError("bad_cosignature", `no pinned relay key's cosignature verifies on the checkpoint of size ${size} (pinned: ${pinned})`);
    }
    await this.#run("store a countersigned checkpoint", (db) => db.execute({ sql: "UPDATE checkpoints SET countersigned_note = ? WHERE size = ?", args: [note, size] }));
  }

  /**
   * Marks outbox rows up to `outboxSeq` and bundles up to `evidenceSeq` as stored by the relay (what a push
   * acknowledgement says: `acked_outbox_seq`, `evidence.verified_seq`). Only acknowledged rows are ever pruned.
   * EvidenceError `ack_beyond_head` when the relay claims more than was written.
   */
  acknowledge(ack: { outboxSeq: number; evidenceSeq: number }): Promise<{ outbox: number; evidence: number }> {
    for (const [name, v] of Object.entries(ack)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`Cannot acknowledge: ${name} must be a non-negative integer, current value is ${v}`);
    }
    return this.#exclusive("acknowledge", async () => {
      try {
        return await this.#store.transaction(async (tx) => {
          const h = await readHead(tx);
          const maxOutbox = Number((await tx.execute("SELECT COALESCE(MAX(outbox_seq), 0) AS m FROM outbox")).rows[0]?.m ?? 0);
          if (ack.evidenceSeq > h.seq) throw new EvidenceError("ack_beyond_head", `the relay acknowledged evidence seq ${ack.evidenceSeq}, but this appliance has written only up to ${h.seq}`);
          if (ack.outboxSeq > maxOutbox) throw new EvidenceError("ack_beyond_head", `the relay acknowledged outbox seq ${ack.outboxSeq}, but the outbox holds only up to ${maxOutbox}`);
          const o = await tx.execute({ sql: "UPDATE outbox SET acked = 1 WHERE acked = 0 AND outbox_seq <= ?", args: [ack.outboxSeq] });
          const e = await tx.execute({ sql: "UPDATE evidence SET acked = 1 WHERE acked = 0 AND seq <= ?", args: [ack.evidenceSeq] });
          return { outbox: o.rowsAffected, evidence: e.rowsAffected };
        });
      } catch (e) {
        throw this.#failure(e, "record an acknowledgement");
      }
    });
  }

  /** The stored lines with seq in [fromSeq, toSeq], in order, read a page at a time (pruned ones are absent). */
  async *lines(fromSeq: number, toSeq: number): AsyncGenerator<string> {
    if (!Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(toSeq) || fromSeq < 1 || toSeq < fromSeq) {
      throw new RangeError(`Cannot read lines: expected integers 1 <= fromSeq <= toSeq, current values are ${fromSeq} and ${toSeq}`);
    }
    let next = fromSeq;
    while (next <= toSeq) {
      const from = next;
      const rs = await this.#run("read evidence", (db) => db.execute({ sql: "SELECT seq, line FROM evidence WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?", args: [from, toSeq, READ_PAGE_ROWS] }));
      for (const row of rs.rows) yield String(row.line);
      if (rs.rows.length < READ_PAGE_ROWS) return;
      next = Number(rs.rows.at(-1)!.seq) + 1;
    }
  }

  /**
   * Verifies the stored log (verify.ts): signatures, seqs from the pruning anchor, prev_hash links, row hashes,
   * head and Merkle root; clock regressions beyond the protocol tolerance are listed, not failed. Used at
   * startup after a crash and by tests. Runs in one transaction, so it sees one consistent snapshot.
   */
  verifyLocal(): Promise<LocalVerification> {
    return this.#exclusive("verifyLocal", async () => {
      try {
        return await this.#store.transaction((tx) => verifyStored(tx, this.#identity));
      } catch (e) {
        throw this.#failure(e, "verify the evidence log");
      }
    });
  }

  // ---- internals --------------------------------------------------------------------------------------

  /** Validates counts and outbox bodies up front (nothing is signed for a batch that cannot be written). */
  #checkBatch(drafts: EvidenceDraft[], outbox: OutboxDraft[]): string[] {
    if (!Array.isArray(drafts) || !Array.isArray(outbox)) throw new TypeError("Cannot append: drafts and outbox must be arrays");
    if (drafts.length > MAX_APPEND_DRAFTS) throw new EvidenceError("batch_too_large", `cannot append ${drafts.length} bundles at once: the limit is ${MAX_APPEND_DRAFTS}`);
    if (outbox.length > MAX_APPEND_OUTBOX) throw new EvidenceError("batch_too_large", `cannot append ${outbox.length} outbox entries at once: the limit is ${MAX_APPEND_OUTBOX}`);
    return outbox.map((d, i) => {
      try {
        const entry = parseSchema(outboxEntrySchema, { outbox_seq: 1, type: d.type, body: d.body }, { what: "outbox entry", at: [`outbox[${i}]`] });
        if (entry.type === "evidence") throw new ValidationError("schema", `outbox[${i}].type: evidence rows are written by the log itself`);
        return canonicalize(entry.body);
      } catch (e) {
        if (e instanceof ValidationError) throw new EvidenceError("invalid_draft", e.message, { cause: e });
        throw e;
      }
    });
  }

  /** Builds and signs the bundles after `head` (CPU only; no database access). */
  async #prepare(head: ChainPoint, drafts: EvidenceDraft[], rulesetHash: string | null): Promise<Prepared> {
    const { appliance_id, site_id, evidenceSigner } = this.#identity;
    const acc = MerkleAccumulator.fromState(head.merkle);
    const rows: SignedRow[] = [];
    let prev = head.hash, last = head.last_time, bytes = 0;
    const offset = this.#clockOffsetMs();
    const ntp_offset_ms = offset === null ? null : Math.round(offset);
    const system = { ...this.#system, ...this.#site?.() };
    for (const [i, draft] of drafts.entries()) {
      const seq = head.seq + i + 1;
      let line: string, hash: string, kind: BundleKind, finished: string;
      try {
        const unsigned = buildBundle({ ntp_offset_ms, ...draft, appliance_id, site_id, seq, prev_hash: prev, ruleset_hash: rulesetHash, ...system });
        ({ line, hash } = await signBundle(unsigned, evidenceSigner));
        kind = unsigned.kind;
        finished = unsigned.timestamps.finished_at;
      } catch (e) {
        if (e instanceof ValidationError) throw new EvidenceError("invalid_draft", `drafts[${i}]: ${e.message}`, { cause: e });
        throw e;
      }
      bytes += line.length;
      if (bytes > MAX_APPEND_BYTES) throw new EvidenceError("batch_too_large", `cannot append ${drafts.length} bundles at once: they exceed ${MAX_APPEND_BYTES} bytes by draft ${i}`);
      acc.append(leafHash(utf8(line)));
      rows.push({ seq, line, hash, kind });
      prev = hash;
      last = laterTime(last, finished);
    }
    return { rows, head: { seq: head.seq + drafts.length, hash: prev, last_time: last, merkle: acc.state } };
  }

  /** Inserts prepared rows, their outbox rows, the extra outbox rows and the new head. */
  async #write(tx: Tx, prepared: Prepared, outbox: OutboxDraft[], outboxBodies: string[]): Promise<void> {
    const now = this.#now();
    const next = Number((await tx.execute("SELECT COALESCE(MAX(outbox_seq), 0) + 1 AS n FROM outbox")).rows[0]?.n ?? 1);
    const entries: [string, string][] = [...prepared.rows.map((r): [string, string] => ["evidence", r.line]), ...outbox.map((d, i): [string, string] => [d.type, outboxBodies[i]!])];
    const stmts: InStatement[] = [];
    for (let i = 0; i < prepared.rows.length; i += INSERT_CHUNK_ROWS) {
      const chunk = prepared.rows.slice(i, i + INSERT_CHUNK_ROWS);
      stmts.push({ sql: `INSERT INTO evidence (seq, line, hash, kind, created_at) VALUES ${chunk.map(() => "(?, ?, ?, ?, ?)").join(", ")}`, args: chunk.flatMap((r) => [r.seq, r.line, r.hash, r.kind, now]) });
    }
    for (let i = 0; i < entries.length; i += INSERT_CHUNK_ROWS) {
      const chunk = entries.slice(i, i + INSERT_CHUNK_ROWS);
      stmts.push({ sql: `INSERT INTO outbox (outbox_seq, type, body, created_at) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`, args: chunk.flatMap(([type, body], j) => [next + i + j, type, body, now]) });
    }
    if (prepared.rows.length > 0) stmts.push(writeHead(prepared.head, now));
    await tx.batch(stmts);
  }

  async #checkpointRow(size: number): Promise<CheckpointRecord | null> {
    const rs = await this.#run("read checkpoints", (db) => db.execute({ sql: "SELECT size, note, countersigned_note FROM checkpoints WHERE size = ?", args: [size] }));
    return rs.rows[0] ? checkpointOf(rs.rows[0]) : null;
  }

  #now(): string {
    return isoTime(Math.floor(this.#clock.now()));
  }

  /** Runs one store operation, mapping database failures to EvidenceError. */
  async #run<T>(action: string, fn: (db: Executor) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#store);
    } catch (e) {
      throw this.#failure(e, action);
    }
  }

  #failure(e: unknown, action: string): unknown {
    const mapped = storeFailure(e, action, this.#store.path);
    if (mapped instanceof EvidenceError && (mapped.code === "disk_full" || mapped.code === "store_failed" || mapped.code === "corrupt_state")) {
      this.#log?.warn("evidence_write_failed", { code: mapped.code, action, message: mapped.message });
    }
    return mapped;
  }

  /** Runs `fn` after every earlier operation of this log settled (see the module comment for why). */
  #exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#inside.getStore()) {
      return Promise.reject(new TypeError(`Cannot call evidenceLog.${what}() inside evidenceLog.transaction(): use the writer it passes`));
    }
    const run = this.#tail.then(
      () => this.#inside.run(true, fn),
      () => this.#inside.run(true, fn),
    );
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

async function rulesetHashOf(db: Executor): Promise<string | null> {
  const rs = await db.execute("SELECT hash FROM ruleset WHERE id = 1");
  const hash = rs.rows[0]?.hash;
  return typeof hash === "string" ? hash : null;
}

function checkpointOf(row: Record<string, unknown>): CheckpointRecord {
  return { size: Number(row.size), note: String(row.note), countersigned_note: row.countersigned_note === null || row.countersigned_note === undefined ? null : String(row.countersigned_note) };
}
