/**
 * The dashboard's built files (Vite output of ui/dashboard: `index.html`, `favicon.svg`, `assets/*`), loaded
 * once at start into memory with their gzip form, type and ETag — the loader the appliance also uses for its
 * status page (node/built-assets.ts), pointed at ui/dist/dashboard/. Node adapter: the routes only see the
 * map (`RelayDeps.ui`).
 */
import { fileURLToPath } from "node:url";
import { loadBuiltAssets, type Asset, type BuiltAssets } from "../../node/built-assets.ts";

export type { Asset };
/** URL path (`/index.html`, `/assets/index-3f2a.js`) → file. */
export type UiAssets = BuiltAssets;

/** Where `npm run build:ui` writes the dashboard, relative to this module. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../ui/dist/dashboard/", import.meta.url));

/** Loads the built dashboard; null when it was not built (the pages then answer 503 saying so). */
export function loadDashboardAssets(dir: string = DEFAULT_DASHBOARD_DIR): Promise<UiAssets | null> {
  return loadBuiltAssets(dir, "the dashboard");
}
