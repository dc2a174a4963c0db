import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SiteConfig } from "../../protocol/sync.ts";
import { parseConfig } from "../config/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { RelaySiteConfig, siteSettings } from "./site-config.ts";
import { recordingLog } from "./_testing.ts";

const SITE = "site_0123456789ab";
const relayConfig = (over: Partial<SiteConfig> = {}): SiteConfig => ({
  site_id: SITE,
  healing_mode: "enforce",
  maintenance_windows: [{ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", duration: "PT4H", tz: "America/Chicago" }],
  l2_enabled: true,
  deployment_mode: "direct",
  reseller_id: null,
  timezone: "America/Chicago",
  disabled_checks: [],
  ...over,
});

async function withStore(fn: (store: Store, reopen: () => Promise<Store>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-site-config-"));
  const open = () => openStore(join(dir, "a.db"), { log: { info: () => undefined } });
  const stores: Store[] = [await open()];
  try {
    await fn(stores[0]!, async () => {
      const s = await open();
      stores.push(s);
      return s;
    });
  } finally {
    for (const s of stores) s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test("siteSettings() uses the YAML until the relay sent a configuration, then the relay's (but the YAML's local safety switch)", () => {
  const yaml = parseConfig("state_dir: /tmp/x\nsite:\n  healing_mode: advise\n  allow_disruptive_outside_window: true\n", "a.yaml").site;
  assert.is(siteSettings(yaml, null).healing_mode, "advise");
  const s = siteSettings(yaml, relayConfig());
  assert.is(s.healing_mode, "enforce");
  assert.ok(s.l2_enabled);
  assert.equal(s.maintenance_windows, [{ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=22", duration: "PT4H", tz: "America/Chicago" }]);
  assert.ok(s.allow_disruptive_outside_window, "not something the relay sends");
});

test("apply() stores the configuration, which a restart loads again; an unchanged one is not rewritten", async () => {
  await withStore(async (store, reopen) => {
    const log = recordingLog();
    const c = await RelaySiteConfig.open(store, log);
    assert.is(c.current, null);
    assert.is(await c.apply(relayConfig(), SITE, 0), "changed");
    assert.is(await c.apply(relayConfig(), SITE, 0), "unchanged");
    store.close();
    const again = await RelaySiteConfig.open(await reopen(), log);
    assert.equal(again.current, relayConfig());
  });
});

test("apply() refuses a configuration for another site or with a window that does not parse, and keeps the one in force", async () => {
  await withStore(async (store) => {
    const log = recordingLog();
    const c = await RelaySiteConfig.open(store, log);
    await c.apply(relayConfig(), SITE, 0);
    assert.is(await c.apply(relayConfig({ site_id: "site_ffffffffffff", healing_mode: "observe" }), SITE, 0), "refused");
    assert.is(await c.apply(relayConfig({ healing_mode: "observe", maintenance_windows: [{ rrule: "FREQ=WEEKLY;BYDAY=XX", duration: "PT1H", tz: "UTC" }] }), SITE, 0), "refused");
    assert.is(c.current?.healing_mode, "enforce");
    assert.equal(log.find("site_config_refused").map((e) => e.fields["reason"]), ["wrong_site", "bad_window"]);
  });
});

test.run();
