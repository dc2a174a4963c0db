/**
 * `osiris relay admin <subcommand>`: automation for MSP operators against the relay database (the same one
 * `osiris relay serve` uses; another process may be serving it). Every subcommand prints `key: value` lines
 * (or its own short human lines), or one JSON object with --json; `<subcommand> --help` prints its usage.
 * Exit 0 on success; 1 when the relay refuses (the reason is printed); 2 on wrong usage or input the relay
 * finds malformed (a bad name or time zone, a value out of range), including a --db file that does not exist
 * (only create-msp, the first command on a new relay, creates one). Claim codes and keys are printed once and
 * never logged.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ValidationError } from "../protocol/errors.ts";
import type { RelayDb } from "../relay/db/index.ts";
import { secureRandom, systemClock } from "../relay/deps.ts";
import { revokeAppliance } from "../relay/enroll/enroll.ts";
import { createClaimCode, MAX_CLAIM_CODE_TTL_MS, revokeClaimCode } from "../relay/enroll/claim-codes.ts";
import { setApplianceConfig } from "../relay/enroll/appliance-config.ts";
import { applianceConfigChangeFromArgs } from "../relay/enroll/appliance-config-args.ts";
import { listPending, type PendingRecord } from "../relay/enroll/provision.ts";
import { acceptToSite } from "../relay/sites/pending.ts";
import { RelayError } from "../relay/errors.ts";
import { createRelayKeyFile, loadRelayKey, readRelayKeyFile, rotateRelayKey } from "../relay/keys/index.ts";
import { jsonLog, type RelayLog } from "../relay/log.ts";
import { cliIssuer, issueOrder } from "../relay/orders/issue.ts";
import { createUser } from "../relay/auth/users.ts";
import { createCredentialVault, VAULT_KEY_ENV } from "../relay/credentials/create-vault.ts";
import type { CredentialVault } from "../relay/credentials/vault.ts";
import { readVaultKeyFile } from "../relay/credentials/vault-key-file.ts";
import { reencryptVault } from "../relay/credentials/vault-rows.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../relay/tenants/tenants.ts";
import { missingRelayDbProblem, openCommandDb } from "./relay-db.ts";
import { DEFAULT_DB, DEFAULT_KEY_FILE } from "./relay-serve.ts";

export const summary = "administer the relay: tenants, sites, claim codes, appliances, relay key, vault re-encryption";

/** Where a command's output goes (tests capture it). */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** JSON log lines (migrations, key creation); stderr by default. */
  log?: RelayLog;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

type Values = Record<string, string | boolean | string[] | undefined>;

interface Subcommand {
  usage: string;
  options: Record<string, { type: "string" | "boolean"; multiple?: boolean }>;
  required: string[];
  run(db: RelayDb, v: Values, log: RelayLog): Promise<Record<string, unknown>>;
  /** Human lines for the result (default: `key: value` lines); --json always prints the result object. */
  human?(result: Record<string, unknown>): string[];
  /** Checks flag values before the database is opened: a one-line problem (exit 2), or null. */
  check?(v: Values): string | null;
  /** May run on a database file that does not exist yet (creating it); every other subcommand refuses one. */
  createsDb?: true;
}

const env = { clock: systemClock, random: secureRandom };
const s = (v: Values, k: string): string => String(v[k]);
const opt = (v: Values, k: string): string | undefined => (typeof v[k] === "string" ? (v[k] as string) : undefined);
const DAY_MS = 86_400_000;
/** A new user's password comes from the environment, never the command line (it would show in `ps`). */
export const NEW_PASSWORD_ENV = "OSIRIS_NEW_PASSWORD";

