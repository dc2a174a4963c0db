/**
 * `osiris appliance helper <action> --config FILE`: one privileged step, run as root by systemd in
 * `osiris-helper@<action>.service` (nixos/module.nix), which the unprivileged daemon may start by name through
 * polkit. Actions: switch-pinned, switch-previous, firewall-snapshot, firewall-baseline, journal-vacuum,
 * collect-garbage, luks-status (appliance/helpers/).
 *
 * The command line is exactly an action and `--config FILE`; anything else (another word, an unknown option,
 * a repeated one) is refused with exit 2 and nothing runs. What an action acts on — the pinned system, the
 * firewall baseline, sizes — comes from signed data in the appliance's store, never from its caller.
 *
 * Exit 0 success (or nothing to do), 1 failed or rolled back, 3 refused (signed input missing or not
 * verified), 2 usage or config error. Each run of a known action writes its result to
 * `/run/osiris/helper/<action>.json` and prints one line for the journal. Signed input is verified against
 * the helper's own trust anchor, /var/lib/osiris-helper/trust.json (appliance/helpers/trust-anchor.ts). For
 * tests, `OSIRIS_HELPER_RESULT_DIR` and `OSIRIS_HELPER_TRUST_FILE` override the two.
 */
import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../appliance/config/index.ts";
import { createCommandRunner, DEFAULT_HELPER_PATHS, DEFAULT_TRUST_FILE, HELPER_ACTIONS, isHelperAction, readSignedState, runHelperAction, type HelperDeps } from "../appliance/helpers/index.ts";

export const summary = "run one privileged appliance step as root (osiris-helper@<action>.service; --config FILE)";
const USAGE = `Usage: osiris appliance helper <${HELPER_ACTIONS.join("|")}> --config FILE`;
const NAME = "osiris appliance helper";

/** The action and config path, or the reason the command line is refused. */
export function parseHelperArgs(args: readonly string[]): { action: (typeof HELPER_ACTIONS)[number]; config: string } | { help: true } | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { config: { type: "string" }, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    return { error: (e as Error).message };
  }
  const { values, positionals, tokens } = parsed;
  if (values.help && args.length === 1) return { help: true };
  const configs = tokens.filter((t) => t.kind === "option" && t.name === "config").length;
  if (values.help) return { error: "--help takes no other arguments" };
  if (positionals.length !== 1) return { error: positionals.length === 0 ? "an action is required" : `exactly one action is accepted, got ${positionals.length} words: ${positionals.map((p) => JSON.stringify(p.slice(0, 40))).join(" ")}` };
  const action = positionals[0]!;
  if (!isHelperAction(action)) return { error: `unknown action ${JSON.stringify(action.slice(0, 60))}; expected one of ${HELPER_ACTIONS.join(", ")}` };
  if (configs !== 1 || !values.config) return { error: configs > 1 ? "--config may be given once" : "--config FILE is required" };
  return { action, config: values.config };
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseHelperArgs(args);
  if ("help" in parsed) return console.log(USAGE), 0;
  if ("error" in parsed) {
    console.error(`${NAME}: ${parsed.error}\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = await loadConfig(parsed.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`${NAME}: ${e.message}`);
    return 2;
  }
  const resultDir = process.env["OSIRIS_HELPER_RESULT_DIR"] ?? DEFAULT_HELPER_PATHS.resultDir;
  if (!isAbsolute(resultDir)) {
    console.error(`${NAME}: OSIRIS_HELPER_RESULT_DIR must be an absolute path: current value is ${JSON.stringify(resultDir)}`);
    return 2;
  }
  // The helper's own trust anchor (root-only; OSIRIS_HELPER_TRUST_FILE overrides it, for tests).
  const trustFile = process.env["OSIRIS_HELPER_TRUST_FILE"] ?? DEFAULT_TRUST_FILE;
  if (!isAbsolute(trustFile)) {
    console.error(`${NAME}: OSIRIS_HELPER_TRUST_FILE must be an absolute path: current value is ${JSON.stringify(trustFile)}`);
    return 2;
  }
  // Results are readable by the daemon's group: the group that owns its state directory (systemd StateDirectory).
  const resultGid = await stat(config.state_dir).then((s) => s.gid, () => undefined);
  const deps: HelperDeps = {
    run: createCommandRunner(),
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    paths: { ...DEFAULT_HELPER_PATHS, resultDir },
    readState: () => readSignedState(config.database, { trustFile }),
    ...(resultGid !== undefined ? { resultGid } : {}),
  };
  const { result, path } = await runHelperAction(parsed.action, deps);
  const line = `${parsed.action} ${result.outcome}: ${result.detail} (result in ${path})`;
  if (result.exit_code === 0) console.log(line);
  else console.error(line);
  return result.exit_code;
}
