/**
 * Runs a relay process: opens the database (file or libSQL server), loads or creates the relay key file,
 * builds the app with real effects (wall clock, CSPRNG, JSON-lines log) and serves it. `osiris relay serve`
 * and the loopback tests both start relays this way.
 */
import { readFile, stat } from "node:fs/promises";
import { createRelayApp } from "../app.ts";
import { openRelayDb, redact, type RelayDb } from "../db/index.ts";
import { secureRandom, systemClock, type Clock, type RelayDeps } from "../deps.ts";
import { RelayError } from "../errors.ts";
import { loadRelayKey } from "../keys/index.ts";
import type { RelayLog } from "../log.ts";
import type { Mailer } from "../mail/mailer.ts";
import { tokenSha256 } from "../auth/token.ts";
import { createCredentialVault } from "../credentials/create-vault.ts";
import { DEFAULT_LEARNING_INTERVAL_MS, startLearningScheduler } from "../learning/index.ts";
import { startEscalationScheduler } from "../escalations/index.ts";
import { loadL2Config, type L2ConfigSources } from "../l2/index.ts";
import { hostname } from "node:os";
import { startArchiver, type ArchiverOptions } from "../archive/index.ts";
import { startPacketScheduler } from "../report/scheduler.ts";
import { startSiteDigestScheduler } from "../sites/digest-scheduler.ts";
import { loadDashboardAssets } from "../ui/assets.ts";
import type { Framework } from "../../protocol/catalogue/mod.ts";
import type { TrustedProxies } from "../http/client-address.ts";
import { VerifyPool } from "../ingest/verify-pool.ts";
import { nodeClientAddressBehind, startServer, type RunningServer } from "./node.ts";

export interface RunRelayOptions {
  /** Database path, `file:` URL or libSQL server URL. */
  db: string;
  /** libSQL server auth token (from the environment, never the command line). */
  dbAuthToken?: string;
  keyFile: string;
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  /** Public base URL told to drop-shipped appliances (defaults to the listening URL). */
  publicUrl?: string;
  log: RelayLog;
  clock?: Clock;
  /** Outgoing e-mail (magic links, notifications); none when SMTP is not configured. */
  mailer?: Mailer;
  /** A file holding the bearer token monitoring sends to GET /metrics (metrics are off without it). */
  metricsTokenFile?: string;
  /** The credential vault's key file (32 bytes, 0600, created on first start); credentials are off without a vault key. */
  vaultKeyFile?: string;
  /** Key files being rotated out (still opened, never written with). */
  vaultPreviousKeyFiles?: readonly string[];
  /** Vault keys from the environment (comma-separated base64url, current first); wins over the files. */
  vaultKeyEnv?: string;
  /** How often the learning loop mines healing attempts (default 60 s). */
  learningIntervalMs?: number;
  /** The L2 planner's model endpoints (`--l2-config`, or `--l2-url`/`--l2-model`/`--l2-key-file`); L2 is off without. */
  l2?: L2ConfigSources;
  /** How often escalation SLAs, notification deliveries and digests are swept (default 15 s). */
  escalationIntervalMs?: number;
  /** The built dashboard (default ui/dist/dashboard/). */
  uiDir?: string;
  /** Frameworks whose monthly packet is generated automatically after each month closes (default HIPAA). */
  packetFrameworks?: readonly Framework[];
  /** Reverse proxies whose X-Forwarded-For names the caller for rate limits (`--trust-proxy`); none by default. */
  trustedProxies?: TrustedProxies;
  /** The S3 Object Lock archive (archive/config.ts archiveConfig); without it bundles wait in the archive queue. */
  archive?: ArchiverOptions;
  /** Admit `http://` notification URLs to loopback (`--allow-loopback-http-notifications`; RelayDeps). */
  loopbackHttpNotifications?: boolean;
}

export interface RunningRelay extends RunningServer {
  db: RelayDb;
  deps: RelayDeps;
}

