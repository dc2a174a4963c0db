/**
 * The migration that makes `healing_attempts` the one owner of pushed attempts, run on a real database file
 * written by the previous schema (version 10: the dashboard digest still kept its own `site_attempts` copy).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalize } from "../../protocol/canonical.ts";
import { isoTime } from "../../protocol/ids.ts";
import { MIGRATIONS, openRelayDb } from "../db/index.ts";
import { memoryLog } from "../log.ts";
import { random, testClock } from "../_testing.ts";
import { createMsp, createOrganisation, createSite } from "../tenants/tenants.ts";
import { HEALING_ATTEMPTS_OWNER_MIGRATION } from "./schema.ts";

const hex = (n: number) => [...random(n)].map((b) => b.toString(16).padStart(2, "0")).join("");

test("upgrading keeps every attempt's timeline detail: filled from the receipts, shown through the site_attempts view", async () => {
  const dir = await mkdtemp(join(tmpdir(), "osiris-owner-"));
  const path = join(dir, "relay.db");
  const clock = testClock();
  const { log } = memoryLog();
  const before = MIGRATIONS.findIndex((m) => m.name === HEALING_ATTEMPTS_OWNER_MIGRATION.name);
  assert.ok(before > 0);
  try {
    const old = await openRelayDb(path, { log, clock, migrations: MIGRATIONS.slice(0, before) });
    const env = { clock, random };
    const msp = await createMsp(old, { name: "MSP" }, env);
    const org = await createOrganisation(old, { msp_id: msp.id, name: "Clinic" }, env);
    const site = await createSite(old, { org_id: org.id, name: "Main" }, env);
    const at = isoTime(clock.now());
    await old.execute({
      sql: `INSERT INTO appliances (id, site_id, identity_public_key, evidence_public_key, evidence_key_id, credentials_public_key, fingerprint, token_sha256, enrolled_at, enrolled_via)
            VALUES ('app_1', ?, ?, ?, ?, ?, 'fp', ?, ?, 'claim_code')`,
      args: [site.id, hex(32), hex(32), hex(8), hex(32), hex(32), at],
    });
    const body = {
      attempt_id: "att_1", incident_id: "inc_1", host_id: "srv-a", check: "linux.unattended_upgrades", platform: "linux", runbook: "linux.enable_unattended_upgrades", params: {},
      tier: "L1", outcome: "deferred", duration_ms: 10, rule_id: null, started_at: at, finished_at: at, deferred_until: "2026-11-28T02:00:00Z", evidence_seq: null, detail: "waits for the maintenance window",
    };
    await old.execute({ sql: "INSERT INTO outbox_receipts (appliance_id, outbox_seq, type, body, received_at) VALUES ('app_1', 1, 'healing_attempt', ?, ?)", args: [canonicalize(body), at] });
    await old.execute({
      sql: `INSERT INTO healing_attempts (appliance_id, attempt_id, msp_id, site_id, outbox_seq, incident_id, host_id, check_id, platform, runbook, params, group_key, tier, outcome, duration_ms, rule_id, started_at, finished_at, pre_state, provenance, received_at)
            VALUES ('app_1', 'att_1', ?, ?, 1, 'inc_1', 'srv-a', 'linux.unattended_upgrades', 'linux', 'linux.enable_unattended_upgrades', '{}', ?, 'L1', 'deferred', 10, NULL, ?, ?, NULL, 'appliance', ?)`,
      args: [msp.id, site.id, "a".repeat(64), at, at, at],
    });
    await old.execute({
      sql: `INSERT INTO site_attempts (appliance_id, attempt_id, site_id, incident_id, host_id, check_id, runbook, tier, outcome, started_at, finished_at, deferred_until, detail)
            VALUES ('app_1', 'att_1', ?, 'inc_1', 'srv-a', 'linux.unattended_upgrades', 'linux.enable_unattended_upgrades', 'L1', 'deferred', ?, ?, ?, ?)`,
      args: [site.id, at, at, body.deferred_until, body.detail],
    });
    old.close();

    const db = await openRelayDb(path, { log, clock });
    try {
      const rows = (await db.execute("SELECT attempt_id, site_id, outcome, deferred_until, detail FROM site_attempts")).rows.map((r) => ({ ...r }));
      assert.equal(rows, [{ attempt_id: "att_1", site_id: site.id, outcome: "deferred", deferred_until: body.deferred_until, detail: body.detail }]);
      assert.is((await db.execute("SELECT type FROM sqlite_master WHERE name = 'site_attempts'")).rows[0]?.["type"], "view");
      try {
        await db.execute("UPDATE healing_attempts SET outcome = 'success'");
        assert.unreachable("the update trigger is back");
      } catch (e) {
        assert.match((e as Error).message, /append-only/);
      }
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
