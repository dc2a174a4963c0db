/**
 * The files of an auditor kit, as a path → bytes map, and their deterministic ZIP form.
 *
 * The ZIP is byte-identical for identical inputs: entries sorted by path, a fixed modification time, fixed
 * compression level, no extra fields and no comments. Reading is bounded so a hostile archive (zip bomb,
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
  return new Map(Object.entries(raw));
}
