/**
 * Lab site definitions (`fixtures/lab/<site>/site.json`): a simulated clinic for the demo, the benchmark and
 * tests. Always simulated: the document must say `"simulated": true`, and every target made from it is
 * labelled `simulated`.
 *
 *   {"schema": "osiris.lab-site/v1", "simulated": true,
 *    "site": {"id": "site_riverside01", "name": "...", "timezone": "America/Chicago"},
 *    "hosts": [{"id": "rfc-dc01", "name": "RFC-DC01", "platform": "windows", "role": "domain_controller",
 *               "base": "../../facts/windows-dc-pass.json", "facts": {...}, "unreachable_after": "PT6H"}],
 *    "drift": [{"id": "gpo-firewall", "host": "rfc-ws02", "every": "PT6H", "start": "PT2H",
 *               "set": {"firewall.public_enabled": false}}],
 *    "effects": "../effects.json",
 *    "failures": [{"host": "rfc-ws03", "action": "powershell.script", "params": {"script": "smb.disable_v1"}, "mode": "error"}]}
 *
 * `base` names a pass fixture of fixtures/facts (parsed with the real parser, so the lab starts from facts a
 * real host printed); `facts` patches it per host. Drift sets facts at an offset from the lab's start (`at`) or
 * repeatedly (`every`, from `start`). Effects say how runbook step actions change facts; failures make an
 * action fail on a host (`error`: the step reports failure; `no_effect`: it reports success and changes
 * nothing, so only the re-check can tell). Loading validates everything against the catalogue and names the
 * field at fault.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { catalogue } from "../../protocol/catalogue/mod.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { stepParamsSchema } from "../../protocol/catalogue/actions.ts";
import { factTypeOk } from "../../protocol/catalogue/evaluate.ts";
import type { Json } from "../../protocol/catalogue/schema.ts";
import type { Facts } from "../engine/types.ts";
import { loadFactsFixture, setFact } from "../checks/mod.ts";

export const LAB_SITE_SCHEMA = "osiris.lab-site/v1";
/** A lab clinic is small; the benchmark uses 50 hosts; more is a generated mistake. */
export const MAX_LAB_HOSTS = 500;
export const MAX_LAB_DRIFT = 2000;
export const MAX_LAB_EFFECTS = 500;
/** Longest drift offset or period: ten years. */
export const MAX_DURATION_MS = 3650 * 86_400_000;
/** Shortest repeat: faster drift would only flood the demo. */
export const MIN_REPEAT_MS = 60_000;
/** Site files are a few KiB. */
export const MAX_SITE_FILE_BYTES = 1024 * 1024;

export type LabErrorCode = "invalid_site" | "unreadable" | "unreachable_host" | "state";

export class LabError extends Error {
  override readonly name = "LabError";
  constructor(
    readonly code: LabErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** ISO 8601 duration of days/hours/minutes/seconds (`P1D`, `PT2H30M`, `PT45S`) → ms; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^P(?:(\d{1,4})D)?(?:T(?:(\d{1,5})H)?(?:(\d{1,6})M)?(?:(\d{1,7})S)?)?$/.exec(text);
  if (!m || text === "P" || text.endsWith("T")) return undefined;
  const ms = ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

const duration = z.string().refine((s) => parseDuration(s) !== undefined, { error: (i) => `must be an ISO 8601 duration like PT2H or P1DT30M (at most 3650 days); saw ${JSON.stringify(i.input)}` });
const factPatch = z.record(z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, "fact names are dotted lower_snake_case"), z.json());
const paramRef = z.strictObject({ $param: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/) });
const platform = z.enum(["appliance", "linux", "windows", "macos"]);
const hostId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "host ids are lower-case letters, digits, . _ - (at most 63)");

export const effectSchema = z
  .strictObject({
    platform,
    action: z.string(),
    /** The step's params must include these (e.g. {"script": "smb.disable_v1"}). */
    params: z.record(z.string(), z.json()).default({}),
    set: z.record(z.string(), z.union([paramRef, z.json()])).optional(),
    snapshot: z.strictObject({ family: z.string().min(1).max(40), facts: z.array(z.string()).min(1).max(32) }).optional(),
    restore: z.string().min(1).max(40).optional(),
  })
  .refine((e) => [e.set, e.snapshot, e.restore].filter((x) => x !== undefined).length === 1, { error: "give exactly one of set, snapshot, restore" });
export type LabEffect = z.infer<typeof effectSchema>;

