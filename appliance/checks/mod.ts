/**
 * Checks: fact gatherers per platform (one script per host, parsed into catalogue facts), the scan that
 * evaluates every catalogue check over them, and the step runners that carry out runbook steps on real hosts.
 *
 *   const gather = createLinuxGatherer(sshTransport, { clock, role: "server" });
 *   const scan = await scanHost(target, { gather, catalogue, clock, timeoutMs: 30_000 });
 *   const site = await scanSite(targets, { gather: gatherFor, catalogue, clock, timeoutMs: 30_000 });
 */
export { evaluateFacts, isUnreachable, scanHost, scanSite, GATHER_GRACE_MS, MAX_SITE_TARGETS, SCAN_CONCURRENCY, UNREACHABLE_ALERT_MIN_HOSTS, UNREACHABLE_ALERT_SHARE, UNREACHABLE_CODES, type ScanHostOptions, type ScanSiteOptions, type SiteAlert, type SiteScan } from "./scan.ts";
export { deleteFact, FactsBuilder, setFact, type Gather, type GatheredFacts, type GatherOptions } from "./facts/gathered.ts";
export { createLinuxGatherer, DEFAULT_CERT_PATHS, linuxScript, parseLinuxDoc, parseLinuxOutput, type LinuxGatherOptions } from "./facts/linux.ts";
export {
  applianceScript,
  createApplianceGatherer,
  parseApplianceDoc,
  parseApplianceOutput,
  rulesetSha256,
  type ApplianceBackupConfig,
  type ApplianceContext,
  type ApplianceGatherOptions,
  type ApplianceGathererDeps,
} from "./facts/appliance.ts";
export { createWindowsGatherer, parseWindowsDoc, WINDOWS_SCRIPT } from "./facts/windows.ts";
export { createMacosGatherer, macosScript, parseMacosDoc, parseMacosOutput } from "./facts/macos.ts";
export { measureNtpOffset, MIN_SNTP_ANSWERS, type SntpServer } from "./facts/sntp.ts";
export { FACTS_FIXTURE_SCHEMA, loadFactsFixture, type FactsFixture, type LoadedFixture } from "./facts/fixture.ts";
export { createShStepRunner, shStepCommand, type ApplianceStepContext, type ShStepRunnerOptions } from "./steps/sh-runner.ts";
export { createWinrmStepRunner, windowsStepScript } from "./steps/winrm-runner.ts";
