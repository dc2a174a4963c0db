/**
 * `osiris relay admin appliance-config` options → an appliance config change (appliance-config.ts). Node side:
 * it reads the firewall baseline file (`nft -j list ruleset` output), bounded before reading. `none` clears a
 * field. What the values must look like is checked by the change schema, which names the field.
 */
import { readFile, stat } from "node:fs/promises";
import { MAX_BASELINE_BYTES } from "../../protocol/appliance-config.ts";

/** Largest baseline file read: the canonical limit, with room for `nft -j`'s or an editor's whitespace. */
export const MAX_BASELINE_FILE_BYTES = 4 * MAX_BASELINE_BYTES;

/** The word that clears a field. */
export const CLEAR = "none";

export interface ApplianceConfigArgs {
  pinned_system?: string | undefined;
  av_binary_sha256?: string | undefined;
  firewall_baseline_file?: string | undefined;
}

/** The change the options ask for. Throws RangeError (no option, unreadable or non-JSON baseline file). */
export async function applianceConfigChangeFromArgs(a: ApplianceConfigArgs): Promise<Record<string, unknown>> {
  if (a.pinned_system === undefined && a.av_binary_sha256 === undefined && a.firewall_baseline_file === undefined) {
    throw new RangeError("give at least one of --pinned-system, --av-binary-sha256, --firewall-baseline-file (the word none clears one)");
  }
  const change: Record<string, unknown> = {};
  if (a.pinned_system !== undefined) change["pinned_system"] = a.pinned_system === CLEAR ? null : a.pinned_system;
  if (a.av_binary_sha256 !== undefined) change["av_binary_sha256"] = a.av_binary_sha256 === CLEAR ? null : a.av_binary_sha256;
  if (a.firewall_baseline_file !== undefined) change["firewall_baseline"] = a.firewall_baseline_file === CLEAR ? null : await readBaseline(a.firewall_baseline_file);
  return change;
}

async function readBaseline(path: string): Promise<unknown> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new RangeError(`--firewall-baseline-file ${path} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof RangeError) throw e;
    throw new RangeError(`--firewall-baseline-file ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_BASELINE_FILE_BYTES) throw new RangeError(`--firewall-baseline-file ${path} is ${size} bytes: the limit is ${MAX_BASELINE_FILE_BYTES}`);
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RangeError(`--firewall-baseline-file ${path} is not JSON (expected \`nft -j list ruleset\` output): ${(e as Error).message}`);
  }
}