export const siteSchema = z.strictObject({
  schema: z.literal(LAB_SITE_SCHEMA),
  simulated: z.literal(true, { error: "a lab site must say \"simulated\": true; it is never a real clinic" }),
  site: z.strictObject({
    id: z.string().regex(/^site_[0-9a-z]{8,40}$/, "site ids look like site_0123abcd"),
    name: z.string().min(1).max(200),
    timezone: z.string().min(1).max(64),
  }),
  hosts: z
    .array(
      z.strictObject({
        id: hostId,
        name: z.string().min(1).max(200),
        platform,
        role: z.string().regex(/^[a-z][a-z_]{1,40}$/),
        base: z.string().min(1).max(300),
        facts: factPatch.default({}),
        unreachable_after: duration.optional(),
        unreachable_for: duration.optional(),
      }),
    )
    .min(1)
    .max(MAX_LAB_HOSTS),
  drift: z
    .array(
      z
        .strictObject({
          id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/),
          host: hostId,
          at: duration.optional(),
          every: duration.optional(),
          start: duration.optional(),
          set: factPatch.refine((s) => Object.keys(s).length > 0, "set at least one fact"),
          note: z.string().max(300).optional(),
        })
        .refine((d) => (d.at === undefined) !== (d.every === undefined), { error: "give exactly one of at (once) and every (repeating)" })
        .refine((d) => d.every === undefined || parseDuration(d.every)! >= MIN_REPEAT_MS, { error: `every must be at least ${MIN_REPEAT_MS / 1000} s` })
        .refine((d) => d.start === undefined || d.every !== undefined, { error: "start applies to repeating drift (every) only" }),
    )
    .max(MAX_LAB_DRIFT)
    .default([]),
  effects: z.union([z.string().min(1).max(300), z.array(effectSchema).max(MAX_LAB_EFFECTS)]),
  failures: z
    .array(z.strictObject({ host: hostId, action: z.string(), params: z.record(z.string(), z.json()).default({}), mode: z.enum(["error", "no_effect"]), detail: z.string().max(200).optional() }))
    .max(MAX_LAB_EFFECTS)
    .default([]),
});
export type LabSiteDoc = z.input<typeof siteSchema>;
type ParsedSite = z.output<typeof siteSchema>;

export interface LabHost {
  readonly id: string;
  readonly name: string;
  readonly platform: "appliance" | "linux" | "windows" | "macos";
  readonly role: string;
  /** Facts at the lab's start (base fixture + patch). */
  readonly facts: Facts;
  readonly unreachableAfterMs: number | undefined;
  readonly unreachableForMs: number | undefined;
}

export interface LabDrift {
  readonly id: string;
  readonly host: string;
  readonly atMs: number | undefined;
  readonly everyMs: number | undefined;
  readonly startMs: number;
  readonly set: Readonly<Record<string, Json>>;
}

/** A validated, resolved site: base facts loaded, durations in ms. */
export interface LabSite {
  readonly id: string;
  readonly name: string;
  readonly timezone: string;
  readonly hosts: readonly LabHost[];
  readonly drift: readonly LabDrift[];
  readonly effects: readonly LabEffect[];
  readonly failures: ParsedSite["failures"];
  /** Identifies this definition, so saved lab state from another definition is not reused. */
  readonly digest: string;
}

