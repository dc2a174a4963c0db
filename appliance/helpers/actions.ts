/**
 * The privileged helper actions: the only things `osiris appliance helper <action>` does, one systemd
 * instance each (`osiris-helper@<action>.service`, nixos/module.nix `helperActions`), and which catalogue step
 * (or fact) each one serves. The names are a closed list: the helper refuses anything else, and nothing a
 * caller sends ever becomes part of a command line — each action re-reads its inputs from signed data.
 */
import type { Json } from "../../protocol/catalogue/schema.ts";

export const HELPER_ACTIONS = ["switch-pinned", "switch-previous", "firewall-snapshot", "firewall-baseline", "journal-vacuum", "collect-garbage", "luks-status"] as const;
export type HelperAction = (typeof HELPER_ACTIONS)[number];

/** The systemd unit that runs `action` as root (a template instance the daemon may start through polkit). */
export function helperUnit(action: HelperAction): string {
  return `osiris-helper@${action}.service`;
}

export function isHelperAction(name: unknown): name is HelperAction {
  return typeof name === "string" && (HELPER_ACTIONS as readonly string[]).includes(name);
}

/**
 * The helper action behind an appliance step action, or null when the step runs unprivileged. Parameters
 * only choose between actions (`target: pinned | previous`); they are never passed on.
 */
export function helperActionForStep(action: string, params: { readonly [name: string]: Json }): HelperAction | null {
  switch (action) {
    case "nixos.switch_generation":
      return params["target"] === "previous" ? "switch-previous" : params["target"] === "pinned" ? "switch-pinned" : null;
    case "nft.restore_baseline":
      return "firewall-baseline";
    case "journal.vacuum":
      return "journal-vacuum";
    case "nix.collect_garbage":
      return "collect-garbage";
    default:
      return null;
  }
}
