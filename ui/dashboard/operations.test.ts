/**
 * End to end, with real data: the dashboard's operations views, built with Vite and served by a real relay
 * process on loopback (libSQL file, relay key file, credential vault key file), in headless Chromium
 * (Debian's `chromium`, driven by playwright-core).
 *
 * Data comes from the relay's own functions, as its features store it: a labelled simulated healing history
 * at two sites (learning/demo-seed.ts) mined by a real learning cycle; escalations opened with
 * `openEscalation` (what push ingest and the L2 gateway call); discovery reports stored with
 * `ingestInventory` for appliances that enrolled over HTTP (protocol-built appliances, relay/_testing.ts
 * TestAppliance: a stand-in for the appliance daemon, whose discovery needs real subnets); hand-made billing
 * plans and revenue share (as relay/billing/_fixture.ts does). The relay's clock is the wall clock, moved back
 * only while the October history is set up (appliances enrolled and devices first seen in October 2026).
 *
 * Journeys: accept a candidate rule (its state and ledger change on screen, a new signed rule set carries it);
 * change the learning policy (thresholds, auto-promotion);
 * acknowledge and resolve escalations whose SLA timers count down, then find both in the audit log; mark
 * discovered devices monitored / excluded / medical; issue a partner's October statement and download it as
 * CSV and PDF as the partner's billing user; change the partner's revenue share and a clinic's plan (typos and
 * the relay's refusals change nothing; issued statements keep their plan); add and delete notification channels whose secrets never come
 * back. Every view: axe-core finds no serious issue, no CSP violation or console error, the phone layout
 * fits. Screenshots: test-output/screenshots/operations/.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { isoTime } from "../../protocol/ids.ts";
import { verifyRuleset } from "../../protocol/ruleset.ts";
import type { DiscoveredDevice, OutboxEntry } from "../../protocol/sync.ts";
import { overHttp, TestAppliance } from "../../relay/_testing.ts";
import { createUser } from "../../relay/auth/users.ts";
import { putPlan, putTiers } from "../../relay/billing/plans.ts";
import { issueStatement } from "../../relay/billing/statements.ts";
import { createClaimCode } from "../../relay/enroll/claim-codes.ts";
import { openEscalation, type EscalationReport } from "../../relay/escalations/index.ts";
import { setDeviceStatus } from "../../relay/inventory/devices.ts";
import { ingestInventory } from "../../relay/inventory/ingest.ts";
import { runLearningCycle, seedSimulatedHistory } from "../../relay/learning/index.ts";
import { latestRuleset } from "../../relay/orders/rulesets.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../../relay/tenants/tenants.ts";
import { allText, E2EBrowser, launchChromium, PASSWORD, PHONE, startUiRelay, type UiRelay } from "./_e2e.ts";

const SHOTS = fileURLToPath(new URL("../../test-output/screenshots/operations/", import.meta.url));
const HOUR = 3_600_000;

/** The wall clock, movable by the test (setup only). */
const clock = { offset: 0, now: () => Date.now() + clock.offset };
const env = { clock, random: (n: number) => new Uint8Array(randomBytes(n)) };
/** Sets the relay's clock to `iso` (UTC) while `fn` runs. */
async function at<T>(iso: string, fn: () => Promise<T>): Promise<T> {
  clock.offset = Date.parse(iso) - Date.now();
  try {
    return await fn();
  } finally {
    clock.offset = 0;
  }
}

let server: UiRelay;
let ui: E2EBrowser;
const ids = { msp: "", partner: "", otherPartner: "", riverside: "", alder: "", birch: "", alderSite: "", birchSite: "", riversideSite: "" };
const users = { admin: "admin@northwind.test", partnerAdmin: "admin@bayside.test", billing: "billing@bayside.test" };
const escalations = { high: "", critical: "" };

// ---- data ----------------------------------------------------------------------------------------------------

/** A protocol-built appliance enrolled over HTTP with a claim code (stand-in for the daemon). */
async function enroll(siteId: string): Promise<TestAppliance> {
  const a = new TestAppliance(overHttp(server.relay.url), clock);
  const res = await a.enroll((await createClaimCode(server.relay.db, { site_id: siteId, created_by: "e2e" }, env)).code);
  assert.is(res.status, 201, `enrollment: ${await res.clone().text()}`);
  return a;
}

const device = (ip: string, name: string | null, ports: number[], type: DiscoveredDevice["device_type"], confidence: number, evidence: string[], vendor: string | null = null): DiscoveredDevice => ({
  ip,
  mac: `02:00:5e:00:${ip.split(".").slice(2).map((o) => Number(o).toString(16).padStart(2, "0")).join(":")}`,
  vendor,
  hostname: name,
  mdns_name: null,
  netbios_name: name ? name.toUpperCase() : null,
  open_ports: ports,
  device_type: type,
  confidence,
  evidence,
});

/** Alder's network: a domain controller, servers, a copier, seven workstations, an X-ray console and an HL7 gateway. */
function alderNetwork(extra: { ws07Vnc?: boolean; newUnknown?: boolean } = {}): DiscoveredDevice[] {
  const ws = Array.from({ length: 7 }, (_, i) =>
    device(`10.20.0.${21 + i}`, `alder-ws0${i + 1}`, i === 6 && extra.ws07Vnc ? [135, 445, 3389, 5900] : [135, 445, 3389], "workstation", 60, ["port 3389/tcp open (rdp)", "port 445/tcp open (smb)"]),
  );
  return [
    device("10.20.0.2", "alder-dc01", [53, 88, 389, 445], "domain_controller", 90, ["port 88/tcp open (kerberos)", "port 389/tcp open (ldap)", "port 53/tcp open (dns)"]),
    device("10.20.0.3", "alder-fs01", [139, 445], "file_server", 70, ["port 445/tcp open (smb)", "name contains fs"]),
    device("10.20.0.4", "alder-sql01", [1433], "sql_server", 80, ["port 1433/tcp open (mssql)"]),
    device("10.20.0.5", "alder-bk01", [445, 9392], "backup_server", 60, ["port 9392/tcp open (veeam)"]),
    device("10.20.0.9", "alder-copier", [80, 631, 9100], "printer", 85, ["port 9100/tcp open (jetdirect)", "port 631/tcp open (ipp)"], "Konica Minolta"),
    ...ws,
    device("10.20.0.40", "xray-console", [104, 11112], "medical_imaging", 95, ["port 104/tcp open (dicom)", "port 11112/tcp open (dicom_alt)"], "Carestream Health"),
    device("10.20.0.41", "hl7-gateway", [2575], "medical_imaging", 80, ["port 2575/tcp open (hl7)"]),
    ...(extra.newUnknown ? [device("10.20.0.77", null, [80], "unknown", 10, ["port 80/tcp open (http)"], "Espressif Inc.")] : []),
  ];
}