function issueText(e: z.ZodError): string {
  return e.issues
    .slice(0, 8)
    .map((i) => `${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "") || "document"}: ${i.message}`)
    .join("; ");
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new LabError("unreadable", `Cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (text.length > MAX_SITE_FILE_BYTES) throw new LabError("invalid_site", `${what} ${path} is ${text.length} characters, over the limit of ${MAX_SITE_FILE_BYTES}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LabError("invalid_site", `${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Loads `<dir>/site.json`. Throws LabError naming the file and field. */
export function loadLabSite(dir: string): LabSite {
  const file = resolve(dir, "site.json");
  return resolveLabSite(readJson(file, "lab site"), dirname(file), file);
}

/** The Linux inventory role fact from a lab role. */
const linuxRole = (role: string) => (role.includes("workstation") ? "workstation" : "server");

/** Validates a site document (from a file or `generateLabSite`) and resolves its references against `dir`. */
export function resolveLabSite(doc: unknown, dir: string, name = "lab site"): LabSite {
  const parsed = siteSchema.safeParse(doc);
  if (!parsed.success) throw new LabError("invalid_site", `${name} is invalid: ${issueText(parsed.error)}`);
  const s = parsed.data;
  const problems: string[] = [];
  const ids = new Set<string>();
  const fixtures = new Map<string, Facts>();
  const hosts: LabHost[] = [];
  s.hosts.forEach((h, i) => {
    if (ids.has(h.id)) problems.push(`hosts[${i}].id: ${h.id} is used twice`);
    ids.add(h.id);
    const path = resolve(dir, h.base);
    let base = fixtures.get(`${h.platform}:${path}`);
    if (!base) {
      try {
        const loaded = loadFactsFixture(readJson(path, "fact fixture"), path);
        if (loaded.platform !== h.platform) throw new LabError("invalid_site", `it is a ${loaded.platform} fixture`);
        base = loaded.gathered.facts;
        fixtures.set(`${h.platform}:${path}`, base);
      } catch (err) {
        problems.push(`hosts[${i}].base: ${h.base}: ${(err as Error).message}`);
        return;
      }
    }
    const facts = structuredClone(base);
    if (h.platform === "linux") setFact(facts, "host.role", linuxRole(h.role));
    for (const [fact, value] of Object.entries(h.facts)) {
      const p = factProblem(h.platform, fact, value);
      if (p) problems.push(`hosts[${i}].facts.${fact}: ${p}`);
      else setFact(facts, fact, value);
    }
    hosts.push({ id: h.id, name: h.name, platform: h.platform, role: h.role, facts, unreachableAfterMs: h.unreachable_after ? parseDuration(h.unreachable_after) : undefined, unreachableForMs: h.unreachable_for ? parseDuration(h.unreachable_for) : undefined });
  });
  const platformOf = new Map(s.hosts.map((h) => [h.id, h.platform]));
  const drift: LabDrift[] = s.drift.map((d, i) => {
    const p = platformOf.get(d.host);
    if (!p) problems.push(`drift[${i}].host: no host ${d.host} in this site`);
    else for (const [fact, value] of Object.entries(d.set)) {
      const why = factProblem(p, fact, value);
      if (why) problems.push(`drift[${i}].set.${fact}: ${why}`);
    }
    return { id: d.id, host: d.host, atMs: d.at ? parseDuration(d.at) : undefined, everyMs: d.every ? parseDuration(d.every) : undefined, startMs: d.start ? parseDuration(d.start)! : 0, set: d.set };
  });
  let effects: LabEffect[] = [];
  if (typeof s.effects === "string") {
    const path = resolve(dir, s.effects);
    const r = z.array(effectSchema).max(MAX_LAB_EFFECTS).safeParse(readJson(path, "lab effects"));
    if (!r.success) problems.push(`effects (${s.effects}): ${issueText(r.error)}`);
    else effects = r.data;
  } else effects = s.effects;
  effects.forEach((e, i) => {
    const schema = stepParamsSchema(e.platform, e.action, e.params);
    if (typeof schema === "string") problems.push(`effects[${i}]: ${schema}`);
    for (const [fact, value] of Object.entries(e.set ?? {})) {
      if (value !== null && typeof value === "object" && !Array.isArray(value) && "$param" in value) continue;
      const why = factProblem(e.platform, fact, value as Json);
      if (why) problems.push(`effects[${i}].set.${fact}: ${why}`);
    }
    for (const fact of e.snapshot?.facts ?? []) if (!catalogue.listFacts(e.platform).some((f) => f.name === fact)) problems.push(`effects[${i}].snapshot: ${fact} is not a ${e.platform} fact`);
  });
  s.failures.forEach((f, i) => {
    const p = platformOf.get(f.host);
    if (!p) problems.push(`failures[${i}].host: no host ${f.host} in this site`);
    else if (typeof stepParamsSchema(p, f.action, f.params) === "string") problems.push(`failures[${i}].action: ${f.action} is not a ${p} step action`);
  });
  if (problems.length) throw new LabError("invalid_site", `${name} is invalid: ${problems.slice(0, 8).join("; ")}${problems.length > 8 ? ` (and ${problems.length - 8} more)` : ""}`);
  const digest = JSON.stringify({ site: s.site, hosts: hosts.map((h) => [h.id, h.platform, h.facts]), drift: s.drift, effects, failures: s.failures });
  return { id: s.site.id, name: s.site.name, timezone: s.site.timezone, hosts, drift, effects, failures: s.failures, digest: sha256Hex(digest) };
}

/** A documented fact of the platform with a value of its type, or why not. */
function factProblem(platform: LabHost["platform"], fact: string, value: Json): string | undefined {
  const doc = catalogue.listFacts(platform).find((f) => f.name === fact);
  if (!doc) return `not a documented ${platform} fact`;
  if (!factTypeOk(doc, value)) return `must be ${doc.type}${doc.nullable ? " or null" : ""}; saw ${JSON.stringify(value)?.slice(0, 60)}`;
  return undefined;
}
