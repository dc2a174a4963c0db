/**
 * The nixosTests and the image's units cannot run here (no nixpkgs, no VM), so nothing would notice when a
 * command line in them drifts from the real CLI. This test reads every `osiris …` command line in
 * nixos/tests/*.nix, iso/*.{nix,sh} and the modules, and every `relay_admin("SUB …")` call of the test
 * scripts, resolves the command as cli/main.ts does, and checks each `--flag` against that command's real
 * `--help` text (the CLI itself, run as a process).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

/** The command words cli/main.ts knows ("relay admin", "appliance status", "report", …). */
function commandWords(): string[] {
  const main = readFileSync(join(ROOT, "cli/main.ts"), "utf8");
  const block = main.slice(main.indexOf("const COMMANDS"), main.indexOf("};", main.indexOf("const COMMANDS")));
  return [...block.matchAll(/^\s*(?:"([a-z -]+)"|([a-z]+)):/gm)].map((m) => (m[1] ?? m[2])!);
}

interface Use {
  file: string;
  line: number;
  /** The command words plus, for `relay admin`, its subcommand. */
  command: string;
  flags: string[];
}

const FLAG = /(?<![\w-])--([a-z][a-z0-9-]*)/g;

function usesIn(file: string, words: string[]): Use[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const uses: Use[] = [];
  text.split("\n").forEach((lineText, i) => {
    for (const m of lineText.matchAll(/\bosiris ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)([^"'`\n]*)/g)) {
      const [w1, w2] = m[1]!.split(" ");
      const command = words.find((w) => w === `${w1} ${w2}`) ?? words.find((w) => w === w1);
      if (!command) continue;
      const rest = command.includes(" ") ? m[2]! : `${w2 ? ` ${w2}` : ""}${m[2]!}`;
      // `relay admin {args}` is checked through relay_admin()'s calls below.
      const sub = command === "relay admin" ? /^\s+([a-z][a-z-]+)/.exec(rest)?.[1] : undefined;
      if (command === "relay admin" && !sub) continue;
      uses.push({ file, line: i + 1, command: sub ? `${command} ${sub}` : command, flags: [...rest.matchAll(FLAG)].map((f) => f[1]!) });
    }
    for (const m of lineText.matchAll(/\brelay_admin\(f?"([a-z][a-z-]+)([^"]*)"/g)) {
      uses.push({ file, line: i + 1, command: `relay admin ${m[1]}`, flags: [...m[2]!.matchAll(FLAG)].map((f) => f[1]!) });
    }
  });
  return uses;
}

const FILES = [
  ...readdirSync(join(ROOT, "nixos/tests")).filter((f) => f.endsWith(".nix")).map((f) => `nixos/tests/${f}`),
  ...readdirSync(join(ROOT, "iso")).filter((f) => /\.(nix|sh)$/.test(f)).map((f) => `iso/${f}`),
  ...readdirSync(join(ROOT, "nixos")).filter((f) => f.endsWith(".nix")).map((f) => `nixos/${f}`),
];

/** `osiris COMMAND --help`, as a user would read it. */
async function helpOf(command: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", join(ROOT, "cli/main.ts"), ...command.split(" "), "--help"], { cwd: ROOT, timeout: 60_000 }).catch((e: { stdout: string; stderr: string }) => e);
  return `${stdout}${stderr}`;
}

test("every osiris command line in the nixosTests, the image and the modules uses flags the CLI has", async () => {
  const words = commandWords();
  assert.ok(words.includes("relay admin") && words.includes("appliance enroll"), `commands read from cli/main.ts: ${words.join(", ")}`);
  const uses = FILES.flatMap((f) => usesIn(f, words));
  assert.ok(uses.length >= 20, `found ${uses.length} command lines: the patterns no longer match the test scripts`);
  assert.ok(uses.some((u) => u.command === "relay admin create-site") && uses.some((u) => u.command === "appliance enroll"), "relay_admin() calls and direct command lines are both read");
  const commands = [...new Set(uses.map((u) => u.command))];
  const help = new Map(await Promise.all(commands.map(async (c) => [c, await helpOf(c)] as const)));
  const wrong: string[] = [];
  for (const u of uses) {
    const text = help.get(u.command)!;
    if (u.command !== "version" && !/Usage/.test(text)) wrong.push(`${u.file}:${u.line}: osiris ${u.command} is not a command (its --help says: ${text.trim().slice(0, 120)})`);
    for (const flag of u.flags) if (!text.includes(`--${flag}`)) wrong.push(`${u.file}:${u.line}: osiris ${u.command} has no --${flag}`);
  }
  assert.equal(wrong, [], wrong.join("\n"));
});

test.run();