export async function runRelay(opts: RunRelayOptions): Promise<RunningRelay> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new RelayError("config", "HTTPS needs both --tls-cert and --tls-key");
  const clock = opts.clock ?? systemClock;
  const tls = opts.tlsCert && opts.tlsKey ? { cert: await readFile(opts.tlsCert), key: await readFile(opts.tlsKey) } : undefined;
  if (opts.metricsTokenFile) {
    // A token anyone on the host can read lets anyone scrape; the relay's key files are refused the same way.
    const mode = (await stat(opts.metricsTokenFile)).mode & 0o777;
    if ((mode & 0o007) !== 0) throw new RelayError("config", `--metrics-token-file ${opts.metricsTokenFile} is readable by every user of this host (mode 0${mode.toString(8)}): run chmod 600 ${opts.metricsTokenFile}`);
  }
  const metricsToken = opts.metricsTokenFile ? (await readFile(opts.metricsTokenFile, "utf8")).trim() : undefined;
  if (metricsToken !== undefined && !/^\S{16,512}$/.test(metricsToken)) throw new RelayError("config", `--metrics-token-file must hold one token of 16 to 512 non-space characters: ${opts.metricsTokenFile}`);
  const db = await openRelayDb(opts.db, { log: opts.log, clock, ...(opts.dbAuthToken ? { authToken: opts.dbAuthToken } : {}) });
  let stopJobs = async (): Promise<void> => undefined;
  let verifyPool: VerifyPool | undefined;
  try {
    const relayKey = await loadRelayKey(db, opts.keyFile, { clock, random: secureRandom, log: opts.log });
    const l2 = opts.l2 ? await loadL2Config(opts.l2, { readText: (path) => readFile(path, "utf8"), fetch }) : undefined;
    const vault =
      opts.vaultKeyEnv || opts.vaultKeyFile
        ? await createCredentialVault({
            db,
            ...(opts.vaultKeyEnv ? { envKeys: opts.vaultKeyEnv } : { keyFile: opts.vaultKeyFile!, previousKeyFiles: opts.vaultPreviousKeyFiles ?? [] }),
            random: secureRandom,
            log: opts.log,
          })
        : undefined;
    verifyPool = new VerifyPool({ onWorkerLost: (reason) => opts.log.warn("verify_worker_lost", { reason, hint: "signature checks run in the main thread instead (slower, same answers)" }) });
    const deps: RelayDeps = {
      db,
      verifierFor: verifyPool.verifierFor,
      clock,
      random: secureRandom,
      log: opts.log,
      relayKey,
      clientAddress: nodeClientAddressBehind(opts.trustedProxies ?? []),
      // Session cookies are Secure whenever browsers reach the relay over HTTPS (itself, or a TLS proxy in front).
      secureCookies: Boolean(tls) || (opts.publicUrl?.startsWith("https://") ?? false),
      ...(opts.mailer ? { mailer: opts.mailer } : {}),
      ...(metricsToken ? { metricsTokenSha256: tokenSha256(metricsToken) } : {}),
      ...(vault ? { vault } : {}),
      ...(l2 ? { l2 } : {}),
      ...(opts.loopbackHttpNotifications ? { loopbackHttpNotifications: true } : {}),
    };
    // Background jobs; each takes a lease in the database, so several relay processes on one database share them.
    const jobs: { stop(): Promise<void> }[] = [
      startLearningScheduler(deps, { intervalMs: opts.learningIntervalMs ?? DEFAULT_LEARNING_INTERVAL_MS }),
      startEscalationScheduler(deps, { notify: { fetch, hostname: hostname() }, ...(opts.escalationIntervalMs ? { intervalMs: opts.escalationIntervalMs } : {}) }),
      startPacketScheduler(deps, { frameworks: opts.packetFrameworks ?? ["hipaa"] }),
      startSiteDigestScheduler(deps),
      ...(opts.archive ? [startArchiver(deps, opts.archive)] : []),
    ];
    stopJobs = async () => {
      for (const job of jobs.splice(0)) await job.stop().catch((e: unknown) => opts.log.error("relay_job_stop_failed", { error: (e as Error).message }));
    };
    // The dashboard's built files (npm run build:ui); without them its pages answer 503 saying so.
    const ui = await loadDashboardAssets(opts.uiDir);
    if (ui) deps.ui = ui;
    else opts.log.warn("dashboard_not_built", { hint: "run npm run build:ui; the dashboard pages answer 503 until then" });
    const server = await startServer({ app: createRelayApp(deps), host: opts.host, port: opts.port, ...(tls ? { tls } : {}) });
    // The URL is known only once listening (port 0); the app reads deps at request time.
    deps.publicUrl = opts.publicUrl ?? server.url;
    opts.log.info("relay_listening", { url: server.url, db: redact(db.url), key_id: relayKey.keyId, tls: Boolean(tls) });
    return {
      ...server,
      db,
      deps,
      close: async () => {
        await server.close();
        await stopJobs();
        opts.mailer?.close();
        await verifyPool?.close();
        db.close();
        opts.log.info("relay_stopped", { url: server.url });
      },
    };
  } catch (e) {
    await stopJobs();
    await verifyPool?.close();
    db.close();
    throw e;
  }
}
