/**
 * Builds the standalone evidence-kit verifier page into ui/dist/verifier/ (the relay serves it; the dashboard
 * and client portal embed `<osiris-kit-verifier>` from kit-verifier.ts). The worker is its own ES module
 * chunk; nothing is inlined (the relay's CSP forbids inline code).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  logLevel: "warn",
  worker: { format: "es" },
  build: {
    outDir: fileURLToPath(new URL("../dist/verifier/", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
