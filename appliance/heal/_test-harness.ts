/**
 * A healing engine wired to a temporary store and the test stand-ins (`_test-fakes.ts`), for engine tests.
 * The evidence sink and the host are stand-ins, not appliance/evidence or appliance/lab.
 */
import { catalogue, type Json } from "../../protocol/catalogue/mod.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import type { EvidenceSink, StepRunner } from "../engine/types.ts";
import type { ResellerEventInput } from "../outputs/index.ts";
import { counterRandom, FakeClock, recordingLog, site, StandInEvidenceSink, StandInHost, tempStore, type StepEffect } from "./_test-fakes.ts";
import { KvApprovals } from "./approvals.ts";
import { HealingEngine, type HealingEngineOptions, type SiteSettings } from "./engine.ts";
import type { Recheck } from "./executor.ts";
import type { Planner } from "./l2-client.ts";
import { RuleBook } from "./rules.ts";

export interface HarnessOptions {
  facts: Record<string, Record<string, Json>>;
  effects?: Record<string, StepEffect>;
  site?: Partial<SiteSettings>;
  planner?: Planner;
  publish?: (e: ResellerEventInput) => Promise<unknown>;
  dryRun?: boolean;
  sink?: EvidenceSink;
  runner?: StepRunner;
  store?: Awaited<ReturnType<typeof tempStore>>;
  timeouts?: HealingEngineOptions["timeouts"];
  clock?: FakeClock;
  relayKeys?: readonly TrustedKey[];
  recheck?: Recheck;
}

export async function harness(o: HarnessOptions) {
  const db = o.store ?? (await tempStore());
  const clock = o.clock ?? new FakeClock();
  const log = recordingLog();
  const sink = new StandInEvidenceSink();
  const host = new StandInHost(o.facts, o.effects ?? {});
  const rules = await RuleBook.open({ catalogue, store: db.store, relayKeys: () => o.relayKeys ?? [], clock, log });
  const approvals = new KvApprovals(db.store, clock);
  let settings: SiteSettings = site(o.site);
  const published: ResellerEventInput[] = [];
  const options: HealingEngineOptions = {
    store: db.store,
    sink: o.sink ?? sink,
    runner: o.runner ?? host,
    recheck: o.recheck ?? host.recheck,
    rules,
    approvals,
    site: () => settings,
    identity: () => ({ site_id: "site_test00001", appliance_id: "app_test00001" }),
    planner: o.planner ?? null,
    publish:
      o.publish ??
      (async (e) => {
        published.push(e);
      }),
    clock,
    random: counterRandom(),
    log,
    dryRun: o.dryRun === true,
    timeouts: o.timeouts ?? { stepMs: 500, recheckMs: 500, l2Ms: 100 },
  };
  const engine = new HealingEngine(options);
  return {
    db,
    store: db.store,
    clock,
    log,
    sink,
    host,
    rules,
    approvals,
    engine,
    published,
    options,
    setSite(over: Partial<SiteSettings>) {
      settings = { ...settings, ...over };
    },
    async rows(sql: string, args: (string | number | null)[] = []) {
      return (await db.store.execute({ sql, args })).rows;
    },
    done: () => db.done(),
  };
}
export type Harness = Awaited<ReturnType<typeof harness>>;

/** Runs `fn` with a harness and always cleans up. */
export async function withHarness(o: HarnessOptions, fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await harness(o);
  try {
    await fn(h);
  } finally {
    await h.done();
  }
}
