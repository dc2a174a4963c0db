import { chmod, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StoreError, type StoreErrorCode } from "./errors.ts";
import { ensurePrivateDir, KEY_FILES, keyFileExists, readKeyFile, writeKeyFile } from "./keyfiles.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-keys-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function fails(promise: Promise<unknown>, code: StoreErrorCode, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
    assert.is(e.code, code, e.message);
    assert.match(e.message, message);
    return;
  }
  assert.unreachable("succeeded");
}

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

test("writeKeyFile writes mode 0600 and readKeyFile returns the bytes", async () => {
  await withDir(async (dir) => {
    const path = join(dir, KEY_FILES.evidence);
    await writeKeyFile(path, KEY);
    assert.is((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await readKeyFile(path), KEY);
    assert.ok(await keyFileExists(path));
    assert.not.ok(await keyFileExists(join(dir, KEY_FILES.identity)));
    // No temporary file is left behind.
    assert.equal(await readdir(dir), [KEY_FILES.evidence]);
  });
});

test("writeKeyFile never overwrites a key unless asked to replace it", async () => {
  await withDir(async (dir) => {
    const path = join(dir, KEY_FILES.relayToken);
    await writeKeyFile(path, KEY);
    await fails(writeKeyFile(path, new Uint8Array([9])), "key_file_exists", /already exists; refusing to overwrite/);
    assert.equal(await readKeyFile(path), KEY);
    await writeKeyFile(path, new Uint8Array([9]), { replace: true });
    assert.equal(await readKeyFile(path), new Uint8Array([9]));
    assert.is((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await readdir(dir), [KEY_FILES.relayToken]);
  });
});

test("writeKeyFile keeps mode 0600 under a permissive umask", async () => {
  await withDir(async (dir) => {
    const old = process.umask(0);
    try {
      await writeKeyFile(join(dir, "k"), KEY);
    } finally {
      process.umask(old);
    }
    assert.is((await stat(join(dir, "k"))).mode & 0o777, 0o600);
  });
});

test("readKeyFile refuses files others can read, symlinks, missing and empty files", async () => {
  await withDir(async (dir) => {
    const loose = join(dir, "loose.key");
    await writeFile(loose, KEY);
    await chmod(loose, 0o640);
    await fails(readKeyFile(loose), "key_file_permissions", /must be mode 0600 \(owner only\); saw mode 0640/);
    const good = join(dir, "good.key");
    await writeKeyFile(good, KEY);
    const link = join(dir, "link.key");
    await symlink(good, link);
    await fails(readKeyFile(link), "key_file_permissions", /is a symbolic link/);
    await fails(readKeyFile(join(dir, "none.key")), "key_file_missing", /none\.key does not exist/);
    const empty = join(dir, "empty.key");
    await writeFile(empty, "");
    await chmod(empty, 0o600);
    await fails(readKeyFile(empty), "key_file_invalid", /must hold 1\.\.65536 bytes; saw 0/);
  });
});

test("writeKeyFile rejects empty data and reports an unwritable directory", async () => {
  await withDir(async (dir) => {
    try {
      await writeKeyFile(join(dir, "k"), new Uint8Array());
      assert.unreachable();
    } catch (e) {
      assert.instance(e, RangeError);
    }
    await fails(writeKeyFile(join(dir, "missing-dir", "k"), KEY), "key_file_write_failed", /cannot write key file .*ENOENT/);
  });
});

test("ensurePrivateDir creates a 0700 directory and refuses a shared one", async () => {
  await withDir(async (dir) => {
    const state = join(dir, "var", "lib", "osiris");
    await ensurePrivateDir(state);
    assert.is((await stat(state)).mode & 0o777, 0o700);
    await ensurePrivateDir(state);
    await chmod(state, 0o755);
    await fails(ensurePrivateDir(state), "key_file_permissions", /must be mode 0700 \(owner only\); saw mode 0755/);
  });
});

test.run();
