/**
 * Test helper: builds the dashboard with the project's Vite config into `outDir` (a temporary directory, so
 * concurrent test files never write the same ui/dist). Returns the directory for `loadDashboardAssets`.
 */
import { fileURLToPath } from "node:url";
import { build } from "vite";

export async function buildDashboard(outDir: string): Promise<string> {
  await build({ configFile: fileURLToPath(new URL("./vite.config.ts", import.meta.url)), build: { outDir, emptyOutDir: true }, logLevel: "silent" });
  return outDir;
}
