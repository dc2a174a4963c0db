/**
 * The files of an auditor kit, as a path → bytes map, and their deterministic ZIP form.
 *
 * The ZIP is byte-identical for identical inputs: entries sorted by path, a fixed modification time, fixed
 * compression level, no extra fields and no comments. Reading checks every entry's CRC-32 against the ZIP's
 * central directory, so a download damaged in transit is named as such (not mistaken for tampered evidence),
 * and is bounded so a hostile archive (zip bomb,
 * thousands of entries, path traversal) is refused before it is expanded.
 */
import { unzipSync, zipSync, type Zippable } from "fflate";
import { ValidationError } from "./errors.ts";

export type KitFiles = Map<string, Uint8Array>;

/** Entries accepted in one kit: a month of one site with a handful of appliances stays far below this. */
export const MAX_KIT_ENTRIES = 100_000;
/** Total expanded size accepted (bundles of a busy site for a year are a few hundred MB). */
export const MAX_KIT_BYTES = 2 * 1024 ** 3;
/** The timestamp written into every entry, so the archive does not depend on when it was made. */
export const KIT_ZIP_MTIME = new Date("1980-01-01T00:00:00Z");

const SAFE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._\-/]+$/;

/** Throws unless `path` is a relative kit path without `..`, `.` segments or odd characters. */
export function assertKitPath(path: string): void {
  if (!SAFE_PATH.test(path) || path.endsWith("/")) {
    throw new ValidationError("schema", `Kit entry ${JSON.stringify(path)} is not a plain relative path`);
  }
}

/** Deterministic ZIP of the kit's files. */
export function writeKitZip(files: KitFiles): Uint8Array {
  const tree: Zippable = {};
  for (const path of [...files.keys()].sort()) {
    assertKitPath(path);
    tree[path] = [files.get(path)!, { mtime: KIT_ZIP_MTIME, level: 6 }];
  }
  return zipSync(tree, { mtime: KIT_ZIP_MTIME, level: 6 });
}

/** True when `bytes` start like a ZIP archive (local file header or empty-archive end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
}

/** Expands a kit ZIP, refusing archives beyond the bounds above or with unsafe paths. */
export function readKitZip(bytes: Uint8Array): KitFiles {
  let entries = 0;
  let total = 0;
  const names = new Set<string>();
  let raw;
  try {
    raw = unzipSync(bytes, {
      filter(info) {
        if (info.name.endsWith("/")) return false; // directory entries carry nothing
        assertKitPath(info.name);
        // Two entries of one name: unzip tools disagree on which one counts, so an auditor could be shown one
        // file while the other is verified.
        if (names.has(info.name)) throw new ValidationError("schema", `Kit has two entries named ${info.name}: which one counts would be ambiguous`);
        names.add(info.name);
        entries++;
        total += info.originalSize;
        if (entries > MAX_KIT_ENTRIES) throw new ValidationError("schema", `Kit has more than ${MAX_KIT_ENTRIES} entries`);
        if (total > MAX_KIT_BYTES) throw new ValidationError("schema", `Kit expands to more than ${MAX_KIT_BYTES} bytes`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    throw new ValidationError("invalid_json", `Cannot read the kit ZIP: ${(e as Error).message}`);
  }
  const recorded = centralDirectoryCrcs(bytes);
  for (const [name, data] of Object.entries(raw)) {
    if (recorded.get(name) !== crc32(data)) {
      throw new ValidationError("schema", `Kit entry ${name} is damaged: its CRC-32 does not match the one the ZIP records (a corrupted download or copy: get the kit again)`);
    }
  }
  return new Map(Object.entries(raw));
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as ZIP records it (ISO-HDLC: reflected polynomial 0xEDB88320). A checksum for damage, not a hash. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL_ENTRY = 0x02014b50;

/**
 * Entry name → CRC-32 from the central directory (read after fflate has expanded the archive, so its
 * structure is known to be sound; anything unexpected here is still refused rather than skipped).
 */
function centralDirectoryCrcs(bytes: Uint8Array): Map<string, number> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const broken = (what: string) => new ValidationError("schema", `Cannot read the kit ZIP: ${what}`);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== EOCD) end--;
  if (end < 0) throw broken("no end of central directory record");
  let offset = view.getUint32(end + 16, true);
  if (offset === 0xffffffff && end >= 20 && view.getUint32(end - 20, true) === ZIP64_LOCATOR) {
    const z = Number(view.getBigUint64(end - 20 + 8, true));
    if (z + 56 > bytes.length || view.getUint32(z, true) !== ZIP64_EOCD) throw broken("a damaged ZIP64 end record");
    offset = Number(view.getBigUint64(z + 48, true));
  }
  const out = new Map<string, number>();
  const decoder = new TextDecoder();
  while (offset + 46 <= bytes.length && view.getUint32(offset, true) === CENTRAL_ENTRY) {
    const nameLength = view.getUint16(offset + 28, true);
    const name = decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
    out.set(name, view.getUint32(offset + 16, true));
    offset += 46 + nameLength + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return out;
}
