/**
 * A web page's built files (Vite output: `index.html`, `favicon.svg`, `assets/*`), read into memory once at
 * start with their gzip form, type and ETag. Shared by the appliance (the clinic status page) and the relay
 * (the dashboard); the Hono apps only see the `BuiltAssets` map. Bounded: a bundle is tens of kilobytes; a
 * directory far larger is a wrong path, not a page.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { gzipSync } from "node:zlib";

/** Most files served from a bundle. */
export const MAX_ASSET_FILES = 64;
/** Most bytes of all files together (the page's budget is 60 KB gzip; this leaves room for source maps). */
export const MAX_ASSET_BYTES = 4 * 1024 * 1024;

export interface Asset {
  body: Uint8Array;
  gzip: Uint8Array;
  type: string;
  etag: string;
  /** Content-hashed name under /assets/: cache forever. */
  immutable: boolean;
}

/** URL path (e.g. `/index.html`, `/assets/index-3f2a.js`) → file. */
export type BuiltAssets = ReadonlyMap<string, Asset>;

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Builds one asset from its bytes. */
export function makeAsset(path: string, body: Uint8Array): Asset {
  return {
    body,
    gzip: new Uint8Array(gzipSync(body, { level: 9 })),
    type: TYPES[extname(path)] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`,
    immutable: path.startsWith("/assets/"),
  };
}

/**
 * Reads the bundle in `dir` (top-level files and `assets/`); `page` names it in errors ("the status page").
 * Returns null when `dir` has no `index.html` (not built); throws RangeError when it holds more than the
 * bounds allow.
 */
export async function loadBuiltAssets(dir: string, page: string): Promise<BuiltAssets | null> {
  try {
    if (!(await stat(join(dir, "index.html"))).isFile()) return null;
  } catch {
    return null;
  }
  const paths: string[] = [];
  for (const sub of ["", "assets"]) {
    let entries;
    try {
      entries = await readdir(join(dir, sub), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isFile() && !e.name.startsWith(".") && !e.name.endsWith(".map")) paths.push(sub ? `${sub}/${e.name}` : e.name);
  }
  if (paths.length > MAX_ASSET_FILES) throw new RangeError(`Cannot load ${page} from ${dir} as it holds more than ${MAX_ASSET_FILES} files: current count is ${paths.length}`);
  const out = new Map<string, Asset>();
  let total = 0;
  for (const p of paths.sort()) {
    const body = new Uint8Array(await readFile(join(dir, p)));
    total += body.byteLength;
    if (total > MAX_ASSET_BYTES) throw new RangeError(`Cannot load ${page} from ${dir} as its files exceed ${MAX_ASSET_BYTES} bytes`);
    out.set(`/${p}`, makeAsset(`/${p}`, body));
  }
  return out;
}
