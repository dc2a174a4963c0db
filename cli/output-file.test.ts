import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OutputFileError, outputFileProblem, writeFileAtomically } from "./output-file.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-output-file-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("outputFileProblem() accepts a new or existing file in an existing directory and names what is wrong otherwise", async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, "old.pdf"), "x");
    await mkdir(join(dir, "sub"));
    assert.is(await outputFileProblem("--out", join(dir, "new.pdf")), null);
    assert.is(await outputFileProblem("--out", join(dir, "old.pdf")), null);
    assert.is(await outputFileProblem("--out", join(dir, "nope", "p.pdf")), `--out ${join(dir, "nope", "p.pdf")}: the directory ${join(dir, "nope")} does not exist (create it first or choose another path)`);
    assert.is(await outputFileProblem("--kit", join(dir, "sub")), `--kit ${join(dir, "sub")} is a directory: give a file name in it, e.g. --kit ${join(dir, "sub")}/<name>`);
    assert.is(await outputFileProblem("--out", join(dir, "old.pdf", "p.pdf")), `--out ${join(dir, "old.pdf", "p.pdf")}: ${join(dir, "old.pdf")} is not a directory`);
  });
});

test("writeFileAtomically() replaces the file whole, and on failure throws OutputFileError and leaves no temporary file", async () => {
  await withDir(async (dir) => {
    await writeFileAtomically(join(dir, "a.pdf"), new TextEncoder().encode("one"));
    await writeFileAtomically(join(dir, "a.pdf"), new TextEncoder().encode("two"));
    assert.is(await readFile(join(dir, "a.pdf"), "utf8"), "two");
    await mkdir(join(dir, "sub"));
    try {
      await writeFileAtomically(join(dir, "sub"), new Uint8Array(1)); // the rename fails: a directory is in the way
      assert.unreachable("should have thrown");
    } catch (e) {
      assert.instance(e, OutputFileError);
      assert.is((e as Error).message, `cannot write ${join(dir, "sub")}: it is a directory`);
    }
    assert.equal((await readdir(dir)).sort(), ["a.pdf", "sub"]);
  });
});

test.run();
