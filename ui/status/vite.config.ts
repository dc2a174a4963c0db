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

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  publicDir: "public",
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist/status/", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
