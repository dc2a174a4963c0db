import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { SQLD_BINARY, startSqld } from "../relay/_sqld.ts";
import { missingRelayDbProblem } from "./relay-db.ts";

const exec = promisify(execFile);
const OSIRIS = new URL("../bin/osiris.js", import.meta.url).pathname;

/** Runs `osiris …` as a real process in `cwd`; resolves with its exit code and output whatever the code. */
async function osiris(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await exec(process.execPath, [OSIRIS, ...args], { cwd })) };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test("report and evidence export refuse a --db that does not exist with one line and exit 2, creating no file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-relay-db-"));
  try {
    const hint = "(give --db the file `osiris relay serve` uses, or its libSQL server URL)";
    for (const [args, prefix] of [
      [["report", "sites", "--db", "typo.db"], "osiris report sites"],
      [["report", "packet", "--db", "typo.db", "--site", "site_x0000000", "--month", "2026-09", "--out", "p.pdf"], "osiris report packet"],
      [["evidence", "export", "--db", "file:typo.db", "--site", "site_x0000000", "--from", "2026-09-01", "--to", "2026-10-01", "--out", "k.zip"], "osiris evidence export"],
      [["relay", "admin", "create-site", "--db", "typo.db", "--org", "org_x0000000", "--name", "Main"], "osiris relay admin create-site"],
    ] as const) {
      const r = await osiris(dir, ...args);
      assert.is(r.code, 2, args.join(" "));
      assert.is(r.stderr.trim(), `${prefix}: no relay database at ${args[args.indexOf("--db") + 1]} ${hint}`);
      assert.is(r.stdout, "");
    }
    assert.equal(await readdir(dir), [], "no typo.db, -wal, -shm or output file");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("missingRelayDbProblem() leaves libSQL server URLs to the server and accepts existing files", () => {
  assert.is(missingRelayDbProblem("http://127.0.0.1:1"), null);
  assert.is(missingRelayDbProblem("libsql://db.example.test"), null);
  assert.is(missingRelayDbProblem(OSIRIS), null);
  assert.is(missingRelayDbProblem(`file:${OSIRIS}`), null);
  assert.match(missingRelayDbProblem("")!, /^--db: Cannot open the relay database as its location is empty/);
});

test("osiris report sites still works against a libSQL server (--db http://…)", async () => {
  if (!existsSync(SQLD_BINARY)) return void console.warn(`skipped: ${SQLD_BINARY} is not installed`);
  const sqld = await startSqld();
  const dir = await mkdtemp(join(tmpdir(), "osiris-relay-db-"));
  try {
    const r = await osiris(dir, "report", "sites", "--db", sqld.url);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.trim(), "no sites");
    const admin = await osiris(dir, "relay", "admin", "list-pending", "--db", sqld.url, "--json");
    assert.is(admin.code, 0, admin.stderr);
    assert.equal(JSON.parse(admin.stdout), { pending: [] });
  } finally {
    await sqld.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
