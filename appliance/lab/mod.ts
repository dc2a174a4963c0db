/**
 * The lab: a simulated clinic (fixtures/lab/<site>/site.json) for the demo, the benchmark and tests. Its hosts
 * are always labelled simulated.
 *
 *   const site = loadLabSite(config.lab.site_dir);
 *   const world = await LabWorld.open({ site, clock, stateFile: join(stateDir, "lab-state.json") });
 *   const gather = createLabGatherer(world);        // facts for scanHost / scanSite
 *   const runner = createLabStepRunner(world);      // runbook steps for the healing engine
 */
export { LabError, loadLabSite, parseDuration, resolveLabSite, siteSchema, type LabDrift, type LabEffect, type LabErrorCode, type LabHost, type LabSite, type LabSiteDoc } from "./site.ts";
export { LabWorld, type LabWorldOptions } from "./world.ts";
export { createLabGatherer, createLabStepRunner, MAX_LAB_LATENCY_MS, type LabCollectorOptions } from "./collector.ts";
export { generateLabSite, GENERATED_SITE_DIR, LAB_FIXTURES_DIR, type GenerateOptions } from "./generate.ts";
