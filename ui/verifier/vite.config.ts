/**
 * Builds the standalone evidence-kit verifier page into ui/dist/verifier/ (the relay serves it; the dashboard
 * and client portal embed `<osiris-kit-verifier>` from kit-verifier.ts). The worker is its own ES module
 * chunk; nothing is inlined (the relay's CSP forbids inline code).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { lanBuild } from "../shared/vite-build.ts";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  logLevel: "warn",
  worker: { format: "es" },
  build: lanBuild(new URL("../dist/verifier/", import.meta.url)),
});
