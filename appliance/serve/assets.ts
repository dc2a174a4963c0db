/**
 * The clinic status page's built files (Vite output of ui/status), loaded with the shared loader
 * (node/built-assets.ts). Node adapter: the Hono app only sees the `StatusAssets` map.
 */
import { fileURLToPath } from "node:url";
import { loadBuiltAssets, type BuiltAssets } from "../../node/built-assets.ts";

export { makeAsset, type Asset } from "../../node/built-assets.ts";
/** URL path (e.g. `/index.html`, `/assets/index-3f2a.js`) → file. */
export type StatusAssets = BuiltAssets;

/** Where `npm run build:ui` writes the status page, relative to this module. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL("../../ui/dist/status/", import.meta.url));

/** Loads the built status page; null when it was not built. */
export function loadStatusAssets(dir: string = DEFAULT_ASSETS_DIR): Promise<StatusAssets | null> {
  return loadBuiltAssets(dir, "the status page");
}

