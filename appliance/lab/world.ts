/**
 * The lab world: the simulated clinic's current state. A host's facts are its base facts, plus every drift
 * whose time has come (by the injected clock), plus the effects of the runbook steps applied to it, in the
 * order they happened. Deterministic given the clock and the steps.
 *
 * State (per-host facts, the time up to which drift has been applied, snapshots) is kept in a JSON file,
 * written atomically (temp file, fsync, rename) after every step, so a restarted daemon continues where the
 * lab was. Drift is not written on every read: it is a pure function of (state, time), so replaying it from the
 * saved cursor after a restart gives the same facts. Repeating drift only ever *sets* facts, so applying its
 * latest occurrence equals applying every occurrence: a clock that jumps ahead a year costs one step per drift
 * entry, not one per occurrence. A clock that steps back applies nothing and undoes nothing.
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { stepParamsSchema } from "../../protocol/catalogue/actions.ts";
import { validateParams } from "../../protocol/catalogue/params.ts";
import type { Json } from "../../protocol/catalogue/schema.ts";
import { CollectError } from "../collect/errors.ts";
import type { Clock, Facts, Log, StepOutcome, StepRequest, TargetRef } from "../engine/types.ts";
import { setFact, type GatheredFacts } from "../checks/mod.ts";
import { LabError, type LabEffect, type LabHost, type LabSite } from "./site.ts";

export const LAB_STATE_SCHEMA = "osiris.lab-state/v1";
/** A lab state file holds facts of at most MAX_LAB_HOSTS hosts: a few MiB at most. */
export const MAX_STATE_FILE_BYTES = 32 * 1024 * 1024;
/** Longest step detail (evidence keeps it). */
const MAX_DETAIL = 200;

const stateSchema = z.strictObject({
  schema: z.literal(LAB_STATE_SCHEMA),
  site_id: z.string(),
  digest: z.string(),
  started_at: z.number().int(),
  drift_until: z.number().int(),
  hosts: z.record(z.string(), z.record(z.string(), z.json())),
  snapshots: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.json()))),
  steps_applied: z.number().int().min(0),
});
type State = z.infer<typeof stateSchema>;

export interface LabWorldOptions {
  readonly site: LabSite;
  readonly clock: Clock;
  /** Where the state is kept; absent: in memory only (tests, benchmarks). */
  readonly stateFile?: string;
  readonly log?: Log;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function readPath(facts: Facts, name: string): Json | undefined {
  let v: Json | undefined = facts;
  for (const seg of name.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Facts)[seg];
  }
  return v;
}

export class LabWorld {
  readonly site: LabSite;
  readonly #clock: Clock;
  readonly #file: string | undefined;
  readonly #log: Log | undefined;
  readonly #hosts: ReadonlyMap<string, LabHost>;
  #state: State;
  /** Writes are chained so two steps never race on the rename. */
  #writing: Promise<void> = Promise.resolve();

  private constructor(o: LabWorldOptions, state: State) {
    this.site = o.site;
    this.#clock = o.clock;
    this.#file = o.stateFile;
    this.#log = o.log;
    this.#hosts = new Map(o.site.hosts.map((h) => [h.id, h]));
    this.#state = state;
  }

  /** Opens the world: continues from the state file when it belongs to this site definition, else starts now. */
  static async open(o: LabWorldOptions): Promise<LabWorld> {
    const fresh = (): State => ({
      schema: LAB_STATE_SCHEMA,
      site_id: o.site.id,
      digest: o.site.digest,
      started_at: o.clock.now(),
      drift_until: o.clock.now() - 1,
      hosts: Object.fromEntries(o.site.hosts.map((h) => [h.id, structuredClone(h.facts)])),
      snapshots: {},
      steps_applied: 0,
    });
    if (!o.stateFile) return new LabWorld(o, fresh());
    let text: string | undefined;
    try {
      text = await readFile(o.stateFile, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new LabError("state", `Cannot read lab state ${o.stateFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (text === undefined) {
      const world = new LabWorld(o, fresh());
      await world.#persist();
      return world;
    }
    if (text.length > MAX_STATE_FILE_BYTES) throw new LabError("state", `Lab state ${o.stateFile} is ${text.length} characters, over the limit of ${MAX_STATE_FILE_BYTES}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LabError("state", `Lab state ${o.stateFile} is not valid JSON; remove it to restart the lab from its beginning`);
    }
    const r = stateSchema.safeParse(parsed);
    if (!r.success) throw new LabError("state", `Lab state ${o.stateFile} is invalid (${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}); remove it to restart the lab`);
    if (r.data.digest !== o.site.digest || r.data.site_id !== o.site.id) {
      o.log?.warn("lab site definition changed; starting the simulation again", { site_id: o.site.id, state_file: o.stateFile });
      const world = new LabWorld(o, fresh());
      await world.#persist();
      return world;
    }
    return new LabWorld(o, r.data);
  }

  /** When the simulation started (epoch ms). */
  get startedAt(): number {
    return this.#state.started_at;
  }

  /** The lab's hosts as engine targets, always labelled simulated. */
  targets(): TargetRef[] {
    return this.site.hosts.map((h) => ({ id: h.id, name: h.name, platform: h.platform, collector: "lab", simulated: true }));
  }

  #host(id: string): LabHost {
    const h = this.#hosts.get(id);
    if (!h) throw new LabError("invalid_site", `No host ${JSON.stringify(id)} in lab site ${this.site.id} (hosts: ${[...this.#hosts.keys()].join(", ")})`);
    return h;
  }

  /** Applies drift due up to the clock's now (in time order, ties by definition order). */
  #advance(): void {
    const now = this.#clock.now();
    const from = this.#state.drift_until;
    if (now <= from) return;
    const due: { t: number; i: number }[] = [];
    this.site.drift.forEach((d, i) => {
      let t: number | undefined;
      if (d.atMs !== undefined) t = this.#state.started_at + d.atMs;
      else if (d.everyMs !== undefined) {
        const first = this.#state.started_at + d.startMs;
        if (now >= first) t = first + Math.floor((now - first) / d.everyMs) * d.everyMs;
      }
      if (t !== undefined && t > from && t <= now) due.push({ t, i });
    });
    due.sort((a, b) => a.t - b.t || a.i - b.i);
    for (const { i } of due) {
      const d = this.site.drift[i]!;
      const facts = this.#state.hosts[d.host];
      if (facts) for (const [name, value] of Object.entries(d.set)) setFact(facts, name, value);
    }
    this.#state.drift_until = now;
  }

