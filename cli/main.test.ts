/**
 * The `osiris` entry point as a user runs it (bin/osiris.js in a child process): command groups list their
 * commands, unknown ones are named, and output cut short by a pipe ends quietly.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const OSIRIS = fileURLToPath(new URL("../bin/osiris.js", import.meta.url));

function osiris(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [OSIRIS, ...args], (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

test("a command group's --help lists its commands (exit 0); the group alone lists them too (exit 2)", async () => {
  const help = await osiris(["appliance", "--help"]);
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /Usage: osiris appliance <command>/);
  for (const name of ["appliance run", "appliance status", "appliance enroll", "appliance check-config"]) assert.ok(help.stdout.includes(name), name);
  assert.not.ok(help.stdout.includes("relay serve"), "only the group's commands");
  const bare = await osiris(["relay"]);
  assert.is(bare.code, 2);
  assert.match(bare.stdout, /relay serve[\s\S]*relay admin/);
});

test("an unknown command in a group is named, with the group's commands; an unknown word points to --help", async () => {
  const r = await osiris(["appliance", "bogus"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown command 'appliance bogus'/);
  assert.match(r.stdout, /appliance check-config/);
  const w = await osiris(["bogus"]);
  assert.is(w.code, 2);
  assert.match(w.stderr, /unknown command 'bogus'\. Run 'osiris --help' for the list\./);
});

test("output piped into a reader that stops early ends quietly, without an EPIPE stack trace", async () => {
  const r = await new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
    execFile("sh", ["-c", `"${process.execPath}" "${OSIRIS}" --help | head -c 10`], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
  assert.is(r.stdout, "osiris 0.1", "the first 10 bytes arrived");
  assert.is(r.stderr, "", "nothing on stderr");
});

test.run();
