/**
 * The `lab` collector: facts of simulated hosts from a LabWorld (optionally after a simulated network
 * latency), and a StepRunner that applies runbook steps to the world. Targets must be labelled simulated:
 * the lab never answers for a real host.
 */
import { CollectError } from "../collect/errors.ts";
import type { StepOutcome, StepRequest, StepRunner, TargetRef } from "../engine/types.ts";
import type { Gather } from "../checks/mod.ts";
import type { LabWorld } from "./world.ts";

/** Longest simulated latency: a LAN round trip plus a slow PowerShell start is about 2 s. */
export const MAX_LAB_LATENCY_MS = 10_000;

export interface LabCollectorOptions {
  /** Simulated answer time per host (0 in tests). */
  readonly latencyMs?: number;
  /** The lab host a target stands for (config `host`); default its id. */
  readonly hostOf?: (target: TargetRef) => string;
}

function checkTarget(target: TargetRef): void {
  if (!target.simulated || target.collector !== "lab") {
    throw new CollectError("unsupported", `The lab collector answers only for simulated lab targets; ${target.id} is ${target.collector}${target.simulated ? "" : " and not simulated"}`);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CollectError("aborted", "Lab gathering was aborted by the caller"));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CollectError("aborted", "Lab gathering was aborted by the caller"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function createLabGatherer(world: LabWorld, o: LabCollectorOptions = {}): Gather {
  const latency = o.latencyMs ?? 0;
  if (!Number.isInteger(latency) || latency < 0 || latency > MAX_LAB_LATENCY_MS) throw new RangeError(`Lab latency must be an integer from 0 to ${MAX_LAB_LATENCY_MS} ms: current value is ${latency}`);
  const hostOf = o.hostOf ?? ((t: TargetRef) => t.id);
  return async (target, { timeoutMs, signal }) => {
    checkTarget(target);
    if (latency > timeoutMs) {
      await sleep(timeoutMs, signal);
      throw new CollectError("timeout", `Simulated host ${target.id} did not answer within ${timeoutMs} ms`, { timeoutMs });
    }
    if (latency > 0) await sleep(latency, signal);
    return world.factsFor(hostOf(target));
  };
}

export function createLabStepRunner(world: LabWorld, o: Pick<LabCollectorOptions, "hostOf"> = {}): StepRunner {
  const hostOf = o.hostOf ?? ((t: TargetRef) => t.id);
  return {
    async runStep(target: TargetRef, step: StepRequest): Promise<StepOutcome> {
      checkTarget(target);
      if (step.signal?.aborted) return { ok: false, detail: "simulated: aborted before it ran" };
      return await world.applyStep(hostOf(target), step);
    },
  };
}
