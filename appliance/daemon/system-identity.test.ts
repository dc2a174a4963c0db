/**
 * readSystemIdentity against a profile link laid out as NixOS lays out /run/current-system (in a temporary
 * directory: this machine is not NixOS), and against no link at all.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSystemIdentity } from "./system-identity.ts";

const HASH = "0c7xk5d3gl6qrsqh5wi9yyvmbbndxk2a";

async function withSystem(version: string | null, storeName: string, fn: (link: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-system-"));
  try {
    const target = join(dir, "nix", "store", storeName);
    await mkdir(target, { recursive: true });
    if (version !== null) await writeFile(join(target, "nixos-version"), version);
    await symlink(target, join(dir, "current-system"));
    await fn(join(dir, "current-system"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("a NixOS profile link gives the system's store hash and its NixOS revision", async () => {
  await withSystem("24.11.20241231.edf04b7 (Vicuna)\n", `${HASH}-nixos-system-osiriscare-appliance-24.11.20241231.edf04b7`, async (link) => {
    assert.equal(await readSystemIdentity(link), { nixos_revision: "24.11.20241231.edf04b7", derivation_digest: HASH });
  });
});

test("no link (not NixOS), a target outside the Nix store or a missing version file: null, never a made-up value", async () => {
  assert.equal(await readSystemIdentity(join(tmpdir(), "osiris-no-such-system")), { nixos_revision: null, derivation_digest: null });
  await withSystem("24.11", "not-a-store-path", async (link) => {
    assert.equal(await readSystemIdentity(link), { nixos_revision: "24.11", derivation_digest: null });
  });
  await withSystem(null, `${HASH}-nixos-system-x`, async (link) => {
    assert.equal(await readSystemIdentity(link), { nixos_revision: null, derivation_digest: HASH });
  });
  await withSystem("$(rm -rf /)", `${HASH}-nixos-system-x`, async (link) => {
    assert.is((await readSystemIdentity(link)).nixos_revision, null, "a revision of an unexpected shape is not stamped");
  });
});

test.run();