const SUBCOMMANDS: Record<string, Subcommand> = {
  "create-msp": {
    usage: "--name NAME",
    options: { name: { type: "string" } },
    required: ["name"],
    createsDb: true, // the first command on a new relay
    run: async (db, v) => createMsp(db, { name: s(v, "name") }, env),
  },
  "create-partner": {
    usage: "--msp MSP_ID --name NAME",
    options: { msp: { type: "string" }, name: { type: "string" } },
    required: ["msp", "name"],
    run: async (db, v) => createPartner(db, { msp_id: s(v, "msp"), name: s(v, "name") }, env),
  },
  "create-org": {
    usage: "--msp MSP_ID [--partner PARTNER_ID] --name NAME",
    options: { msp: { type: "string" }, partner: { type: "string" }, name: { type: "string" } },
    required: ["msp", "name"],
    run: async (db, v) => createOrganisation(db, { msp_id: s(v, "msp"), partner_id: opt(v, "partner") ?? null, name: s(v, "name") }, env),
  },
  "create-site": {
    usage: "--org ORG_ID --name NAME [--timezone America/Chicago]",
    options: { org: { type: "string" }, name: { type: "string" }, timezone: { type: "string" } },
    required: ["org", "name"],
    // An empty --timezone is passed on (and refused), not taken as "use the default".
    run: async (db, v) => createSite(db, { org_id: s(v, "org"), name: s(v, "name"), ...(opt(v, "timezone") !== undefined ? { timezone: s(v, "timezone") } : {}) }, env),
  },
  "claim-code": {
    usage: "--site SITE_ID [--ttl-days 30] [--created-by WHO]",
    options: { site: { type: "string" }, "ttl-days": { type: "string" }, "created-by": { type: "string" } },
    required: ["site"],
    check: (v) => {
      const days = opt(v, "ttl-days");
      // createClaimCode checks the lifetime in ms; the user typed days, so the CLI says it in days first.
      if (days !== undefined && (!/^\d+(\.\d+)?$/.test(days) || Number(days) <= 0 || Number(days) * DAY_MS > MAX_CLAIM_CODE_TTL_MS)) {
        return `--ttl-days must be a number of days greater than 0 and at most ${MAX_CLAIM_CODE_TTL_MS / DAY_MS}: current value is ${JSON.stringify(days)}`;
      }
      return null;
    },
    run: async (db, v) => {
      const days = opt(v, "ttl-days");
      const c = await createClaimCode(db, { site_id: s(v, "site"), created_by: opt(v, "created-by") ?? "cli:admin", ...(days ? { ttl_ms: Math.round(Number(days) * DAY_MS) } : {}) }, env);
      return { code: c.code, id: c.id, site_id: c.site_id, expires_at: c.expires_at };
    },
  },
  "revoke-claim-code": {
    usage: "(--id CLAIM_ID | --code CODE)",
    options: { id: { type: "string" }, code: { type: "string" } },
    required: [],
    run: async (db, v) => {
      const id = opt(v, "id"), code = opt(v, "code");
      if ((id === undefined) === (code === undefined)) throw new RangeError("give exactly one of --id or --code");
      return revokeClaimCode(db, id !== undefined ? { id } : { code: code! }, env);
    },
  },
  "revoke-appliance": {
    usage: "--appliance APPLIANCE_ID [--reason TEXT]",
    options: { appliance: { type: "string" }, reason: { type: "string" } },
    required: ["appliance"],
    run: async (db, v, log) => {
      const r = await revokeAppliance({ db, clock: env.clock, log }, s(v, "appliance"), opt(v, "reason") ?? "revoked by admin");
      return { appliance_id: s(v, "appliance"), revoked_at: r.revoked_at };
    },
  },
  "list-pending": {
    usage: "[--all]   (waiting ones only, unless --all)",
    options: { all: { type: "boolean" } },
    required: [],
    run: async (db, v) => ({ pending: (await listPending(db)).filter((p) => v["all"] === true || p.state === "pending") }),
    human: (r) => {
      const pending = r["pending"] as PendingRecord[];
      if (pending.length === 0) return ["no drop-shipped appliance is waiting"];
      return pending.map((p) => `${p.id}  ${p.state}${p.site_id ? ` (site ${p.site_id})` : ""}  MAC ${p.macs.join(", ")}  last seen ${p.last_seen}  fingerprint ${p.fingerprint}`);
    },
  },
  "accept-pending": {
    usage: "--pending PENDING_ID --site SITE_ID --fingerprint FINGERPRINT [--by WHO]   (FINGERPRINT as the appliance's console or status page shows it)",
    options: { pending: { type: "string" }, site: { type: "string" }, fingerprint: { type: "string" }, by: { type: "string" } },
    required: ["pending", "site", "fingerprint"],
    run: async (db, v) => {
      // The same comparison as the dashboard's: the person accepting must have read the box they accept.
      const p = await acceptToSite(db, s(v, "site"), { pending_id: s(v, "pending"), fingerprint: s(v, "fingerprint") }, { clock: env.clock, accepted_by: opt(v, "by") ?? "cli:admin" });
      return { pending_id: p.id, state: p.state, site_id: p.site_id, fingerprint: p.fingerprint };
    },
  },
  "rotate-key": {
    usage: `[--key-file ${DEFAULT_KEY_FILE}] --new-key-file PATH`,
    options: { "key-file": { type: "string" }, "new-key-file": { type: "string" } },
    required: ["new-key-file"],
    run: async (db, v) => {
      const currentPath = resolve(opt(v, "key-file") ?? DEFAULT_KEY_FILE);
      const current = await readRelayKeyFile(currentPath);
      if (!current) throw new RelayError("config", `Relay key file ${currentPath} does not exist`);
      const nextPath = resolve(s(v, "new-key-file"));
      const next = await createRelayKeyFile(nextPath, env.random);
      const r = await rotateRelayKey(db, { currentSecretKey: current, nextSecretKey: next, nextKeyFile: nextPath }, env.clock);
      return { key_id: r.key_id, replaces: r.replaces, key_file: nextPath, next_step: `restart the relay with --key-file ${nextPath}` };
    },
  },
  "create-user": {
    usage: `--msp MSP_ID --email EMAIL --name NAME --role ROLE [--partner PARTNER_ID] [--org ORG_ID]   (password from $${NEW_PASSWORD_ENV}; client users may have none)`,
    options: { msp: { type: "string" }, email: { type: "string" }, name: { type: "string" }, role: { type: "string" }, partner: { type: "string" }, org: { type: "string" } },
    required: ["msp", "email", "name", "role"],
    run: async (db, v) => {
      const password = process.env[NEW_PASSWORD_ENV];
      const u = await createUser(
        db,
        s(v, "msp"),
        { email: s(v, "email"), name: s(v, "name"), role: s(v, "role"), ...(opt(v, "partner") ? { partner_id: opt(v, "partner") } : {}), ...(opt(v, "org") ? { org_id: opt(v, "org") } : {}), ...(password ? { password } : {}) },
        env,
      );
      return { user_id: u.id, email: u.email, role: u.role };
    },
  },
  "issue-order": {
    usage: `--appliance APPLIANCE_ID --type TYPE [--params JSON] [--ttl-s SECONDS] [--key-file ${DEFAULT_KEY_FILE}] [--by WHO]`,
    options: { appliance: { type: "string" }, type: { type: "string" }, params: { type: "string" }, "ttl-s": { type: "string" }, "key-file": { type: "string" }, by: { type: "string" } },
    required: ["appliance", "type"],
    run: async (db, v, log) => {
      let params: unknown = {};
      try {
        params = JSON.parse(opt(v, "params") ?? "{}");
      } catch (e) {
        throw new RangeError(`--params must be a JSON object: ${(e as Error).message}`);
      }
      const ttl = opt(v, "ttl-s");
      if (ttl !== undefined && !/^\d+$/.test(ttl)) throw new RangeError(`--ttl-s must be a whole number of seconds: current value is ${JSON.stringify(ttl)}`);
      const relayKey = await loadRelayKey(db, opt(v, "key-file") ?? DEFAULT_KEY_FILE, { ...env, log });
      const o = await issueOrder(db, { appliance_id: s(v, "appliance"), type: s(v, "type"), params, issued_by: cliIssuer(opt(v, "by")), ...(ttl ? { ttl_ms: Number(ttl) * 1000 } : {}) }, { ...env, relayKey });
      return { order_id: o.order_id, type: o.payload.type, appliance_id: o.payload.target_appliance_id, expires_at: o.payload.expires_at };
    },
  },
  "reencrypt-credentials": {
    usage: `--vault-key-file FILE --vault-previous-key-file OLD_FILE [--vault-previous-key-file …]   (or $${VAULT_KEY_ENV}=NEW,OLD)`,
    options: { "vault-key-file": { type: "string" }, "vault-previous-key-file": { type: "string", multiple: true } },
    required: [],
    run: async (db, v, log) => {
      const vault = await openVaultForReencrypt(db, v, log);
      const r = await reencryptVault(db, vault, env);
      return { key_id: vault.currentKeyId, reencrypted_credentials: r.credentials, reencrypted_channel_secrets: r.channel_secrets, unreadable: r.unreadable, remaining: r.remaining };
    },
    human: (r) => [
      `re-encrypted ${String(r["reencrypted_credentials"])} credentials and ${String(r["reencrypted_channel_secrets"])} notification channel secrets to vault key ${String(r["key_id"])}`,
      Number(r["remaining"]) === 0
        ? "nothing is left under older keys: restart the relay without --vault-previous-key-file"
        : `${String(r["remaining"])} secrets are still under other keys (${String(r["unreadable"])} could not be opened): keep the previous key files`,
    ],
  },
  "appliance-config": {
    usage: `--appliance APPLIANCE_ID [--pinned-system /nix/store/…|none] [--av-binary-sha256 HEX|none] [--firewall-baseline-file FILE|none] [--key-file ${DEFAULT_KEY_FILE}] [--by WHO]   (FILE: \`nft -j list ruleset\` output)`,
    options: { appliance: { type: "string" }, "pinned-system": { type: "string" }, "av-binary-sha256": { type: "string" }, "firewall-baseline-file": { type: "string" }, "key-file": { type: "string" }, by: { type: "string" } },
    required: ["appliance"],
    run: async (db, v, log) => {
      const change = await applianceConfigChangeFromArgs({ pinned_system: opt(v, "pinned-system"), av_binary_sha256: opt(v, "av-binary-sha256"), firewall_baseline_file: opt(v, "firewall-baseline-file") });
      const relayKey = await loadRelayKey(db, opt(v, "key-file") ?? DEFAULT_KEY_FILE, { ...env, log });
      const r = await setApplianceConfig({ db, clock: env.clock, relayKey }, s(v, "appliance"), change, `cli:${opt(v, "by") ?? "admin"}`);
      return { appliance_id: r.appliance_id, version: r.version, changed: r.changed, pinned_system: r.pinned_system, av_binary_sha256: r.av_binary_sha256, baseline_sha256: r.baseline_sha256, issued_at: r.issued_at };
    },
  },
};

