/**
 * L1 rule selection: the catalogue's built-in rules plus the relay's verified signed rule set, matched by
 * the one matcher (`protocol/rules.ts`).
 *
 * Invariants this module keeps (the seed system broke each of them):
 * - Every rule in force names a runbook that exists and addresses the rule's own check on the rule's
 *   platform (`ruleProblems`); a rule set with any rule that does not is refused as a whole, and the set in
 *   force stays. The engine asserts the same again at decision time (`runbookAddresses`).
 * - A rule's parameters are valid for its runbook's parameter schema.
 * - No rule may auto-fix an encryption check: turning encryption on is a human decision (it alerts).
 * - A new set replaces the old one atomically: it is verified (pinned relay keys, version only increases),
 *   validated, written to the `ruleset` table, and only then swapped in memory in one assignment, so a
 *   decision sees either the old rules or the new ones, never a mix, and what runs is what is stored.
 *
 * Signed rules override built-ins with the same id (the relay distributes built-in rules too, and may tune
 * them); all others are merged, and the matcher's order (priority desc, id) picks the winner.
 */
import { compileRules, type CompiledRules, type RuleInput } from "../../protocol/rules.ts";
import { ANY_PLATFORM, ruleSchema, verifyRuleset, type Rule, type VerifiedRuleset } from "../../protocol/ruleset.ts";
import type { TrustedKey } from "../../protocol/envelope.ts";
import { validateRules } from "../../protocol/rules.ts";
import type { Catalogue, Runbook } from "../../protocol/catalogue/mod.ts";
import { validateParams } from "../../protocol/catalogue/mod.ts";
import type { Store } from "../store/index.ts";
import type { Clock, Log } from "../engine/types.ts";
import { HealError } from "./errors.ts";
import { isEncryptionCheck } from "./policy.ts";

/** Whether `runbook` fixes `checkId` on `platform`: the only runbooks any tier may run for a failing check. */
export function runbookAddresses(runbook: Pick<Runbook, "check" | "platform">, checkId: string, platform: string): boolean {
  return runbook.check === checkId && runbook.platform === platform;
}

/** The catalogue's built-in rules in the rule set format (validated by the wire schema). */
export function builtinRules(catalogue: Catalogue): Rule[] {
  return catalogue.builtinRules().map((r) => ruleSchema.parse(r));
}

/**
 * Everything wrong with `rules` against the catalogue, one line per problem naming the rule; empty when all
 * are usable. Checked: the check and runbook exist, the runbook addresses the rule's check and platform (a
 * rule for `any` platform needs its runbook's platform to be the check's), the params are valid for the
 * runbook, the check is not an encryption check, and every condition can match (regexes compile and are safe).
 */
export function ruleProblems(rules: readonly Rule[], catalogue: Catalogue): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const at = `rule ${rule.id}`;
    const check = catalogue.findCheck(rule.check);
    const runbook = catalogue.findRunbook(rule.runbook);
    if (!check) problems.push(`${at}: check ${rule.check} is not in catalogue ${catalogue.version}`);
    if (!runbook) {
      problems.push(`${at}: runbook ${rule.runbook} is not in catalogue ${catalogue.version}`);
      continue;
    }
    const platform = rule.platform === ANY_PLATFORM ? (check?.platform ?? runbook.platform) : rule.platform;
    if (!runbookAddresses(runbook, rule.check, platform)) {
      problems.push(`${at}: runbook ${runbook.id} fixes ${runbook.check} on ${runbook.platform}, not ${rule.check} on ${platform}`);
    }
    if (check && isEncryptionCheck(check)) problems.push(`${at}: ${check.id} is an encryption check, which is never fixed automatically`);
    const params = validateParams(runbook.params_schema, rule.params);
    if (!params.ok) problems.push(`${at}: params for ${runbook.id}: ${params.issues.map((i) => i.message).join("; ")}`);
  }
  for (const p of validateRules(rules)) problems.push(`rule ${p.rule_id}: ${p.problem}`);
  return problems;
}

/** What is in force, swapped as one value. */
interface InForce {
  readonly compiled: CompiledRules;
  readonly rules: readonly Rule[];
  readonly version: number | null;
  readonly hash: string | null;
}

export interface RuleBookOptions {
  catalogue: Catalogue;
  store: Store;
  /** The pinned relay keys (read at each verification, so a rotation takes effect at once). */
  relayKeys: () => readonly TrustedKey[];
  clock: Clock;
  log: Log;
}

