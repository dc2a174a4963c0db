/**
 * Helper actions `journal-vacuum` (step `journal.vacuum`) and `collect-garbage` (step `nix.collect_garbage`),
 * for the runbook `appliance.disk_cleanup`. Their sizes come from that runbook's parameters in the verified
 * signed rule set, else the catalogue's defaults (runbook-params.ts), never from the caller.
 *
 * collect-garbage deletes system generations beyond the newest `keep_generations`, but never the profile's
 * current generation, one that points at the running system, or one that points at the pinned system; then
 * it runs `nix-collect-garbage` (no `-d`: other profiles keep their generations).
 */
import { lastLine } from "./command.ts";
import { TIMEOUTS, type ActionContext, type ActionReport } from "./context.ts";
import { HelperError } from "./errors.ts";
import { listGenerations, profileGeneration, resolvedSystem } from "./generations.ts";
import { intParam, signedRunbookParams, type RunbookParams } from "./runbook-params.ts";
import type { SignedState } from "./store-reader.ts";

const CLEANUP_RUNBOOK = "appliance.disk_cleanup";
/** Generation numbers named in one nix-env call (it takes a list). */
export const MAX_DELETED_PER_RUN = 500;

async function stateOrNull(ctx: ActionContext): Promise<SignedState | null> {
  try {
    return await ctx.state();
  } catch (e) {
    if (e instanceof HelperError) return null;
    throw e;
  }
}

function cleanupParams(state: SignedState | null): RunbookParams {
  return signedRunbookParams(CLEANUP_RUNBOOK, state?.ruleset ?? null);
}

export async function journalVacuum(ctx: ActionContext): Promise<ActionReport> {
  const p = cleanupParams(await stateOrNull(ctx));
  const mb = intParam(p, "journal_max_mb");
  const params = { journal_max_mb: mb, params_source: p.source };
  const r = await ctx.exec(["journalctl", `--vacuum-size=${mb}M`], TIMEOUTS.vacuumMs);
  if (r.exitCode !== 0) return { outcome: "failed", detail: `journalctl --vacuum-size=${mb}M exited ${r.exitCode}: ${lastLine(r.stderr || r.stdout) || "no output"}`, params };
  return { outcome: "success", detail: `journal reduced to at most ${mb} MiB: ${lastLine(r.stderr || r.stdout) || "done"}`, params };
}

/** Generation numbers to delete: all but the newest `keep`, the current one and those running or pinned. */
export function generationsToDelete(gens: readonly { number: number; system: string | null }[], keep: number, current: number | null, protectedSystems: readonly (string | null)[]): number[] {
  const keepSet = new Set(gens.slice(-keep).map((g) => g.number));
  if (current !== null) keepSet.add(current);
  const guard = new Set(protectedSystems.filter((s): s is string => s !== null));
  return gens.filter((g) => !keepSet.has(g.number) && !(g.system !== null && guard.has(g.system))).map((g) => g.number);
}

export async function collectGarbage(ctx: ActionContext): Promise<ActionReport> {
  const state = await stateOrNull(ctx);
  const p = cleanupParams(state);
  const keep = intParam(p, "keep_generations");
  const { systemProfile, currentSystem } = ctx.deps.paths;
  const pinned = state?.config.status === "verified" ? state.config.config.payload.pinned_system : null;
  const gens = await listGenerations(systemProfile);
  const doomed = generationsToDelete(gens, keep, await profileGeneration(systemProfile), [await resolvedSystem(currentSystem), pinned]).slice(0, MAX_DELETED_PER_RUN);
  const params = { keep_generations: keep, params_source: p.source, deleted_generations: doomed.length, pin_known: pinned !== null };
  if (doomed.length > 0) {
    const del = await ctx.exec(["nix-env", "-p", systemProfile, "--delete-generations", ...doomed.map(String)], TIMEOUTS.profileMs);
    if (del.exitCode !== 0) return { outcome: "failed", detail: `nix-env --delete-generations exited ${del.exitCode}: ${lastLine(del.stderr || del.stdout) || "no output"}`, params };
  }
  const gc = await ctx.exec(["nix-collect-garbage"], TIMEOUTS.gcMs);
  if (gc.exitCode !== 0) return { outcome: "failed", detail: `nix-collect-garbage exited ${gc.exitCode}: ${lastLine(gc.stderr || gc.stdout) || "no output"}`, params };
  const which = doomed.length ? `deleted generations ${doomed.slice(0, 10).join(", ")}${doomed.length > 10 ? ` and ${doomed.length - 10} more` : ""}` : "no generation to delete";
  return { outcome: "success", detail: `kept the newest ${keep} generations, the running and the pinned one; ${which}; ${lastLine(gc.stderr || gc.stdout) || "garbage collected"}`, params };
}
