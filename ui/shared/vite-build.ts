/**
 * The build settings every front end shares: everything in the bundle (no CDN: clinics' and relays' LANs may
 * have no internet), nothing inlined as a data: URL or into the HTML (the CSPs forbid inline code), ES2022,
 * no sourcemaps. Each Vite config adds only what is its own (output folder, base, public dir).
 */
import { fileURLToPath } from "node:url";
import type { BuildOptions } from "vite";

export function lanBuild(outDir: URL, extra: BuildOptions = {}): BuildOptions {
  return {
    outDir: fileURLToPath(outDir),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    ...extra,
  };
}
