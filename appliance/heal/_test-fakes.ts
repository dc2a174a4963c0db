/**
 * Test stand-ins for the healing tests. They are NOT the real parts: `StandInEvidenceSink` stands in for the
 * evidence log (appliance/evidence), `StandInHost` for a collector + StepRunner (appliance/checks, appliance/lab).
 * They check what the real parts would refuse — every draft must build a valid bundle (`buildBundle`) and
 * every outbox body must pass the wire schema (`protocol/sync.ts`) — so a test cannot pass on output the
 * real evidence log would reject.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { controlKeysFor, evaluateCheck, type Json } from "../../protocol/catalogue/mod.ts";
import { buildBundle, type UnsignedBundle } from "../../protocol/evidence.ts";
import { outboxEntrySchema } from "../../protocol/sync.ts";
import { openStore, type Store } from "../store/index.ts";
import type { Clock, EvidenceDraft, EvidenceSink, Facts, HostCheckResult, HostScan, Log, OutboxDraft, StepOutcome, StepRequest, StepRunner, TargetRef } from "../engine/types.ts";
import type { SiteSettings } from "./engine.ts";

export const T0 = Date.UTC(2026, 10, 27, 15, 0, 0, 0); // a Friday, 10:00 in New York

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(public t: number = T0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Deterministic "random" bytes (ids only; never for keys). */
export function counterRandom(): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    i++;
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k++) out[k] = (i * 31 + k * 7) & 0xff;
    out[0] = i & 0xff;
    out[1] = (i >> 8) & 0xff;
    return out;
  };
}

export interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}
export function recordingLog(): Log & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push(fields ? { level, msg, fields } : { level, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Stand-in for the evidence log: validates like the real one, keeps everything in memory. */
export class StandInEvidenceSink implements EvidenceSink {
  readonly bundles: UnsignedBundle[] = [];
  readonly outbox: OutboxDraft[] = [];
  readonly calls: { drafts: EvidenceDraft[]; outbox: OutboxDraft[] }[] = [];
  /** Make the next N appends fail (disk full, crash). */
  failNext = 0;

  async append(drafts: EvidenceDraft[], outbox: OutboxDraft[] = []): Promise<{ seqs: number[] }> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("stand-in append failure");
    }
    const built = drafts.map((d, i) =>
      buildBundle({ ...d, appliance_id: "app_standin01", site_id: "site_standin01", seq: this.bundles.length + i + 1, prev_hash: "0".repeat(64), policy_version: "test" }),
    );
    outbox.forEach((o, i) => outboxEntrySchema.parse({ outbox_seq: this.outbox.length + i + 1, type: o.type, body: o.body }));
    this.bundles.push(...built);
    this.outbox.push(...outbox);
    this.calls.push({ drafts, outbox });
    return { seqs: built.map((b) => b.seq) };
  }

  remediations(): UnsignedBundle[] {
    return this.bundles.filter((b) => b.kind === "remediation");
  }
  entries(type: OutboxDraft["type"]): { [name: string]: Json }[] {
    return this.outbox.filter((o) => o.type === type).map((o) => o.body);
  }
}

/** How a stand-in host answers one step: change its facts and report, or misbehave. */
export type StepEffect = (facts: Record<string, Record<string, Json>>, params: { [name: string]: Json }) => StepOutcome | "throw" | "hang";

/**
 * Stand-in for a collector + StepRunner on one simulated host: facts live here, steps change them through
 * `effects` (keyed `action` or `powershell.script:<script>`), and `recheck` evaluates the real catalogue check
 * over the current facts. A step without an effect reports ok and changes nothing — a runner that lies.
 */
export class StandInHost implements StepRunner {
  readonly calls: { target: string; action: string; params: { [name: string]: Json } }[] = [];
  rechecks = 0;
  recheckOverride: ((checkId: string) => HostCheckResult | "throw") | null = null;

  constructor(
    public facts: Record<string, Record<string, Json>>,
    public effects: Record<string, StepEffect> = {},
  ) {}

  async runStep(target: TargetRef, step: StepRequest): Promise<StepOutcome> {
    this.calls.push({ target: target.id, action: step.action, params: step.params });
    const key = step.action === "powershell.script" ? `powershell.script:${String(step.params.script)}` : step.action;
    const effect = this.effects[key];
    if (!effect) return { ok: true, detail: `${key}: done` };
    const out = effect(this.facts, step.params);
    if (out === "throw") throw new Error(`${key}: connection reset`);
    if (out === "hang") return new Promise((_, reject) => step.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    return out;
  }

  recheck = async (_target: TargetRef, checkId: string): Promise<HostCheckResult> => {
    this.rechecks++;
    const o = this.recheckOverride?.(checkId);
    if (o === "throw") throw new Error("host unreachable during re-check");
    if (o) return o;
    return resultFor(checkId, this.facts);
  };

  scan(target: TargetRef, checks: string[], reachable = true): HostScan {
    return scanOf(target, checks.map((c) => resultFor(c, this.facts)), this.facts, reachable);
  }
}

/** The real catalogue evaluation of `checkId` over `facts`, as a HostCheckResult. */
export function resultFor(checkId: string, facts: Facts): HostCheckResult {
  const ev = evaluateCheck(checkId, facts);
  return { check: checkId, status: ev.status, expected: ev.expected, actual: ev.actual, controls: controlKeysFor(checkId), reason: ev.reason };
}

export function scanOf(target: TargetRef, results: HostCheckResult[], facts: Facts, reachable = true): HostScan {
  return {
    target,
    started_at: new Date(T0).toISOString(),
    finished_at: new Date(T0).toISOString(),
    reachable,
    error: reachable ? null : { code: "unreachable", message: "no route to host" },
    facts: reachable ? facts : {},
    results: reachable ? results : [],
  };
}

export const WIN: TargetRef = { id: "host_ws01abcd", name: "Front desk PC", platform: "windows", collector: "lab", simulated: true };
export const LIN: TargetRef = { id: "host_srv1abcd", name: "File server", platform: "linux", collector: "lab", simulated: true };
export const APP: TargetRef = { id: "host_app1abcd", name: "Appliance", platform: "appliance", collector: "lab", simulated: true };

export function site(overrides: Partial<SiteSettings> = {}): SiteSettings {
  return { healing_mode: "enforce", maintenance_windows: [], allow_disruptive_outside_window: false, l2_enabled: false, deployment_mode: "direct", ...overrides };
}

/** A fresh store in a temporary directory; `done()` closes and deletes it. */
export async function tempStore(): Promise<{ store: Store; path: string; done(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-heal-"));
  const path = join(dir, "appliance.db");
  const store = await openStore(path, { log: { info: () => undefined } });
  return {
    store,
    path,
    async done() {
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
