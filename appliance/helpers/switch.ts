/**
 * Helper actions `switch-pinned` and `switch-previous` (step `nixos.switch_generation`, target pinned /
 * previous).
 *
 * switch-pinned switches to the system closure the relay pinned — read from the signed appliance config in
 * the store and verified now, never taken from the caller — then runs the health check, and on failure
 * switches back to the system that ran before, itself: the daemon is restarted during a switch and cannot be
 * relied on to roll back. Profile changes use `nix-env --set <closure>`, so a rollback names the closure it
 * returns to rather than counting generations.
 *
 * switch-previous returns to the system the last switch-pinned started from (its result file, which only
 * root can write), or, without one, to the profile's previous generation. When the system already runs that
 * closure it does nothing: after switch-pinned rolled back by itself, the runbook's own rollback step must
 * not go one generation further back.
 */
import { join } from "node:path";
import { lastLine } from "./command.ts";
import { TIMEOUTS, type ActionContext, type ActionReport } from "./context.ts";
import { HelperError } from "./errors.ts";
import { listGenerations, profileGeneration, resolvedSystem } from "./generations.ts";
import { waitHealthy } from "./health.ts";
import { readResult } from "./result.ts";
import { intParam, signedRunbookParams, type RunbookParams } from "./runbook-params.ts";

const SWITCH_RUNBOOK = "appliance.nixos_switch_pinned";

async function healthParams(ctx: ActionContext): Promise<RunbookParams> {
  try {
    return signedRunbookParams(SWITCH_RUNBOOK, (await ctx.state()).ruleset);
  } catch (e) {
    if (e instanceof HelperError) return signedRunbookParams(SWITCH_RUNBOOK, null);
    throw e;
  }
}

/** Sets the profile to `system` and activates it; null on success, else why not. */
async function activate(ctx: ActionContext, system: string): Promise<string | null> {
  const profile = ctx.deps.paths.systemProfile;
  const set = await ctx.exec(["nix-env", "-p", profile, "--set", system], TIMEOUTS.profileMs);
  if (set.exitCode !== 0) return `nix-env --set exited ${set.exitCode}: ${lastLine(set.stderr || set.stdout) || "no output"}`;
  const sw = await ctx.exec([join(system, "bin", "switch-to-configuration"), "switch"], TIMEOUTS.switchMs);
  if (sw.exitCode !== 0) return `switch-to-configuration exited ${sw.exitCode}: ${lastLine(sw.stderr || sw.stdout) || "no output"}`;
  return null;
}

function health(ctx: ActionContext, timeoutS: number) {
  return waitHealthy(timeoutS * 1000, { exec: (argv, ms) => ctx.exec(argv, ms), now: ctx.deps.now, sleep: ctx.deps.sleep });
}

const gen = (n: number | null) => (n === null ? "?" : String(n));

