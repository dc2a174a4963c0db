/**
 * NixOS system profile generations as the file system shows them: the profile `/nix/var/nix/profiles/system`
 * is a symlink to `system-<N>-link`, and each `system-<N>-link` beside it points at a system closure in the
 * Nix store. Read with readdir/readlink only (no `nix-env --list-generations` output to parse), bounded.
 */
import { readdir, readlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { NIX_STORE_PATH } from "./signed-config.ts";

/** Most generations looked at: a profile that keeps thousands is itself the problem being cleaned up. */
export const MAX_GENERATIONS = 10_000;

export interface Generation {
  readonly number: number;
  /** The closure it points at, or null when the link is not a store path. */
  readonly system: string | null;
}

const LINK = /^(.+)-(\d{1,9})-link$/;

/** The generation the profile points at, or null when it is not a `<name>-<N>-link` symlink. */
export async function profileGeneration(profile: string): Promise<number | null> {
  try {
    const m = LINK.exec(basename(await readlink(profile)));
    return m && m[1] === basename(profile) ? Number(m[2]) : null;
  } catch {
    return null;
  }
}

/** Every generation of `profile`, oldest first. */
export async function listGenerations(profile: string): Promise<Generation[]> {
  const dir = dirname(profile);
  const name = basename(profile);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const out: Generation[] = [];
  for (const entry of entries) {
    const m = LINK.exec(entry);
    if (!m || m[1] !== name) continue;
    if (out.length >= MAX_GENERATIONS) break;
    let target: string | null = null;
    try {
      const t = await readlink(join(dir, entry));
      target = NIX_STORE_PATH.test(t) ? t : null;
    } catch {
      target = null;
    }
    out.push({ number: Number(m[2]), system: target });
  }
  return out.sort((a, b) => a.number - b.number);
}

/** Symlink hops followed from /run/current-system to its closure (it is one hop on NixOS). */
const MAX_HOPS = 8;

/**
 * The closure a path (e.g. /run/current-system) points at, following symlinks until one names a store path,
 * or null when the chain ends elsewhere. As `readlink -f` would report it on NixOS, without needing the
 * closure itself to be readable.
 */
export async function resolvedSystem(path: string): Promise<string | null> {
  let p = path;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    let target: string;
    try {
      target = await readlink(p);
    } catch {
      return NIX_STORE_PATH.test(p) ? p : null;
    }
    p = resolve(dirname(p), target);
    if (NIX_STORE_PATH.test(p)) return p;
  }
  return null;
}
