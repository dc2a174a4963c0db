/**
 * Builds the clinic status page into ui/dist/status/, which the appliance serves (appliance/serve/assets.ts).
 *
 *   npm run build:ui        (vite build --config ui/status/vite.config.ts)
 *
 * Everything the page needs is in the bundle (no CDN: clinics' LANs may have no internet), no script or style
 * is inlined into the HTML (the page's CSP forbids inline code), and nothing is inlined as a data: URL.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { lanBuild } from "../shared/vite-build.ts";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  publicDir: "public",
  logLevel: "warn",
  build: lanBuild(new URL("../dist/status/", import.meta.url), { cssCodeSplit: false }),
});
