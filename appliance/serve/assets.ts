/**
 * The status page's built files (Vite output of ui/status: `index.html`, `favicon.svg`, `assets/*`), read
 * into memory once at start with their gzip form, type and ETag. Node adapter: the Hono app only sees the
 * `StatusAssets` map. Bounded: a bundle is tens of kilobytes; a directory far larger is a wrong path, not a
 * page.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Most files served from a bundle. */
export const MAX_ASSET_FILES = 64;
/** Most bytes of all files together (the page's budget is 60 KB gzip; this leaves room for source maps). */
export const MAX_ASSET_BYTES = 4 * 1024 * 1024;

/** Where `npm run build:ui` writes the bundle, relative to this module. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL("../../ui/dist/status/", import.meta.url));

export interface Asset {
  body: Uint8Array;
  gzip: Uint8Array;
  type: string;
  etag: string;
  /** Content-hashed name under /assets/: cache forever. */
  immutable: boolean;
}

/** URL path (e.g. `/index.html`, `/assets/index-3f2a.js`) → file. */
export type StatusAssets = ReadonlyMap<string, Asset>;

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
 * Reads the bundle in `dir` (top-level files and `assets/`). Returns null when `dir` has no `index.html`
 * (not built); throws RangeError when it holds more than the bounds allow.
 */
export async function loadStatusAssets(dir: string = DEFAULT_ASSETS_DIR): Promise<StatusAssets | null> {
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
  if (paths.length > MAX_ASSET_FILES) throw new RangeError(`Cannot load the status page from ${dir} as it holds more than ${MAX_ASSET_FILES} files: current count is ${paths.length}`);
  const out = new Map<string, Asset>();
  let total = 0;
  for (const p of paths.sort()) {
    const body = new Uint8Array(await readFile(join(dir, p)));
    total += body.byteLength;
    if (total > MAX_ASSET_BYTES) throw new RangeError(`Cannot load the status page from ${dir} as its files exceed ${MAX_ASSET_BYTES} bytes`);
    out.set(`/${p}`, makeAsset(`/${p}`, body));
  }
  return out;
}
