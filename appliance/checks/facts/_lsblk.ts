/**
 * Private helper: reading `lsblk -J -s -o NAME,TYPE,FSTYPE,MOUNTPOINTS` (inverse tree: each top-level entry is
 * a device nothing else is built on, its children are what it sits on). A mounted device is encrypted when it,
 * or anything below it, is of TYPE crypt (LUKS or plain dm-crypt).
 */

/** Mount points never counted: the boot partitions must stay readable by the firmware and the boot loader. */
const BOOT_MOUNTS = new Set(["/boot", "/boot/efi", "/efi"]);
/** RAM-backed or read-only image devices that never hold data at rest. */
const VIRTUAL_DEVICE = /^(zram|ram)\d+$/;
const VIRTUAL_FSTYPE = new Set(["squashfs", "iso9660"]);
/** lsblk trees are shallow (disk → partition → crypt → lvm); anything deeper is malformed. */
const MAX_DEPTH = 16;
/** A host has at most a few hundred block devices; bounds the walk. */
const MAX_NODES = 4096;

interface Node {
  name?: unknown;
  type?: unknown;
  fstype?: unknown;
  mountpoints?: unknown;
  mountpoint?: unknown;
  children?: unknown;
}

function mountsOf(n: Node): string[] {
  const list = Array.isArray(n.mountpoints) ? n.mountpoints : [n.mountpoint];
  return list.filter((m): m is string => typeof m === "string" && m.length > 0);
}

function hasCrypt(n: Node, depth: number, budget: { n: number }): boolean {
  if (depth > MAX_DEPTH || --budget.n < 0) return false;
  if (n.type === "crypt") return true;
  return Array.isArray(n.children) && n.children.some((c) => c !== null && typeof c === "object" && hasCrypt(c as Node, depth + 1, budget));
}

/**
 * Mount points (and `[SWAP]`) of local devices not on an encrypted device, sorted and unique; undefined when
 * the document is not lsblk JSON.
 */
export function lsblkUnencrypted(doc: unknown): string[] | undefined {
  const top = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(top)) return undefined;
  const out = new Set<string>();
  const budget = { n: MAX_NODES };
  const visit = (n: Node, depth: number) => {
    if (depth > MAX_DEPTH || --budget.n < 0) return;
    const skip = (typeof n.name === "string" && VIRTUAL_DEVICE.test(n.name)) || n.type === "rom" || (typeof n.fstype === "string" && VIRTUAL_FSTYPE.has(n.fstype));
    if (!skip) for (const m of mountsOf(n)) if (!BOOT_MOUNTS.has(m) && !hasCrypt(n, 0, { n: MAX_NODES })) out.add(m);
    if (Array.isArray(n.children)) for (const c of n.children) if (c !== null && typeof c === "object") visit(c as Node, depth + 1);
  };
  for (const n of top) if (n !== null && typeof n === "object") visit(n as Node, 0);
  return [...out].sort();
}

/** Whether the device tree of one source (lsblk -J -s DEVICE) contains a crypt device; undefined if not lsblk JSON. */
export function lsblkEncrypted(doc: unknown): boolean | undefined {
  const top = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(top)) return undefined;
  return top.length > 0 && top.every((n) => n !== null && typeof n === "object" && hasCrypt(n as Node, 0, { n: MAX_NODES }));
}
