/**
 * Which NixOS system produced the evidence: every bundle carries `nixos_revision` and `derivation_digest`
 * (docs/protocol.md, "appliance system identity"), so an auditor can tie a result to the exact build that
 * made it, and a change of system shows in the chain.
 *
 * Read from the running system's profile link (`/run/current-system` on NixOS):
 * - `derivation_digest`: the hash part of the Nix store path the link points at
 *   (`/nix/store/<32 characters>-nixos-system-<host>-<version>`), which names the whole system closure;
 * - `nixos_revision`: the first word of the system's `nixos-version` file (e.g. `24.11.20241231.edf04b7`).
 *
 * Anywhere else (a development machine, the lab demo, a test) both are null, which is what the bundles then
 * say: no value is ever made up. A value that does not have the expected shape is also left null.
 */
import { readFile, readlink } from "node:fs/promises";
import { resolve } from "node:path";

export const CURRENT_SYSTEM = "/run/current-system";

export interface SystemIdentity {
  nixos_revision: string | null;
  derivation_digest: string | null;
}

/** Nix's store hashes: 32 characters of its base-32 alphabet (no e, o, u, t). */
const STORE_PATH = /\/nix\/store\/([0-9abcdfghijklmnpqrsvwxyz]{32})-[^/]+$/;
const REVISION = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

export async function readSystemIdentity(link: string = CURRENT_SYSTEM): Promise<SystemIdentity> {
  let target: string;
  try {
    target = resolve(link, "..", await readlink(link));
  } catch {
    return { nixos_revision: null, derivation_digest: null };
  }
  const digest = STORE_PATH.exec(target)?.[1] ?? null;
  let revision: string | null = null;
  try {
    const word = (await readFile(`${target}/nixos-version`, "utf8")).trim().split(/\s+/)[0] ?? "";
    revision = REVISION.test(word) ? word : null;
  } catch {
    revision = null;
  }
  return { nixos_revision: revision, derivation_digest: digest };
}
