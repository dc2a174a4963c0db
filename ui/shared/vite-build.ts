/**
 * The build settings every front end shares: everything in the bundle (no CDN: clinics' and relays' LANs may
 * have no internet), nothing inlined as a data: URL or into the HTML (the CSPs forbid inline code), ES2022,
 * no sourcemaps. Each Vite config adds only what is its own (output folder, base, public dir).
 *
 * Rollup's INVALID_ANNOTATION warnings about third-party code (a `@__PURE__` comment in a position Rollup
 * ignores, e.g. in zod) are dropped: the bundle is the same either way, and `npm start` should not greet a
 * user with warnings about a dependency's comments. Every other warning, and any about our own code, is shown.
 */
import { fileURLToPath } from "node:url";
import type { BuildOptions } from "vite";

type OnWarn = NonNullable<NonNullable<BuildOptions["rollupOptions"]>["onwarn"]>;

/** Passes on every warning except a misplaced annotation comment inside node_modules. */
export const dropDependencyAnnotationWarnings: OnWarn = (warning, warn) => {
  if (warning.code === "INVALID_ANNOTATION" && /[\\/]node_modules[\\/]/.test(warning.id ?? "")) return;
  warn(warning);
};

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
    rollupOptions: { ...extra.rollupOptions, onwarn: dropDependencyAnnotationWarnings },
  };
}
