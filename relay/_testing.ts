/**
 * Test fixtures for the relay's suites (not shipped behaviour): a relay on a temporary database with a
 * controllable clock, and a simulated appliance built only from protocol functions (keys, bundles,
 * checkpoints, request signatures), the way the real appliance will use them.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applianceOrigin, formatCheckpointBody, signNote } from "../protocol/checkpoint.ts";
import { createSigner, type Signer } from "../protocol/crypto.ts";
import { utf8 } from "../protocol/encoding.ts";
import { buildBundle, GENESIS_PREV_HASH, signBundle, type BundleInput, type SignedBundle } from "../protocol/evidence.ts";
import { isoTime } from "../protocol/ids.ts";
import { leafHash, MerkleAccumulator } from "../protocol/merkle.ts";
import { PUSH_SCHEMA, type OutboxEntry, type PushRequest } from "../protocol/sync.ts";
import { createRelayApp, type RelayApp } from "./app.ts";
import { VerifyPool } from "./ingest/verify-pool.ts";
import { signRequest } from "./auth/request-message.ts";
import { openRelayDb, type RelayDb } from "./db/index.ts";
import { startSqld } from "./_sqld.ts";
import type { RelayDeps, RelayKey } from "./deps.ts";
import { createClaimCode } from "./enroll/claim-codes.ts";
import { buildEnrollRequest, type EnrollResponse } from "./enroll/enroll-message.ts";
import { activateRelayKey, createRelayKeyFile } from "./keys/index.ts";
import { memoryLog, type RelayLog } from "./log.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "./tenants/tenants.ts";
import { createSession, CSRF_HEADER, SESSION_COOKIE } from "./auth/sessions.ts";
import { createUser, userPrincipal } from "./auth/users.ts";
import type { Principal, Role } from "./http/types.ts";

/** 2026-11-27T12:00:00.000Z: every suite's "now" unless it moves the clock. */
export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0, 0);

export interface TestClock {
  t: number;
  now(): number;
}

export function testClock(t = T0): TestClock {
  return {
    t,
    now() {
      return this.t;
    },
  };
}

/** Cryptographic randomness: tests must never mint two equal tokens or keys by accident. */
export const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

export interface TestRelay {
  dir: string;
  db: RelayDb;
  clock: TestClock;
  log: RelayLog;
  logs: ReturnType<typeof memoryLog>["entries"];
  relayKey: RelayKey;
  relaySecret: Uint8Array;
  deps: RelayDeps;
  app: RelayApp;
  mspId: string;
  orgId: string;
  siteId: string;
  /** A fresh claim code for the site (or another site). */
  claimCode(siteId?: string, ttlMs?: number): Promise<string>;
  close(): Promise<void>;
}

let sharedPool: VerifyPool | undefined;
/** Ingest's signature checks on worker threads, as `relay serve` runs them: one pool for all of a process's test relays. */
function testVerifyPool(): VerifyPool {
  sharedPool ??= new VerifyPool();
  return sharedPool;
}

