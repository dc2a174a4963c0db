/**
 * The shared build settings: the real dashboard build (which bundles zod, whose `@__PURE__` comments Rollup
 * warns about) prints no warning, so `npm start` opens quietly; the filter still passes on every other warning.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, createLogger, type Rollup } from "vite";
import { dropDependencyAnnotationWarnings } from "./vite-build.ts";

test("the dashboard build prints no warning at the level npm start uses", async () => {
  const outDir = await mkdtemp(join(tmpdir(), "osiris-dashboard-build-"));
  const warnings: string[] = [];
  const logger = createLogger("warn");
  logger.warn = (msg) => void warnings.push(msg);
  logger.warnOnce = (msg) => void warnings.push(msg);
  logger.error = (msg) => void warnings.push(msg);
  try {
    await build({
      configFile: fileURLToPath(new URL("../dashboard/vite.config.ts", import.meta.url)),
      build: { outDir, emptyOutDir: true },
      logLevel: "warn",
      customLogger: logger,
    });
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
  assert.equal(warnings, []);
});

test("only a misplaced annotation inside node_modules is dropped; the same about our code, or anything else, is shown", () => {
  const shown: string[] = [];
  const warn = (w: string | Rollup.RollupLog | (() => string | Rollup.RollupLog)) => {
    const log = typeof w === "function" ? w() : w;
    shown.push(typeof log === "string" ? log : `${log.code} ${log.id}`);
  };
  const annotation = (id: string) => ({ code: "INVALID_ANNOTATION", id, message: "contains an annotation that Rollup cannot interpret" });
  dropDependencyAnnotationWarnings(annotation("/work/node_modules/zod/v4/core/util.js"), warn);
  dropDependencyAnnotationWarnings(annotation("/work/ui/dashboard/app.ts"), warn);
  dropDependencyAnnotationWarnings({ code: "CIRCULAR_DEPENDENCY", id: "/work/node_modules/x/index.js", message: "circular" }, warn);
  assert.equal(shown, ["INVALID_ANNOTATION /work/ui/dashboard/app.ts", "CIRCULAR_DEPENDENCY /work/node_modules/x/index.js"]);
});

test.run();
