/**
 * The validated catalogue and its typed accessors. Built only by `loadCatalogue` (which has already checked
 * every cross-reference), immutable afterwards: everything returned is frozen, so a caller cannot change
 * what another caller sees.
 */
import { ValidationError } from "../errors.ts";
import type { Category } from "./categories.ts";
import { defaultsOf, validateParams, type Params, type ParamsResult } from "./params.ts";
import type { Check, Control, Fact, Framework, OrderType, Platform, Rule, Runbook } from "./schema.ts";

/** The entries of a catalogue after validation. */
export interface CatalogueData {
  readonly version: string;
  readonly facts: readonly Fact[];
  readonly checks: readonly Check[];
  readonly runbooks: readonly Runbook[];
  readonly rules: readonly Rule[];
  readonly order_types: readonly OrderType[];
  readonly controls: readonly Control[];
}

/** Filter for `listChecks`. */
export interface CheckFilter {
  platform?: Platform;
  category?: Category;
}

/** Order types whose `runbook_params` are checked against the named runbook's schema. */
const RUNBOOK_ORDERS = new Set(["run_runbook", "approve_runbook"]);

function unknown(kind: string, id: string, version: string): RangeError {
  return new RangeError(`Unknown ${kind} ${JSON.stringify(id)}: not in catalogue ${version}`);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class Catalogue {
  readonly version: string;
  readonly #facts = new Map<string, Fact>();
  readonly #checks = new Map<string, Check>();
  readonly #runbooks = new Map<string, Runbook>();
  readonly #rules: readonly Rule[];
  readonly #orders = new Map<string, OrderType>();
  readonly #controls = new Map<string, Control>();

  /** Use `loadCatalogue`, which validates; this trusts `data`. */
  constructor(data: CatalogueData) {
    deepFreeze(data);
    this.version = data.version;
    for (const f of data.facts) this.#facts.set(`${f.platform}:${f.name}`, f);
    for (const c of data.checks) this.#checks.set(c.id, c);
    for (const r of data.runbooks) this.#runbooks.set(r.id, r);
    for (const o of data.order_types) this.#orders.set(o.type, o);
    for (const c of data.controls) this.#controls.set(`${c.framework}:${c.id}`, c);
    // First match wins by (priority desc, id), the order docs/protocol.md gives for rule sets.
    this.#rules = Object.freeze([...data.rules].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  }

  /** The check with this id; throws a RangeError naming it if there is none. */
  getCheck(id: string): Check {
    const c = this.#checks.get(id);
    if (!c) throw unknown("check", id, this.version);
    return c;
  }

  /** The check with this id, or undefined (for ids from untrusted input). */
  findCheck(id: string): Check | undefined {
    return this.#checks.get(id);
  }

  /** Checks in catalogue order, optionally only one platform and/or category. */
  listChecks(filter: CheckFilter = {}): readonly Check[] {
    return [...this.#checks.values()].filter((c) => (!filter.platform || c.platform === filter.platform) && (!filter.category || c.category === filter.category));
  }

  /** A check's parameters: its defaults, overridden by a site's `overrides` (validated; throws naming the field). */
  checkParams(id: string, overrides: unknown = {}): Params {
    const check = this.getCheck(id);
    if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
      throw new ValidationError("schema", `check ${id} parameters: overrides must be an object: current value is ${JSON.stringify(overrides)}`);
    }
    const result = validateParams(check.params_schema, { ...defaultsOf(check.params_schema), ...overrides });
    if (!result.ok) throw new ValidationError("schema", `check ${id} parameters: ${result.issues.map((i) => i.message).join("; ")}`, { issues: result.issues });
    return result.value;
  }

  /** The runbook with this id; throws a RangeError naming it if there is none. */
  getRunbook(id: string): Runbook {
    const r = this.#runbooks.get(id);
    if (!r) throw unknown("runbook", id, this.version);
    return r;
  }

  /** The runbook with this id, or undefined. */
  findRunbook(id: string): Runbook | undefined {
    return this.#runbooks.get(id);
  }

  /** Every runbook, in catalogue order. */
  listRunbooks(): readonly Runbook[] {
    return [...this.#runbooks.values()];
  }

  /** The runbooks that fix `checkId` on `platform` (what L2 may choose from, and `run_runbook` may name). */
  runbooksFor(checkId: string, platform: Platform): readonly Runbook[] {
    return [...this.#runbooks.values()].filter((r) => r.check === checkId && r.platform === platform);
  }

  /** Built-in L1 rules, sorted by (priority desc, id): the first that matches wins. */
  builtinRules(): readonly Rule[] {
    return this.#rules;
  }

  /** The order type; throws a RangeError naming it if there is none. */
  getOrderType(type: string): OrderType {
    const o = this.#orders.get(type);
    if (!o) throw unknown("order type", type, this.version);
    return o;
  }

  /** Every order type. */
  listOrderTypes(): readonly OrderType[] {
    return [...this.#orders.values()];
  }

  /**
   * Validates an order's params against its type's schema; for `run_runbook` and `approve_runbook` also that
   * the runbook exists and `runbook_params` satisfy that runbook's schema (defaults applied).
   */
  validateOrderParams(type: string, params: unknown): ParamsResult {
    const orderType = this.#orders.get(type);
    if (!orderType) return { ok: false, issues: [{ field: "", code: "enum", message: `'type' is not an order type: current value is ${JSON.stringify(type)}` }] };
    const result = validateParams(orderType.params_schema, params);
    if (!result.ok || !RUNBOOK_ORDERS.has(type)) return result;
    const runbook = this.#runbooks.get(String(result.value["runbook"]));
    if (!runbook) return { ok: false, issues: [{ field: "runbook", code: "enum", message: `'runbook' is not a catalogue runbook: current value is ${JSON.stringify(result.value["runbook"])}` }] };
    const inner = validateParams(runbook.params_schema, result.value["runbook_params"] ?? {});
    if (!inner.ok) return { ok: false, issues: inner.issues.map((i) => ({ ...i, field: `runbook_params.${i.field}`, message: `runbook_params of ${runbook.id}: ${i.message}` })) };
    return { ok: true, value: { ...result.value, runbook_params: inner.value as Params[string] } };
  }

  /** The control; throws a RangeError naming it if there is none. */
  getControl(framework: Framework, id: string): Control {
    const c = this.#controls.get(`${framework}:${id}`);
    if (!c) throw unknown(`${framework} control`, id, this.version);
    return c;
  }

  /** Every control, optionally of one framework. */
  listControls(framework?: Framework): readonly Control[] {
    return [...this.#controls.values()].filter((c) => !framework || c.framework === framework);
  }

  /** The controls of one framework a check maps to (empty when the framework does not apply). */
  controlsFor(checkId: string, framework: Framework): readonly Control[] {
    return this.getCheck(checkId).controls[framework].map((id) => this.getControl(framework, id));
  }

  /** A check's controls as evidence writes them: `framework:citation`, sorted, unique (e.g. `hipaa:164.312(b)`). */
  controlKeysFor(checkId: string): string[] {
    const c = this.getCheck(checkId).controls;
    const keys = [...c.hipaa.map((id) => `hipaa:${id}`), ...c.soc2.map((id) => `soc2:${id}`), ...c.glba.map((id) => `glba:${id}`)];
    return [...new Set(keys)].sort();
  }

  /** The checks that map to a control (what makes the control "ready" when they all pass with fresh evidence). */
  checksForControl(framework: Framework, id: string): readonly Check[] {
    return [...this.#checks.values()].filter((c) => c.controls[framework].includes(id));
  }

  /** A fact's documentation; throws a RangeError if the platform has no such fact. */
  getFact(platform: Platform, name: string): Fact {
    const f = this.#facts.get(`${platform}:${name}`);
    if (!f) throw unknown(`${platform} fact`, name, this.version);
    return f;
  }

  /** Every fact a collector for `platform` must gather (or all facts). */
  listFacts(platform?: Platform): readonly Fact[] {
    return [...this.#facts.values()].filter((f) => !platform || f.platform === platform);
  }
}
