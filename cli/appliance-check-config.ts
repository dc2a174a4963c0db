/**
 * `osiris appliance check-config --config FILE`: validates an appliance config with the daemon's own loader
 * (`appliance/config` loadConfig), plus the files it references — the lab site and the credentials file — so
 * a config that passes here is one `osiris appliance run` accepts. The NixOS module runs it at build time
 * (nixos/module.nix `checkConfig`); it reads files only, never opens the database, the network or the state
 * directory.
 *
 * Exit 0 and `ok: <path>` with a short summary; exit 2 with one line per problem on stderr (also for usage
 * errors). Secrets are never printed: of a credentials file only the number of entries is shown.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, loadCredentialsFile, parseYamlMapping, type Config, type ConfigErrorCode } from "../appliance/config/index.ts";
import { LabError, loadLabSite } from "../appliance/lab/mod.ts";

export const summary = "validate an appliance config file (--config FILE); exit 0 ok, 2 with each problem";
const USAGE = "Usage: osiris appliance check-config --config FILE";

/**
 * Where systemd `LoadCredential=` places secret files. They exist only while the service runs, so at build
 * time (the NixOS module's check, in the Nix sandbox) a missing file there is expected, not an error.
 */
export const SYSTEMD_CREDENTIALS_PREFIX = "/run/credentials/";

export interface CheckResult {
  /** `ok: <path>` and summary lines when valid; otherwise empty. */
  lines: string[];
  /** One line per problem; empty when valid. */
  problems: string[];
}

/** Checks the config at `path` and the files it references. Never throws for a bad config. */
export async function checkConfig(path: string, fileExists: (p: string) => boolean = existsSync): Promise<CheckResult> {
  let config: Config;
  try {
    config = await loadConfig(path);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The file's own checks below still run where the values they need are usable, so one run names every
    // problem it can (a bad lab.site_dir too, not only after the schema errors are fixed).
    const later = SCHEMA_CODES.has(e.code) ? await fileProblems(path, await rawSettings(path), fileExists) : { problems: [] };
    return { lines: [], problems: [...describe(e), ...later.problems] };
  }
  const { problems, notes, labHosts } = await fileProblems(path, { lab_site_dir: config.lab?.site_dir, credentials_file: config.credentials_file }, fileExists);
  if (problems.length > 0) return { lines: [], problems };

  const relay = config.relay.url !== undefined;
  const site = config.site.id
    ? `${config.site.id}${config.site.name ? ` (${config.site.name})` : ""}`
    : relay
      ? "not set (the relay assigns it at enrollment)"
      : "not set: without relay.url, `osiris appliance run` needs site.id here, unless the appliance was enrolled with `osiris appliance enroll`";
  const explicit = config.targets.length;
  const targets =
    labHosts !== undefined && !config.targets.some((t) => t.collector === "lab")
      ? `${explicit + labHosts} (${labHosts} simulated lab ${labHosts === 1 ? "host" : "hosts"})`
      : String(explicit);
  const lines = [
    `ok: ${path}`,
    `  site:         ${site}`,
    `  healing mode: ${config.site.healing_mode}${relay ? " (until the relay's site settings replace it)" : ""}`,
    `  targets:      ${targets}`,
    `  relay:        ${config.relay.url ?? "none (standalone)"}`,
    ...notes.map((n) => `  ${n}`),
    // The lab's hosts are simulated; discovery is not: it probes these subnets on the real network.
    ...(config.lab && config.discovery.subnets.length > 0
      ? [`  warning: discovery probes ${config.discovery.subnets.join(", ")} on the real network, although this appliance's hosts are simulated (lab); remove discovery.subnets unless that network is yours to scan`]
      : []),
  ];
  return { lines, problems: [] };
}

/** ConfigError codes of a file that was read and parsed as YAML but failed validation. */
const SCHEMA_CODES: ReadonlySet<ConfigErrorCode> = new Set(["unknown_key", "missing_key", "invalid_value"]);

/** The referenced files' settings straight from a config that failed validation (paths resolved as the loader does). */
async function rawSettings(path: string): Promise<{ lab_site_dir?: string | undefined; credentials_file?: string | undefined }> {
  let raw: Record<string, unknown>;
  try {
    raw = parseYamlMapping(await readFile(path, "utf8"), path);
  } catch {
    return {};
  }
  const base = dirname(resolve(path));
  const file = (v: unknown) => (typeof v === "string" && v !== "" ? resolve(base, v) : undefined);
  const lab = raw["lab"];
  return { lab_site_dir: file(lab !== null && typeof lab === "object" ? (lab as Record<string, unknown>)["site_dir"] : undefined), credentials_file: file(raw["credentials_file"]) };
}

/** Checks of the files a config names: the lab site and the credentials file. */
async function fileProblems(path: string, files: { lab_site_dir?: string | undefined; credentials_file?: string | undefined }, fileExists: (p: string) => boolean): Promise<{ problems: string[]; notes: string[]; labHosts?: number }> {
  const problems: string[] = [];
  const notes: string[] = [];
  let labHosts: number | undefined;
  if (files.lab_site_dir !== undefined) {
    try {
      labHosts = loadLabSite(files.lab_site_dir).hosts.length;
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      problems.push(`${path}: lab.site_dir: ${e.message}`);
    }
  }

  if (files.credentials_file) {
    const file = files.credentials_file;
    if (file.startsWith(SYSTEMD_CREDENTIALS_PREFIX) && !fileExists(file)) {
      notes.push(`credentials: ${file} not checked (systemd LoadCredential provides it when the service starts)`);
    } else {
      try {
        const creds = await loadCredentialsFile(file);
        notes.push(`credentials: ${creds.size} ${creds.size === 1 ? "entry" : "entries"} in ${file} (values not shown)`);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...describe(e).map((p) => `credentials_file: ${p}`));
      }
    }
  }
  return { problems, notes, ...(labHosts !== undefined ? { labHosts } : {}) };
}

/** One line per issue; the file name in front, as the loader's own messages have it. */
function describe(e: ConfigError): string[] {
  if (e.details.issues.length <= 1) return [e.message];
  return e.details.issues.map((i) => (i.path === "" ? `${e.details.source}: ${i.message}` : `${e.details.source}: ${i.path}: ${i.message}`));
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } }));
  } catch (e) {
    console.error(`osiris appliance check-config: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) return console.log(USAGE), 0;
  if (!values.config) {
    console.error(`osiris appliance check-config: --config FILE is required\n${USAGE}`);
    return 2;
  }
  const result = await checkConfig(values.config);
  for (const p of result.problems) console.error(p);
  for (const l of result.lines) console.log(l);
  return result.problems.length === 0 ? 0 : 2;
}
