/**
 * `osiris relay serve`: runs the relay (Hono on Node) until SIGINT or SIGTERM. Logs are JSON lines on stdout;
 * the first one after start-up is `relay_listening` with the URL. Exit 1 when it cannot start (the reason is
 * printed), 2 on wrong usage.
 */
import { dirname, join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { systemClock } from "../relay/deps.ts";
import { jsonLog } from "../relay/log.ts";
import { smtpMailer } from "../relay/mail/mailer.ts";
import { VAULT_KEY_ENV } from "../relay/credentials/create-vault.ts";
import { ARCHIVE_ACCESS_KEY_ENV, ARCHIVE_SECRET_KEY_ENV, archiveConfig, archiveCredentials } from "../relay/archive/index.ts";
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { FRAMEWORKS, type Framework } from "../protocol/catalogue/mod.ts";
import { runRelay } from "../relay/serve/run.ts";
import { parseTrustedProxies, type TrustedProxies } from "../relay/http/client-address.ts";

export const summary = "run the relay (HTTPS with --tls-cert/--tls-key)";

export const DEFAULT_DB = "osiris-relay.db";
export const DEFAULT_KEY_FILE = "osiris-relay.key";
export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = "127.0.0.1";
/** Environment variable holding a libSQL server's auth token (kept off the command line and out of `ps`). */
export const DB_TOKEN_ENV = "OSIRIS_RELAY_DB_TOKEN";

/** The credential vault's key file, next to the relay key by default. */
export const DEFAULT_VAULT_KEY_FILE = "osiris-vault.key";

/** SMTP login, from the environment only (never the command line). */
export const SMTP_USER_ENV = "OSIRIS_SMTP_USER";
export const SMTP_PASS_ENV = "OSIRIS_SMTP_PASS";

const USAGE = `Usage: osiris relay serve [--db URL|PATH] [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--key-file PATH] [--tls-cert PEM --tls-key PEM] [--public-url URL] [--trust-proxy CIDR[,CIDR]]
  --db          relay database: a file path or file: URL (default ./${DEFAULT_DB}), or a libSQL server
                URL (http://, https://, libsql://; auth token from --db-token-file or $${DB_TOKEN_ENV})
  --db-token-file  file holding the libSQL server's auth token (0600)
  --port        TCP port (0 picks a free one; default ${DEFAULT_PORT})
  --host        address to bind (default ${DEFAULT_HOST}: loopback only)
  --key-file    the relay's private key, mode 0600 (default ./${DEFAULT_KEY_FILE}; created on first start)
  --tls-cert    PEM certificate chain: serve HTTPS (with --tls-key)
  --tls-key     PEM private key of the certificate
  --public-url  the URL appliances and users reach this relay at (drop-ship answers, sign-in links)
  --trust-proxy CIDR[,CIDR]  reverse proxies whose X-Forwarded-For names the client for rate limits
                (default none: the TCP peer is the client, X-Forwarded-For is ignored)
  --smtp-url    smtp://host:port or smtps://host:port for sign-in links and notifications
  --smtp-from   sender address (default osiriscare@<smtp host>)
  --allow-loopback-http-notifications  admit http:// webhook and Slack URLs to loopback (a receiver on this
                host); without it notification URLs must be https
  --metrics-token-file  file with the bearer token Prometheus sends to GET /metrics (off without it)
  --vault-key-file      credential vault key, 0600 (default ${DEFAULT_VAULT_KEY_FILE} next to --key-file; created on first start)
  --vault-previous-key-file  a vault key being rotated out (repeatable)
  --l2-config   YAML/JSON: L2 planner endpoints per MSP ({endpoints: {"*"|MSP_ID: {url, model, api_key_file}}})
  --l2-url, --l2-model, --l2-key-file  one OpenAI-compatible endpoint for every MSP (L2 is off without any)
  --archive-endpoint URL, --archive-bucket NAME  S3 bucket with Object Lock for the WORM evidence archive
  --archive-region (default us-east-1), --archive-retention-days (default 2192, about 6 years)
  --packet-frameworks  monthly packets made automatically, comma-separated: hipaa (default), soc2, glba
  --archive-credentials-file  0600 JSON {"access_key_id","secret_access_key"} (or the environment, below)
Environment: ${DB_TOKEN_ENV} (libSQL server token), ${ARCHIVE_ACCESS_KEY_ENV} / ${ARCHIVE_SECRET_KEY_ENV} (archive), ${VAULT_KEY_ENV} (vault keys instead of files), ${SMTP_USER_ENV} / ${SMTP_PASS_ENV} (SMTP login).`;


/**
 * Why a server could not start, in one line: a busy port is named with what to do (`flag` is the option that
 * picks the port); anything else is the error's own message.
 */
export function startFailure(e: unknown, flag = "--port"): string {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err.code === "EADDRINUSE") {
    const where = err.port !== undefined ? `port ${err.port}${err.address ? ` on ${err.address}` : ""}` : "the port";
    return `${where} is already in use (another relay or demo may be running): stop it or choose another ${flag}`;
  }
  if (err.code === "EACCES" && err.port !== undefined) return `not allowed to listen on port ${err.port}: choose another ${flag} (ports below 1024 need privileges)`;
  return err.message;
}