/**
 * The vault for re-encryption: the current key file and previous ones must all exist (unlike `relay serve`,
 * this never creates a key), or the keys come from $OSIRIS_VAULT_KEY.
 */
async function openVaultForReencrypt(db: RelayDb, v: Values, log: RelayLog): Promise<CredentialVault> {
  const keyFile = opt(v, "vault-key-file");
  const previous = (v["vault-previous-key-file"] as string[] | undefined) ?? [];
  const envKeys = process.env[VAULT_KEY_ENV];
  if (keyFile === undefined) {
    if (!envKeys) throw new RangeError(`give --vault-key-file FILE (the new current key) and --vault-previous-key-file OLD_FILE, or set ${VAULT_KEY_ENV}=NEW,OLD`);
    if (previous.length > 0) throw new RangeError(`--vault-previous-key-file needs --vault-key-file (with ${VAULT_KEY_ENV}, list every key in it, current first)`);
    return createCredentialVault({ db, envKeys, random: env.random, log });
  }
  for (const path of [keyFile, ...previous]) {
    if (!(await readVaultKeyFile(resolve(path)))) throw new RelayError("config", `Vault key file ${resolve(path)} does not exist`);
  }
  if (previous.length === 0) log.warn("vault_no_previous_keys", { hint: "without --vault-previous-key-file nothing can be moved to the current key" });
  return createCredentialVault({ db, keyFile, previousKeyFiles: previous, random: env.random, log });
}

