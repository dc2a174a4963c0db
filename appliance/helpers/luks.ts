/**
 * Helper action `luks-status` (fact `luks.unencrypted_volumes`): which mounted filesystems sit on an encrypted
 * (dm-crypt / LUKS) device. Read-only. The daemon cannot answer this itself: its unit has `PrivateDevices=true`,
 * so the device nodes `lsblk` and `cryptsetup` need are not there for it.
 *
 *   lsblk --json --output NAME,TYPE,MOUNTPOINTS                 (the whole block-device tree, no arguments)
 *   cryptsetup status <name>                                     (each crypt device under a mount, by its
 *                                                                 lsblk name, checked against DEVICE_NAME_PATTERN)
 *
 * Both run as argument vectors through the helper's command runner (no shell); the only value passed on is a
 * device-mapper name lsblk printed, and only when it matches DEVICE_NAME_PATTERN. What the result keeps is validated by
 * `luksResultSchema` (result.ts): mount points, device names, whether each is encrypted and its crypt type.
 *
 * The tree from lsblk runs from disks down to what is built on them (disk → partition → crypt → LVM); a
 * mounted device is encrypted when it or any device above it in that tree is of TYPE `crypt`. A device that
 * appears under several parents (LVM over two physical volumes) counts as encrypted only if every path to it
 * is.
 */
import { lastLine } from "./command.ts";
import { TIMEOUTS, type ActionContext, type ActionReport } from "./context.ts";
import { DEVICE_NAME_PATTERN, MAX_LUKS_VOLUMES, MOUNT_PATTERN, type LuksVolume } from "./result.ts";

export const LSBLK_ARGV = ["lsblk", "--json", "--output", "NAME,TYPE,MOUNTPOINTS"] as const;
/** Crypt devices asked about: an appliance has one or two. */
export const MAX_CRYPT_DEVICES = 16;
/** lsblk trees are shallow (disk → partition → crypt → LVM); anything deeper is malformed. */
const MAX_DEPTH = 16;
/** Nodes walked: a host has at most a few hundred block devices. */
const MAX_NODES = 4096;

interface Node {
  name?: unknown;
  type?: unknown;
  mountpoints?: unknown;
  mountpoint?: unknown;
  children?: unknown;
}

/** One mount as found in the tree, before cryptsetup is asked. */
export interface MountedDevice {
  mount: string;
  device: string;
  encrypted: boolean;
  /** The nearest crypt device above the mount (or the mount's own device), on an encrypted path. */
  crypt_name: string | null;
}

function mountsOf(n: Node): string[] {
  const list = Array.isArray(n.mountpoints) ? n.mountpoints : [n.mountpoint];
  return list.filter((m): m is string => typeof m === "string" && m.length > 0);
}

/**
 * The mounted devices of `lsblk --json --output NAME,TYPE,MOUNTPOINTS` output, sorted by mount point;
 * a string says why the output is not such a listing.
 */
export function parseBlockDevices(stdout: string): MountedDevice[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return `lsblk printed no JSON (output starts ${JSON.stringify(stdout.slice(0, 60))})`;
  }
  const top = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(top)) return "lsblk printed JSON without a blockdevices array";
  const byMount = new Map<string, MountedDevice>();
  let budget = MAX_NODES;
  let bad: string | null = null;
  const visit = (n: Node, depth: number, crypt: string | null) => {
    if (bad !== null) return;
    if (depth > MAX_DEPTH || --budget < 0) return void (bad = `the block-device tree is deeper than ${MAX_DEPTH} or larger than ${MAX_NODES} devices`);
    if (typeof n.name !== "string" || !DEVICE_NAME_PATTERN.test(n.name)) return void (bad = `lsblk printed a device name that is not one: ${JSON.stringify(String(n.name).slice(0, 40))}`);
    const here = n.type === "crypt" ? n.name : crypt;
    for (const mount of mountsOf(n)) {
      if (!MOUNT_PATTERN.test(mount)) return void (bad = `lsblk printed a mount point that is not an absolute path: ${JSON.stringify(mount.slice(0, 40))}`);
      const seen = byMount.get(mount);
      // Several paths to one mount (LVM over two PVs): encrypted only if every one is.
      if (seen) byMount.set(mount, { ...seen, encrypted: seen.encrypted && here !== null, crypt_name: seen.encrypted && here !== null ? seen.crypt_name : null });
      else byMount.set(mount, { mount, device: n.name, encrypted: here !== null, crypt_name: here });
    }
    if (Array.isArray(n.children)) for (const c of n.children) if (c !== null && typeof c === "object") visit(c as Node, depth + 1, here);
  };
  for (const n of top) if (n !== null && typeof n === "object") visit(n as Node, 0, null);
  if (bad !== null) return bad;
  if (byMount.size > MAX_LUKS_VOLUMES) return `lsblk lists ${byMount.size} mounted filesystems, more than ${MAX_LUKS_VOLUMES}`;
  return [...byMount.values()].sort((a, b) => (a.mount < b.mount ? -1 : a.mount > b.mount ? 1 : 0));
}

/** The `type:` line of `cryptsetup status` (LUKS1, LUKS2, PLAIN, ...), or null when it has none. */
export function parseCryptType(stdout: string): string | null {
  const m = /^\s*type:\s+([A-Za-z0-9_-]{1,16})\s*$/m.exec(stdout);
  return m ? m[1]!.toUpperCase() : null;
}

export async function luksStatus(ctx: ActionContext): Promise<ActionReport> {
  const r = await ctx.exec(LSBLK_ARGV, TIMEOUTS.lsblkMs);
  if (r.exitCode !== 0) return { outcome: "failed", detail: `lsblk exited ${r.exitCode}: ${lastLine(r.stderr || r.stdout) || "no output"}` };
  const mounted = parseBlockDevices(r.stdout);
  if (typeof mounted === "string") return { outcome: "failed", detail: mounted };

  const names = [...new Set(mounted.flatMap((m) => (m.crypt_name !== null ? [m.crypt_name] : [])))];
  if (names.length > MAX_CRYPT_DEVICES) return { outcome: "failed", detail: `${names.length} crypt devices under mounted filesystems, more than ${MAX_CRYPT_DEVICES}` };
  const types = new Map<string, string | null>();
  for (const name of names) {
    // parseBlockDevices checked every name already; checked again right where a value reaches an argv.
    if (!DEVICE_NAME_PATTERN.test(name)) return { outcome: "failed", detail: `refusing to ask cryptsetup about ${JSON.stringify(name.slice(0, 40))}: not a device-mapper name` };
    const s = await ctx.exec(["cryptsetup", "status", name], TIMEOUTS.cryptsetupMs);
    // Exit 4 = not active (the mapping went away between the two commands): not encrypted any more.
    types.set(name, s.exitCode === 0 ? parseCryptType(s.stdout) : null);
    if (s.exitCode === 4) for (const m of mounted) if (m.crypt_name === name) Object.assign(m, { encrypted: false, crypt_name: null });
  }
  const volumes: LuksVolume[] = mounted.map((m) => ({ ...m, crypt_type: m.crypt_name !== null ? (types.get(m.crypt_name) ?? null) : null }));
  const plain = volumes.filter((v) => !v.encrypted).map((v) => v.mount);
  const detail = `${volumes.length} mounted filesystems, ${volumes.length - plain.length} on an encrypted device${plain.length ? `; not encrypted: ${plain.join(", ")}` : ""}`;
  return { outcome: "success", detail, luks: { volumes } };
}