function discovery(scanId: string, atIso: string, devices: DiscoveredDevice[]): OutboxEntry {
  return {
    outbox_seq: 1,
    type: "inventory",
    body: {
      at: atIso,
      hosts: [],
      discovery: { scan_id: scanId, trigger: "schedule", order_id: null, subnets: ["10.20.0.0/24"], ports: [53, 80, 88, 104, 135, 139, 389, 445, 631, 1433, 2575, 3389, 5900, 9100, 9392, 11112], started_at: atIso, finished_at: atIso, complete: true, probed_hosts: 254, excluded_hosts: 0, devices },
    },
  };
}

async function escalate(siteId: string, key: string, over: Partial<EscalationReport>): Promise<string> {
  const report: EscalationReport = { site_id: siteId, source: "appliance", source_key: key, appliance_id: null, incident_id: null, host_id: null, check: null, severity: "medium", reason: "", attempts: 2, reported_at: isoTime(clock.now()), ...over };
  return (await server.relay.db.transaction((tx) => openEscalation(tx, report, env))).escalation_id;
}

test.before(async () => {
  try {
    await setup();
  } catch (e) {
    console.error("setup failed:", e); // uvu does not report a failing before hook
    throw e;
  }
});

async function setup(): Promise<void> {
  // The notification test adds a webhook on loopback (port 9, discard), over plain http: allowed here as an operator would.
  server = await startUiRelay({ clock, learningIntervalMs: 6 * HOUR, loopbackHttpNotifications: true });
  const db = server.relay.db;
  ids.msp = (await createMsp(db, { name: "Northwind MSP" }, env)).id;
  ids.partner = (await createPartner(db, { msp_id: ids.msp, name: "Bayside IT Partners" }, env)).id;
  ids.otherPartner = (await createPartner(db, { msp_id: ids.msp, name: "Harbour Tech" }, env)).id;
  ids.riverside = (await createOrganisation(db, { msp_id: ids.msp, name: "Riverside Family Clinic" }, env)).id;
  ids.alder = (await createOrganisation(db, { msp_id: ids.msp, partner_id: ids.partner, name: "Alder Family Clinic" }, env)).id;
  ids.birch = (await createOrganisation(db, { msp_id: ids.msp, partner_id: ids.partner, name: "Birch Dental" }, env)).id;
  const harbour = (await createOrganisation(db, { msp_id: ids.msp, partner_id: ids.otherPartner, name: "Harbour Dental" }, env)).id;
  ids.riversideSite = (await createSite(db, { org_id: ids.riverside, name: "Riverside main office", timezone: "America/Chicago" }, env)).id;
  ids.alderSite = (await createSite(db, { org_id: ids.alder, name: "Alder main office", timezone: "America/New_York" }, env)).id;
  ids.birchSite = (await createSite(db, { org_id: ids.birch, name: "Birch Dental", timezone: "America/New_York" }, env)).id;
  await createSite(db, { org_id: harbour, name: "Harbour Dental", timezone: "America/New_York" }, env);
  const mk = (email: string, role: string, extra: Record<string, string> = {}) => createUser(db, ids.msp, { email, name: email.split("@")[0], role, password: PASSWORD, ...extra }, env);
  await mk(users.admin, "msp_admin");
  await mk(users.partnerAdmin, "partner_admin", { partner_id: ids.partner });
  await mk(users.billing, "partner_billing", { partner_id: ids.partner });

  // October: Alder's appliance enrolls and its first discovery scan (the learning period starts); Birch joins mid-month.
  const alderAppliance = await at("2026-10-02T15:00:00Z", () => enroll(ids.alderSite));
  await db.transaction((tx) => ingestInventory(tx, { id: alderAppliance.id, site_id: ids.alderSite }, discovery("dsc_alder_oct03", "2026-10-03T02:00:00.000Z", alderNetwork())));
  const monitored = (await db.execute({ sql: "SELECT id, hostname FROM devices WHERE site_id = ? ORDER BY ip", args: [ids.alderSite] })).rows.filter((r) => !["alder-ws07", "xray-console", "hl7-gateway"].includes(String(r["hostname"])));
  assert.is(monitored.length, 11);
  for (const r of monitored) await setDeviceStatus(db, String(r["id"]), "monitored", "e2e setup", clock);
  await at("2026-10-16T14:00:00Z", () => enroll(ids.birchSite));
  // Last night's scan: VNC opened on a workstation, and an unknown device appeared after the learning period.
  await db.transaction((tx) => ingestInventory(tx, { id: alderAppliance.id, site_id: ids.alderSite }, discovery("dsc_alder_last", isoTime(Date.now() - 6 * HOUR), alderNetwork({ ws07Vnc: true, newUnknown: true }))));

  // Billing: Alder all year, Birch from 16 October; 20 % share from one clinic, 25 % from three.
  await putPlan(db, ids.alder, { monthly_price_cents: 50000, included_devices: 10, extra_device_cents: 1500, starts_on: "2026-01-01" }, "e2e", env);
  await putPlan(db, ids.birch, { monthly_price_cents: 30000, included_devices: 5, extra_device_cents: 1000, starts_on: "2026-10-16" }, "e2e", env);
  await putPlan(db, ids.riverside, { monthly_price_cents: 12300, included_devices: 0, extra_device_cents: 0, starts_on: "2026-01-01" }, "e2e", env);
  await putPlan(db, harbour, { monthly_price_cents: 20000, included_devices: 0, extra_device_cents: 0, starts_on: "2026-01-01" }, "e2e", env);
  await putTiers(db, ids.partner, { tiers: [{ min_clinics: 1, share_percent: 20 }, { min_clinics: 3, share_percent: 25 }] }, "e2e", env);
  await putTiers(db, ids.otherPartner, { tiers: [{ min_clinics: 1, share_percent: 15 }] }, "e2e", env);
  await issueStatement(db, ids.otherPartner, "2026-10", "e2e", env, async () => undefined);

  // Learning: a labelled simulated history of L2 fixes at two sites, then one real learning cycle.
  await seedSimulatedHistory(db, { sites: [ids.riversideSite, ids.alderSite], now: Date.now() });
  await runLearningCycle({ db, clock, relayKey: server.relay.deps.relayKey, log: server.relay.deps.log });

  // Escalations at Riverside: an antivirus problem (high: 1 h to respond), and a critical one opened 2 h ago (overdue).
  escalations.high = await escalate(ids.riversideSite, "e2e:defender", { host_id: "rfc-ws03", check: "windows.defender_realtime", severity: "medium", reason: "Real-time protection stays off after two fixes: a person must look." });
  escalations.critical = await at(isoTime(Date.now() - 2 * HOUR), () => escalate(ids.riversideSite, "e2e:backup", { host_id: "rfc-nas01", check: "linux.backup_recent", severity: "critical", reason: "No backup has finished for 3 days." }));

  ui = new E2EBrowser(await launchChromium(), server.relay.url, SHOTS);
  await ui.prepareShots();
}

