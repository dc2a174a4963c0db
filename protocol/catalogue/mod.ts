/**
 * The catalogue: one registry of checks, runbooks, built-in L1 rules, order types and compliance controls,
 * read by the appliance, the relay, the UIs and the reports. The data lives in `data/*.json` (one file per
 * platform, plus order types and controls) and is validated when this module loads: a broken catalogue
 * fails at import, naming the entry and field, never at the moment a check or fix runs.
 *
 *   import { getCheck, runbooksFor, controlsFor, evaluateCheck } from "@osiriscare/protocol/catalogue";
 */
import appliance from "./data/appliance.json" with { type: "json" };
import controls from "./data/controls.json" with { type: "json" };
import linux from "./data/linux.json" with { type: "json" };
import macos from "./data/macos.json" with { type: "json" };
import network from "./data/network.json" with { type: "json" };
import orderTypes from "./data/orders.json" with { type: "json" };
import windows from "./data/windows.json" with { type: "json" };
import { Catalogue, type CheckFilter } from "./catalogue.ts";
import { evaluateCheck as evaluateWith, type CheckEvaluation } from "./evaluate.ts";
import { loadCatalogue, type RawCatalogue } from "./load.ts";
import type { Params, ParamsResult } from "./params.ts";
import type { Check, Control, Fact, Framework, OrderType, Platform, Rule, Runbook } from "./schema.ts";

/**
 * Version of the catalogue data, recorded as `policy_version` in every evidence bundle. Bump it whenever
 * anything in `data/` changes meaning (a check, threshold, mapping, runbook or rule).
 */
export const CATALOGUE_VERSION = "2026.11.0";

/** What each platform file holds; typed loosely on purpose, the loader validates every entry. */
interface PlatformFile {
  readonly facts: readonly unknown[];
  readonly checks: readonly unknown[];
  readonly runbooks: readonly unknown[];
  readonly rules: readonly unknown[];
}

const PLATFORM_FILES: readonly PlatformFile[] = [appliance, linux, windows, macos, network];

/** The shipped catalogue data, before validation (for tests and tools that load variants of it). */
export function rawCatalogue(): RawCatalogue {
  return structuredClone({
    facts: PLATFORM_FILES.flatMap((f) => f.facts),
    checks: PLATFORM_FILES.flatMap((f) => f.checks),
    runbooks: PLATFORM_FILES.flatMap((f) => f.runbooks),
    rules: PLATFORM_FILES.flatMap((f) => f.rules),
    order_types: orderTypes,
    controls,
  });
}

/** The validated, immutable catalogue. */
export const catalogue: Catalogue = loadCatalogue(rawCatalogue(), CATALOGUE_VERSION);

/** The check with this id; throws a RangeError naming it if unknown. */
export const getCheck = (id: string): Check => catalogue.getCheck(id);
/** The check with this id, or undefined. */
export const findCheck = (id: string): Check | undefined => catalogue.findCheck(id);
/** Checks, optionally of one platform and/or category. */
export const listChecks = (filter?: CheckFilter): readonly Check[] => catalogue.listChecks(filter);
/** A check's parameters: defaults overridden by a site's validated overrides. */
export const checkParams = (id: string, overrides?: unknown): Params => catalogue.checkParams(id, overrides);
/** The runbook with this id; throws a RangeError naming it if unknown. */
export const getRunbook = (id: string): Runbook => catalogue.getRunbook(id);
/** Runbooks that fix a check on a platform. */
export const runbooksFor = (checkId: string, platform: Platform): readonly Runbook[] => catalogue.runbooksFor(checkId, platform);
/** Built-in L1 rules, in match order. */
export const builtinRules = (): readonly Rule[] => catalogue.builtinRules();
/** The order type; throws a RangeError naming it if unknown. */
export const getOrderType = (type: string): OrderType => catalogue.getOrderType(type);
/** Every order type. */
export const listOrderTypes = (): readonly OrderType[] => catalogue.listOrderTypes();
/** Validates an order's params (and, for runbook orders, the runbook's params). */
export const validateOrderParams = (type: string, params: unknown): ParamsResult => catalogue.validateOrderParams(type, params);
/** The control; throws a RangeError naming it if unknown. */
export const getControl = (framework: Framework, id: string): Control => catalogue.getControl(framework, id);
/** The controls of a framework a check maps to. */
export const controlsFor = (checkId: string, framework: Framework): readonly Control[] => catalogue.controlsFor(checkId, framework);
/** A check's controls as `framework:citation` keys for evidence. */
export const controlKeysFor = (checkId: string): string[] => catalogue.controlKeysFor(checkId);
/** Every fact a collector for the platform must gather. */
export const listFacts = (platform?: Platform): readonly Fact[] => catalogue.listFacts(platform);

/**
 * Evaluates a catalogue check over a target's facts with the site's parameter overrides (validated).
 * See `evaluate.ts` for the exact semantics.
 */
export function evaluateCheck(checkId: string, facts: unknown, overrides?: unknown): CheckEvaluation {
  const check = catalogue.getCheck(checkId);
  return evaluateWith(check, (name) => catalogue.getFact(check.platform, name), facts, catalogue.checkParams(checkId, overrides));
}

export { Catalogue, type CheckFilter } from "./catalogue.ts";
export { CATEGORIES, CATEGORY_TITLES, CATEGORY_WEIGHTS, isCategory, type Category } from "./categories.ts";
export { STEP_ACTIONS, WINDOWS_SCRIPTS, WINDOWS_SERVICES, stepParamsSchema, type ActionSpec } from "./actions.ts";
export { factTypeOk, readFact, renderCondition, type CheckEvaluation, type CheckStatus } from "./evaluate.ts";
export { loadCatalogue, type RawCatalogue } from "./load.ts";
export { NOT_MET_PREFIX, notMet, problemTitle } from "./wording.ts";
export { DEVICE_TYPE_TITLES, DEVICE_TYPES, findService, listServices, loadServices, probePorts, SCAN_DEPTHS, SERVICE_CATEGORIES, serviceForPort, type DeviceType, type ScanDepth, type Service, type ServiceCategory } from "./services.ts";
export {
  assertParams,
  defaultsOf,
  NO_PARAMS,
  JSON_SCHEMA_DIALECT,
  paramsSchemaSchema,
  toJsonSchema,
  validateParams,
  type JsonSchema,
  type ParamIssue,
  type ParamIssueCode,
  type ParamProperty,
  type Params,
  type ParamsResult,
  type ParamsSchema,
  type ParamValue,
} from "./params.ts";
export {
  CHECK_OPS,
  CITATION_PATTERNS,
  FACT_TYPES,
  FRAMEWORKS,
  PLATFORMS,
  RULE_OPS,
  ruleSchema,
  SEVERITIES,
  type AnyCondition,
  type Check,
  type CheckOp,
  type Condition,
  type Control,
  type ControlsRef,
  type Evaluation,
  type Fact,
  type FactType,
  type Framework,
  type HipaaControl,
  type Json,
  type LeafCondition,
  type OrderType,
  type Platform,
  type Rule,
  type RuleCondition,
  type RuleOp,
  type Runbook,
  type Severity,
  type Step,
} from "./schema.ts";
