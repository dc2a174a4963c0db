/**
 * Fact fixtures (`fixtures/facts/*.json`): what a gatherer script printed on a host, plus the few inputs that
 * do not come from the host (inventory role, signed-config values), and the time to evaluate them at. Loading
 * one runs the real parser, so a parsing regression shows up in every test and in the lab that uses them.
 *
 *   {"schema": "osiris.facts-fixture/v1", "platform": "linux", "provenance": "derived",
 *    "description": "...", "now": "2026-11-27T23:15:00.000Z", "context": {"role": "server"},
 *    "output": {"schema": "osiris.linux-raw/v1", ...}}
 */
import { z } from "zod";
import type { Platform } from "../../../protocol/catalogue/schema.ts";
import { parseApplianceDoc } from "./appliance.ts";
import type { GatheredFacts } from "./gathered.ts";
import { parseLinuxDoc } from "./linux.ts";
import { parseMacosDoc } from "./macos.ts";
import { parseWindowsDoc } from "./windows.ts";

export const FACTS_FIXTURE_SCHEMA = "osiris.facts-fixture/v1";
const SHA256_HEX = /^[0-9a-f]{64}$/;

const applianceContext = z.strictObject({
  pinned_system: z.string().nullable(),
  expected_av_sha256: z.string().regex(SHA256_HEX).nullable(),
  firewall_baseline_sha256: z.string().regex(SHA256_HEX).nullable(),
  firewall_baseline_signature_valid: z.boolean(),
  ntp_offset_ms: z.number().nullable().optional(),
  backup_configured: z.boolean(),
});

export const factsFixtureSchema = z.strictObject({
  schema: z.literal(FACTS_FIXTURE_SCHEMA),
  platform: z.enum(["appliance", "linux", "windows", "macos"]),
  /** recorded: byte-for-byte from a real host; derived: a recording with documented edits; reconstructed: written by hand. */
  provenance: z.enum(["recorded", "derived", "reconstructed"]),
  description: z.string().min(10).max(2000),
  now: z.iso.datetime(),
  context: z.union([applianceContext, z.strictObject({ role: z.string().min(1).max(64).optional() })]).optional(),
  output: z.unknown(),
});
export type FactsFixture = z.infer<typeof factsFixtureSchema>;

/** A fixture's facts, parsed by the platform's real parser at the fixture's `now`. */
export interface LoadedFixture {
  readonly platform: Exclude<Platform, "network">;
  readonly now: number;
  readonly gathered: GatheredFacts;
}

/** Validates a fixture document and parses its output; throws a TypeError naming the problem, or the parser's CollectError. */
export function loadFactsFixture(doc: unknown, name: string): LoadedFixture {
  const r = factsFixtureSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new TypeError(`Fact fixture ${name} is invalid: ${issue.path.join(".") || "document"}: ${issue.message}`);
  }
  const f = r.data;
  const now = Date.parse(f.now);
  const ctx = (f.context ?? {}) as Record<string, unknown>;
  const where = `fixture ${name}`;
  switch (f.platform) {
    case "linux":
      return { platform: f.platform, now, gathered: parseLinuxDoc(f.output, where, { now, ...(typeof ctx["role"] === "string" ? { role: ctx["role"] } : {}) }) };
    case "windows":
      return { platform: f.platform, now, gathered: parseWindowsDoc(f.output, where, { now, midpointMs: now }) };
    case "macos":
      return { platform: f.platform, now, gathered: parseMacosDoc(f.output, where) };
    case "appliance": {
      const a = applianceContext.safeParse(ctx);
      if (!a.success) throw new TypeError(`Fact fixture ${name} is invalid: context: an appliance fixture needs pinned_system, expected_av_sha256, firewall_baseline_sha256, firewall_baseline_signature_valid and backup_configured`);
      const c = a.data;
      return {
        platform: f.platform,
        now,
        gathered: parseApplianceDoc(f.output, where, {
          now,
          context: { pinnedSystem: c.pinned_system, expectedAvSha256: c.expected_av_sha256, firewallBaselineSha256: c.firewall_baseline_sha256, firewallBaselineSignatureValid: c.firewall_baseline_signature_valid },
          ...(c.ntp_offset_ms !== undefined ? { ntpOffsetMs: c.ntp_offset_ms } : {}),
          backupConfigured: c.backup_configured,
        }),
      };
    }
  }
}
