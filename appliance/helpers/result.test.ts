import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmod, link, lstat, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isoTime } from "../../protocol/ids.ts";
import { HelperError } from "./errors.ts";
import { HELPER_RESULT_SCHEMA, readResult, resultPath, writeResult, type HelperResult } from "./result.ts";

const uid = process.getuid?.() ?? 0;

function result(detail: string, over: Partial<HelperResult> = {}): HelperResult {
  return {
    schema: HELPER_RESULT_SCHEMA,
    action: "firewall-snapshot",
    started_at: isoTime(Date.parse("2026-11-28T10:00:00.000Z")),
    finished_at: isoTime(Date.parse("2026-11-28T10:00:01.000Z")),
    outcome: "success",
    detail,
    exit_code: 0,
    commands: [],
    firewall: { ruleset_sha256: "a".repeat(64), has_chain: true },
    ...over,
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-helper-result-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rejects = async (p: Promise<unknown>, code: string, re?: RegExp) => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HelperError && e.code === code, `expected HelperError ${code}, got ${String(e)}`);
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected HelperError ${code}`);
};

test("writeResult creates the directory 0750 and the file 0640, and readResult returns what was written", async () => {
  await withDir(async (dir) => {
    const out = join(dir, "run/osiris/helper");
    const path = await writeResult(out, result("ruleset abc"), { gid: process.getgid?.() ?? 0 });
    assert.is(path, resultPath(out, "firewall-snapshot"));
    assert.is((await lstat(out)).mode & 0o777, 0o750);
    assert.is((await lstat(path)).mode & 0o777, 0o640, "group may read, nobody else, nobody but root writes");
    assert.equal(await readResult(out, "firewall-snapshot", { ownerUid: uid }), result("ruleset abc"));
  });
});

test("writeResult keeps mode 0640 even under a umask of 0077 (the helper unit's)", async () => {
  await withDir(async (dir) => {
    const old = process.umask(0o077);
    try {
      const path = await writeResult(dir, result("x"));
      assert.is((await lstat(path)).mode & 0o777, 0o640);
    } finally {
      process.umask(old);
    }
  });
});

test("writeResult replaces the file by rename: a reader of the old file still sees it whole, no temp file remains", async () => {
  await withDir(async (dir) => {
    const path = await writeResult(dir, result("first"));
    const old = join(dir, "old-link.json");
    await link(path, old); // a reader holding the old inode
    await writeResult(dir, result("second"));
    assert.is(JSON.parse(await readFile(old, "utf8")).detail, "first", "the old inode was not rewritten in place");
    assert.is(JSON.parse(await readFile(path, "utf8")).detail, "second");
    assert.equal((await readdir(dir)).sort(), ["firewall-snapshot.json", "old-link.json"]);
  });
});

test("a reader polling during many rewrites only ever sees complete results", async () => {
  await withDir(async (dir) => {
    await writeResult(dir, result("d0"));
    let stop = false;
    let reads = 0;
    const torn: string[] = [];
    const reader = (async () => {
      while (!stop) {
        try {
          const r = await readResult(dir, "firewall-snapshot", { ownerUid: uid });
          if (!/^d\d+$/.test(r.detail)) torn.push(r.detail);
        } catch (e) {
          torn.push((e as Error).message);
        }
        reads++;
      }
    })();
    for (let i = 1; i <= 150; i++) await writeResult(dir, result(`d${i}`, { detail: `d${i}` }));
    stop = true;
    await reader;
    assert.ok(reads > 0);
    assert.equal(torn.slice(0, 3), [], "every read saw a complete result");
    assert.is((await readResult(dir, "firewall-snapshot", { ownerUid: uid })).detail, "d150");
  });
});

test("writeResult refuses a result directory that is a symlink (the daemon must not redirect results)", async () => {
  await withDir(async (dir) => {
    await symlink(tmpdir(), join(dir, "helper"));
    await rejects(writeResult(join(dir, "helper"), result("x")), "unsafe_path", /not a directory/);
  });
});

test("writeResult validates the result before touching the disk", async () => {
  await withDir(async (dir) => {
    let threw = false;
    try {
      await writeResult(join(dir, "out"), { ...result("x"), outcome: "maybe" } as unknown as HelperResult);
    } catch {
      threw = true;
    }
    assert.ok(threw);
    assert.equal(await readdir(dir), []);
  });
});

test("readResult: no file is no_result; a symlink, another owner or a group-writable file is unsafe_path", async () => {
  await withDir(async (dir) => {
    await rejects(readResult(dir, "collect-garbage"), "no_result");
    const path = await writeResult(dir, result("x"));
    await rejects(readResult(dir, "firewall-snapshot", { ownerUid: uid + 1 }), "unsafe_path", /owned by uid/);
    await chmod(path, 0o660);
    await rejects(readResult(dir, "firewall-snapshot", { ownerUid: uid }), "unsafe_path", /mode 660/);
    await rm(path);
    await writeFile(join(dir, "elsewhere.json"), JSON.stringify(result("planted")), { mode: 0o640 });
    await symlink(join(dir, "elsewhere.json"), path);
    await rejects(readResult(dir, "firewall-snapshot", { ownerUid: uid }), "unsafe_path", /symbolic link/);
  });
});

test("readResult: garbage, another schema or another action's result is invalid_result", async () => {
  await withDir(async (dir) => {
    const path = resultPath(dir, "journal-vacuum");
    await writeFile(path, "{not json", { mode: 0o640 });
    await rejects(readResult(dir, "journal-vacuum", { ownerUid: uid }), "invalid_result", /not JSON/);
    await writeFile(path, JSON.stringify({ ...result("x"), schema: "other/v1" }), { mode: 0o640 });
    await rejects(readResult(dir, "journal-vacuum", { ownerUid: uid }), "invalid_result", /osiris\.helper-result\/v1/);
    await writeFile(path, JSON.stringify(result("x")), { mode: 0o640 });
    await rejects(readResult(dir, "journal-vacuum", { ownerUid: uid }), "invalid_result", /for firewall-snapshot, not journal-vacuum/);
  });
});

test.run();