/** The L1 rules in force. One per process; `install` is the only way a signed set gets in. */
export class RuleBook {
  readonly #opts: RuleBookOptions;
  readonly #builtins: readonly Rule[];
  #inForce: InForce;

  private constructor(opts: RuleBookOptions) {
    this.#opts = opts;
    this.#builtins = builtinRules(opts.catalogue);
    const problems = ruleProblems(this.#builtins, opts.catalogue);
    // A built-in rule mapping a check to the wrong runbook is a catalogue bug: refuse to start healing with it.
    if (problems.length) throw new HealError("ruleset_invalid", `built-in rules of catalogue ${opts.catalogue.version} are invalid: ${problems.join("; ")}`, problems);
    this.#inForce = this.#build([], null, null);
  }

  /**
   * The rule book with the built-in rules and the signed set stored in the `ruleset` table, if any. A stored
   * set that no longer verifies or validates (keys rotated, catalogue changed) is logged and left out: the
   * built-in rules still apply, and the next signed set from the relay replaces it.
   */
  static async open(opts: RuleBookOptions): Promise<RuleBook> {
    const book = new RuleBook(opts);
    const rs = await opts.store.execute("SELECT envelope FROM ruleset WHERE id = 1");
    const row = rs.rows[0];
    if (row) {
      try {
        const verified = await verifyRuleset(JSON.parse(String(row.envelope)), { relayKeys: opts.relayKeys() });
        book.#inForce = book.#checked(verified);
      } catch (e) {
        opts.log.error("ruleset_stored_unusable", { error: (e as Error).message });
      }
    }
    return book;
  }

  /** Version of the signed set in force, or null (built-in rules only). */
  get version(): number | null {
    return this.#inForce.version;
  }

  /** `ruleset_hash` for evidence: SHA-256 of the signed payload in force, or null. */
  get hash(): string | null {
    return this.#inForce.hash;
  }

  /** Every rule in force, in match order. */
  rules(): readonly Rule[] {
    return this.#inForce.rules;
  }

  /** The winning rule for a failing check on a platform, or null. */
  select(input: RuleInput): Rule | null {
    return this.#inForce.compiled.select(input);
  }

  /**
   * Verifies, validates, stores and then puts in force a signed rule set. Throws (and changes nothing) on
   * IntegrityError `unknown_key` / `bad_signature` / `stale_version`, ValidationError for a malformed set,
   * or HealError `ruleset_invalid` listing every rule that does not line up with the catalogue.
   */
  async install(envelope: unknown): Promise<VerifiedRuleset> {
    const verified = await verifyRuleset(envelope, { relayKeys: this.#opts.relayKeys(), currentVersion: this.#inForce.version });
    const next = this.#checked(verified);
    const now = new Date(this.#opts.clock.now()).toISOString();
    await this.#opts.store.execute({
      sql:
        "INSERT INTO ruleset (id, version, envelope, hash, loaded_at) VALUES (1, ?, ?, ?, ?) " +
        "ON CONFLICT (id) DO UPDATE SET version = excluded.version, envelope = excluded.envelope, hash = excluded.hash, loaded_at = excluded.loaded_at",
      args: [verified.payload.version, JSON.stringify(envelope), verified.hash, now],
    });
    this.#inForce = next;
    this.#opts.log.info("ruleset_installed", { version: verified.payload.version, hash: verified.hash, rules: next.rules.length });
    return verified;
  }

  #checked(verified: VerifiedRuleset): InForce {
    const problems = ruleProblems(verified.payload.rules, this.#opts.catalogue);
    if (problems.length) {
      throw new HealError("ruleset_invalid", `rule set version ${verified.payload.version} refused: ${problems.length} problem(s): ${problems.slice(0, 5).join("; ")}`, problems);
    }
    return this.#build(verified.payload.rules, verified.payload.version, verified.hash);
  }

  #build(signed: readonly Rule[], version: number | null, hash: string | null): InForce {
    const overridden = new Set(signed.map((r) => r.id));
    const rules = [...this.#builtins.filter((r) => !overridden.has(r.id)), ...signed];
    const compiled = compileRules(rules);
    return Object.freeze({ compiled, rules: Object.freeze(rules.slice().sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))), version, hash });
  }
}
