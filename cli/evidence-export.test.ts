import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { enrolledAppliance, testRelay } from "../relay/_testing.ts";
import { memoryLog } from "../relay/log.ts";
import { parseTime, runWith } from "./evidence-export.ts";
import type { Io } from "./relay-admin.ts";

const exec = promisify(execFile);
const OSIRIS = new URL("../bin/osiris.js", import.meta.url).pathname;

/** Runs `osiris …` as a real process; resolves with its exit code and output whatever the code. */
async function osiris(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await exec(process.execPath, [OSIRIS, ...args])) };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function capture(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => void lines.push(l), err: (l) => void errors.push(l), log: memoryLog().log };
}

test("osiris evidence export writes byte-identical ZIPs for the same inputs, and osiris evidence verify accepts them", async () => {
  const relay = await testRelay();
  try {
    const a = await enrolledAppliance(relay);
    for (let i = 0; i < 2; i++) {
      relay.clock.t += 10 * 60_000;
      const res = await a.push(a.entries(await a.makeBundles(5)), await a.checkpoint());
      assert.is(res.status, 200);
    }
    const db = join(relay.dir, "relay.db");
    const args = (out: string) => ["--db", db, "--key-file", join(relay.dir, "relay.key"), "--site", relay.siteId, "--from", "2026-11-27", "--to", "2026-11-28T00:00:00Z", "--out", out];
    const io = capture();
    assert.is(await runWith(args(join(relay.dir, "one.zip")), io), 0, io.errors.join("\n"));
    assert.match(io.lines[0]!, /^wrote .*one\.zip: \d+ bytes, 1 appliance/);
    assert.is(await runWith(args(join(relay.dir, "two.zip")), capture()), 0);
    const [one, two] = await Promise.all([readFile(join(relay.dir, "one.zip")), readFile(join(relay.dir, "two.zip"))]);
    assert.ok(one.equals(two), "same inputs, byte-identical ZIP");

    const verified = await exec(process.execPath, [OSIRIS, "evidence", "verify", join(relay.dir, "one.zip")]);
    assert.match(verified.stdout, /^OK .*10 bundles from 1 appliance/m);
    assert.match(verified.stdout, new RegExp(`manifest signed by ${relay.relayKey.name.replace(/[./]/g, "\\$&")}: site ${relay.siteId}, 2026-11-27T00:00:00\\.000Z to 2026-11-28T00:00:00\\.000Z`));

    // Without the relay's key file nothing is exported: the manifest could not be signed.
    const keyless = capture();
    assert.is(await runWith(["--db", db, "--key-file", join(relay.dir, "nope.key"), "--site", relay.siteId, "--from", "2026-11-27", "--to", "2026-11-28", "--out", join(relay.dir, "three.zip")], keyless), 1);
    assert.match(keyless.errors.join("\n"), /Relay key file .*nope\.key does not exist: give the relay's key file with --key-file \(it signs what is exported\)/);
    assert.not.ok((await readdir(relay.dir)).includes("three.zip"));
  } finally {
    await relay.close();
  }
});

test("osiris evidence export refuses wrong usage with exit 2 and an unknown site with exit 1", async () => {
  const relay = await testRelay();
  try {
    const db = join(relay.dir, "relay.db");
    const out = join(relay.dir, "x.zip");
    assert.is(await runWith(["--db", db, "--site", relay.siteId, "--out", out], capture()), 2);
    assert.is(await runWith(["--db", db, "--site", relay.siteId, "--from", "yesterday", "--to", "2026-11-28", "--out", out], capture()), 2);
    assert.is(await runWith(["--db", db, "--site", relay.siteId, "--from", "2026-11-28", "--to", "2026-11-27", "--out", out], capture()), 2);
    const io = capture();
    assert.is(await runWith(["--db", db, "--key-file", join(relay.dir, "relay.key"), "--site", "site_nope0000000", "--from", "2026-11-27", "--to", "2026-11-28", "--out", out], io), 1);
    assert.match(io.errors.join("\n"), /does not exist/);
  } finally {
    await relay.close();
  }
});

test("osiris evidence export refuses an --out in a missing directory or naming a directory, with one line, exit 2 and no file left", async () => {
  const relay = await testRelay();
  try {
    const db = join(relay.dir, "relay.db");
    await mkdir(join(relay.dir, "kits"));
    const args = ["evidence", "export", "--db", db, "--key-file", join(relay.dir, "relay.key"), "--site", relay.siteId, "--from", "2026-11-27", "--to", "2026-11-28"];
    const missing = await osiris(...args, "--out", "/nonexistent/dir/k.zip");
    assert.is(missing.code, 2);
    assert.is(missing.stderr.trim(), "osiris evidence export: --out /nonexistent/dir/k.zip: the directory /nonexistent/dir does not exist (create it first or choose another path)");
    const dir = await osiris(...args, "--out", join(relay.dir, "kits"));
    assert.is(dir.code, 2);
    assert.match(dir.stderr.trim(), /^osiris evidence export: --out .*\/kits is a directory: give a file name in it, e\.g\. --out .*\/kits\/<name>$/);
    assert.equal(await readdir(join(relay.dir, "kits")), []);
    assert.equal((await readdir(relay.dir)).filter((f) => f.endsWith(".tmp")), [], "no temporary file left");
  } finally {
    await relay.close();
  }
});

test("parseTime() takes a date (UTC midnight) or an RFC 3339 time and nothing looser", () => {
  assert.is(parseTime("2026-11-01"), Date.UTC(2026, 10, 1));
  assert.is(parseTime("2026-11-01T06:00:00+02:00"), Date.UTC(2026, 10, 1, 4));
  assert.ok(Number.isNaN(parseTime("Nov 1 2026")));
  assert.ok(Number.isNaN(parseTime("2026-11-01 00:00")));
});

test.run();
