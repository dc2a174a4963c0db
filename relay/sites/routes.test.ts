/**
 * The dashboard API in-process (relay app + real libSQL file + simulated appliances built from protocol
 * functions): each route's roles, tenant scope, validation and audit entries, and what it reports.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isoTime } from "../../protocol/ids.ts";
import { parsePullResponse } from "../../protocol/sync.ts";
import { verifyOrder } from "../../protocol/orders.ts";
import { keyId } from "../../protocol/crypto.ts";
import { catalogueOrderParams } from "../orders/catalogue-params.ts";
import { buildPendingRequest } from "../enroll/enroll-message.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../tenants/tenants.ts";
import { asUser, count, enrolledAppliance, errorOf, jsonInit, random, TestAppliance, inProcess, testRelay, T0, userInit, type TestRelay, type TestUser } from "../_testing.ts";
import { attempt, incident, pushCycles, pushEntries } from "./_fixtures.ts";

const HOUR = 3_600_000;
const env = (relay: TestRelay) => ({ clock: relay.clock, random });

interface World {
  relay: TestRelay;
  msp: TestUser;
  mspTech: TestUser;
  partnerId: string;
  partnerSite: string;
  partnerTech: TestUser;
  otherPartner: TestUser;
  client: TestUser;
  app: TestAppliance;
}

/** One MSP; its own clinic (relay.siteId) with an appliance and data; a partner's clinic; another partner. */
async function world(): Promise<World> {
  const relay = await testRelay({ publicUrl: "https://relay.example.test" });
  const partner = await createPartner(relay.db, { msp_id: relay.mspId, name: "Partner IT" }, env(relay));
  const org = await createOrganisation(relay.db, { msp_id: relay.mspId, partner_id: partner.id, name: "Lakeside Pediatrics" }, env(relay));
  const site = await createSite(relay.db, { org_id: org.id, name: "Lakeside main", timezone: "America/New_York" }, env(relay));
  const app = await enrolledAppliance(relay);
  await pushCycles(app, [
    { host: "srv-a", at: T0 - 2 * HOUR, results: [{ check: "linux.firewall_active", status: "pass" }, { check: "linux.disk_encryption", status: "fail", actual: "none" }] },
    { host: "ws-1", at: T0 - HOUR, results: [{ check: "windows.bitlocker", status: "pass" }] },
  ]);
  return {
    relay,
    msp: await asUser(relay, "msp_admin"),
    mspTech: await asUser(relay, "msp_tech"),
    partnerId: partner.id,
    partnerSite: site.id,
    partnerTech: await asUser(relay, "partner_tech", { partner_id: partner.id }),
    otherPartner: await asUser(relay, "partner_admin"),
    client: await asUser(relay, "client_viewer"),
    app,
  };
}

async function call(w: World, user: TestUser | null, method: string, path: string, body?: unknown): Promise<Response> {
  return w.relay.app.request(path, user ? userInit(user, method, body) : body === undefined ? { method } : jsonInit(method, body));
}

