/**
 * Test fixtures for the sync suites (not shipped behaviour): the REAL relay (relay/_testing.ts: Hono app,
 * libSQL file, test clock) served on a loopback port with @hono/node-server, and an enrolled appliance with
 * its own libSQL file, evidence log, rule book, order processor and sync client talking to it over the real
 * transport. Fault injection goes through a wrapped fetch.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { parseConfig, type Config } from "../config/index.ts";
import { isoTime } from "../../protocol/ids.ts";
import { testRelay, type TestRelay } from "../../relay/_testing.ts";
import { startServer, type RunningServer } from "../../relay/serve/node.ts";
import type { Clock, EvidenceDraft, Log } from "../engine/types.ts";
import { EvidenceLog } from "../evidence/index.ts";
import { RuleBook } from "../heal/index.ts";
import { loadOrCreateIdentity, type ApplianceIdentity } from "../identity/index.ts";
import { OrderProcessor, type OrderHandlers } from "../orders/index.ts";
import { ensurePrivateDir, openStore, type Store } from "../store/index.ts";
import { SyncClient } from "./client.ts";
import { enrollWithClaimCode, readToken } from "./enroll.ts";
import { RelayHttp } from "./relay-http.ts";
import { RelaySiteConfig } from "./site-config.ts";
import { createRelayFetch, type FetchLike } from "./transport.ts";

export const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  fields: Record<string, unknown>;
}

export function recordingLog(): Log & { entries: LogEntry[]; find(msg: string): LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry["level"]) => (msg: string, fields: Record<string, unknown> = {}) => void entries.push({ level, msg, fields });
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), find: (msg) => entries.filter((e) => e.msg === msg) };
}

/** The real relay on a loopback port; `stop()`/`restart()` take the server down and back on the same port. */
export interface LoopbackRelay {
  relay: TestRelay;
  readonly url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function loopbackRelay(): Promise<LoopbackRelay> {
  const relay = await testRelay();
  let server: RunningServer | null = await startServer({ app: relay.app, host: "127.0.0.1", port: 0 });
  const port = server.port;
  const url = server.url;
  relay.deps.publicUrl = url;
  return {
    relay,
    url,
    stop: async () => {
      await server?.close();
      server = null;
    },
    restart: async () => {
      if (!server) server = await startServer({ app: relay.app, host: "127.0.0.1", port });
    },
    close: async () => {
      await server?.close();
      server = null;
      await relay.close();
    },
  };
}

/** Counts requests per path and lets a test intercept them (drop answers, fail, delay). */
export interface FetchProbe {
  fetch: FetchLike;
  calls: { path: string; method: string; status: number | null; bytes: number }[];
  /** Called before each request; return a Response/throw to replace it, or undefined to send it. */
  intercept: ((path: string, init: RequestInit, send: () => Promise<Response>) => Promise<Response | undefined>) | null;
}

export function fetchProbe(base: FetchLike = createRelayFetch()): FetchProbe {
  const probe: FetchProbe = {
    calls: [],
    intercept: null,
    fetch: async (url, init) => {
      const path = new URL(url).pathname;
      const call = { path, method: init.method ?? "GET", status: null as number | null, bytes: typeof init.body === "string" ? Buffer.byteLength(init.body) : 0 };
      probe.calls.push(call);
      const send = () => base(url, init);
      const replaced = probe.intercept ? await probe.intercept(path, init, send) : undefined;
      const res = replaced ?? (await send());
      call.status = res.status;
      return res;
    },
  };
  return probe;
}

export interface SyncFixture {
  dir: string;
  store: Store;
  identity: ApplianceIdentity;
  evidence: EvidenceLog;
  rules: RuleBook;
  orders: OrderProcessor;
  siteConfig: RelaySiteConfig;
  client: SyncClient;
  probe: FetchProbe;
  log: ReturnType<typeof recordingLog>;
  clock: Clock;
  /** Orders the fixture's handlers executed, by type. */
  executed: string[];
  close(): Promise<void>;
}

/** An appliance enrolled at `lr` with a fresh claim code, with a sync client over the real transport. */
export async function syncFixture(
  lr: LoopbackRelay,
  opts: { skew?: { ms: number }; maxSkewMs?: number; handlers?: OrderHandlers; orderWaitMs?: number; afterLateOrder?: () => void } = {},
): Promise<SyncFixture> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-sync-"));
  // The appliance's clock is the relay's, off by `skew.ms` (which a test may change as it goes).
  const skew = opts.skew;
  const clock: Clock = skew ? { now: () => lr.relay.clock.now() + skew.ms } : lr.relay.clock;
  const log = recordingLog();
  const store = await openStore(join(dir, "appliance.db"), { log });
  const stateDir = join(dir, "state");
  const identity = await loadOrCreateIdentity(stateDir, store, { random, clock });
  const probe = fetchProbe();
  const relayHttp = new RelayHttp({ url: lr.url, fetch: probe.fetch, clock, random });
  await enrollWithClaimCode({ relay: relayHttp, identity, store, stateDir, clock }, await lr.relay.claimCode(), ["02:00:00:aa:bb:cc"]);
  const evidence = new EvidenceLog({ store, identity: identity.enrolled(), clock, log });
  const rules = await RuleBook.open({ catalogue, store, relayKeys: () => identity.enrolled().relayKeys, clock, log });
  const executed: string[] = [];
  const handlers: OrderHandlers = opts.handlers ?? {
    force_scan: async (order) => {
      executed.push(order.type);
      return { outcome: "success", detail: "scanned" };
    },
  };
  const orders = new OrderProcessor({ evidence, identity: identity.enrolled(), handlers, clock, log });
  const siteConfig = await RelaySiteConfig.open(store, log);
  const client = await SyncClient.open({
    relay: relayHttp,
    token: await readToken(stateDir, store),
    store,
    evidence,
    identity,
    rules,
    orders,
    siteConfig,
    maxSkewMs: opts.maxSkewMs ?? 5_000,
    ...(opts.orderWaitMs !== undefined ? { orderWaitMs: opts.orderWaitMs } : {}),
    ...(opts.afterLateOrder ? { afterLateOrder: opts.afterLateOrder } : {}),
    clock,
    log,
  });
  return {
    dir,
    store,
    identity,
    evidence,
    rules,
    orders,
    siteConfig,
    client,
    probe,
    log,
    clock,
    executed,
    close: async () => {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The Riverside lab clinic (simulated hosts) as the daemon's targets. */
export const LAB_SITE_DIR = new URL("../../fixtures/lab/riverside-family-clinic", import.meta.url).pathname;

/** A daemon config for the lab clinic syncing with `relayUrl`, state under `dir`. */
export function labConfig(dir: string, relayUrl: string, extra = ""): Config {
  const yaml = `state_dir: ${join(dir, "state")}\nrelay:\n  url: ${relayUrl}\n  sync_interval_s: 10\nlab:\n  site_dir: ${LAB_SITE_DIR}\n${extra}`;
  return parseConfig(yaml, join(dir, "appliance.yaml"), { baseDir: dir });
}

/** Enrolls the state directory of `config` with a fresh claim code (what `osiris appliance enroll` does). */
export async function enrollConfig(lr: LoopbackRelay, config: Config): Promise<void> {
  await ensurePrivateDir(config.state_dir);
  const store = await openStore(config.database, { log: { info: () => undefined } });
  try {
    const identity = await loadOrCreateIdentity(config.state_dir, store, { random, clock: lr.relay.clock });
    const relay = new RelayHttp({ url: lr.url, fetch: createRelayFetch(), clock: lr.relay.clock, random });
    await enrollWithClaimCode({ relay, identity, store, stateDir: config.state_dir, clock: lr.relay.clock }, await lr.relay.claimCode());
  } finally {
    store.close();
  }
}

/** A check-cycle draft for `hosts` hosts at `at` (ms): what one lab cycle writes, one bundle per host. */
export function cycleDrafts(at: number, hosts = 3): EvidenceDraft[] {
  const t = isoTime(at);
  return Array.from({ length: hosts }, (_, i) => ({
    kind: "check_cycle" as const,
    outcome: "pass" as const,
    host_id: `host-${i + 1}`,
    timestamps: { started_at: t, finished_at: t },
    results: [{ check: "linux.firewall_enabled", status: "pass" as const, expected: true, actual: true, controls: ["hipaa:164.312(c)(1)"] }],
  }));
}

/** Rows of a relay table for one appliance. */
export async function relayCount(lr: LoopbackRelay, table: string, applianceId: string): Promise<number> {
  const rs = await lr.relay.db.execute({ sql: `SELECT COUNT(*) AS n FROM ${table} WHERE appliance_id = ?`, args: [applianceId] });
  return Number(rs.rows[0]?.["n"]);
}

/** Local outbox rows not yet acknowledged. */
export async function unacked(store: Store): Promise<number> {
  const rs = await store.execute("SELECT COUNT(*) AS n FROM outbox WHERE acked = 0");
  return Number(rs.rows[0]?.n);
}
