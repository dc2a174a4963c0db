/**
 * The privileged helper (`osiris appliance helper <action> --config FILE`, run as root in
 * `osiris-helper@<action>.service`) and the daemon's side of it.
 *
 *   helper (root):  runHelperAction(action, deps) → result file in /run/osiris/helper/<action>.json
 *   daemon:         const bridge = createHelperBridge({ stateDir, now });
 *                   gather = bridge.gather(createApplianceGatherer(...));   // firewall.*, luks.* from the helper
 *                   runner = bridge.runner(createShStepRunner(...));        // root steps through the helper
 *   signed data:    acceptApplianceConfig / readApplianceConfig / applianceContextOf (signed-config.ts)
 */
import type { Gather } from "../checks/mod.ts";
import type { StepRunner } from "../engine/types.ts";
import { createHelperClient, type HelperClient } from "./client.ts";
import { createCommandRunner, type CommandRunner } from "./command.ts";
import { withHelperFirewallFacts } from "./facts.ts";
import { withHelperLuksFacts } from "./luks-facts.ts";
import { DEFAULT_RESULT_DIR } from "./result.ts";
import { createHelperStepRunner } from "./step-runner.ts";

export { HELPER_ACTIONS, helperActionForStep, helperUnit, isHelperAction, type HelperAction } from "./actions.ts";
export { createCommandRunner, type CommandResult, type CommandRunner } from "./command.ts";
export { createHelperClient, unavailableReason, type HelperClient, type HelperInvocation } from "./client.ts";
export { DEFAULT_HELPER_PATHS, type HelperDeps, type HelperPaths } from "./context.ts";
export { HelperError, type HelperErrorCode } from "./errors.ts";
export { withHelperFirewallFacts } from "./facts.ts";
export { containingMount, unencryptedVolumes, withHelperLuksFacts } from "./luks-facts.ts";
export { LSBLK_ARGV, parseBlockDevices } from "./luks.ts";
export { DEFAULT_RESULT_DIR, HELPER_OUTCOMES, HELPER_RESULT_SCHEMA, readResult, writeResult, type HelperOutcome, type HelperResult } from "./result.ts";
export { runHelperAction, type HelperRun } from "./run-helper.ts";
export {
  acceptApplianceConfig,
  APPLIANCE_CONFIG_KV_KEY,
  APPLIANCE_CONFIG_SCHEMA,
  applianceContextOf,
  readApplianceConfig,
  signApplianceConfig,
  verifyApplianceConfig,
  type ApplianceConfigPayload,
  type StoredApplianceConfig,
  type VerifiedApplianceConfig,
} from "./signed-config.ts";
export { createHelperStepRunner } from "./step-runner.ts";
export { readSignedState, type ReadSignedStateOptions, type SignedState } from "./store-reader.ts";
export { DEFAULT_TRUST_FILE, loadTrustAnchor, type TrustAnchor } from "./trust-anchor.ts";

export interface HelperBridgeOptions {
  /** The daemon's state directory (the health check requires it writable). */
  readonly stateDir: string;
  readonly now: () => number;
  readonly run?: CommandRunner;
  readonly resultDir?: string;
  /** Owner of result files (root on the appliance). */
  readonly resultOwnerUid?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Data volumes that must be encrypted (fact luks.unencrypted_volumes); default /var/lib/osiris. */
  readonly encryptedVolumes?: readonly string[];
}

export interface HelperBridge {
  readonly helper: HelperClient;
  /** The appliance gatherer with firewall facts from `firewall-snapshot` and encryption from `luks-status`. */
  gather(inner: Gather): Gather;
  /** The appliance's step runner with root steps through the helper units. */
  runner(inner: StepRunner): StepRunner;
}

/** Everything the daemon needs to use the helper, with the real systemctl runner unless one is given. */
export function createHelperBridge(o: HelperBridgeOptions): HelperBridge {
  const run = o.run ?? createCommandRunner();
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const helper = createHelperClient({ run, now: o.now, resultDir: o.resultDir ?? DEFAULT_RESULT_DIR, ...(o.resultOwnerUid !== undefined ? { resultOwnerUid: o.resultOwnerUid } : {}) });
  return {
    helper,
    gather: (inner) => withHelperLuksFacts(withHelperFirewallFacts(inner, { helper, run }), { helper, ...(o.encryptedVolumes ? { volumes: o.encryptedVolumes } : {}) }),
    runner: (inner) => createHelperStepRunner({ inner, helper, run, now: o.now, sleep, stateDir: o.stateDir }),
  };
}