export async function switchPinned(ctx: ActionContext): Promise<ActionReport> {
  let state;
  try {
    state = await ctx.state();
  } catch (e) {
    if (e instanceof HelperError) return { outcome: "refused", detail: `not switched: ${e.message}` };
    throw e;
  }
  if (state.config.status === "none") return { outcome: "refused", detail: "not switched: the relay has not sent a signed appliance config" };
  if (state.config.status === "invalid") return { outcome: "refused", detail: `not switched: ${state.config.reason}` };
  const pinned = state.config.config.payload.pinned_system;
  const version = state.config.config.payload.version;
  if (pinned === null) return { outcome: "refused", detail: `not switched: signed appliance config v${version} pins no system` };

  const hp = signedRunbookParams(SWITCH_RUNBOOK, state.ruleset);
  const timeoutS = intParam(hp, "health_timeout_s");
  const params = { health_timeout_s: timeoutS, params_source: hp.source, config_version: version };
  const { currentSystem, systemProfile } = ctx.deps.paths;
  const before = await resolvedSystem(currentSystem);
  const fromGeneration = await profileGeneration(systemProfile);
  const system = (to: string | null, toGeneration: number | null) => ({ from_system: before, to_system: to, from_generation: fromGeneration, to_generation: toGeneration });

  if (before === pinned) return { outcome: "unchanged", detail: `already running the pinned system (generation ${gen(fromGeneration)})`, params, system: system(before, fromGeneration) };

  const fetch = await ctx.exec(["nix-store", "--realise", pinned], TIMEOUTS.realiseMs);
  if (fetch.exitCode !== 0) {
    return { outcome: "failed", detail: `cannot fetch the pinned system (nix-store --realise exited ${fetch.exitCode}): ${lastLine(fetch.stderr || fetch.stdout)}`, params, system: system(before, fromGeneration) };
  }
  const problem = await activate(ctx, pinned);
  const toGeneration = await profileGeneration(systemProfile);
  const healthy = problem === null ? await health(ctx, timeoutS) : { ok: false, detail: problem };
  if (healthy.ok) {
    return { outcome: "success", detail: `switched from generation ${gen(fromGeneration)} to ${gen(toGeneration)} (pinned by config v${version}); ${healthy.detail}`, params, system: system(await resolvedSystem(currentSystem), toGeneration) };
  }

  // Roll back to the closure that ran before, and check again.
  if (before === null) {
    return { outcome: "failed", detail: `switch to the pinned system failed (${healthy.detail}) and there is no previous system to return to`, params, system: system(await resolvedSystem(currentSystem), toGeneration) };
  }
  const back = await activate(ctx, before);
  const backGeneration = await profileGeneration(systemProfile);
  const now = await resolvedSystem(currentSystem);
  if (back !== null) {
    return { outcome: "failed", detail: `switch failed (${healthy.detail}); rollback to generation ${gen(fromGeneration)} also failed: ${back}`, params, system: system(now, backGeneration) };
  }
  const after = await health(ctx, timeoutS);
  return {
    outcome: after.ok ? "reverted" : "failed",
    detail: `switch to generation ${gen(toGeneration)} failed (${healthy.detail}); switched back to the previous system as generation ${gen(backGeneration)}${after.ok ? ", healthy" : `, but ${after.detail}`}`,
    params,
    system: system(now, backGeneration),
  };
}

export async function switchPrevious(ctx: ActionContext): Promise<ActionReport> {
  const { currentSystem, systemProfile, resultDir } = ctx.deps.paths;
  const hp = await healthParams(ctx);
  const timeoutS = intParam(hp, "health_timeout_s");
  const params = { health_timeout_s: timeoutS, params_source: hp.source };
  const current = await resolvedSystem(currentSystem);
  const fromGeneration = await profileGeneration(systemProfile);

  let target: string | null = null;
  let why = "";
  const last = await readResult(resultDir, "switch-pinned", { ownerUid: process.getuid?.() ?? 0 }).catch(() => null);
  if (last?.system?.from_system) {
    target = last.system.from_system;
    why = `the system before the switch-pinned of ${last.started_at}`;
  } else {
    const gens = await listGenerations(systemProfile);
    const previous = gens.filter((g) => fromGeneration !== null && g.number < fromGeneration && g.system !== null).pop();
    if (previous) {
      target = previous.system;
      why = `generation ${previous.number}`;
    }
  }
  const system = (to: string | null, toGeneration: number | null) => ({ from_system: current, to_system: to, from_generation: fromGeneration, to_generation: toGeneration });
  if (target === null) return { outcome: "failed", detail: "no previous system to switch to (no switch-pinned result and no earlier generation)", params, system: system(current, fromGeneration) };
  if (target === current) return { outcome: "unchanged", detail: `already running the previous system (${why})`, params, system: system(current, fromGeneration) };

  const problem = await activate(ctx, target);
  const toGeneration = await profileGeneration(systemProfile);
  const now = await resolvedSystem(currentSystem);
  if (problem !== null) return { outcome: "failed", detail: `switch back to ${why} failed: ${problem}`, params, system: system(now, toGeneration) };
  const healthy = await health(ctx, timeoutS);
  return {
    outcome: healthy.ok ? "success" : "failed",
    detail: `switched from generation ${gen(fromGeneration)} back to ${why} as generation ${gen(toGeneration)}; ${healthy.detail}`,
    params,
    system: system(now, toGeneration),
  };
}
