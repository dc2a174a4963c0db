/**
 * Test fixtures for the reliability suites (not shipped behaviour): REAL relay processes (`node bin/osiris.js
 * relay serve`, the command an MSP runs) on loopback against a libSQL file or a real sqld, and simulated
 * appliances (relay/_testing.ts TestAppliance: protocol functions only) that keep an outbox, push it in
 * bounded batches with their latest checkpoint, and remember exactly what the relay acknowledged.
 */
import { existsSync } from "node:fs";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { applianceOrigin, formatCheckpointBody, signNote, verifyCosignature } from "../../protocol/checkpoint.ts";
import { verifyChain } from "../../protocol/chain.ts";
import { fromHex } from "../../protocol/encoding.ts";
import { isoTime } from "../../protocol/ids.ts";
import { parsePushAck, type OutboxEntry } from "../../protocol/sync.ts";
import { num, openRelayDb, str, type RelayDb } from "../db/index.ts";
import { systemClock } from "../deps.ts";
import { createClaimCode } from "../enroll/claim-codes.ts";
import { receiptedPositions } from "../ingest/receipts.ts";
import { memoryLog } from "../log.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { overHttp, random, TestAppliance, type Transport } from "../_testing.ts";

const BIN = new URL("../../bin/osiris.js", import.meta.url).pathname;
/** A relay process must announce `relay_listening` within this time (tsx compiles the sources on start). */
export const RELAY_START_TIMEOUT_MS = 30_000;
/** Log lines of a relay process kept for a failing test's message. */
const KEPT_LOG_LINES = 200;

export interface RelayProcess {
  readonly url: string;
  readonly pid: number;
  /** The process's last log lines (JSON lines from stdout, then stderr). */
  logs(): string[];
  /** SIGKILL: no shutdown code runs. Resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM and wait (a clean stop). */
  stop(): Promise<void>;
}

/**
 * Deno 2 from the npm package `deno`: its binary itself, not the `.bin/deno` shim (a Node script that runs the
 * binary as its child, so a signal to the shim would leave the relay running).
 */
export const DENO = new URL("../../node_modules/deno/deno", import.meta.url).pathname;

/**
 * Makes sure the npm package deno has put its binary in place: a fresh `npm ci` leaves only its launcher
 * (node_modules/.bin/deno), which installs the binary on first use. The tests then run the binary directly,
 * so a signal reaches Deno itself rather than the launcher.
 */
export function ensureDeno(): string {
  if (!existsSync(DENO)) execFileSync(process.execPath, [new URL("../../node_modules/deno/bin.cjs", import.meta.url).pathname, "--version"], { stdio: "ignore" });
  return DENO;
}
const CLI_MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

/**
 * Starts `osiris relay serve --db DB --key-file KEY --port 0` and waits for its `relay_listening` line: under
 * Node (bin/osiris.js, as installed) or under Deno 2 (`deno run -A cli/main.ts`).
 */
