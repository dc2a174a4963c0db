/**
 * What every helper action gets: a command runner that records each command for the result, the signed
 * state of the store (read at most once, on first use), the clock, and the paths it works on (fixed on the
 * appliance; scratch directories in tests).
 */
import { tmpdir } from "node:os";
import type { CommandRecord, CommandResult, CommandRunner } from "./command.ts";
import { DEFAULT_RESULT_DIR, type HelperOutcome, type HelperResult } from "./result.ts";
import type { SignedState } from "./store-reader.ts";

export interface HelperPaths {
  /** Where results are written (and the last switch-pinned result is read back by switch-previous). */
  readonly resultDir: string;
  /** The running system (`/run/current-system`). */
  readonly currentSystem: string;
  /** The system profile (`/nix/var/nix/profiles/system`); its generations are `system-<N>-link` beside it. */
  readonly systemProfile: string;
  /** Scratch space for the firewall baseline file (the unit has PrivateTmp). */
  readonly tmpDir: string;
}

export const DEFAULT_HELPER_PATHS: HelperPaths = {
  resultDir: DEFAULT_RESULT_DIR,
  currentSystem: "/run/current-system",
  systemProfile: "/nix/var/nix/profiles/system",
  tmpDir: tmpdir(),
};

export interface HelperDeps {
  readonly run: CommandRunner;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly paths: HelperPaths;
  /** Reads and verifies the store's signed state (store-reader.ts); throws HelperError `store`. */
  readonly readState: () => Promise<SignedState>;
  /** Group that may read the results (the daemon's); default this process's group. */
  readonly resultGid?: number;
}

/** What an action decided; the runner adds action, times, exit code and the commands. */
export interface ActionReport {
  readonly outcome: HelperOutcome;
  readonly detail: string;
  readonly params?: HelperResult["params"];
  readonly system?: HelperResult["system"];
  readonly firewall?: HelperResult["firewall"];
  readonly luks?: HelperResult["luks"];
}

export interface ActionContext {
  readonly deps: HelperDeps;
  /** Runs and records one command. */
  exec(argv: readonly string[], timeoutMs: number): Promise<CommandResult>;
  /** The signed state, read on first use. */
  state(): Promise<SignedState>;
  readonly commands: CommandRecord[];
}

/** Timeouts of the commands the actions run (named, so each bound has its reason). */
export const TIMEOUTS = {
  /** nft talks to the kernel only: seconds. */
  nftMs: 60_000,
  /** Fetching a pinned closure from a binary cache over a clinic's line. */
  realiseMs: 25 * 60_000,
  /** Profile symlink changes. */
  profileMs: 60_000,
  /** switch-to-configuration restarts services; NixOS waits for each. */
  switchMs: 15 * 60_000,
  /** journalctl --vacuum-size deletes archived files. */
  vacuumMs: 5 * 60_000,
  /** nix-collect-garbage on a small appliance store. */
  gcMs: 20 * 60_000,
  /** lsblk reads sysfs and the udev database: instant, unless udev is wedged. */
  lsblkMs: 30_000,
  /** cryptsetup status asks device-mapper about one device. */
  cryptsetupMs: 30_000,
} as const;
