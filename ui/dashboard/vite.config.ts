/**
 * Builds the MSP and partner dashboard into ui/dist/dashboard/, which the relay serves (relay/ui).
 *
 *   npm run build:ui        (builds the status page and this dashboard)
 *
 * Everything the app needs is in the bundle (no CDN: a relay may run on a LAN without internet), no script or
 * style is inlined into the HTML (the relay's CSP forbids inline code; component styles are adopted
 * stylesheets), and nothing is inlined as a data: URL.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { lanBuild } from "../shared/vite-build.ts";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  publicDir: "public",
  logLevel: "warn",
  build: lanBuild(new URL("../dist/dashboard/", import.meta.url), { cssCodeSplit: false, chunkSizeWarningLimit: 400 }),
});