test.after(async () => {
  await ui?.browser.close();
  await server?.close();
});

// ---- helpers -------------------------------------------------------------------------------------------------

/** A new page of the MSP admin's browser context (signed in on first use). */
async function adminPage(path: string, h1: string | RegExp): Promise<Page> {
  if (!ui.contexts["admin"]) await (await ui.login(await ui.newContext("admin"), users.admin)).close();
  const page = await ui.contexts["admin"]!.context.newPage();
  await page.goto(path);
  await page.getByRole("heading", { level: 1, name: h1 }).waitFor();
  return page;
}

/** Seconds left in "12 min 05 s left" / "59 min 59 s left". */
function secondsLeft(text: string): number {
  const m = /(?:(\d+) h )?(?:(\d+) min )?(\d+) s left/.exec(text);
  assert.ok(m, `a countdown: ${text}`);
  return Number(m![1] ?? 0) * 3600 + Number(m![2] ?? 0) * 60 + Number(m![3]);
}

// ---- journeys ------------------------------------------------------------------------------------------------

test("learning: MSP admin reads a candidate's evidence against the thresholds in force, approves it; its state, ledger and a new signed rule set follow", async () => {
  const before = (await latestRuleset(server.relay.db))?.version ?? 0;
  const page = await adminPage("/learning", "Learning");
  const thresholds = page.getByRole("region", { name: "Thresholds in force" });
  await thresholds.getByText(/A candidate needs at least 5 runs of the same fix/).waitFor();
  assert.match((await thresholds.textContent()) ?? "", /at least 3 of them found and proven by the L2 planner[\s\S]*at least 90 %[\s\S]*last 7 days[\s\S]*2 or more sites/);
  assert.match((await thresholds.textContent()) ?? "", /Auto-promotion off/);

  const waiting = page.getByRole("list", { name: /Waiting for a decision/ }).getByRole("listitem").filter({ has: page.getByRole("heading", { level: 3 }) });
  await waiting.first().waitFor();
  assert.is(await waiting.count(), 2);
  const defender = waiting.filter({ hasText: "windows.enable_defender_realtime" });
  const evidence = defender.getByRole("table", { name: /Evidence for windows\.defender_realtime/ });
  const row = (what: string) => evidence.getByRole("row").filter({ has: page.getByRole("rowheader", { name: what }) });
  assert.match((await row("Runs of this fix").textContent()) ?? "", /6\s*6 simulated\s*\(the demo's labelled history, not real resolutions\)\s*at least 5\s*Met/, "the seeded history says what it is");
  assert.match((await row("Found by the L2 planner").textContent()) ?? "", /6\s*at least 3\s*Met/);
  assert.match((await row("Success rate").textContent()) ?? "", /100 % \(6 of 6\)\s*at least 90 %/);
  assert.match((await row("Sites where it worked").textContent()) ?? "", /2: (Riverside main office, Alder main office|Alder main office, Riverside main office)\s*at least 2/);
  assert.match((await row("Last seen").textContent()) ?? "", /(hours?|days?) ago\s*within 7 days\s*Met/);
  assert.match((await row("Shadow replay").textContent()) ?? "", /passed: would have chosen what worked 6 of 6 times \(100 %\)/);
  await defender.getByText("State history and success chart").click();
  const early = defender.getByRole("table", { name: /State history of/ });
  await early.waitFor();
  const earlyRows = await early.locator("tbody tr").allTextContents();
  assert.is(earlyRows.length, 2, earlyRows.join("\n"));
  assert.match(earlyRows[1]!.replace(/\s+/g, " "), /proposed → shadow replay the learning loop/);
  await ui.shot(page, "learning-candidates");

  await defender.getByLabel(/^Reason/).fill("Proven at Riverside and Alder; Defender must never stay off.");
  await defender.getByRole("button", { name: /^Approve/ }).click();
  const said = page.locator(".success").filter({ hasText: "now active" });
  await said.waitFor();
  const version = Number(/Signed rule set version (\d+)/.exec((await said.textContent()) ?? "")?.[1]);
  assert.ok(version > before, `a new rule set version (${version} > ${before})`);

  const promoted = page.getByRole("list", { name: /Promoted rules/ }).getByRole("listitem").filter({ hasText: "windows.enable_defender_realtime" });
  await promoted.locator(".badge").filter({ hasText: /^active$/ }).waitFor();
  assert.is(await waiting.count(), 1, "it left the waiting list");
  const ledger = promoted.getByRole("table", { name: /State history of windows\.defender_realtime/ });
  await ledger.getByText(users.admin).waitFor();
  const rows = (await ledger.locator("tbody tr").allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
  assert.is(rows.length, 4, rows.join("\n"));
  assert.match(rows[2]!, /shadow replay → approved .*admin.* Proven at Riverside and Alder; Defender must never stay off\./);
  assert.match(rows[3]!, new RegExp(`approved → active the learning loop \\(distribution\\) rule is in signed rule set version ${version}`));
  assert.ok((await promoted.locator("osiris-trend-chart canvas").count()) >= 1, "the success chart is drawn by uPlot");
  assert.match((await promoted.textContent()) ?? "", /no runs yet/);

  const latest = await latestRuleset(server.relay.db);
  assert.is(latest?.version, version);
  const key = server.relay.deps.relayKey;
  const verified = await verifyRuleset(latest!.envelope, { relayKeys: [{ key_id: key.keyId, publicKey: key.signer.publicKey }] });
  assert.ok(verified.payload.rules.some((r) => r.runbook === "windows.enable_defender_realtime" && r.source === "promoted"), "the signed set carries the rule");
  await ui.shot(page, "learning-approved");

  // Rejecting needs a reason; with one, the candidate is retired.
  const update = waiting.filter({ hasText: "windows.restart_windows_update" });
  assert.is(await update.getByLabel(/^Reason/).inputValue(), "", "the reason typed for the approved candidate did not stay behind in another card");
  await update.getByRole("button", { name: /^Reject/ }).click();
  await page.locator(".error").filter({ hasText: "Say why you reject" }).waitFor();
  await update.getByLabel(/^Reason/).fill("Restarting the update service hides the real fault at these sites.");
  await update.getByRole("button", { name: /^Reject/ }).click();
  const ended = page.getByRole("list", { name: /Switched off or retired/ }).getByRole("listitem").filter({ hasText: "windows.restart_windows_update" });
  await ended.locator(".badge").filter({ hasText: /^retired$/ }).waitFor();
  await ended.getByText("State history and success chart").click();
  await ended.getByRole("table").getByText("Restarting the update service hides the real fault at these sites.").waitFor();
  await ui.axe(page, "/learning");
  await ui.shot(page, "learning");
  await page.close();
  ui.noErrors("admin");
});

test("learning policy: the MSP admin changes a threshold and auto-promotion; typos and out-of-bounds values change nothing; back to defaults", async () => {
  const page = await adminPage("/learning", "Learning");
  const thresholds = page.getByRole("region", { name: "Thresholds in force" });
  await thresholds.getByText(/A candidate needs at least 5 runs/).waitFor();
  await thresholds.getByText("Change the learning policy").click();
  const form = thresholds.getByRole("form", { name: "Change the learning policy" });
  assert.is(await form.getByLabel(/^Sites for a fleet-wide rule/).inputValue(), "2");
  const stored = async () => (await server.relay.db.execute("SELECT thresholds, auto_promote FROM learning_settings")).rows.map((r) => ({ ...r }));
  const before = await stored();

  await form.getByLabel(/^Sites for a fleet-wide rule/).fill("2.5");
  await form.getByRole("button", { name: "Save learning policy" }).click();
  await form.getByRole("alert").filter({ hasText: 'Sites for a fleet-wide rule: enter a whole number; current value is "2.5".' }).waitFor();
  await form.getByLabel(/^Sites for a fleet-wide rule/).fill("3");
  await form.getByLabel(/^Success rate needed/).fill("150");
  await form.getByRole("button", { name: "Save learning policy" }).click();
  await form.getByRole("alert").filter({ hasText: /The learning policy was not changed: .*min_success_pct/ }).waitFor();
  assert.equal(await stored(), before, "a refused policy changes nothing");

  await form.getByLabel(/^Success rate needed/).fill("90");
  await form.getByLabel(/^Auto-promotion/).check();
  await form.getByRole("button", { name: "Save learning policy" }).click();
  await form.getByRole("status").filter({ hasText: "Learning policy saved: 1 threshold changed from the default, auto-promotion on." }).waitFor();
  await thresholds.getByText("Auto-promotion on", { exact: true }).waitFor();
  assert.match((await thresholds.textContent()) ?? "", /seen succeed at 3 or more sites[^(]*\(changed for your MSP; default 2\)/);
  assert.equal(JSON.parse(String((await stored())[0]?.["thresholds"])), { min_sites: 3 }, "only the changed threshold is an override");
  await ui.shot(page, "learning-policy");

  await form.getByLabel(/^Sites for a fleet-wide rule/).fill("2");
  await form.getByLabel(/^Auto-promotion/).uncheck();
  await form.getByRole("button", { name: "Save learning policy" }).click();
  await form.getByRole("status").filter({ hasText: "Learning policy saved: every threshold at its default, auto-promotion off." }).waitFor();
  assert.equal(JSON.parse(String((await stored())[0]?.["thresholds"])), {}, "a value equal to its default is no override");
  await ui.axe(page, "/learning (policy form)");
  await page.close();
  ui.noErrors("admin");
});

test("escalations: the SLA timers count down; the MSP admin acknowledges and resolves with notes; the audit log shows both", async () => {
  const page = await adminPage("/escalations", "Escalations");
  const list = page.getByRole("list", { name: "Escalations" }).getByRole("listitem");
  await list.first().waitFor();
  assert.is(await list.count(), 2);
  assert.match((await list.first().textContent()) ?? "", /linux\.backup_recent[\s\S]*Critical priority[\s\S]*Time to respond\s*overdue by 1 h [45]\d min/, "the overdue critical one comes first");
  const high = list.filter({ hasText: "windows.defender_realtime" });
  const highText = (await high.textContent()) ?? "";
  assert.match(highText, /Riverside main office[\s\S]*High priority[\s\S]*Open — nobody on it yet[\s\S]*antivirus/, highText);
  const respond = high.getByRole("group", { name: /SLA timers/ }).locator(".timer").first();
  const t1 = secondsLeft((await respond.textContent()) ?? "");
  await page.waitForTimeout(2_100);
  const t2 = secondsLeft((await respond.textContent()) ?? "");
  assert.ok(t1 > 50 * 60 && t2 < t1 && t2 >= t1 - 4, `counting down: ${t1} s, then ${t2} s`);
  await ui.shot(page, "escalations-fleet");
  await ui.axe(page, "/escalations");

  await high.getByLabel(/^Note/).fill("On it: remoting in to rfc-ws03.");
  await high.getByRole("button", { name: /^Acknowledge/ }).click();
  await page.getByText("Not met: Virus protection is switched on — rfc-ws03: acknowledged.").waitFor();
  await high.getByText("Acknowledged", { exact: true }).waitFor();
  assert.match((await high.textContent()) ?? "", /Time to respond\s*met[\s\S]*On acknowledging: On it: remoting in to rfc-ws03\./);
  await high.getByRole("button", { name: /^Resolve/ }).click();
  await high.getByText("Say what was done before resolving.").waitFor();
  assert.is(await high.getByLabel(/^Note/).getAttribute("aria-invalid"), "true");
  await high.getByLabel(/^Note/).fill("Third-party AV removed; Defender real-time protection back on.");
  await high.getByRole("button", { name: /^Resolve/ }).click();
  await page.getByText("Not met: Virus protection is switched on — rfc-ws03: resolved.").waitFor();
  await list.filter({ hasText: "windows.defender_realtime" }).waitFor({ state: "detached" });
  assert.is(await list.count(), 1, "only the critical one is still active");

  await page.getByRole("navigation", { name: "Which escalations" }).getByRole("link", { name: "Resolved" }).click();
  const resolved = page.getByRole("list", { name: "Escalations" }).getByRole("listitem");
  await resolved.filter({ hasText: "Third-party AV removed" }).waitFor();
  assert.match((await resolved.first().textContent()) ?? "", /Resolved[\s\S]*Time to respond\s*met[\s\S]*Time to resolve\s*met/);
  await ui.shot(page, "escalations-resolved");

  // The site's own section lists both, the critical one still counting.
  await page.goto(`/sites/${ids.riversideSite}/escalations`);
  const site = page.getByRole("list", { name: "Escalations" }).getByRole("listitem");
  await site.nth(1).waitFor();
  assert.match((await site.first().textContent()) ?? "", /linux\.backup_recent[\s\S]*overdue by/);
  await ui.axe(page, "site escalations");
  await ui.shot(page, "site-escalations");

  await page.getByRole("link", { name: "Audit log" }).click();
  const audit = page.getByRole("table");
  await audit.getByText("escalation.resolve").waitFor();
  const entries = (await audit.locator("tbody tr").allTextContents()).slice(0, 2).join("\n");
  assert.match(entries, /admin@northwind\.test[\s\S]*escalation\.resolve[\s\S]*admin@northwind\.test[\s\S]*escalation\.acknowledge/);
  assert.match(entries, new RegExp(escalations.high));
  await ui.shot(page, "audit-escalations");
  await page.close();
  ui.noErrors("admin");
});

test("devices: the site's inventory shows types, confidence, ports and first/last seen; the MSP admin marks devices monitored, excluded and medical", async () => {
  const page = await adminPage(`/sites/${ids.alderSite}/devices`, "Alder main office");
  const table = page.getByRole("table", { name: "Devices discovered on the network" });
  await table.waitFor();
  await page.getByRole("heading", { name: "Network inventory (15 devices)" }).waitFor();
  const row = (name: string) => table.locator("tbody tr").filter({ hasText: name });
  assert.match((await row("alder-dc01").textContent()) ?? "", /10\.20\.0\.2[\s\S]*Domain controller\s*90 % sure[\s\S]*53 dns[\s\S]*88 kerberos[\s\S]*389 ldap[\s\S]*445 smb[\s\S]*3 Oct 2026, \d{2}:00[\s\S]*hours? ago[\s\S]*Monitored[\s\S]*by e2e setup/);
  assert.match((await row("xray-console").textContent()) ?? "", /Carestream Health[\s\S]*Medical \/ imaging device\s*95 % sure[\s\S]*104 dicom[\s\S]*11112[\s\S]*Not decided/);
  assert.match((await row("10.20.0.77").textContent()) ?? "", /Espressif Inc\.[\s\S]*Unknown device\s*10 % sure/);
  await page.getByText(/New device on the network: 10\.20\.0\.77/).waitFor();
  await page.getByText(/Latest changes on the network/).click();
  await page.getByText(/Port opened 5900[\s\S]*alder-ws07/).waitFor();
  await ui.shot(page, "site-inventory");

  const decide = async (name: string, ip: string, label: string) => {
    await page.getByLabel(`Decision for ${name} (${ip})`, { exact: true }).selectOption({ label });
    await page.getByRole("button", { name: `Set decision for ${name} (${ip})` }).click();
    await page.locator(".success").filter({ hasText: `${name} (${ip}): ${label}` }).waitFor();
    await row(name).locator(".badge").filter({ hasText: label }).waitFor();
  };
  await decide("xray-console", "10.20.0.40", "Excluded");
  assert.match((await page.locator(".success").textContent()) ?? "", /never probed again[\s\S]*next pull/);
  await decide("hl7-gateway", "10.20.0.41", "Medical device");
  await decide("alder-ws07", "10.20.0.27", "Monitored");
  const stored = (await server.relay.db.execute({ sql: "SELECT hostname, status, status_changed_by FROM devices WHERE site_id = ? AND hostname IN ('xray-console', 'hl7-gateway', 'alder-ws07') ORDER BY hostname", args: [ids.alderSite] })).rows.map((r) => [r["hostname"], r["status"], r["status_changed_by"]]);
  assert.equal(stored, [["alder-ws07", "monitored", users.admin], ["hl7-gateway", "medical", users.admin], ["xray-console", "excluded", users.admin]]);
  await page.reload();
  await row("xray-console").locator(".badge").filter({ hasText: /^Excluded$/ }).waitFor();
  assert.match((await page.getByText(/\d+ monitored/).first().textContent()) ?? "", /12 monitored/);
  await ui.axe(page, "site devices");
  await ui.shot(page, "site-devices");

  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("table").getByText("device.status.update").first().waitFor();
  await page.close();
  ui.noErrors("admin");
});

test("billing: the MSP admin issues Bayside's October statement; its billing user sees it (and only its partner's) and downloads CSV and PDF", async () => {
  const page = await adminPage("/billing", "Billing");
  await page.getByLabel("Partner").selectOption({ label: "Bayside IT Partners" });
  await page.getByRole("region", { name: "Revenue share" }).getByText("20 % of what its clinics pay, from 1 clinic").waitFor();
  await page.getByText("No statements issued yet.").waitFor();
  await page.getByLabel(/^Month/).fill("2026-10");
  await page.getByRole("button", { name: "Issue statement" }).click();
  await page.getByRole("status").filter({ hasText: "Statement for October 2026 issued: 2 clinics, $684.84, partner share $136.97." }).waitFor();
  await page.getByRole("button", { name: "Issue statement" }).click();
  await page.getByRole("alert").waitFor();
  assert.match((await page.getByRole("alert").textContent()) ?? "", /2026-10|already/i, "a month is issued once");
  await ui.shot(page, "billing-msp");
  await page.close();

  const context = await ui.newContext("billing");
  const bp = await ui.login(context, users.billing, { heading: "Billing" });
  assert.equal(await bp.getByRole("navigation", { name: "Main" }).getByRole("link").allTextContents(), ["Billing"], "a billing user sees billing only");
  const statements = bp.getByRole("table", { name: /Statements, newest month first/ }).locator("tbody tr");
  await statements.first().waitFor();
  assert.is(await statements.count(), 1, "Harbour Tech's statement is not shown");
  assert.match((await statements.first().textContent()) ?? "", /October 2026\s*2\s*\$684\.84\s*\$136\.97 \(20 %\)[\s\S]*admin@northwind\.test/);
  const stmt = bp.getByRole("region", { name: "Statement for October 2026" });
  await stmt.waitFor();
  const lines = stmt.getByRole("table").locator("tbody tr");
  assert.match((await lines.nth(0).textContent()) ?? "", /Alder Family Clinic[\s\S]*\$500\.00 a month, 10 devices included, \$15\.00 per extra device\s*31\s*1\s*12 \(2 extra\)\s*\$530\.00[\s\S]*\$500\.00 \+ \$30\.00 extras\s*\$106\.00/);
  assert.match((await lines.nth(1).textContent()) ?? "", /Birch Dental[\s\S]*\$300\.00 a month, 5 devices included, \$10\.00 per extra device\s*16\s*1\s*0\s*\$154\.84\s*\$30\.97/);
  assert.match((await stmt.getByRole("table").locator("tfoot").textContent()) ?? "", /Total\s*\$684\.84\s*\$136\.97/);
  assert.match((await stmt.textContent()) ?? "", /MSP keeps\s*\$547\.87/);
  await ui.axe(bp, "/billing (partner billing)");
  await ui.shot(bp, "billing-partner");

  const [csv] = await Promise.all([bp.waitForEvent("download"), stmt.getByRole("link", { name: /^CSV/ }).click()]);
  const csvText = await readFile((await csv.path())!, "utf8");
  assert.match(csv.suggestedFilename(), /^statement-2026-10-.+\.csv$/);
  assert.match(csvText, /Alder Family Clinic,[^\r\n]*530\.00/);
  assert.match(csvText, /Birch Dental,[^\r\n]*154\.84/);
  const [pdf] = await Promise.all([bp.waitForEvent("download"), stmt.getByRole("link", { name: /^PDF/ }).click()]);
  const pdfPath = (await pdf.path())!;
  assert.is((await readFile(pdfPath)).subarray(0, 5).toString(), "%PDF-");
  const pdfText = execFileSync("pdftotext", ["-layout", pdfPath, "-"], { encoding: "utf8" });
  assert.match(pdfText, /Alder Family Clinic/);
  assert.match(pdfText, /684\.84/);
  await bp.goto("/");
  await bp.getByRole("heading", { level: 1, name: "Billing" }).waitFor();
  await bp.close();
  ui.noErrors("billing");

  // The partner's administrator reads the same statement but cannot issue one.
  const pa = await ui.login(await ui.newContext("partner"), users.partnerAdmin);
  await pa.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).click();
  await pa.getByRole("region", { name: "Statement for October 2026" }).waitFor();
  assert.is(await pa.getByRole("button", { name: "Issue statement" }).count(), 0);
  await pa.close();
  ui.noErrors("partner");
});

test("billing settings: the MSP admin changes Bayside's revenue share and Birch Dental's plan; typos and the relay's refusals change nothing; the billing user has no forms", async () => {
  const page = await adminPage("/billing", "Billing");
  await page.getByLabel("Partner").selectOption({ label: "Bayside IT Partners" });
  const share = page.getByRole("region", { name: "Revenue share" });
  await share.getByText("20 % of what its clinics pay, from 1 clinic").waitFor();
  await share.getByText("Change the revenue share").click();
  const form = share.getByRole("form", { name: "Change the revenue share" });
  assert.is(await form.getByLabel("Tier 2: share in percent").inputValue(), "25", "the form starts from the share in force");
  await form.getByLabel("Tier 2: share in percent").fill("twenty");
  await form.getByRole("button", { name: "Save revenue share" }).click();
  await form.getByRole("alert").filter({ hasText: 'Tier 2, share: enter a percentage like 20 or 12.5 (at most two decimals); current value is "twenty".' }).waitFor();
  await form.getByLabel("Tier 2: share in percent").fill("120");
  await form.getByRole("button", { name: "Save revenue share" }).click();
  await form.getByRole("alert").filter({ hasText: "Tier 2, share: enter a percentage from 0 to 100; current value is 120." }).waitFor();
  await form.getByLabel("Tier 2: share in percent").fill("25");
  await form.getByLabel("Tier 2: from how many clinics").fill("1");
  await form.getByRole("button", { name: "Save revenue share" }).click();
  await form.getByRole("alert").filter({ hasText: "Tier 2, from how many clinics: must be more than tier 1 (1); current value is 1." }).waitFor();
  await form.getByLabel("Tier 2: from how many clinics").fill("3");
  const tiers = async () => JSON.parse(String((await server.relay.db.execute({ sql: "SELECT tiers FROM partner_revenue_shares WHERE partner_id = ?", args: [ids.partner] })).rows[0]?.["tiers"])) as unknown[];
  const before = await tiers();
  assert.is(before.length, 2);
  assert.equal(await tiers(), before, "the refused share changed nothing");
  await form.getByLabel("Tier 2: share in percent").fill("27.5");
  await form.getByRole("button", { name: "Add a tier" }).click();
  assert.is(await form.getByLabel("Tier 3: from how many clinics").inputValue(), "4");
  await form.getByLabel("Tier 3: share in percent").fill("30");
  await form.getByRole("button", { name: "Save revenue share" }).click();
  await form.getByRole("status").filter({ hasText: "Revenue share saved: 20 % from 1 clinic, 27.5 % from 3 clinics, 30 % from 4 clinics." }).waitFor();
  await share.getByText("27.5 % of what its clinics pay, from 3 clinics").waitFor();

  const plans = page.getByRole("region", { name: "Client plans" });
  const birch = plans.getByRole("row").filter({ hasText: "Birch Dental" });
  assert.match((await birch.textContent()) ?? "", /\$300\.00 a month, 5 devices included, \$10\.00 per extra device\s*from 16 Oct 2026/);
  await birch.getByRole("button", { name: "Change plan of Birch Dental" }).click();
  const planForm = plans.getByRole("form", { name: "Plan of Birch Dental" });
  assert.is(await planForm.getByLabel(/^Price per month/).inputValue(), "300.00");
  await planForm.getByLabel(/^Price per month/).fill("3,50");
  await planForm.getByRole("button", { name: "Save plan of Birch Dental" }).click();
  await plans.getByRole("alert").filter({ hasText: 'Price per month: enter an amount like 500 or 499.99 (at most two decimals); current value is "3,50".' }).waitFor();
  // A negative price is refused in the money typed, before anything is sent (not "monthly_price_cents: … -500").
  await planForm.getByLabel(/^Price per month/).fill("-5");
  await planForm.getByRole("button", { name: "Save plan of Birch Dental" }).click();
  await plans.getByRole("alert").filter({ hasText: "Price per month must be 0 or more; current value is -5." }).waitFor();
  assert.not.match((await plans.getByRole("alert").textContent()) ?? "", /cents|monthly_price/);
  await planForm.getByLabel(/^Price per month/).fill("349.99");
  await planForm.getByLabel(/^Price per extra device/).fill("12.5");
  await planForm.getByLabel(/^Devices included/).fill("6");
  await planForm.getByRole("button", { name: "Save plan of Birch Dental" }).click();
  await plans.getByRole("status").filter({ hasText: "Plan of Birch Dental saved: $349.99 a month, 6 devices included, $12.50 per extra device, from 16 Oct 2026." }).waitFor();
  const stored = (await server.relay.db.execute({ sql: "SELECT monthly_price_cents, included_devices, extra_device_cents FROM billing_plans WHERE org_id = ?", args: [ids.birch] })).rows.map((r) => ({ ...r }));
  assert.equal(stored, [{ monthly_price_cents: 34999, included_devices: 6, extra_device_cents: 1250 }], "what the relay stored is exactly the typed amounts in cents");
  await page.reload();
  assert.match((await plans.getByRole("row").filter({ hasText: "Birch Dental" }).textContent()) ?? "", /\$349\.99 a month, 6 devices included, \$12\.50 per extra device/, "still there after a reload");
  await ui.axe(page, "/billing (settings)");
  await ui.shot(page, "billing-settings");
  await page.close();

  // The issued October statement keeps the plan it used.
  const bp = await ui.contexts["billing"]!.context.newPage();
  await bp.goto("/billing");
  const stmt = bp.getByRole("region", { name: "Statement for October 2026" });
  await stmt.waitFor();
  assert.match((await stmt.getByRole("table").locator("tbody tr").nth(1).textContent()) ?? "", /Birch Dental[\s\S]*\$300\.00 a month[\s\S]*\$154\.84/);
  assert.is(await bp.getByRole("region", { name: "Client plans" }).count(), 0, "a billing user does not set plans");
  assert.is(await bp.getByText("Change the revenue share").count(), 0);
  await bp.close();
  ui.noErrors("admin");
  ui.noErrors("billing");
});

test("notification channels: the MSP admin adds e-mail and webhook channels, the webhook's secret never comes back, and deletes one", async () => {
  const secret = "whsec-Northwind-0123456789-signing";
  const hookUrl = "http://127.0.0.1:9/osiris/hook-token-7f3a";
  const page = await adminPage("/admin", "Admin");
  const seen: string[] = [];
  page.on("response", async (r) => {
    if (r.url().includes("/api/")) seen.push(await r.text().catch(() => ""));
  });
  const section = page.getByRole("region", { name: "Notification channels" });
  await section.getByText("No channels yet").waitFor();
  await section.getByLabel("Name").fill("Northwind on-call");
  await section.getByLabel("Kind").selectOption({ label: "E-mail" });
  await section.getByLabel("Covers").selectOption({ label: "Every clinic (whole MSP)" });
  await section.getByLabel("From priority").selectOption("high");
  await section.getByLabel(/^Recipients/).fill("oncall@northwind.test, lead@northwind.test");
  await section.getByRole("button", { name: "Add channel" }).click();
  await section.getByRole("status").filter({ hasText: "Channel “Northwind on-call” added." }).waitFor();

  await section.getByLabel("Name").fill("Riverside ticketing");
  await section.getByLabel("Kind").selectOption({ label: "Webhook (signed)" });
  await section.getByLabel("Covers").selectOption({ label: "One site" });
  await section.getByLabel("Site", { exact: true }).selectOption({ label: "Riverside main office (Riverside Family Clinic)" });
  await section.getByLabel(/^Webhook URL/).fill(hookUrl);
  await section.getByLabel(/^Signing secret/).fill("too short");
  await section.getByRole("button", { name: "Add channel" }).click();
  assert.is(await section.getByLabel(/^Signing secret/).evaluate((el: HTMLInputElement) => el.validity.tooShort), true, "the browser refuses a short secret");
  await section.getByLabel(/^Signing secret/).fill(secret);
  await section.getByRole("button", { name: "Add channel" }).click();
  await section.getByRole("status").filter({ hasText: "its secret is stored encrypted and will not be shown again" }).waitFor();
  assert.is(await section.getByLabel(/^Signing secret/).inputValue(), "", "the form forgot the secret");

  const rows = section.getByRole("table", { name: "Notification channels" }).locator("tbody tr");
  assert.is(await rows.count(), 2);
  assert.match((await rows.nth(0).textContent()) ?? "", /Northwind on-call\s*E-mail\s*to IT staff\s*Every clinic \(whole MSP\)\s*oncall@northwind\.test\s*lead@northwind\.test\s*high\s*none/);
  assert.match((await rows.nth(1).textContent()) ?? "", /Riverside ticketing\s*Webhook \(signed\)\s*Site: Riverside main office \(Riverside Family Clinic\)\s*http:\/\/127\.0\.0\.1:9\/…\s*low\s*Stored, write-only/);
  await page.reload();
  await section.getByRole("table", { name: "Notification channels" }).waitFor();
  const text = await allText(page);
  for (const s of [secret, "hook-token-7f3a"]) {
    assert.not.ok(text.includes(s), `${s} is not on the page`);
    assert.not.ok(seen.some((body) => body.includes(s)), `no API answer carried ${s}`);
  }
  await ui.axe(page, "/admin");
  await ui.shot(page, "admin-channels");

  await rows.filter({ hasText: "Northwind on-call" }).getByRole("button", { name: /^Delete/ }).click();
  await rows.filter({ hasText: "Northwind on-call" }).getByRole("button", { name: /^Yes, delete/ }).click();
  await section.getByRole("status").filter({ hasText: "Channel “Northwind on-call” deleted." }).waitFor();
  assert.is(await rows.count(), 1);
  const audit = (await server.relay.db.execute("SELECT action, details FROM audit_log WHERE action LIKE 'channel.%' ORDER BY seq")).rows.map((r) => String(r["action"]));
  assert.equal(audit, ["channel.create", "channel.create", "channel.delete"]);
  await page.close();
  ui.noErrors("admin");
});

test("partner administrator: sees only its own channels and escalations, and adds a syslog channel for its clinics", async () => {
  const context = await ui.newContext("partner-admin");
  const page = await ui.login(context, users.partnerAdmin);
  await page.goto("/escalations?status=all");
  await page.getByRole("heading", { level: 1, name: "Escalations" }).waitFor();
  await page.getByText("No escalations.").waitFor();
  assert.is(await page.getByText("Riverside").count(), 0, "another tenant's escalations are not shown");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  const section = page.getByRole("region", { name: "Notification channels" });
  await section.getByText("No channels yet").waitFor();
  assert.equal(await section.getByLabel("Covers").locator("option").allTextContents(), ["All our clinics (the partner)", "One site"], "no MSP-wide channel for a partner");
  assert.equal(await section.getByLabel("Covers").selectOption({ label: "One site" }).then(() => section.getByLabel("Site", { exact: true }).locator("option").allTextContents()), ["Alder main office (Alder Family Clinic)", "Birch Dental (Birch Dental)"]);
  await section.getByLabel("Covers").selectOption({ label: "All our clinics (the partner)" });
  await section.getByLabel("Name").fill("Bayside SIEM");
  await section.getByLabel("Kind").selectOption({ label: "Syslog" });
  await section.getByLabel("Syslog host").fill("127.0.0.1");
  await section.getByLabel("Port", { exact: true }).fill("6514");
  await section.getByLabel("Transport").selectOption({ label: "TCP" });
  await section.getByRole("button", { name: "Add channel" }).click();
  await section.getByRole("status").filter({ hasText: "Channel “Bayside SIEM” added." }).waitFor();
  const rows = section.getByRole("table", { name: "Notification channels" }).locator("tbody tr");
  assert.is(await rows.count(), 1, "the MSP's channels are not listed");
  assert.match((await rows.first().textContent()) ?? "", /Bayside SIEM\s*Syslog\s*Partner: Bayside IT Partners\s*127\.0\.0\.1:6514 over TCP, facility local0/);
  await ui.shot(page, "admin-channels-partner");
  await page.close();
  ui.noErrors("partner-admin");
});

test("on a phone every operations view fits the screen width", async () => {
  const context = await ui.newContext("phone", PHONE, true);
  const page = await ui.login(context, users.admin);
  for (const [path, h1, name] of [
    ["/learning", "Learning", "phone-learning"],
    ["/escalations?status=all", "Escalations", "phone-escalations"],
    [`/sites/${ids.alderSite}/devices`, "Alder main office", "phone-devices"],
    ["/billing", "Billing", "phone-billing"],
    ["/admin", "Admin", "phone-admin"],
  ] as const) {
    await page.goto(path);
    await page.getByRole("heading", { level: 1, name: h1 }).waitFor();
    await page.waitForLoadState("networkidle");
    await ui.fitsWidth(page, path);
    await ui.shot(page, name);
  }
  await context.close();
  ui.noErrors("phone");
});

test.run();