export async function startRelayProcess(opts: { db: string; keyFile: string; env?: Record<string, string>; runtime?: "node" | "deno" }): Promise<RelayProcess> {
  const args = ["relay", "serve", "--db", opts.db, "--key-file", opts.keyFile, "--port", "0", "--host", "127.0.0.1"];
  const [cmd, argv] = opts.runtime === "deno" ? [DENO, ["run", "-A", "--quiet", CLI_MAIN, ...args]] : [process.execPath, [BIN, ...args]];
  const child: ChildProcess = spawn(cmd, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...opts.env },
  });
  const kept: string[] = [];
  const keep = (line: string) => {
    kept.push(line);
    if (kept.length > KEPT_LOG_LINES) kept.shift();
  };
  // Keep reading both pipes for the process's whole life: a full pipe would block its log writes.
  createInterface({ input: child.stderr! }).on("line", (l) => keep(`stderr: ${l}`));
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay process did not listen within ${RELAY_START_TIMEOUT_MS} ms:\n${kept.join("\n")}`)), RELAY_START_TIMEOUT_MS);
    lines.on("line", (line) => {
      keep(line);
      if (line.includes('"relay_listening"')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`relay process exited (${code ?? signal}) before listening:\n${kept.join("\n")}`));
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    url,
    pid: child.pid!,
    logs: () => [...kept],
    kill9: async () => {
      if (!gone()) child.kill("SIGKILL");
      await exited;
      process.off("exit", onExit);
    },
    stop: async () => {
      if (!gone()) child.kill("SIGTERM");
      await exited;
      process.off("exit", onExit);
    },
  };
}

/** One MSP, organisation and site in a relay database, and claim codes for it (what `osiris relay admin` does). */
export interface Site {
  db: RelayDb;
  siteId: string;
  claimCode(): Promise<string>;
}

export async function openSite(location: string): Promise<Site> {
  const db = await openRelayDb(location, { log: memoryLog().log, clock: systemClock });
  const env = { clock: systemClock, random };
  const msp = await createMsp(db, { name: "Reliability MSP" }, env);
  const org = await createOrganisation(db, { msp_id: msp.id, name: "Reliability Clinic" }, env);
  const site = await createSite(db, { org_id: org.id, name: "Reliability Site" }, env);
  return { db, siteId: site.id, claimCode: async () => (await createClaimCode(db, { site_id: site.id, created_by: "test" }, env)).code };
}

export type PushResult =
  | { kind: "acked"; acked: number; countersigned: string | null; entries: number }
  | { kind: "refused"; status: number; code: string; body: string }
  | { kind: "down"; error: string };

/**
 * A simulated appliance with an outbox: `write(n)` signs n more bundles (and now and then a heartbeat entry),
 * `pushOnce()` sends everything not yet acknowledged (at most `max` entries) with the checkpoint at the last
 * evidence entry sent, the way the real sync client does after a lost answer.
 */
export class OutboxAppliance {
  readonly a: TestAppliance;
  readonly outbox: OutboxEntry[] = [];
  /** Tree size covered by each outbox entry (the chain length once that entry is written). */
  readonly #sizeAt: number[] = [];
  /** Merkle root at each tree size (index size - 1). */
  readonly #roots: Uint8Array[] = [];
  /** Highest outbox_seq any relay acknowledged in a 200 answer. */
  acked = 0;
  /** Countersigned checkpoint notes received, by tree size (a size must always come back byte-identical). */
  readonly countersigned = new Map<number, string>();

  private constructor(a: TestAppliance) {
    this.a = a;
  }

  /** Enrolls through a claim code; `clock` dates its bundles and request signatures (default: wall clock). */
  static async enroll(transport: Transport, claimCode: string, clock: { now(): number } = systemClock): Promise<OutboxAppliance> {
    const a = new TestAppliance(transport, clock);
    const res = await a.enroll(claimCode);
    if (res.status !== 201) throw new Error(`enrollment failed: ${res.status} ${await res.text()}`);
    return new OutboxAppliance(a);
  }

  get id(): string {
    return this.a.id;
  }

  /** Appends n bundles (one at a time, so their times never run backwards) and, every 7th, a heartbeat. */
  async write(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const [b] = await this.a.makeBundles(1);
      this.#roots.push(this.a.tree.root());
      this.outbox.push({ outbox_seq: this.outbox.length + 1, type: "evidence", body: b!.line });
      this.#sizeAt.push(this.a.chain.length);
      if (this.outbox.length % 7 === 0) {
        this.outbox.push({ outbox_seq: this.outbox.length + 1, type: "heartbeat", body: { at: isoTime(this.a.clock.now()), version: "reliability", ntp_offset_ms: 0, backlog: this.outbox.length - this.acked } });
        this.#sizeAt.push(this.a.chain.length);
      }
    }
  }

  /** The appliance's checkpoint at `size`. */
  async checkpointAt(size: number): Promise<string | null> {
    if (size === 0) return null;
    const origin = applianceOrigin(this.a.id);
    return signNote(formatCheckpointBody({ origin, size, root: this.#roots[size - 1]! }), origin, this.a.evidence);
  }

  /** Entries from `from` (default: after the acknowledged ones), at most `max`, with their checkpoint. */
  async batch(max: number, from = this.acked + 1): Promise<{ entries: OutboxEntry[]; checkpoint: string | null }> {
    const entries = this.outbox.slice(from - 1, from - 1 + max);
    const last = entries.at(-1);
    return { entries, checkpoint: last ? await this.checkpointAt(this.#sizeAt[last.outbox_seq - 1]!) : null };
  }

  /** Pushes a batch over `transport` (default: the appliance's own). */
  async push(batch: { entries: OutboxEntry[]; checkpoint: string | null }, transport: Transport = this.a.transport): Promise<PushResult> {
    const saved = this.a.transport;
    this.a.transport = transport;
    let res: Response;
    try {
      res = await this.a.push(batch.entries, batch.checkpoint);
    } catch (e) {
      return { kind: "down", error: String((e as Error).cause ?? e) };
    } finally {
      this.a.transport = saved;
    }
    const text = await res.text();
    if (res.status !== 200) {
      let code = "";
      try {
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? "";
      } catch {
        // not an error envelope
      }
      return { kind: "refused", status: res.status, code, body: text.slice(0, 500) };
    }
    const ack = parsePushAck(JSON.parse(text));
    this.acked = Math.max(this.acked, ack.acked_outbox_seq);
    if (ack.countersigned_checkpoint !== null) {
      const size = Number(ack.countersigned_checkpoint.split("\n")[1]);
      const before = this.countersigned.get(size);
      if (before !== undefined && before !== ack.countersigned_checkpoint) throw new Error(`two different countersignatures for size ${size} of ${this.id}:\n${before}\n---\n${ack.countersigned_checkpoint}`);
      this.countersigned.set(size, ack.countersigned_checkpoint);
    }
    return { kind: "acked", acked: ack.acked_outbox_seq, countersigned: ack.countersigned_checkpoint, entries: batch.entries.length };
  }

  pushOnce(max = 100, transport?: Transport): Promise<PushResult> {
    return this.batch(max).then((b) => this.push(b, transport));
  }

  /** Pushes until everything is acknowledged; throws on any refusal or after `maxRounds`. */
  async drain(transport?: Transport, max = 100, maxRounds = 1000): Promise<void> {
    for (let round = 0; this.acked < this.outbox.length; round++) {
      if (round >= maxRounds) throw new Error(`${this.id}: still ${this.outbox.length - this.acked} entries unacknowledged after ${maxRounds} pushes`);
      const r = await this.pushOnce(max, transport);
      if (r.kind !== "acked") throw new Error(`${this.id}: push refused while draining: ${JSON.stringify(r)}`);
    }
  }
}

export const http = overHttp;

/** What the relay database holds for one appliance. */
export interface RelayView {
  acked_outbox_seq: number;
  verified_seq: number;
  lines: string[];
  seqs: number[];
  receipts: number[];
  checkpoints: { size: number; countersigned_note: string }[];
  incidents: { code: string; message: string }[];
}

export async function relayView(db: RelayDb, applianceId: string): Promise<RelayView> {
  const cs = (await db.execute({ sql: "SELECT acked_outbox_seq, verified_seq FROM chain_state WHERE appliance_id = ?", args: [applianceId] })).rows[0];
  const ev = await db.execute({ sql: "SELECT seq, line FROM evidence WHERE appliance_id = ? ORDER BY seq", args: [applianceId] });
  const cp = await db.execute({ sql: "SELECT size, countersigned_note FROM checkpoints WHERE appliance_id = ? ORDER BY size", args: [applianceId] });
  const inc = await db.execute({ sql: "SELECT code, message FROM integrity_incidents WHERE appliance_id = ?", args: [applianceId] });
  return {
    acked_outbox_seq: cs ? num(cs, "acked_outbox_seq") : 0,
    verified_seq: cs ? num(cs, "verified_seq") : 0,
    lines: ev.rows.map((r) => str(r, "line")),
    seqs: ev.rows.map((r) => num(r, "seq")),
    receipts: await receiptedPositions(db, applianceId),
    checkpoints: cp.rows.map((r) => ({ size: num(r, "size"), countersigned_note: str(r, "countersigned_note") })),
    incidents: inc.rows.map((r) => ({ code: str(r, "code"), message: str(r, "message") })),
  };
}

/**
 * The invariants every reliability suite checks for one appliance: nothing it was told is acknowledged is
 * missing; evidence is exactly its own chain's prefix (no gap, no duplicate, byte for byte) and matches the
 * stored cursor; receipts are contiguous; no integrity incident; every countersigned checkpoint is stored
 * once and is the note the appliance received. Returns problems (empty when all hold).
 */
export async function checkAppliance(db: RelayDb, app: OutboxAppliance, relayPublicKeys: { name: string; publicKey: Uint8Array }[]): Promise<string[]> {
  const v = await relayView(db, app.id);
  const p: string[] = [];
  const who = app.id;
  if (v.acked_outbox_seq < app.acked) p.push(`${who}: relay cursor ${v.acked_outbox_seq} is behind the acknowledged ${app.acked} (acknowledged data lost)`);
  if (v.receipts.length !== v.acked_outbox_seq || v.receipts.some((s, i) => s !== i + 1)) p.push(`${who}: receipts are not exactly 1..${v.acked_outbox_seq} (${v.receipts.length} rows)`);
  if (v.seqs.some((s, i) => s !== i + 1)) p.push(`${who}: evidence seqs have a gap or duplicate`);
  if (v.lines.length !== v.verified_seq) p.push(`${who}: ${v.lines.length} evidence rows but verified_seq ${v.verified_seq}`);
  const expectedSeq = app.outbox.slice(0, v.acked_outbox_seq).filter((e) => e.type === "evidence").length;
  if (v.verified_seq !== expectedSeq) p.push(`${who}: verified_seq ${v.verified_seq}, but outbox up to ${v.acked_outbox_seq} holds ${expectedSeq} bundles`);
  v.lines.forEach((line, i) => {
    if (line !== app.a.chain[i]?.line) p.push(`${who}: stored seq ${i + 1} differs from what the appliance signed`);
  });
  if (v.incidents.length) p.push(`${who}: integrity incidents: ${JSON.stringify(v.incidents)}`);
  const sizes = new Set<number>();
  for (const c of v.checkpoints) {
    if (sizes.has(c.size)) p.push(`${who}: checkpoint size ${c.size} stored twice`);
    sizes.add(c.size);
    if (c.size > v.verified_seq) p.push(`${who}: checkpoint size ${c.size} countersigned beyond verified ${v.verified_seq}`);
    const got = app.countersigned.get(c.size);
    if (got !== undefined && got !== c.countersigned_note) p.push(`${who}: the countersigned note for size ${c.size} differs from the one stored`);
    let ok = false;
    for (const k of relayPublicKeys) {
      try {
        await verifyCosignature(c.countersigned_note, k.name, k.publicKey);
        ok = true;
      } catch {
        // try the next key
      }
    }
    if (!ok) p.push(`${who}: countersignature for size ${c.size} does not verify with the relay key`);
  }
  for (const size of app.countersigned.keys()) if (!sizes.has(size)) p.push(`${who}: received a countersignature for size ${size} the relay did not store`);
  const chain = await verifyChain(v.lines, new Map([[app.id, { publicKey: app.a.evidence.publicKey, siteId: app.a.siteId }]]), { fromGenesis: true });
  if (!chain.ok) p.push(`${who}: stored chain does not verify: ${JSON.stringify(chain.failure)}`);
  return p;
}

/** The relay's published keys as the appliances pinned them at enrollment. */
export function pinnedRelayKeys(app: OutboxAppliance): { name: string; publicKey: Uint8Array }[] {
  return app.a.relayKeys.map((k) => ({ name: k.name, publicKey: fromHex(k.public_key) }));
}

/** Integrity incidents in the whole database. */
export async function incidentCount(db: RelayDb): Promise<number> {
  return Number((await db.execute("SELECT COUNT(*) AS n FROM integrity_incidents")).rows[0]?.["n"]);
}

/** A seeded PRNG (mulberry32): trials are reproducible from the seed printed with a failure. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