async function json<T>(res: Response, status = 200): Promise<T> {
  assert.is(res.status, status, `expected ${status}, got ${res.status}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

async function auditActions(w: World): Promise<{ action: string; target: string; site_id: string | null; details: string }[]> {
  const rs = await w.relay.db.execute("SELECT action, target, site_id, details FROM audit_log ORDER BY seq");
  return rs.rows.map((r) => ({ action: String(r["action"]), target: String(r["target"]), site_id: r["site_id"] === null ? null : String(r["site_id"]), details: String(r["details"]) }));
}

interface FleetSite {
  id: string;
  score: number | null;
  trend: { day: string; overall: number | null }[];
  connection: string;
  simulated: boolean;
  appliances: number;
  failing: number;
  unchecked: number;
  open_incidents: number;
  last_sync: string | null;
}

test("GET /api/sites counts checks of a device that did not answer apart from failing ones (both still lower the score)", async () => {
  const w = await world();
  try {
    const before = (await json<{ sites: FleetSite[] }>(await call(w, w.msp, "GET", "/api/sites"))).sites.find((s) => s.id === w.relay.siteId)!;
    assert.equal([before.failing, before.unchecked], [1, 0]);
    await pushCycles(w.app, [{ host: "ws-1", at: T0 - 30 * 60_000, results: [], unreachable: true }]);
    const after = (await json<{ sites: FleetSite[] }>(await call(w, w.msp, "GET", "/api/sites"))).sites.find((s) => s.id === w.relay.siteId)!;
    assert.equal([after.failing, after.unchecked], [1, 1], "ws-1's BitLocker check could not run; it is not a failing check");
    assert.ok(after.score !== null && before.score !== null && after.score < before.score, `an unchecked result counts as not passing: ${before.score} -> ${after.score}`);
    const attention = (await json<{ sites: FleetSite[] }>(await call(w, w.msp, "GET", "/api/sites?status=attention"))).sites.map((s) => s.id);
    assert.ok(attention.includes(w.relay.siteId));
  } finally {
    await w.relay.close();
  }
});

test("GET /api/sites: MSP staff see every clinic with score, 30-day trend and connection; no data is null, never 100", async () => {
  const w = await world();
  try {
    const { sites } = await json<{ sites: FleetSite[] }>(await call(w, w.msp, "GET", "/api/sites"));
    assert.equal(sites.map((s) => s.id).sort(), [w.relay.siteId, w.partnerSite].sort());
    const main = sites.find((s) => s.id === w.relay.siteId)!;
    assert.ok(main.score !== null && main.score > 0 && main.score < 100, `a failing encryption check keeps the score below 100: ${main.score}`);
    assert.is(main.trend.length, 30);
    assert.is(main.trend.at(-1)!.day, isoTime(T0).slice(0, 10));
    assert.is(main.trend.at(-1)!.overall, main.score);
    assert.is(main.trend[0]!.overall, null, "days before any evidence have no score");
    assert.is(main.connection, "online");
    assert.is(main.simulated, true);
    assert.is(main.appliances, 1);
    assert.is(main.failing, 1);
    const empty = sites.find((s) => s.id === w.partnerSite)!;
    assert.is(empty.score, null);
    assert.is(empty.connection, "no_appliance");
    w.relay.clock.t += 10 * 60_000;
    const later = await json<{ sites: FleetSite[] }>(await call(w, w.msp, "GET", "/api/sites"));
    assert.is(later.sites.find((s) => s.id === w.relay.siteId)!.connection, "offline", "ten minutes without contact is offline");
  } finally {
    await w.relay.close();
  }
});

test("GET /api/sites: an appliance enrolled but never connected is listed with when it was enrolled and needs attention, even beside one that syncs", async () => {
  const w = await world();
  try {
    const site = async (id: string) => (await json<{ sites: (FleetSite & { never_connected: { id: string; enrolled_at: string }[] })[] }>(await call(w, w.msp, "GET", "/api/sites"))).sites.find((s) => s.id === id)!;
    assert.equal((await site(w.relay.siteId)).never_connected, [], "the syncing appliance is not listed");
    const silent = await enrolledAppliance(w.relay, inProcess(w.relay.app), w.partnerSite);
    const enrolledAt = isoTime(w.relay.clock.now());
    w.relay.clock.t += 30 * 60_000;
    const lone = await site(w.partnerSite);
    assert.is(lone.connection, "never");
    assert.equal(lone.never_connected, [{ id: silent.id, enrolled_at: enrolledAt }]);
    const second = await enrolledAppliance(w.relay, inProcess(w.relay.app), w.relay.siteId);
    assert.is((await w.app.request("GET", "/api/sync/pull")).status, 200);
    const mixed = await site(w.relay.siteId);
    assert.is(mixed.connection, "online", "the site's other appliance syncs");
    assert.equal(mixed.never_connected.map((a) => a.id), [second.id]);
    const attention = (await json<{ sites: FleetSite[] }>(await call(w, w.msp, "GET", "/api/sites?status=attention"))).sites.map((s) => s.id);
    assert.ok(attention.includes(w.partnerSite) && attention.includes(w.relay.siteId), `both need attention: ${attention}`);
    assert.is((await second.request("GET", "/api/sync/pull")).status, 200);
    assert.equal((await site(w.relay.siteId)).never_connected, [], "a pull is contact");
  } finally {
    await w.relay.close();
  }
});

test("GET /api/sites: partner users see only their clinics, client users only their own; filters and search narrow the list", async () => {
  const w = await world();
  try {
    const ids = async (u: TestUser, q = "") => (await json<{ sites: FleetSite[] }>(await call(w, u, "GET", `/api/sites${q}`))).sites.map((s) => s.id);
    assert.equal(await ids(w.partnerTech), [w.partnerSite]);
    assert.equal(await ids(w.otherPartner), []);
    assert.equal(await ids(w.client), [w.relay.siteId]);
    assert.equal(await ids(w.msp, "?q=lakeside"), [w.partnerSite]);
    assert.equal(await ids(w.msp, "?q=100%25"), [], "LIKE wildcards in the search are literal");
    assert.equal(await ids(w.msp, "?status=no_data"), [w.partnerSite]);
    assert.equal(await ids(w.msp, "?status=attention"), [w.relay.siteId]);
    assert.equal(await ids(w.msp, `?partner_id=${w.partnerId}`), [w.partnerSite]);
    const bad = await call(w, w.msp, "GET", "/api/sites?status=sideways");
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /status/);
    assert.is((await call(w, null, "GET", "/api/sites")).status, 401);
    const billing = await asUser(w.relay, "partner_billing", { partner_id: w.partnerId });
    assert.is((await call(w, billing, "GET", "/api/sites")).status, 403);
  } finally {
    await w.relay.close();
  }
});

test("GET /api/sites/:site_id: devices with results, controls, incident timeline with tier and outcome, evidence chain and integrity incidents", async () => {
  const w = await world();
  try {
    const inc = incident({ check: "windows.bitlocker", host_id: "ws-1", at: T0 - 30 * 60_000, status: "escalated" });
    const fixed = incident({ check: "linux.firewall_active", host_id: "srv-a", at: T0 - 3 * HOUR, status: "resolved", resolved_at: isoTime(T0 - 2 * HOUR) });
    await pushEntries(w.app, [
      { type: "incident", body: inc },
      { type: "healing_attempt", body: attempt({ check: inc.check, host_id: "ws-1", at: T0 - 25 * 60_000, incident_id: inc.incident_id, tier: "L3", outcome: "escalated" }) },
      { type: "incident", body: fixed },
      { type: "healing_attempt", body: attempt({ check: fixed.check, host_id: "srv-a", at: T0 - 150 * 60_000, incident_id: fixed.incident_id, tier: "L1", runbook: "linux.enable_firewall", outcome: "success" }) },
    ]);
    // A forged bundle at an existing seq: an integrity incident the dashboard must show.
    const forgedLine = w.app.chain[0]!.line.replace('"outcome":"fail"', '"outcome":"pass"');
    await w.app.push([{ outbox_seq: 1, type: "evidence", body: forgedLine }]);
    type Detail = {
      settings: { healing_mode: string };
      score: { overall: number | null; categories: { id: string; score: number | null }[]; controls: { key: string; ready: boolean; reason: string }[] };
      devices: { host_id: string; failing: number; results: { check: string; status: string; actual: string | null; title: string }[] }[];
      incidents: { incident_id: string; status: string; tier: string | null; outcome: string | null; attempts: unknown[]; title: string }[];
      appliances: { id: string; fingerprint: string; simulated: boolean; evidence: { verified_seq: number; checkpoint: { size: number } | null }; integrity_incidents: { code: string }[] }[];
      trend: unknown[];
    };
    const d = await json<Detail>(await call(w, w.client, "GET", `/api/sites/${w.relay.siteId}?days=7`));
    assert.is(d.trend.length, 7);
    assert.is(d.settings.healing_mode, "observe");
    assert.equal(d.devices.map((x) => [x.host_id, x.failing]), [["srv-a", 1], ["ws-1", 0]]);
    const enc = d.devices[0]!.results[0]!;
    assert.equal([enc.check, enc.status, enc.actual, enc.title.length > 3], ["linux.disk_encryption", "fail", '"none"', true]);
    assert.is(d.score.categories.find((c) => c.id === "encryption")!.score, 50);
    assert.ok(d.score.controls.some((c) => !c.ready && c.reason === "failing"));
    const timeline = d.incidents.map((i) => [i.incident_id, i.status, i.tier, i.outcome]);
    assert.equal(timeline, [[inc.incident_id, "escalated", "L3", "escalated"], [fixed.incident_id, "resolved", "L1", "success"]], "open first, each with its tier and outcome");
    const a = d.appliances[0]!;
    assert.is(a.id, w.app.id);
    assert.is(a.simulated, true);
    assert.is(a.evidence.verified_seq, 2);
    assert.is(a.evidence.checkpoint?.size, 2, "the last countersigned checkpoint");
    assert.equal(a.integrity_incidents.map((i) => i.code), ["fork"]);
    // Another tenant's site: the same 404 as a site that does not exist.
    const foreign = await call(w, w.partnerTech, "GET", `/api/sites/${w.relay.siteId}`);
    assert.is(foreign.status, 404);
    assert.is((await call(w, w.partnerTech, "GET", "/api/sites/site_doesnotexist0000")).status, 404);
    assert.is((await call(w, w.msp, "GET", `/api/sites/${w.relay.siteId}?days=400`)).status, 400);
  } finally {
    await w.relay.close();
  }
});

test("PUT /api/sites/:site_id/settings: validated like the appliance, audited with before/after, pulled by the appliance", async () => {
  const w = await world();
  try {
    const path = `/api/sites/${w.relay.siteId}/settings`;
    const change = { healing_mode: "enforce", l2_enabled: true, maintenance_windows: [{ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", duration: "PT4H" }] };
    // The healing mode is the MSP admin's to change, as with a set_healing_mode order; a tech changes nothing.
    const byTech = await call(w, w.mspTech, "PUT", path, change);
    assert.is(byTech.status, 403);
    assert.match((await errorOf(byTech)).message, /Only an MSP administrator may change how a site heals \(healing_mode observe → enforce\): your role is msp_tech/);
    assert.is((await call(w, w.mspTech, "PUT", path, { healing_mode: "observe", l2_enabled: false })).status, 200, "other settings, with the mode unchanged, are the tech's to change");
    const cfg = await json<{ healing_mode: string; l2_enabled: boolean; maintenance_windows: { tz: string }[] }>(await call(w, w.msp, "PUT", path, change));
    assert.equal([cfg.healing_mode, cfg.l2_enabled, cfg.maintenance_windows[0]!.tz], ["enforce", true, "America/Chicago"], "the window takes the site's zone");
    const pulled = parsePullResponse(await (await w.app.request("GET", "/api/sync/pull")).json());
    assert.equal([pulled.site_config.healing_mode, pulled.site_config.l2_enabled, pulled.site_config.maintenance_windows.length], ["enforce", true, 1]);
    const entries = await auditActions(w);
    const entry = entries.find((e) => e.action === "site.settings.update")!;
    assert.is(entry.site_id, w.relay.siteId);
    assert.equal(JSON.parse(entry.details).healing_mode, { from: "observe", to: "enforce" });

    const before = await count(w.relay.db, "audit_log");
    for (const [body, pattern] of [
      [{ maintenance_windows: [{ rrule: "FREQ=HOURLY", duration: "PT1H" }] }, /maintenance_windows\[0\].*DAILY, WEEKLY/],
      [{ maintenance_windows: [{ rrule: "FREQ=DAILY;BYHOUR=25", duration: "PT1H" }] }, /maintenance_windows\[0\]/],
      [{ maintenance_windows: [{ rrule: "FREQ=DAILY", duration: "PT1H", tz: "Mars/Olympus" }] }, /Mars\/Olympus/],
      [{ healing_mode: "yolo" }, /healing_mode/],
      [{ maintenance_windows: [{ rrule: "FREQ=DAILY;BYHOUR=1;BYMINUTE=0", duration: "PT48H" }] }, /maintenance_windows\[0\]: each window lasts PT48H but the next one starts before it ends .*always be in a window/],
      [{}, /at least one/],
    ] as const) {
      const res = await call(w, w.msp, "PUT", path, body);
      assert.is(res.status, 400, JSON.stringify(body));
      assert.match((await errorOf(res)).message, pattern);
    }
    assert.is(await count(w.relay.db, "audit_log"), before, "refused changes record nothing");
    const still = await json<{ settings: { healing_mode: string; maintenance_windows: unknown[] } }>(await call(w, w.msp, "GET", `/api/sites/${w.relay.siteId}`));
    assert.equal([still.settings.healing_mode, still.settings.maintenance_windows.length], ["enforce", 1], "and change nothing");
    assert.is((await call(w, w.client, "PUT", path, { healing_mode: "observe" })).status, 403);
    const noCsrf = await w.relay.app.request(path, { method: "PUT", headers: { Cookie: w.msp.headers["Cookie"]!, "content-type": "application/json" }, body: JSON.stringify({ healing_mode: "observe" }) });
    assert.is((await errorOf(noCsrf)).code, "csrf_invalid");
    assert.is((await call(w, w.partnerTech, "PUT", path, { healing_mode: "observe" })).status, 404, "another tenant's site");
  } finally {
    await w.relay.close();
  }
});

test("GET /api/sites/:site_id/windows/preview: next occurrences in the site's zone, human-readable; a bad rule says why", async () => {
  const w = await world();
  try {
    const q = new URLSearchParams({ rrule: "FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=0", duration: "PT4H", count: "3" });
    const p = await json<{ description: string; windows: { start: string; end: string; text: string }[] }>(await call(w, w.msp, "GET", `/api/sites/${w.relay.siteId}/windows/preview?${q}`));
    assert.is(p.description, "Every Saturday at 02:00 for 4 hours (America/Chicago)");
    assert.equal(p.windows.map((x) => x.text), ["Sat 28 Nov, 02:00–06:00 CST", "Sat 5 Dec, 02:00–06:00 CST", "Sat 12 Dec, 02:00–06:00 CST"]);
    assert.is(p.windows[0]!.start, "2026-11-28T08:00:00.000Z");
    const bad = await call(w, w.msp, "GET", `/api/sites/${w.relay.siteId}/windows/preview?rrule=FREQ%3DDAILY&duration=P9D`);
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /duration|days/i);
    assert.is((await call(w, w.client, "GET", `/api/sites/${w.relay.siteId}/windows/preview?${q}`)).status, 403);
  } finally {
    await w.relay.close();
  }
});

test("claim codes: created with QR (the code never stored, logged or put in a URL), listed, used by an enrollment, revoked", async () => {
  const w = await world();
  try {
    const base = `/api/sites/${w.relay.siteId}/claim-codes`;
    const made = await json<{ id: string; code: string; expires_at: string; qr_text: string; qr_svg: string; qr_png_data_url: string }>(await call(w, w.msp, "POST", base, { ttl_days: 7 }), 201);
    assert.match(made.code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    assert.is(made.expires_at, isoTime(T0 + 7 * 86_400_000));
    assert.is(made.qr_text, `relay_url: https://relay.example.test\nclaim_code: ${made.code}\n`);
    assert.match(made.qr_svg, /^<svg[\s\S]*<\/svg>\s*$/);
    assert.match(made.qr_png_data_url, /^data:image\/png;base64,/);
    const svg = await call(w, w.msp, "POST", `${base}/qr.svg`, { code: made.code.toLowerCase() });
    assert.is(svg.headers.get("content-type"), "image/svg+xml");
    assert.is(await svg.text(), made.qr_svg, "typing is forgiving: the same QR");
    const png = await call(w, w.msp, "POST", `${base}/qr.png`, { code: made.code });
    assert.equal([...new Uint8Array(await png.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    // The code is for this site only; another site's QR endpoint does not know it.
    assert.is((await errorOf(await call(w, w.msp, "POST", `/api/sites/${w.partnerSite}/claim-codes/qr.svg`, { code: made.code }))).code, "claim_code_unknown");
    // Nowhere at rest or in the audit log.
    const dump = JSON.stringify((await w.relay.db.execute("SELECT * FROM audit_log")).rows) + JSON.stringify((await w.relay.db.execute("SELECT * FROM claim_codes")).rows);
    assert.not.ok(dump.includes(made.code) || dump.includes(made.code.replaceAll("-", "")));
    assert.ok((await auditActions(w)).some((e) => e.action === "claim_code.create" && e.target === made.id));

    const list = async () => (await json<{ claim_codes: { id: string; state: string; used_by: string | null }[] }>(await call(w, w.msp, "GET", base))).claim_codes;
    const listed = await list();
    assert.equal(listed.map((c) => c.state), ["active", "used"], "newest first; the code the fixture's appliance enrolled with is used");
    assert.is(listed[0]!.id, made.id);
    const newcomer = new TestAppliance(inProcess(w.relay.app), w.relay.clock);
    assert.is((await newcomer.enroll(made.code)).status, 201);
    assert.equal((await list()).filter((c) => c.id === made.id).map((c) => [c.state, c.used_by]), [["used", newcomer.id]]);
    assert.is((await errorOf(await call(w, w.msp, "POST", `${base}/qr.svg`, { code: made.code }))).code, "claim_code_used");

    const second = await json<{ id: string }>(await call(w, w.msp, "POST", base, {}), 201);
    assert.is((await call(w, w.otherPartner, "POST", `/api/claim-codes/${second.id}/revoke`)).status, 404);
    assert.is((await call(w, w.msp, "POST", `/api/claim-codes/${second.id}/revoke`)).status, 200);
    assert.ok((await list()).some((c) => c.id === second.id && c.state === "revoked"));
    assert.ok((await auditActions(w)).some((e) => e.action === "claim_code.revoke" && e.target === second.id));
    assert.is((await call(w, w.msp, "POST", base, { ttl_days: 400 })).status, 400);
    assert.is((await call(w, w.client, "POST", base, {})).status, 403);
    // Partner staff create codes for their own clinics.
    assert.is((await call(w, w.partnerTech, "POST", `/api/sites/${w.partnerSite}/claim-codes`, {})).status, 201);
  } finally {
    await w.relay.close();
  }
});

test("pending drop-ship appliances: MSP staff list them (fingerprint hidden) and accept one only by typing the fingerprint read on the box", async () => {
  const w = await world();
  try {
    const box = new TestAppliance(inProcess(w.relay.app), w.relay.clock);
    const reg = await json<{ pending_id: string; fingerprint: string }>(await w.relay.app.request("/api/provision/pending", jsonInit("POST", await buildPendingRequest(box, box.macs))), 201);
    const list = await json<{ pending: { id: string; fingerprint_hint: string; macs: string[] }[] }>(await call(w, w.mspTech, "GET", "/api/pending-appliances"));
    assert.equal(list.pending.map((p) => [p.id, p.fingerprint_hint, p.macs]), [[reg.pending_id, `${reg.fingerprint.slice(0, 4)}…`, box.macs]]);
    assert.not.ok(JSON.stringify(list).includes(reg.fingerprint.slice(0, 9)), "the list never shows enough of the fingerprint to accept from it");
    assert.is((await call(w, w.partnerTech, "GET", "/api/pending-appliances")).status, 403);
    const path = `/api/sites/${w.relay.siteId}/pending-appliances/accept`;
    const wrong = await call(w, w.msp, "POST", path, { pending_id: reg.pending_id, fingerprint: "0000:0000:0000:0000:0000:0000:0000:0000" });
    assert.is((await errorOf(wrong)).code, "fingerprint_mismatch");
    assert.is((await w.relay.db.execute({ sql: "SELECT state FROM pending_appliances WHERE id = ?", args: [reg.pending_id] })).rows[0]!["state"], "pending");
    const typed = reg.fingerprint.toUpperCase().replaceAll(":", " ");
    const ok = await json<{ state: string; site_id: string }>(await call(w, w.msp, "POST", path, { pending_id: reg.pending_id, fingerprint: typed }));
    assert.equal([ok.state, ok.site_id], ["accepted", w.relay.siteId]);
    assert.ok((await auditActions(w)).some((e) => e.action === "pending_appliance.accept" && e.target === reg.pending_id && e.site_id === w.relay.siteId));
    assert.equal((await json<{ pending: unknown[] }>(await call(w, w.msp, "GET", "/api/pending-appliances"))).pending, []);
  } finally {
    await w.relay.close();
  }
});

test("orders: the registry says who may issue what; issued orders are signed for the appliance, listed, and show the pushed result", async () => {
  const w = await world();
  try {
    const types = await json<{ order_types: { type: string; allowed: boolean; privileged: boolean; params_schema: Record<string, unknown> }[] }>(await call(w, w.partnerTech, "GET", "/api/order-types"));
    const allowed = (t: string) => types.order_types.find((x) => x.type === t)!.allowed;
    assert.equal([allowed("force_scan"), allowed("run_runbook")], [true, false]);
    // Parameter schemas are JSON Schema (2020-12), not the catalogue's own format (max, pattern).
    const scan = types.order_types.find((x) => x.type === "force_scan")!.params_schema;
    assert.equal([scan["$schema"], scan["additionalProperties"], scan["required"]], ["https://json-schema.org/draft/2020-12/schema", false, []]);
    assert.equal((scan["properties"] as Record<string, unknown>)["host_id"], { type: "string", description: "only this host (a site host id, or the appliance's own id)", maxLength: 63, pattern: "^[a-z0-9][a-z0-9._-]{0,62}$" });
    const base = `/api/sites/${w.relay.siteId}/orders`;
    const denied = await call(w, w.mspTech, "POST", base, { appliance_id: w.app.id, type: "rotate_token", params: {} });
    assert.is((await errorOf(denied)).code, "forbidden");
    const bad = await call(w, w.msp, "POST", base, { appliance_id: w.app.id, type: "force_scan", params: { host_id: "NOT A HOST" } });
    assert.is(bad.status, 400);
    assert.match((await errorOf(bad)).message, /host_id/);
    assert.is((await errorOf(await call(w, w.msp, "POST", base, { appliance_id: "app_notatthissite00", type: "force_scan" }))).code, "appliance_unknown");
    const tooLong = await call(w, w.msp, "POST", base, { appliance_id: w.app.id, type: "force_scan", params: { host_id: "srv-a" }, ttl_s: 2 * 86_400 });
    assert.is(tooLong.status, 400, "no order may live longer than a day (protocol/orders.ts)");
    assert.match((await errorOf(tooLong)).message, /ttl_s/);
    assert.is(await count(w.relay.db, "orders"), 0, "a refused request signs nothing");
    const issued = await json<{ order_id: string }>(await call(w, w.mspTech, "POST", base, { appliance_id: w.app.id, type: "force_scan", params: { host_id: "srv-a" } }), 201);
    const pulled = parsePullResponse(await (await w.app.request("GET", "/api/sync/pull")).json());
    assert.is(pulled.orders.length, 1);
    const payload = await verifyOrder(pulled.orders[0]!, { relayKeys: [{ key_id: keyId(w.relay.relayKey.signer.publicKey), publicKey: w.relay.relayKey.signer.publicKey }], applianceId: w.app.id, now: w.relay.clock.now(), validateParams: catalogueOrderParams });
    assert.equal([payload.order_id, payload.type, payload.params], [issued.order_id, "force_scan", { host_id: "srv-a" }], "signed by the relay key, for this appliance");
    type Orders = { orders: { order_id: string; status: string; result: { outcome: string; detail: string } | null; issued_by_email: string | null }[] };
    let list = await json<Orders>(await call(w, w.msp, "GET", base));
    assert.equal(list.orders.map((o) => [o.order_id, o.status, o.issued_by_email]), [[issued.order_id, "pending", w.mspTech.email]]);
    const res = await w.app.push([{ outbox_seq: ++w.app.outboxSeq, type: "order_result", body: { order_id: issued.order_id, outcome: "success", detail: "scanned 1 host(s)" } }]);
    assert.is(res.status, 200);
    list = await json<Orders>(await call(w, w.msp, "GET", base));
    assert.equal([list.orders[0]!.status, list.orders[0]!.result], ["done", { outcome: "success", detail: "scanned 1 host(s)" }]);
    assert.ok((await auditActions(w)).some((e) => e.action === "order.issue" && e.target === issued.order_id));
    assert.is((await call(w, w.client, "GET", base)).status, 403);
    assert.is((await call(w, w.partnerTech, "GET", base)).status, 404);
  } finally {
    await w.relay.close();
  }
});

test("approvals: a pending_approval attempt becomes a request; approving signs approve_runbook once; partners cannot sign it; rejecting records why", async () => {
  const w = await world();
  try {
    const inc = incident({ check: "linux.unattended_upgrades", host_id: "srv-a", at: T0 - HOUR });
    await pushEntries(w.app, [
      { type: "incident", body: inc },
      { type: "healing_attempt", body: attempt({ check: inc.check, host_id: "srv-a", at: T0 - HOUR, incident_id: inc.incident_id, runbook: "linux.enable_unattended_upgrades", outcome: "pending_approval", detail: "linux.enable_unattended_upgrades needs a signed approval for this host" }) },
    ]);
    type Approval = { id: string; state: string; order_type: string; runbook_id: string; check_title: string | null; order_id: string | null; reason: string };
    const list = async (u: TestUser = w.msp) => (await json<{ approvals: Approval[] }>(await call(w, u, "GET", `/api/sites/${w.relay.siteId}/approvals`))).approvals;
    const [req] = await list();
    assert.ok(req);
    assert.equal([req.state, req.order_type, req.runbook_id], ["pending", "approve_runbook", "linux.enable_unattended_upgrades"]);
    assert.match(req.reason, /needs a signed approval/);
    const partnerOnOwn = await asUser(w.relay, "partner_admin", { partner_id: w.partnerId });
    assert.is((await call(w, partnerOnOwn, "POST", `/api/approvals/${req.id}/approve`, {})).status, 404, "another tenant's request");
    assert.is((await errorOf(await call(w, w.mspTech, "POST", `/api/approvals/${req.id}/approve`, {}))).code, "forbidden", "approve_runbook is privileged");
    const done = await json<{ approval: Approval; order_id: string }>(await call(w, w.msp, "POST", `/api/approvals/${req.id}/approve`, { valid_for_s: 3600, note: "ok for tonight" }));
    assert.is(done.approval.state, "approved");
    assert.is(done.approval.order_id, done.order_id);
    const order = (await w.relay.db.execute({ sql: "SELECT type, params FROM orders WHERE id = ?", args: [done.order_id] })).rows[0]!;
    assert.is(order["type"], "approve_runbook");
    assert.equal(JSON.parse(String(order["params"])), { host_id: "srv-a", incident_id: inc.incident_id, runbook: "linux.enable_unattended_upgrades", runbook_params: { security_only: true }, valid_for_s: 3600 }, "the registry's defaults are signed in");
    assert.is((await errorOf(await call(w, w.msp, "POST", `/api/approvals/${req.id}/approve`, {}))).code, "approval_decided");
    assert.is(await count(w.relay.db, "orders"), 1, "a second approval signs nothing");
    // The appliance asking again before it pulled the approval does not file a new request.
    await pushEntries(w.app, [{ type: "healing_attempt", body: attempt({ check: inc.check, host_id: "srv-a", at: T0 - 30 * 60_000, incident_id: inc.incident_id, runbook: "linux.enable_unattended_upgrades", outcome: "pending_approval" }) }]);
    assert.is((await list()).length, 1);

    // A proposal by a partner tech for its own clinic, rejected by the MSP.
    const partnerApp = await enrolledAppliance(w.relay, inProcess(w.relay.app), w.partnerSite);
    const proposed = await json<{ id: string }>(await call(w, w.partnerTech, "POST", `/api/sites/${w.partnerSite}/approvals`, { appliance_id: partnerApp.id, type: "run_runbook", params: { runbook: "linux.enable_firewall", host_id: "srv-b" }, reason: "firewall keeps turning off" }), 201);
    const rejected = await json<{ approval: Approval }>(await call(w, w.msp, "POST", `/api/approvals/${proposed.id}/reject`, { note: "use the window instead" }));
    assert.equal([rejected.approval.state, rejected.approval.order_id], ["rejected", null]);
    const actions = (await auditActions(w)).map((e) => e.action);
    for (const a of ["approval.approve", "approval.propose", "approval.reject"]) assert.ok(actions.includes(a), a);
    assert.is((await call(w, w.client, "GET", `/api/sites/${w.relay.siteId}/approvals`)).status, 403);
  } finally {
    await w.relay.close();
  }
});

test("partners, organisations and sites: MSP admins create them; partner admins only under their own partner; lists are scoped", async () => {
  const w = await world();
  try {
    const p = await json<{ id: string }>(await call(w, w.msp, "POST", "/api/partners", { name: "New Reseller" }), 201);
    assert.is((await call(w, w.otherPartner, "POST", "/api/partners", { name: "Nope" })).status, 403);
    assert.is((await call(w, w.msp, "POST", "/api/partners", { name: "" })).status, 400);
    const org = await json<{ id: string; partner_id: string }>(await call(w, w.msp, "POST", "/api/orgs", { name: "Hilltop Dental", partner_id: p.id }), 201);
    assert.is(org.partner_id, p.id);
    // Another MSP's partner and a partner that does not exist get the same answer: nothing about other tenants.
    const elsewhere = await createPartner(w.relay.db, { msp_id: (await createMsp(w.relay.db, { name: "Other MSP" }, env(w.relay))).id, name: "Their Reseller" }, env(w.relay));
    const answers = [];
    for (const partner_id of [elsewhere.id, "ptn_doesnotexist01"]) {
      const e = await errorOf(await call(w, w.msp, "POST", "/api/orgs", { name: "Probe", partner_id }));
      answers.push([e.code, e.message.replace(partner_id, "ID")]);
    }
    assert.equal(answers[0], answers[1]);
    assert.not.ok(String(answers[0]![1]).includes("another MSP"), String(answers[0]![1]));
    const site = await json<{ id: string; timezone: string }>(await call(w, w.msp, "POST", `/api/orgs/${org.id}/sites`, { name: "Hilltop", timezone: "America/Denver" }), 201);
    assert.is(site.timezone, "America/Denver");
    assert.is((await call(w, w.msp, "POST", `/api/orgs/${org.id}/sites`, { name: "Bad zone", timezone: "Nowhere/Land" })).status, 400);

    const partnerAdmin = await asUser(w.relay, "partner_admin", { partner_id: w.partnerId });
    const own = await json<{ partner_id: string }>(await call(w, partnerAdmin, "POST", "/api/orgs", { name: "Riverbend Clinic" }), 201);
    assert.is(own.partner_id, w.partnerId, "a partner admin's organisations are its own");
    assert.is((await errorOf(await call(w, partnerAdmin, "POST", "/api/orgs", { name: "Sneaky", partner_id: p.id }))).code, "forbidden");
    assert.is((await call(w, partnerAdmin, "POST", `/api/orgs/${org.id}/sites`, { name: "Not mine" })).status, 404);
    const orgs = await json<{ organisations: { id: string; sites: unknown[] }[] }>(await call(w, partnerAdmin, "GET", "/api/orgs"));
    assert.ok(orgs.organisations.every((o) => o.id !== org.id && o.id !== w.relay.orgId));
    const partners = await json<{ partners: { id: string }[] }>(await call(w, partnerAdmin, "GET", "/api/partners"));
    assert.equal(partners.partners.map((x) => x.id), [w.partnerId]);
    const actions = (await auditActions(w)).map((e) => e.action);
    for (const a of ["partner.create", "org.create", "site.create"]) assert.ok(actions.includes(a), a);
  } finally {
    await w.relay.close();
  }
});

test("names are unique within their parent (409 name_taken, whatever the case); organisations and sites are renamed by who may create them", async () => {
  const w = await world();
  try {
    const taken = async (res: Response, what: RegExp) => {
      assert.is(res.status, 409, await res.clone().text());
      const e = await errorOf(res);
      assert.is(e.code, "name_taken");
      assert.match(e.message, what);
    };
    await taken(await call(w, w.msp, "POST", "/api/partners", { name: " partner it " }), /already a partner named "partner it" in this MSP/);
    await taken(await call(w, w.msp, "POST", "/api/orgs", { name: "LAKESIDE PEDIATRICS", partner_id: w.partnerId }), /already an? organisation named "LAKESIDE PEDIATRICS" in this partner/);
    // The same name under another parent is another clinic.
    const direct = await json<{ id: string }>(await call(w, w.msp, "POST", "/api/orgs", { name: "Lakeside Pediatrics" }), 201);
    await taken(await call(w, w.msp, "POST", "/api/orgs", { name: "Lakeside Pediatrics" }), /direct clients/);
    const orgOfSite = (await w.relay.db.execute({ sql: "SELECT org_id FROM sites WHERE id = ?", args: [w.partnerSite] })).rows[0]!["org_id"] as string;
    await taken(await call(w, w.msp, "POST", `/api/orgs/${orgOfSite}/sites`, { name: "Lakeside Main", timezone: "UTC" }), /already a site named "Lakeside Main" in this organisation/);
    await json(await call(w, w.msp, "POST", `/api/orgs/${direct.id}/sites`, { name: "Lakeside main", timezone: "UTC" }), 201);

    const second = await json<{ id: string }>(await call(w, w.msp, "POST", `/api/orgs/${orgOfSite}/sites`, { name: "Lakeside annex", timezone: "UTC" }), 201);
    await taken(await call(w, w.msp, "PUT", `/api/sites/${second.id}/name`, { name: "lakeside main" }), /already a site named "lakeside main"/);
    assert.equal(await json(await call(w, w.msp, "PUT", `/api/sites/${second.id}/name`, { name: "Lakeside north" })), { id: second.id, name: "Lakeside north" });
    assert.equal(await json(await call(w, w.msp, "PUT", `/api/sites/${w.partnerSite}/name`, { name: "LAKESIDE MAIN" })), { id: w.partnerSite, name: "LAKESIDE MAIN" }, "a site may change the case of its own name");
    assert.is((await call(w, w.msp, "PUT", `/api/sites/${second.id}/name`, { name: "  " })).status, 400);

    // Who may call: MSP admins anywhere; partner admins for their own partner's clinics only (404 elsewhere, like any other tenant's id).
    const partnerAdmin = await asUser(w.relay, "partner_admin", { partner_id: w.partnerId });
    assert.equal(await json(await call(w, partnerAdmin, "PUT", `/api/orgs/${orgOfSite}/name`, { name: "Lakeside Children's Clinic" })), { id: orgOfSite, name: "Lakeside Children's Clinic" });
    assert.equal(await json(await call(w, partnerAdmin, "PUT", `/api/sites/${second.id}/name`, { name: "Lakeside east" })), { id: second.id, name: "Lakeside east" });
    assert.is((await call(w, w.otherPartner, "PUT", `/api/sites/${second.id}/name`, { name: "Mine now" })).status, 404);
    assert.is((await call(w, w.otherPartner, "PUT", `/api/orgs/${orgOfSite}/name`, { name: "Mine now" })).status, 404);
    assert.is((await call(w, partnerAdmin, "PUT", `/api/sites/${w.relay.siteId}/name`, { name: "Not mine" })).status, 404);
    for (const u of [w.mspTech, w.partnerTech, w.client]) {
      assert.is((await call(w, u, "PUT", `/api/sites/${second.id}/name`, { name: "Tech rename" })).status, 403, u.principal.role);
      assert.is((await call(w, u, "PUT", `/api/orgs/${orgOfSite}/name`, { name: "Tech rename" })).status, 403, u.principal.role);
    }
    assert.is((await call(w, null, "PUT", `/api/sites/${second.id}/name`, { name: "Anyone" })).status, 401);
    const renames = (await auditActions(w)).filter((e) => e.action.endsWith(".rename"));
    assert.equal(renames.map((e) => [e.action, e.target]), [["site.rename", second.id], ["site.rename", w.partnerSite], ["org.rename", orgOfSite], ["site.rename", second.id]]);
    assert.match(renames[0]!.details, /"from":"Lakeside annex","to":"Lakeside north"/);
  } finally {
    await w.relay.close();
  }
});

test("an MSP administrator renames a partner (409 name_taken within the MSP, audited); nobody else may", async () => {
  const w = await world();
  try {
    const second = await json<{ id: string }>(await call(w, w.msp, "POST", "/api/partners", { name: "Second Partner" }), 201);
    const taken = await call(w, w.msp, "PUT", `/api/partners/${second.id}/name`, { name: " PARTNER IT " });
    assert.is(taken.status, 409);
    const refused = await errorOf(taken);
    assert.equal([refused.code, refused.message], ["name_taken", 'There is already a partner named "PARTNER IT" in this MSP: choose another name']);
    assert.equal(await json(await call(w, w.msp, "PUT", `/api/partners/${w.partnerId}/name`, { name: "Partner IT Solutions" })), { id: w.partnerId, name: "Partner IT Solutions" });
    const orgs = await json<{ organisations: { id: string; partner_name: string | null }[] }>(await call(w, w.msp, "GET", "/api/orgs"));
    const lakeside = (await w.relay.db.execute({ sql: "SELECT org_id FROM sites WHERE id = ?", args: [w.partnerSite] })).rows[0]!["org_id"];
    assert.is(orgs.organisations.find((o) => o.id === lakeside)?.partner_name, "Partner IT Solutions", "the MSP's lists show the new name");

    assert.is((await call(w, w.msp, "PUT", `/api/partners/${second.id}/name`, { name: "   " })).status, 400);
    assert.is((await call(w, w.msp, "PUT", "/api/partners/ptn_doesnotexist0/name", { name: "Ghost" })).status, 404);
    const partnerAdmin = await asUser(w.relay, "partner_admin", { partner_id: w.partnerId });
    for (const u of [partnerAdmin, w.partnerTech, w.mspTech, w.client]) {
      assert.is((await call(w, u, "PUT", `/api/partners/${w.partnerId}/name`, { name: "Taken over" })).status, 403, u.principal.role);
    }
    assert.is((await call(w, null, "PUT", `/api/partners/${w.partnerId}/name`, { name: "Anyone" })).status, 401);
    const names = (await w.relay.db.execute({ sql: "SELECT name FROM partners WHERE id IN (?, ?) ORDER BY name", args: [w.partnerId, second.id] })).rows.map((r) => r["name"]);
    assert.equal(names, ["Partner IT Solutions", "Second Partner"], "only the one rename took effect");
    const renames = (await auditActions(w)).filter((e) => e.action === "partner.rename");
    assert.equal(renames.map((e) => e.target), [w.partnerId]);
    assert.match(renames[0]!.details, /"from":"Partner IT","to":"Partner IT Solutions"/);
  } finally {
    await w.relay.close();
  }
});

test("the dashboard's pages are public and carry no data; every API route of the dashboard needs a login", async () => {
  const w = await world();
  try {
    const page = await w.relay.app.request("/sites/anything");
    assert.is(page.status, 503, "not loaded in this relay: says so instead of guessing");
    assert.match(await page.text(), /npm run build:ui/);
    const { makeAsset } = await import("../../node/built-assets.ts");
    w.relay.deps.ui = new Map([
      ["/index.html", makeAsset("/index.html", new TextEncoder().encode("<!doctype html><title>x</title>"))],
      ["/assets/app-1.js", makeAsset("/assets/app-1.js", new TextEncoder().encode("export {}"))],
    ]);
    const html = await w.relay.app.request("/sites/site_x", { headers: { "Accept-Encoding": "gzip" } });
    assert.is(html.status, 200);
    assert.is(html.headers.get("content-encoding"), "gzip");
    assert.match(html.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const js = await w.relay.app.request("/assets/app-1.js");
    assert.equal([js.headers.get("content-type"), js.headers.get("cache-control"), await js.text()], ["text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "export {}"]);
    assert.is((await w.relay.app.request("/assets/../relay.db")).status, 404);
    const etag = js.headers.get("etag")!;
    assert.is((await w.relay.app.request("/assets/app-1.js", { headers: { "If-None-Match": etag } })).status, 304);
    // A browser at a page that does not exist gets the app (which shows "Page not found") with a 404; API
    // clients, assets and non-HTML requests keep the JSON error.
    const lost = await w.relay.app.request("/no-such-page", { headers: { Accept: "text/html,application/xhtml+xml" } });
    assert.equal([lost.status, lost.headers.get("content-type"), await lost.text()], [404, "text/html; charset=utf-8", "<!doctype html><title>x</title>"]);
    assert.match(lost.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    for (const [path, accept] of [["/api/nothing", "text/html"], ["/assets/missing.js", "text/html"], ["/no-such-page", "application/json"]] as const) {
      const res = await w.relay.app.request(path, { headers: { Accept: accept } });
      assert.equal([res.status, (await errorOf(res)).code], [404, "not_found"], `${path} (${accept})`);
    }
    const { SITE_API_ROUTES } = await import("./routes.ts");
    for (const r of SITE_API_ROUTES) {
      const res = await w.relay.app.request(r.path.replace(/:[a-z_]+/g, "x_0000000000"), { method: r.method });
      assert.is(res.status, 401, `${r.method} ${r.path} without a login`);
    }
  } finally {
    await w.relay.close();
  }
});

test.run();