  /** Whether the host answers at the clock's now. */
  reachable(hostId: string): boolean {
    const h = this.#host(hostId);
    if (h.unreachableAfterMs === undefined) return true;
    const since = this.#state.started_at + h.unreachableAfterMs;
    const now = this.#clock.now();
    return now < since || (h.unreachableForMs !== undefined && now >= since + h.unreachableForMs);
  }

  /** The host's facts now. Throws CollectError("unreachable") while the simulation has it down. */
  factsFor(hostId: string): GatheredFacts {
    const h = this.#host(hostId);
    if (!this.reachable(hostId)) throw new CollectError("unreachable", `Simulated host ${h.id} does not answer (lab site ${this.site.id})`);
    this.#advance();
    return { facts: structuredClone(this.#state.hosts[hostId] as Facts), unavailable: {} };
  }

  /** Runs one runbook step against the simulation: validates it, applies its effects, saves the state. */
  async applyStep(hostId: string, step: StepRequest): Promise<StepOutcome> {
    const h = this.#host(hostId);
    const schema = stepParamsSchema(h.platform, step.action, step.params);
    if (typeof schema === "string") return { ok: false, detail: `simulated: refused: ${schema}`.slice(0, MAX_DETAIL) };
    const valid = validateParams(schema, step.params);
    if (!valid.ok) return { ok: false, detail: `simulated: refused ${step.action}: ${valid.issues.map((i) => i.message).join("; ")}`.slice(0, MAX_DETAIL) };
    if (!this.reachable(hostId)) return { ok: false, detail: `simulated: ${h.id} does not answer` };
    this.#advance();

    const matches = (want: Readonly<Record<string, unknown>>) => Object.entries(want).every(([k, v]) => deepEqual(step.params[k], v));
    const failure = this.site.failures.find((f) => f.host === hostId && f.action === step.action && matches(f.params));
    if (failure?.mode === "error") return { ok: false, detail: `simulated failure: ${failure.detail ?? `${step.action} failed on ${h.id}`}`.slice(0, MAX_DETAIL) };

    const changes: string[] = [];
    let outcome: StepOutcome | undefined;
    if (failure?.mode !== "no_effect") {
      for (const e of this.site.effects.filter((x) => x.platform === h.platform && x.action === step.action && matches(x.params))) {
        outcome = this.#applyEffect(hostId, e, step, changes) ?? outcome;
        if (outcome && !outcome.ok) return outcome;
      }
    }
    this.#state.steps_applied++;
    await this.#persist();
    const what = changes.length ? changes.join(", ") : "no change to the simulated facts";
    return outcome ?? { ok: true, detail: `simulated: ${step.action}: ${what}`.slice(0, MAX_DETAIL) };
  }

  #applyEffect(hostId: string, e: LabEffect, step: StepRequest, changes: string[]): StepOutcome | undefined {
    const facts = this.#state.hosts[hostId] as Facts;
    const snaps = (this.#state.snapshots[hostId] ??= {});
    if (e.set) {
      for (const [name, v] of Object.entries(e.set)) {
        const value = v !== null && typeof v === "object" && !Array.isArray(v) && "$param" in v ? (step.params[String(v["$param"])] as Json) : (v as Json);
        if (value === undefined) return { ok: false, detail: `simulated: ${step.action} has no parameter ${String((v as { $param: string }).$param)}` };
        setFact(facts, name, value);
        changes.push(`${name}=${JSON.stringify(value)}`);
      }
    } else if (e.snapshot) {
      snaps[e.snapshot.family] = Object.fromEntries(e.snapshot.facts.map((n) => [n, readPath(facts, n) ?? null]));
      changes.push(`snapshot ${e.snapshot.family} saved`);
    } else if (e.restore) {
      const snap = snaps[e.restore];
      if (!snap) return { ok: false, detail: `simulated: no ${e.restore} snapshot was taken on ${hostId}; nothing to restore` };
      for (const [name, value] of Object.entries(snap)) setFact(facts, name, value);
      delete snaps[e.restore];
      changes.push(`${e.restore} snapshot restored`);
    }
    return undefined;
  }

  /** Atomic write: temp file in the same directory, fsync, rename over the old file. */
  async #persist(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    const text = `${JSON.stringify(this.#state)}\n`;
    const write = async () => {
      const tmp = `${file}.tmp-${process.pid}`;
      const fh = await open(tmp, "w", 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await rename(tmp, file);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw new LabError("state", `Cannot save lab state to ${file} (directory ${dirname(file)}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    };
    const next = this.#writing.then(write, write);
    this.#writing = next.catch(() => {});
    await next;
  }
}
