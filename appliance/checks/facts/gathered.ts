/**
 * What a fact gatherer returns, and the builder the platform parsers use to produce it.
 *
 * Facts are a nested JSON object addressed by the catalogue's dotted names (`sshd.permit_root_login` is
 * `facts.sshd.permit_root_login`). A fact is either present (a value of its documented type, or null where the
 * catalogue allows null: "looked, found nothing") or *unavailable*: left out of `facts`, with a plain reason in
 * `unavailable` (e.g. "systemd is not running on this host"). The evaluator turns a missing fact into an
 * `error` result, so a gatherer that cannot see something never makes a check pass.
 */
import type { Facts, TargetRef } from "../../engine/types.ts";
import type { Json } from "../../../protocol/catalogue/schema.ts";

export interface GatheredFacts {
  readonly facts: Facts;
  /** Fact name → why it could not be collected. */
  readonly unavailable: Readonly<Record<string, string>>;
}

export interface GatherOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Gathers one target's facts; throws a CollectError when the host cannot be scanned at all. */
export type Gather = (target: TargetRef, opts: GatherOptions) => Promise<GatheredFacts>;

/** Longest reason kept: one sentence for an operator. */
export const MAX_REASON_LENGTH = 240;

/** Builds a GatheredFacts; `set` and `missing` take dotted fact names. */
export class FactsBuilder {
  readonly #facts: Facts = {};
  readonly #unavailable: Record<string, string> = {};

  set(name: string, value: Json): this {
    setFact(this.#facts, name, value);
    delete this.#unavailable[name];
    return this;
  }

  missing(name: string, reason: string): this {
    this.#unavailable[name] = reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
    return this;
  }

  /** Sets the value when defined, else records the reason. */
  setOr(name: string, value: Json | undefined, reason: string): this {
    return value === undefined ? this.missing(name, reason) : this.set(name, value);
  }

  build(): GatheredFacts {
    return { facts: structuredClone(this.#facts), unavailable: { ...this.#unavailable } };
  }
}

/** Sets a dotted fact in a plain Facts object (copy-free; the lab and fixtures use it). */
export function setFact(facts: Facts, name: string, value: Json): void {
  const parts = name.split(".");
  let node: Facts = facts;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Facts;
  }
  node[parts[parts.length - 1]!] = value;
}

/** Removes a dotted fact (and the objects it leaves empty). */
export function deleteFact(facts: Facts, name: string): void {
  const parts = name.split(".");
  const stack: Facts[] = [facts];
  let node: Facts = facts;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) return;
    node = next as Facts;
    stack.push(node);
  }
  delete node[parts[parts.length - 1]!];
  for (let i = parts.length - 2; i >= 0; i--) {
    const parent = stack[i]!;
    const child = parent[parts[i]!];
    if (child && typeof child === "object" && !Array.isArray(child) && Object.keys(child).length === 0) delete parent[parts[i]!];
  }
}