function stderrLog(): RelayLog {
  return jsonLog((line) => process.stderr.write(line), systemClock);
}

/** One subcommand's usage line, with the options every subcommand takes. */
function subcommandUsage(name: string, sub: Subcommand): string {
  return `Usage: osiris relay admin ${name} ${sub.usage}`.trimEnd() + `\n  every subcommand also takes --db URL|PATH (default ./${DEFAULT_DB}) and --json`;
}

function usage(): string {
  const lines = Object.entries(SUBCOMMANDS).map(([name, c]) => `  osiris relay admin ${name} ${c.usage}`.trimEnd());
  return `Usage (every subcommand also takes --db URL|PATH, default ./${DEFAULT_DB}, and --json):\n${lines.join("\n")}`;
}

export function run(args: string[]): Promise<number> {
  return runWith(args, consoleIo);
}

/** Runs one admin subcommand, writing to `io`. */
export async function runWith(args: string[], io: Io): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h") {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? 2 : 0;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    io.err(`osiris relay admin: unknown subcommand ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(subcommandUsage(name, sub));
    return 0;
  }
  let values: Values;
  try {
    values = parseArgs({ args: rest, options: { ...sub.options, db: { type: "string" }, json: { type: "boolean" } } }).values as Values;
  } catch (e) {
    io.err(`osiris relay admin ${name}: ${(e as Error).message}\n  osiris relay admin ${name} ${sub.usage}`);
    return 2;
  }
  const missing = sub.required.filter((k) => typeof values[k] !== "string");
  if (missing.length) {
    io.err(`osiris relay admin ${name}: missing ${missing.map((k) => `--${k}`).join(", ")}\n  osiris relay admin ${name} ${sub.usage}`);
    return 2;
  }
  const location = opt(values, "db") ?? DEFAULT_DB;
  const problem = sub.check?.(values) ?? (sub.createsDb ? null : missingRelayDbProblem(location));
  if (problem) {
    io.err(`osiris relay admin ${name}: ${problem}`);
    return 2;
  }
  let db: RelayDb | undefined;
  try {
    const log = io.log ?? stderrLog();
    db = await openCommandDb(location, log);
    const result = await sub.run(db, values, log);
    if (values["json"]) io.out(JSON.stringify(result));
    else if (sub.human) for (const line of sub.human(result)) io.out(line);
    else for (const [k, v] of Object.entries(result)) io.out(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    return 0;
  } catch (e) {
    // Input the relay finds malformed (a bad name, time zone or role; an argument out of range) is wrong usage.
    if (e instanceof ValidationError || e instanceof RangeError || (e instanceof RelayError && e.code === "schema")) {
      io.err(`osiris relay admin ${name}: ${e.message}`);
      return 2;
    }
    if (e instanceof RelayError) {
      io.err(`osiris relay admin ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    db?.close();
  }
}
