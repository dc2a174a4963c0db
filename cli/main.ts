/**
 * The `osiris` command line. One table names every subcommand and the module that implements it; modules are
 * imported only when their command runs, so `osiris --help` stays fast and a part's dependencies load only
 * for that part. Each command module exports `run(args: string[]): Promise<number>` (the exit code) and a
 * one-line `summary`.
 */
import { SOFTWARE_VERSION } from "../node/version.ts";

export interface CommandModule {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** Every subcommand: words → loader. Add a line here when a part adds a command. */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  version: async () => ({ summary: "print the version", run: async () => (console.log(version()), 0) }),
  demo: () => import("./demo.ts"),
  "evidence verify": () => import("./evidence-verify.ts"),
  "appliance run": () => import("./appliance-run.ts"),
  "appliance status": () => import("./appliance-status.ts"),
  "appliance enroll": () => import("./appliance-enroll.ts"),
  "appliance check-config": () => import("./appliance-check-config.ts"),
  "appliance helper": () => import("./appliance-helper.ts"),
  "evidence export": () => import("./evidence-export.ts"),
  report: () => import("./report.ts"),
  "relay serve": () => import("./relay-serve.ts"),
  "relay admin": () => import("./relay-admin.ts"),
  "windows preview": () => import("../appliance/heal/windows-cli.ts"),
};

function version(): string {
  return `osiris ${SOFTWARE_VERSION}`;
}

/** Lists the commands (those under `group`, e.g. "appliance", when given) with their summaries. */
async function help(group?: string): Promise<void> {
  const names = Object.keys(COMMANDS).filter((n) => group === undefined || n.startsWith(`${group} `));
  console.log(group === undefined ? `${version()}: OsirisCare compliance appliance and relay\n\nUsage: osiris <command> [options]\n\nCommands:` : `Usage: osiris ${group} <command> [options]\n\nCommands:`);
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    let summary = "";
    try {
      summary = (await COMMANDS[name]!()).summary;
    } catch (e) {
      summary = `(unavailable: ${(e as Error).message})`;
    }
    console.log(`  ${name.padEnd(width)}  ${summary}`);
  }
  console.log(`\nRun 'osiris <command> --help' for a command's options.`);
}

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h" || arg === "help";

/** Finds the longest command name that prefixes `argv` and runs it. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || isHelp(argv[0])) {
    await help();
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-v") argv = ["version"];
  for (let n = Math.min(3, argv.length); n > 0; n--) {
    const name = argv.slice(0, n).join(" ");
    const load = COMMANDS[name];
    if (load) return (await load()).run(argv.slice(n));
  }
  // A group's first word ("osiris appliance", "osiris relay --help"): list what it has.
  const group = argv[0]!;
  if (Object.keys(COMMANDS).some((n) => n.startsWith(`${group} `))) {
    if (argv.length > 1 && !isHelp(argv[1])) console.error(`osiris: unknown command '${argv.join(" ")}'.\n`);
    await help(group);
    return isHelp(argv[1]) ? 0 : 2;
  }
  console.error(`osiris: unknown command '${argv.join(" ")}'. Run 'osiris --help' for the list.`);
  return 2;
}

// Output piped into a reader that stops early (`osiris --help | head -1`) ends the command quietly, as for
// any Unix tool, instead of with an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
}

// Run when executed as the program (bin/osiris.js imports this module).
process.exitCode = await main(process.argv.slice(2));
