/**
 * Disk full on the database directory: the test mounts a 2 MiB tmpfs (needs root; skipped with a message
 * when mounting is not permitted), fills it with a ballast file, and appends until the disk is full.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openFixture, systemDraft, T0, type LogFixture } from "./_testing.ts";
import { EvidenceError } from "./errors.ts";

/** Small enough to fill in a moment, big enough for the database, its WAL and the key files. */
const TMPFS_SIZE = "2m";
/** Space left free after the ballast: a few batches of big bundles fill it. */
const HEADROOM_BYTES = 256 * 1024;
/** Padding per bundle: big bundles fill the disk in few appends. */
const PADDING = "x".repeat(16 * 1024);
/** Appends tried before giving up on filling the disk (2 MiB / 16 KiB ≈ 128 bundles). */
const MAX_FILL_APPENDS = 200;

function tryMount(dir: string): string | null {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    return null;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e).trim();
  }
}

/**
 * Unmounts the tmpfs. libsql releases a closed client's file descriptors only when it is garbage collected,
 * so a plain umount may find the mount busy; then detach it lazily (it is freed when this process exits).
 */
function unmount(dir: string): void {
  try {
    execFileSync("umount", [dir], { stdio: "pipe" });
  } catch {
    execFileSync("umount", ["-l", dir], { stdio: "pipe" });
  }
}

async function appendUntilFull(f: LogFixture, at: number): Promise<{ error: EvidenceError; appended: number }> {
  let appended = 0;
  for (let i = 0; i < MAX_FILL_APPENDS; i++) {
    try {
      await f.log.append([systemDraft(at + i, PADDING), systemDraft(at + i, PADDING)]);
      appended += 2;
    } catch (e) {
      if (e instanceof EvidenceError) return { error: e, appended };
      throw e;
    }
  }
  throw new Error(`the disk never filled after ${MAX_FILL_APPENDS} appends`);
}

test("disk full: append fails with disk_full, the process keeps working, nothing is corrupted, and appends resume when space returns", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-diskfull-"));
  const refused = tryMount(dir);
  if (refused !== null) {
    console.log(`  SKIPPED disk-full test: cannot mount a tmpfs here (${refused})`);
    await rmdir(dir);
    return;
  }
  let f: LogFixture | undefined;
  try {
    f = await openFixture(dir);
    await f.log.append([systemDraft(T0)]);
    const { bavail, bsize } = statfsSync(dir);
    const ballast = join(dir, "ballast");
    await writeFile(ballast, new Uint8Array(Math.max(0, bavail * bsize - HEADROOM_BYTES)));

    const { error, appended } = await appendUntilFull(f, T0 + 1000);
    assert.is(error.code, "disk_full", error.message);
    assert.match(error.message, "full");
    const before = await f.log.head();
    assert.is(before.seq, 1 + appended, "the failed append left nothing behind");

    // Still full: the next append fails the same clean way, and reads keep working.
    const again = await f.log.append([systemDraft(T0 + 5000, PADDING)]).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(again instanceof EvidenceError && again.code === "disk_full", String(again));
    assert.equal(await f.log.head(), before);
    const integrity = (await f.store.execute("PRAGMA integrity_check")).rows.map((r) => String(r[0]));
    assert.equal(integrity, ["ok"]);
    const v = await f.log.verifyLocal();
    assert.ok(v.ok && v.head.seq === before.seq, JSON.stringify(v));
    assert.ok(f.warnings.some((w) => w.startsWith("evidence_write_failed") && w.includes("disk_full")), "the failure is logged");

    await unlink(ballast);
    const { seqs } = await f.log.append([systemDraft(T0 + 6000, PADDING)]);
    assert.equal(seqs, [before.seq + 1]);
    const after = await f.log.verifyLocal();
    assert.ok(after.ok && after.head.seq === before.seq + 1, JSON.stringify(after));
    assert.ok(await f.log.checkpoint());
  } finally {
    f?.store.close();
    unmount(dir);
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