/** The flags of `osiris relay serve` (nixos/relay.test.ts checks the NixOS module's command line against them). */
export const SERVE_OPTIONS = {
  db: { type: "string", default: DEFAULT_DB },
  "db-token-file": { type: "string" },
  port: { type: "string", default: String(DEFAULT_PORT) },
  host: { type: "string", default: DEFAULT_HOST },
  "key-file": { type: "string", default: DEFAULT_KEY_FILE },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "public-url": { type: "string" },
  "smtp-url": { type: "string" },
  "smtp-from": { type: "string" },
  "metrics-token-file": { type: "string" },
  "vault-key-file": { type: "string" },
  "vault-previous-key-file": { type: "string", multiple: true },
  "l2-config": { type: "string" },
  "l2-url": { type: "string" },
  "l2-model": { type: "string" },
  "l2-key-file": { type: "string" },
  "archive-endpoint": { type: "string" },
  "packet-frameworks": { type: "string" },
  "archive-bucket": { type: "string" },
  "archive-region": { type: "string" },
  "archive-retention-days": { type: "string" },
  "archive-credentials-file": { type: "string" },
  "trust-proxy": { type: "string" },
  "allow-loopback-http-notifications": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/** Options that name a file the relay reads at start: checked before anything is created. */
const INPUT_FILE_OPTIONS = ["db-token-file", "metrics-token-file", "l2-config", "l2-key-file", "archive-credentials-file", "tls-cert", "tls-key", "vault-previous-key-file"] as const;

/** One line per input file option whose file cannot be read, naming the option. */
async function unreadableInputFiles(values: ReturnType<typeof parseServeArgs>): Promise<string[]> {
  const problems: string[] = [];
  for (const option of INPUT_FILE_OPTIONS) {
    const given = values[option];
    for (const path of given === undefined ? [] : Array.isArray(given) ? given : [given]) {
      try {
        if (!(await stat(path)).isFile()) problems.push(`--${option} ${path}: is not a file`);
        else await access(path, constants.R_OK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problems.push(`--${option} ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "not readable by this user" : (e as Error).message}`);
      }
    }
  }
  return problems;
}

/** A plain sender address (what SMTP servers take in MAIL FROM): name@domain, no display name. */
const EMAIL_ADDRESS = /^[^\s@<>()",;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/**
 * Why `--public-url` cannot be the address users and appliances reach the relay at (it goes into sign-in links
 * and drop-ship answers), or null: an absolute http(s) URL of an origin, with no path, query or credentials.
 */
export function publicUrlProblem(value: string | undefined): string | null {
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a URL: ${JSON.stringify(value)}; expected e.g. https://relay.example-it.com`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `must start with https:// (or http://): current value is ${JSON.stringify(value)}`;
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") return `must be the relay's origin alone (scheme, host and port), without a path, query or credentials: current value is ${JSON.stringify(value)}`;
  return null;
}

/** Parses the command line (TypeError on an unknown flag or a missing value); checks values only in `run`. */
export function parseServeArgs(args: string[]) {
  return parseArgs({ args, options: SERVE_OPTIONS, strict: true, allowPositionals: false }).values;
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    values = parseServeArgs(args);
  } catch (e) {
    console.error(`osiris relay serve: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!/^\d{1,5}$/.test(values.port) || port > 65535) {
    console.error(`osiris relay serve: --port must be 0..65535: current value is ${JSON.stringify(values.port)}\n${USAGE}`);
    return 2;
  }
  let trustedProxies: TrustedProxies = [];
  try {
    trustedProxies = parseTrustedProxies(values["trust-proxy"] ?? "");
  } catch (e) {
    console.error(`osiris relay serve: --trust-proxy: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const urlProblem = publicUrlProblem(values["public-url"]);
  if (urlProblem !== null) {
    console.error(`osiris relay serve: --public-url: ${urlProblem}\n${USAGE}`);
    return 2;
  }
  if (values["smtp-from"] !== undefined && !EMAIL_ADDRESS.test(values["smtp-from"])) {
    console.error(`osiris relay serve: --smtp-from must be an e-mail address such as osiriscare@example-it.com: current value is ${JSON.stringify(values["smtp-from"])}\n${USAGE}`);
    return 2;
  }
  const unreadable = await unreadableInputFiles(values);
  if (unreadable.length > 0) {
    for (const p of unreadable) console.error(`osiris relay serve: ${p}`);
    return 2;
  }
  const log = jsonLog((line) => process.stdout.write(line), systemClock);
  // Listen for signals before the relay announces itself: a signal with no listener kills the process at once.
  const stopSignal = new Promise<string>((resolve) => {
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    const done = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(signal);
    };
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  const frameworks = values["packet-frameworks"]?.split(",").map((f) => f.trim());
  const unknown = frameworks?.find((f) => !(FRAMEWORKS as readonly string[]).includes(f));
  if (unknown !== undefined) {
    console.error(`osiris relay serve: --packet-frameworks: ${JSON.stringify(unknown)} is not a framework; expected ${FRAMEWORKS.join(", ")}\n${USAGE}`);
    return 2;
  }
  let relay;
  try {
    const dbAuthToken = values["db-token-file"] ? (await readFile(values["db-token-file"], "utf8")).trim() : process.env[DB_TOKEN_ENV];
    const smtpUrl = values["smtp-url"];
    const mailer = smtpUrl
      ? smtpMailer({
          url: smtpUrl,
          from: values["smtp-from"] ?? `osiriscare@${new URL(smtpUrl).hostname}`,
          ...(process.env[SMTP_USER_ENV] ? { user: process.env[SMTP_USER_ENV], pass: process.env[SMTP_PASS_ENV] ?? "" } : {}),
        })
      : undefined;
    const archiveEndpoint = values["archive-endpoint"];
    const archiveBucket = values["archive-bucket"];
    const archive =
      archiveEndpoint || archiveBucket
        ? archiveConfig({
            endpoint: archiveEndpoint ?? "",
            bucket: archiveBucket ?? "",
            ...(values["archive-region"] ? { region: values["archive-region"] } : {}),
            ...(values["archive-retention-days"] ? { retentionDays: Number(values["archive-retention-days"]) } : {}),
            ...(await archiveCredentials(process.env, { ...(values["archive-credentials-file"] ? { file: values["archive-credentials-file"] } : {}), readFile: async (p) => new Uint8Array(await readFile(p)) })),
          })
        : undefined;
    relay = await runRelay({
      ...(mailer ? { mailer } : {}),
      ...(archive ? { archive } : {}),
      ...(frameworks ? { packetFrameworks: frameworks as Framework[] } : {}),
      ...(values["metrics-token-file"] ? { metricsTokenFile: values["metrics-token-file"] } : {}),
      ...(values["l2-config"] || values["l2-url"] || values["l2-model"]
        ? {
            l2: {
              ...(values["l2-config"] ? { file: values["l2-config"] } : {}),
              ...(values["l2-url"] ? { url: values["l2-url"] } : {}),
              ...(values["l2-model"] ? { model: values["l2-model"] } : {}),
              ...(values["l2-key-file"] ? { apiKeyFile: values["l2-key-file"] } : {}),
            },
          }
        : {}),
      ...(process.env[VAULT_KEY_ENV] ? { vaultKeyEnv: process.env[VAULT_KEY_ENV] } : { vaultKeyFile: values["vault-key-file"] ?? join(dirname(values["key-file"]), DEFAULT_VAULT_KEY_FILE), vaultPreviousKeyFiles: values["vault-previous-key-file"] ?? [] }),
      db: values.db,
      keyFile: values["key-file"],
      host: values.host,
      port,
      log,
      ...(dbAuthToken ? { dbAuthToken } : {}),
      ...(trustedProxies.length > 0 ? { trustedProxies } : {}),
      ...(values["tls-cert"] ? { tlsCert: values["tls-cert"] } : {}),
      ...(values["tls-key"] ? { tlsKey: values["tls-key"] } : {}),
      ...(values["public-url"] ? { publicUrl: values["public-url"] } : {}),
      ...(values["allow-loopback-http-notifications"] ? { loopbackHttpNotifications: true } : {}),
    });
  } catch (e) {
    console.error(`osiris relay serve: cannot start: ${startFailure(e)}`);
    return 1;
  }
  const signal = await stopSignal;
  log.info("relay_stopping", { signal });
  await relay.close().catch((e: unknown) => log.error("relay_stop_failed", { error: (e as Error).message }));
  return 0;
}