/** A relay with one MSP, organisation and site, on a temporary database file. */
export async function testRelay(opts: { dbPath?: string; publicUrl?: string } = {}): Promise<TestRelay> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-relay-"));
  const clock = testClock();
  const { log, entries } = memoryLog();
  // OSIRIS_TEST_DB=sqld: the same suites on a real libSQL server (relay/_sqld.ts) instead of a file.
  const sqld = opts.dbPath === undefined && process.env["OSIRIS_TEST_DB"] === "sqld" ? await startSqld() : undefined;
  const db = await openRelayDb(opts.dbPath ?? sqld?.url ?? join(dir, "relay.db"), { log, clock });
  // A real key file, as `relay serve` keeps one: commands that sign with the relay's key read it (--key-file).
  const relaySecret = await createRelayKeyFile(join(dir, "relay.key"), random);
  const relayKey = await activateRelayKey(db, relaySecret, join(dir, "relay.key"), clock);
  const deps: RelayDeps = { db, clock, random, log, relayKey, verifierFor: testVerifyPool().verifierFor, ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}) };
  const env = { clock, random };
  const msp = await createMsp(db, { name: "Test MSP" }, env);
  const org = await createOrganisation(db, { msp_id: msp.id, name: "Test Clinic" }, env);
  const site = await createSite(db, { org_id: org.id, name: "Main Street", timezone: "America/Chicago" }, env);
  return {
    dir,
    db,
    clock,
    log,
    logs: entries,
    relayKey,
    relaySecret,
    deps,
    app: createRelayApp(deps),
    mspId: msp.id,
    orgId: org.id,
    siteId: site.id,
    claimCode: async (siteId = site.id, ttlMs?: number) => (await createClaimCode(db, { site_id: siteId, created_by: "test", ...(ttlMs ? { ttl_ms: ttlMs } : {}) }, env)).code,
    close: async () => {
      db.close();
      await sqld?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Something that answers requests: an in-process app, or fetch against a real server. */
export type Transport = (path: string, init: RequestInit) => Promise<Response>;

export const inProcess = (app: RelayApp): Transport => async (path, init) => app.request(path, init);
export const overHttp = (base: string): Transport => (path, init) => fetch(new URL(path, base), init);

/** An appliance simulated with protocol functions only. */
export class TestAppliance {
  readonly identity: Signer = createSigner(random(32));
  readonly evidence: Signer = createSigner(random(32));
  readonly credentialsPublicKey = random(32);
  readonly macs: string[];
  id = "";
  siteId = "";
  token = "";
  relayKeys: EnrollResponse["relay_keys"] = [];
  /** Every bundle this appliance signed, in seq order. */
  readonly chain: SignedBundle[] = [];
  readonly tree = new MerkleAccumulator();
  outboxSeq = 0;

  constructor(
    /** Where requests go; swap it to talk to a restarted relay. */
    public transport: Transport,
    readonly clock: { now(): number },
  ) {
    const b = random(5);
    this.macs = [`02:${[...b].map((x) => x.toString(16).padStart(2, "0")).join(":")}`];
  }

  /** POSTs an enrollment with this claim code; on success remembers id, site, token and relay keys. */
  async enroll(claimCode: string): Promise<Response> {
    const body = await buildEnrollRequest({ claimCode }, { identity: this.identity, evidence: this.evidence, credentialsPublicKey: this.credentialsPublicKey }, this.macs);
    return this.adopt(await this.transport("/api/enroll", jsonInit("POST", body)));
  }

  async adopt(res: Response): Promise<Response> {
    if (res.status === 201) {
      const r = (await res.clone().json()) as EnrollResponse;
      this.id = r.appliance_id;
      this.siteId = r.site_id;
      this.token = r.token;
      this.relayKeys = r.relay_keys;
    }
    return res;
  }

  /** Signs the next `n` bundles of its chain (one minute apart, ending now). */
  async makeBundles(n: number, over: Partial<BundleInput> = {}): Promise<SignedBundle[]> {
    const out: SignedBundle[] = [];
    for (let i = 0; i < n; i++) {
      const seq = this.chain.length + 1;
      const t = isoTime(this.clock.now() - (n - 1 - i) * 60_000);
      const unsigned = buildBundle({
        appliance_id: this.id,
        site_id: this.siteId,
        seq,
        prev_hash: this.chain.at(-1)?.hash ?? GENESIS_PREV_HASH,
        kind: "system",
        outcome: "success",
        timestamps: { started_at: t, finished_at: t },
        policy_version: "2026.11.0",
        ...over,
      });
      const signed = await signBundle(unsigned, this.evidence);
      this.chain.push(signed);
      this.tree.append(leafHash(utf8(signed.line)));
      out.push(signed);
    }
    return out;
  }

  /** Outbox entries for bundles (taking the next outbox seqs). */
  entries(bundles: readonly SignedBundle[]): OutboxEntry[] {
    return bundles.map((b) => ({ outbox_seq: ++this.outboxSeq, type: "evidence" as const, body: b.line }));
  }

  /** The appliance's signed checkpoint at `size` leaves (default: everything signed so far). */
  async checkpoint(size = this.chain.length): Promise<string> {
    const acc = new MerkleAccumulator();
    for (const b of this.chain.slice(0, size)) acc.append(leafHash(utf8(b.line)));
    return signNote(formatCheckpointBody({ origin: applianceOrigin(this.id), size, root: acc.root() }), applianceOrigin(this.id), this.evidence);
  }

  pushBody(entries: OutboxEntry[], checkpoint: string | null = null): PushRequest {
    return { schema: PUSH_SCHEMA, appliance_id: this.id, entries, checkpoint };
  }

  /** A signed request (bearer token + request signature). `sign` may swap the key, token or body signed. */
  async request(method: "GET" | "POST", path: string, body?: unknown, opts: { signer?: Signer; token?: string; now?: number; signedBody?: Uint8Array } = {}): Promise<Response> {
    const text = body === undefined ? "" : JSON.stringify(body);
    const headers = await signRequest(opts.signer ?? this.identity, opts.token ?? this.token, { method, url: path, body: opts.signedBody ?? utf8(text), now: opts.now ?? this.clock.now(), random });
    return this.transport(path, { method, headers: body === undefined ? headers : { ...headers, "content-type": "application/json" }, ...(body === undefined ? {} : { body: text }) });
  }

  push(entries: OutboxEntry[], checkpoint: string | null = null): Promise<Response> {
    return this.request("POST", "/api/sync/push", this.pushBody(entries, checkpoint));
  }
}

export function jsonInit(method: string, body: unknown): RequestInit {
  return { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** Enrolls a new simulated appliance at the relay's site (or `siteId`). */
export async function enrolledAppliance(relay: TestRelay, transport: Transport = inProcess(relay.app), siteId?: string): Promise<TestAppliance> {
  const a = new TestAppliance(transport, relay.clock);
  const res = await a.enroll(await relay.claimCode(siteId));
  if (res.status !== 201) throw new Error(`enrollment failed: ${res.status} ${await res.text()}`);
  return a;
}

/** The error envelope of a response (asserting it is one). */
export async function errorOf(res: Response): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  const body = (await res.json()) as { error?: { code: string; message: string; details?: Record<string, unknown> } };
  if (!body.error) throw new Error(`expected an error envelope, got ${JSON.stringify(body).slice(0, 200)}`);
  return body.error;
}

/** Number of rows in a table (optionally filtered). */
export async function count(db: RelayDb, table: string, where = "1 = 1", args: (string | number)[] = []): Promise<number> {
  const rs = await db.execute({ sql: `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, args });
  return Number(rs.rows[0]?.["n"]);
}

/** A signed-in test user: the headers to send (session cookie + CSRF token) and who it is. */
export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
  principal: Principal;
  /** Cookie and X-CSRF-Token: spread into a request's headers. */
  headers: Record<string, string>;
}

let userCounter = 0;

/**
 * Creates a user with `role` in the test relay's MSP and signs it in (a real session row, as a login makes).
 * Partner roles get `partner_id` (a new partner when omitted); client roles `org_id` (default: the relay's
 * organisation).
 */
export async function asUser(relay: TestRelay, role: Role, opts: { partner_id?: string; org_id?: string; msp_id?: string; email?: string } = {}): Promise<TestUser> {
  const env = { clock: relay.clock, random };
  const mspId = opts.msp_id ?? relay.mspId;
  let partnerId: string | undefined = opts.partner_id;
  if (role.startsWith("partner_") && !partnerId) partnerId = (await createPartner(relay.db, { msp_id: mspId, name: `Partner ${++userCounter}` }, env)).id;
  const orgId = role.startsWith("client_") ? (opts.org_id ?? relay.orgId) : undefined;
  const email = opts.email ?? `${role.replace("_", ".")}.${++userCounter}.${Date.now()}@example.test`;
  const password = "correct horse battery staple";
  const user = await createUser(relay.db, mspId, { email, name: `Test ${role}`, role, password, ...(partnerId && role.startsWith("partner_") ? { partner_id: partnerId } : {}), ...(orgId ? { org_id: orgId } : {}) }, env);
  const session = await createSession(relay.db, user.id, env);
  return {
    id: user.id,
    email,
    password,
    role,
    principal: userPrincipal(user),
    headers: { Cookie: `${SESSION_COOKIE}=${session.sessionId}`, [CSRF_HEADER]: session.csrfToken },
  };
}

/** A request init for a signed-in user (JSON body when given). */
export function userInit(user: TestUser, method = "GET", body?: unknown): RequestInit {
  return {
    method,
    headers: { ...user.headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}
