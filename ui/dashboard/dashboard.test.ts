/**
 * End to end: the real dashboard, built with Vite, served by a real relay process on loopback (runRelay, a
 * libSQL file, the relay key file), with real lab appliances (the daemon, the lab collector over the
 * simulated Riverside and Lakeside clinics, the sync client) enrolled through the real `osiris appliance
 * enroll` CLI with a claim code created in the dashboard, a real SMTP server on loopback for the clinic
 * user's magic link, and headless Chromium (Debian's `chromium`, driven by playwright-core).
 *
 * Journeys: log in as MSP admin (TOTP and lockout on the login page), create a claim code and enroll an
 * appliance with it, read the site's score, check results, incident timeline and evidence chain, change
 * the healing mode and a maintenance window (live preview), approve the fix the appliance then asks for
 * (a signed order it pulls and runs), issue an order; a partner technician sees only the partner's clinic,
 * in the partner's branding, and another tenant's site URL is refused; a clinic viewer signs in by e-mailed
 * link and sees only its site, read-only. Every page: no CSP violation, no console error, axe-core finds no
 * serious or critical issue; the phone layout never scrolls sideways. Screenshots: test-output/screenshots/dashboard/.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { loadConfig } from "../../appliance/config/index.ts";
import { Appliance } from "../../appliance/daemon/appliance.ts";
import type { Log } from "../../appliance/engine/types.ts";
import { enableTotp, setTotpSecret } from "../../relay/auth/login.ts";
import { newTotpSecret, totpCode } from "../../relay/auth/totp.ts";
import { setBranding } from "../../relay/auth/branding.ts";
import { createUser } from "../../relay/auth/users.ts";
import { createCredentialVault } from "../../relay/credentials/create-vault.ts";
import { createClaimCode } from "../../relay/enroll/claim-codes.ts";
import { revokeAppliance } from "../../relay/enroll/enroll.ts";
import { memoryLog } from "../../relay/log.ts";
import { startSmtpSink, type SmtpSink } from "../../relay/mail/_smtp-sink.ts";
import { runRelay, type RunningRelay } from "../../relay/serve/run.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../../relay/tenants/tenants.ts";
import { loadDashboardAssets } from "../../relay/ui/assets.ts";
import { buildDashboard } from "./_build.ts";
import { DESKTOP, E2EBrowser, launchChromium, PASSWORD, PHONE } from "./_e2e.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = fileURLToPath(new URL("../../test-output/screenshots/dashboard/", import.meta.url));
const HOUR = 3_600_000;
const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };
const env = { clock: { now: () => Date.now() }, random: (n: number) => new Uint8Array(randomBytes(n)) };

interface LabAppliance {
  appliance: Appliance;
  /** Lab time (drift), moved by the test; the appliance's own clock is the real one (request signatures). */
  lab: { t: number };
}

let dir: string;
let relay: RunningRelay;
let ui: E2EBrowser;
let smtp: SmtpSink;
const ids = { msp: "", partner: "", orgA: "", orgB: "", siteA: "", siteB: "" };
const users: Record<"admin" | "tech" | "locked" | "partner" | "client", string> = { admin: "", tech: "", locked: "", partner: "", client: "" };
let totpSecret = "";
const appliances: LabAppliance[] = [];
let contexts: E2EBrowser["contexts"];

// ---- setup -------------------------------------------------------------------------------------------------

function runCli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, "bin/osiris.js"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => done({ code: code ?? 1, out }));
  });
}

/** Writes a lab appliance's config (its state directory beside it); returns the config path. */
async function labConfig(name: string, lab: string, tz: string): Promise<string> {
  const appDir = join(dir, name);
  await mkdir(appDir, { recursive: true, mode: 0o700 });
  const config = join(appDir, "appliance.yaml");
  await writeFile(
    config,
    [`state_dir: ${join(appDir, "state")}`, "site:", `  name: ${name}`, `  timezone: ${tz}`, "relay:", `  url: ${relay.url.replace(/\/$/, "")}`, "lab:", `  site_dir: ${join(ROOT, "fixtures/lab", lab)}`, "status_page:", '  bind: ["127.0.0.1"]', "  mdns: false", ""].join("\n"),
  );
  return config;
}

/** Enrolls a lab appliance with the CLI and a claim code, and opens the daemon. */
async function enrollLab(name: string, lab: string, tz: string, code: string): Promise<LabAppliance> {
  const config = await labConfig(name, lab, tz);
  const enrolled = await runCli(["appliance", "enroll", "--config", config, "--relay", relay.url.replace(/\/$/, ""), "--code", code]);
  assert.is(enrolled.code, 0, `osiris appliance enroll: ${enrolled.out}`);
  return openLab(config);
}

async function openLab(config: string): Promise<LabAppliance> {
  const labClock = { t: Date.now() };
  const appliance = await Appliance.open(await loadConfig(config), { clock: env.clock, random: env.random, log: quiet, labClock: { now: () => labClock.t } });
  const a = { appliance, lab: labClock };
  appliances.push(a);
  return a;
}

/** Lab time moves on; every host is scanned; the appliance syncs (push, pull, orders, push again). */
async function cycle(a: LabAppliance, labHours?: number): Promise<void> {
  if (labHours !== undefined) a.lab.t += labHours * HOUR;
  await a.appliance.runCycle({ all: true });
  await a.appliance.sync!.client.sync();
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), "osiris-dashboard-e2e-"));
  const assetsDir = await buildDashboard(join(dir, "dist"));
  relay = await runRelay({ db: join(dir, "relay.db"), keyFile: join(dir, "relay.key"), host: "127.0.0.1", port: 0, log: memoryLog().log });
  relay.deps.ui = (await loadDashboardAssets(assetsDir)) ?? undefined;
  relay.deps.vault = await createCredentialVault({ db: relay.db, keyFile: join(dir, "vault.key"), random: env.random, log: memoryLog().log });
  smtp = await startSmtpSink("portal@relay.example.test");
  relay.deps.mailer = smtp.mailer;

  const db = relay.db;
  ids.msp = (await createMsp(db, { name: "Northwind MSP" }, env)).id;
  ids.partner = (await createPartner(db, { msp_id: ids.msp, name: "Bayside IT Partners" }, env)).id;
  const logo = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" rx="8" fill="#7a1f5c"/><path d="M10 28 20 10l10 18z" fill="#fff"/></svg>').toString("base64");
  await setBranding(db, ids.partner, { name: "Bayside IT", primary: "#7a1f5c", accent: "#a8327a", logo_data_url: `data:image/svg+xml;base64,${logo}` });
  ids.orgA = (await createOrganisation(db, { msp_id: ids.msp, name: "Riverside Family Clinic" }, env)).id;
  ids.orgB = (await createOrganisation(db, { msp_id: ids.msp, partner_id: ids.partner, name: "Lakeside Pediatrics" }, env)).id;
  ids.siteA = (await createSite(db, { org_id: ids.orgA, name: "Riverside main office", timezone: "America/Chicago" }, env)).id;
  ids.siteB = (await createSite(db, { org_id: ids.orgB, name: "Lakeside clinic", timezone: "America/New_York" }, env)).id;
  const mk = async (email: string, role: string, extra: Record<string, string> = {}) => (await createUser(db, ids.msp, { email, name: email.split("@")[0], role, password: PASSWORD, ...extra }, env)).email;
  users.admin = await mk("admin@northwind.test", "msp_admin");
  users.tech = await mk("tech@northwind.test", "msp_tech");
  users.locked = await mk("temp@northwind.test", "msp_tech");
  users.partner = await mk("tech@bayside.test", "partner_tech", { partner_id: ids.partner });
  users.client = (await createUser(db, ids.msp, { email: "office@riverside.test", name: "Office manager", role: "client_viewer", org_id: ids.orgA }, env)).email;
  const techId = String((await db.execute({ sql: "SELECT id FROM users WHERE email = ?", args: [users.tech] })).rows[0]!["id"]);
  totpSecret = newTotpSecret(users.tech, env.random).secret;
  await setTotpSecret(db, techId, totpSecret);
  await enableTotp(db, env, techId, totpCode(totpSecret, Date.now() - 30_000));

  ui = new E2EBrowser(await launchChromium(), relay.url, SHOTS);
  contexts = ui.contexts;
  await ui.prepareShots();
});

test.after(async () => {
  await ui?.browser.close();
  for (const a of appliances) await a.appliance.stop().catch(() => undefined);
  await relay?.close();
  await smtp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---- browser helpers (ui/dashboard/_e2e.ts) ----------------------------------------------------------------

const newContext = (name: string, viewport = DESKTOP, mobile = false): Promise<BrowserContext> => ui.newContext(name, viewport, mobile);
const login = (context: BrowserContext, email: string, opts: { totp?: string } = {}): Promise<Page> => ui.login(context, email, opts);
const shot = (page: Page, name: string, fullPage = true): Promise<void> => ui.shot(page, name, fullPage);
const axe = (page: Page, what: string): Promise<void> => ui.axe(page, what);
const noErrors = (name: string): void => ui.noErrors(name);

// ---- journeys ----------------------------------------------------------------------------------------------

test("login page: wrong password, lockout after five tries, TOTP step; the page passes axe", async () => {
  const context = await newContext("anon");
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await axe(page, "login");
  await shot(page, "login");
  for (let i = 1; i <= 5; i++) {
    await page.getByLabel("E-mail", { exact: true }).fill(users.locked);
    await page.getByLabel("Password").fill("not it");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: i < 5 ? "wrong" : "locked" }).waitFor();
  }
  assert.match((await page.getByRole("alert").textContent()) ?? "", /This account is locked after too many failed sign-ins\. Try again in 15 minutes/);
  await shot(page, "login-locked", false);
  await context.close();

  const techContext = await newContext("tech");
  const techPage = await techContext.newPage();
  await techPage.goto("/login");
  await techPage.getByLabel("E-mail", { exact: true }).fill(users.tech);
  await techPage.getByLabel("Password").fill(PASSWORD);
  await techPage.getByRole("button", { name: "Sign in" }).click();
  const field = techPage.getByLabel(/Authenticator code/);
  await field.waitFor();
  await techPage.waitForFunction(() => {
    let el: Element | null = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    return el?.id === "totp";
  }, undefined, { timeout: 5000 }); // the code field has focus
  await shot(techPage, "login-totp", false);
  await field.fill(totpCode(totpSecret, Date.now()));
  await techPage.getByRole("button", { name: "Verify" }).click();
  await techPage.getByRole("heading", { level: 1, name: "Clinics" }).waitFor();
  await techContext.close();
  noErrors("tech");
});

test("MSP admin: creates a claim code with QR in the dashboard; the appliance enrolls with it; the site shows score, checks, incidents and evidence", async () => {
  const context = await newContext("admin");
  const page = await login(context, users.admin);
  const clinics = page.getByRole("list", { name: "Clinics" }).getByRole("listitem");
  await clinics.nth(1).waitFor(); // the heading shows before the fleet has loaded
  assert.is(await clinics.count(), 2);
  assert.match((await clinics.filter({ hasText: "Riverside main office" }).textContent()) ?? "", /No data[\s\S]*No active appliance/);
  await shot(page, "fleet-before-enrollment");

  await page.getByRole("link", { name: "Riverside main office" }).click();
  await page.getByRole("heading", { level: 1, name: "Riverside main office" }).waitFor();
  await page.getByRole("link", { name: "Enrollment" }).click();
  await page.getByRole("button", { name: "Create claim code" }).click();
  const created = page.getByRole("region", { name: "New claim code" });
  await created.waitFor();
  const code = ((await created.locator(".code").textContent()) ?? "").trim();
  assert.match(code, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  const qr = created.getByRole("img", { name: /QR code/ });
  assert.ok(((await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)) ?? 0) > 100, "the QR image loaded (data: URL allowed by the CSP)");
  await page.getByRole("table").getByText("Active").waitFor();
  await shot(page, "site-enrollment-code");

  const riverside = await enrollLab("riverside", "riverside-family-clinic", "America/Chicago", code);
  await cycle(riverside);
  await cycle(riverside, 3.5); // Defender off, SMB1 on, NAS redirects, ClamAV stopped…
  await page.reload();
  await page.getByRole("table").getByText("Used").waitFor();

  await page.getByRole("link", { name: "Overview" }).click();
  const score = page.locator(".score").first();
  await score.getByText(/\d+ %/).waitFor();
  const pct = Number(((await score.textContent()) ?? "").match(/(\d+) %/)![1]);
  assert.ok(pct > 0 && pct < 100, `drift keeps the score below 100: ${pct}`);
  await page.getByText("SIMULATED").first().waitFor();
  assert.ok((await page.locator("osiris-trend-chart canvas").count()) >= 1, "the trend chart is drawn by uPlot (canvas)");
  await page.getByRole("table", { name: "Controls" }).waitFor();
  await shot(page, "site-overview");

  await page.getByRole("link", { name: "Devices and checks" }).click();
  // Named as the clinic names it (the appliance's managed-host list), with the host id beside it.
  const fs = page.getByRole("region", { name: /RFC-FS01/ });
  await fs.waitFor();
  assert.match((await fs.textContent()) ?? "", /Failing/);
  assert.match((await fs.textContent()) ?? "", /Host rfc-fs01/);
  assert.ok((await page.getByRole("region", { name: /^(RFC-|rfc-nas01 \(backups\))/ }).count()) >= 7, "every lab host is listed by its name");
  await shot(page, "site-devices");

  await page.getByRole("link", { name: "Incidents" }).click();
  const timeline = page.getByRole("list", { name: "Incident timeline" });
  await timeline.waitFor();
  assert.ok((await timeline.locator(":scope > li").count()) >= 3);
  assert.match((await timeline.textContent()) ?? "", /L1 · rule|No fix tried yet/);
  const headings = await timeline.getByRole("heading", { level: 3 }).allTextContents();
  assert.ok(headings.length >= 3 && headings.every((h) => h.startsWith("Not met: ")), `an incident is named as a problem, not as the state wanted: ${JSON.stringify(headings)}`);
  await shot(page, "site-incidents");

  await page.getByRole("link", { name: "Evidence" }).click();
  const chain = page.getByRole("region", { name: /Appliance app_/ });
  await chain.waitFor();
  const text = (await chain.textContent()) ?? "";
  assert.match(text, /Chain intact/);
  assert.match(text, new RegExp(riverside.appliance.identity.fingerprint));
  assert.match(text, /Last countersigned checkpoint\s*size \d+/);
  // This relay runs no archiver: the archive part says so instead of counting bundles "waiting" for ever.
  await page.getByRole("note").filter({ hasText: "Off on this relay: it uploads nothing to write-once storage" }).waitFor();
  await shot(page, "site-evidence");

  await page.goto("/");
  const row = page.getByRole("list", { name: "Clinics" }).getByRole("listitem").filter({ hasText: "Riverside main office" });
  await row.getByText("Online").waitFor();
  await row.getByText("Simulated").waitFor();
  assert.match((await row.textContent()) ?? "", new RegExp(`${pct} %`), "the fleet and the site agree on the score");
  await shot(page, "fleet");
  await page.close();
  noErrors("admin");
});

test("MSP admin: changes healing mode and a maintenance window with a live preview; the appliance pulls it; the audit log shows it", async () => {
  const page = await contexts["admin"]!.context.newPage();
  await page.goto(`/sites/${ids.siteA}/settings`);
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  await page.getByLabel(/Advise/).check();
  await page.getByRole("button", { name: "Add a window" }).click();
  const rule = page.getByLabel("Repeat rule (RRULE)");
  await rule.fill("FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30");
  await page.getByLabel(/Duration/).fill("PT4H");
  await page.getByText("Every Saturday at 02:30 for 4 hours (America/Chicago)").waitFor();
  const next = page.locator(".preview ol li");
  await next.first().getByText(/^Sat \d+ \w{3}, 02:30–06:30 C[SD]T$/).waitFor();
  assert.is(await next.count(), 5);
  await rule.fill("FREQ=HOURLY");
  await page.locator(".preview").getByText(/DAILY, WEEKLY/).waitFor();
  await shot(page, "site-settings-invalid", false);
  await rule.fill("FREQ=WEEKLY;BYDAY=SA;BYHOUR=2;BYMINUTE=30");
  await page.getByText("Every Saturday at 02:30 for 4 hours (America/Chicago)").waitFor();
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  await shot(page, "site-settings");

  const riverside = appliances[0]!;
  await riverside.appliance.sync!.client.sync();
  assert.is(riverside.appliance.site().healing_mode, "advise", "the appliance pulled the new mode");

  await page.getByRole("link", { name: "Audit log" }).click();
  const table = page.getByRole("table");
  await table.getByText("site.settings.update").waitFor();
  assert.match((await table.locator("tbody tr").first().textContent()) ?? "", /admin@northwind\.test[\s\S]*site\.settings\.update[\s\S]*advise/);
  await shot(page, "audit-log");
  await page.close();
  noErrors("admin");
});

test("MSP admin: approves the fix the appliance asks for (a signed order it runs) and sends an order from the registry", async () => {
  const riverside = appliances[0]!;
  await cycle(riverside, 0.25); // in advise mode every fix waits for approval
  const page = await contexts["admin"]!.context.newPage();
  await page.goto(`/sites/${ids.siteA}/orders`);
  const waiting = page.getByRole("list", { name: "Waiting for approval" }).getByRole("listitem");
  await waiting.first().waitFor();
  const heading = ((await waiting.first().getByRole("heading").textContent()) ?? "").trim();
  assert.match(heading, /^Run \S+ on rfc-/);
  const signs = ((await waiting.first().getByLabel("What approving signs").textContent()) ?? "").replace(/\s+/g, " ");
  assert.match(signs, /Order ?approve_runbook for appliance app_\S+ Parameters ?runbook = \S+, host_id = rfc-/, `the card shows what approving signs: ${signs}`);
  assert.match((await waiting.first().textContent()) ?? "", /requested .* by the appliance/);
  await shot(page, "site-approvals");
  await waiting.first().getByRole("button", { name: /^Approve/ }).click();
  await page.getByText(/Approved: order ord_\S+ is signed/).waitFor();

  // The form is drawn from the order type's JSON Schema: an enum is a choice list, an integer a number field within its bounds.
  await page.getByLabel("Order", { exact: true }).selectOption({ label: "Approve a runbook for a host" });
  const validFor = page.getByLabel(/valid for s/);
  assert.equal([await validFor.getAttribute("type"), await validFor.getAttribute("min"), await validFor.getAttribute("max"), await validFor.getAttribute("placeholder")], ["number", "300", "604800", "86400"]);
  await page.getByLabel("Order", { exact: true }).selectOption({ label: "Set the site's healing mode" });
  assert.equal(await page.getByLabel(/^mode/).locator("option").allTextContents(), ["observe", "advise", "enforce"]);
  await page.getByLabel("Order", { exact: true }).selectOption({ label: "Scan now" });
  await page.getByLabel(/host id/).fill("rfc-nas01");
  await page.getByRole("button", { name: "Sign and send order" }).click();
  const issued = page.locator("form .success, form .error").first();
  await issued.waitFor();
  const said = (await issued.textContent()) ?? "";
  assert.match(said, /is signed; the appliance picks it up/, said);

  await riverside.appliance.sync!.client.sync(); // pulls both orders, runs them, pushes the results
  await riverside.appliance.sync!.client.sync();
  await page.reload();
  const orders = page.getByRole("table", { name: /Orders of this site/ });
  await orders.waitFor();
  const rows = orders.locator("tbody tr");
  assert.is(await rows.count(), 2);
  for (const r of await rows.all()) assert.match((await r.textContent()) ?? "", /Done[\s\S]*Succeeded/);
  assert.match((await orders.textContent()) ?? "", /Approve a runbook for a host[\s\S]*Scan now|Scan now[\s\S]*Approve a runbook/);
  await page.getByRole("list", { name: "Recently decided" }).getByText("Approved").waitFor();
  await shot(page, "site-orders");
  await page.close();
  noErrors("admin");
});

test("MSP admin: creates a site in Admin, then accepts a drop-shipped appliance to it by typing the fingerprint the appliance printed", async () => {
  const config = await labConfig("annex", "lakeside-pediatrics", "America/Chicago");
  const registered = await runCli(["appliance", "enroll", "--config", config, "--relay", relay.url.replace(/\/$/, ""), "--pending", "--mac", "02:00:5e:10:20:30"]);
  assert.is(registered.code, 75, `registered and waiting: ${registered.out}`);
  const fingerprint = /fingerprint: ([0-9a-f:]+)/.exec(registered.out)?.[1];
  assert.ok(fingerprint, registered.out);

  const page = await contexts["admin"]!.context.newPage();
  await page.goto("/admin");
  await page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();
  await page.getByLabel("Organisation", { exact: true }).selectOption({ label: "Riverside Family Clinic" });
  await page.getByLabel("Site name", { exact: true }).fill("Riverside annex");
  await page.getByLabel("Time zone", { exact: true }).selectOption("America/Chicago");
  await page.getByRole("button", { name: "Create site" }).click();
  await page.getByRole("status").filter({ hasText: "Site Riverside annex created" }).waitFor();
  await page.getByRole("link", { name: "Riverside annex" }).click();
  await page.getByRole("heading", { level: 1, name: "Riverside annex" }).waitFor();
  await page.getByRole("link", { name: "Enrollment" }).click();
  const waiting = page.getByRole("listitem").filter({ hasText: "02:00:5e:10:20:30" });
  await waiting.waitFor();
  assert.not.match((await waiting.textContent()) ?? "", new RegExp(fingerprint!.slice(0, 9)), "the list does not give the fingerprint away");
  const field = waiting.getByLabel("Fingerprint shown on the appliance");
  await field.fill("0000:0000:0000:0000:0000:0000:0000:0000");
  await waiting.getByRole("button", { name: "Accept to this site" }).click();
  await page.getByText(/does not match the one this appliance registered/).waitFor();
  await field.fill(fingerprint!.toUpperCase());
  await waiting.getByRole("button", { name: "Accept to this site" }).click();
  await page.getByText(/Accepted\. The appliance enrolls at this site/).waitFor();
  await shot(page, "site-enrollment-dropship");

  const finished = await runCli(["appliance", "enroll", "--config", config, "--relay", relay.url.replace(/\/$/, ""), "--pending", "--mac", "02:00:5e:10:20:30"]);
  assert.is(finished.code, 0, `enrolled after acceptance: ${finished.out}`);
  const annex = await openLab(config);
  await cycle(annex);
  await page.getByRole("link", { name: "Evidence" }).click();
  await page.reload();
  const chain = page.getByRole("region", { name: /Appliance app_/ });
  await chain.waitFor();
  assert.match((await chain.textContent()) ?? "", /drop-ship, accepted by fingerprint/);
  await page.close();
  noErrors("admin");
});

test("partner technician: sees only the partner's clinic, in the partner's branding; another tenant's site URL is refused", async () => {
  const code = (await createClaimCode(relay.db, { site_id: ids.siteB, created_by: "e2e" }, env)).code;
  const lakeside = await enrollLab("lakeside", "lakeside-pediatrics", "America/New_York", code);
  await cycle(lakeside);
  const context = await newContext("partner");
  const page = await login(context, users.partner);
  const clinics = page.getByRole("list", { name: "Clinics" }).getByRole("listitem");
  await clinics.first().getByText(/\d+ %/).waitFor();
  assert.equal(await clinics.locator(".name a").allTextContents(), ["Lakeside clinic"]);
  const brand = page.getByRole("banner").getByRole("link").first();
  assert.is(((await brand.textContent()) ?? "").trim(), "Bayside IT");
  assert.is(await page.getByRole("banner").evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(122, 31, 92)");
  assert.ok(await page.getByRole("banner").locator("img").evaluate((img: HTMLImageElement) => img.naturalWidth > 0), "the partner's logo shows");
  assert.is(await page.title(), "Clinics · Bayside IT");
  await shot(page, "partner-fleet");

  await page.goto(`/sites/${ids.siteA}`);
  await page.getByRole("heading", { level: 1, name: "Site not found" }).waitFor();
  assert.is(await page.getByText("Riverside main office").count(), 0, "nothing of the other tenant's site shows");
  await shot(page, "partner-cross-tenant-refused", false);

  await page.goto(`/sites/${ids.siteB}/settings`);
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  const modes = page.getByRole("group", { name: "Healing mode" });
  await modes.getByText("Only an MSP administrator can change how this site heals.").waitFor();
  for (const radio of await modes.getByRole("radio").all()) assert.ok(await radio.isDisabled(), "the healing mode is the MSP admin's to change");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
  assert.is(await page.getByText("site.settings.update").count(), 0, "another tenant's audit entries are not shown");
  await page.close();
  noErrors("partner");
});

test("clinic viewer: signs in with the e-mailed link, sees only its site, read-only; the other clinic's URL is refused", async () => {
  const context = await newContext("client");
  let page = await context.newPage();
  await page.goto("/login");
  await page.getByText("Clinic staff: sign in with a link by e-mail").click();
  await page.getByLabel("Your e-mail").fill(users.client);
  await page.getByRole("button", { name: "E-mail me a sign-in link" }).click();
  await page.getByText(/a sign-in link is on its way/).waitFor();
  for (let i = 0; i < 50 && smtp.mail.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  // The message is quoted-printable: join soft line breaks and decode "=3D".
  const body = smtp.mail.join("\n").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
  const link = /(http:\/\/127\.0\.0\.1:\d+\/login#magic=[A-Za-z0-9_-]+)/.exec(body)?.[1];
  assert.ok(link, "the e-mail carries the link");
  await page.close();
  page = await context.newPage(); // the link opens from the mail client: a new page load
  await page.goto(link!);
  await page.getByRole("heading", { level: 1, name: "Our sites" }).waitFor();
  assert.not.match(page.url(), /magic/, "the token left the address bar");
  const sites = page.getByRole("list", { name: "Clinics" }).getByRole("listitem");
  // The heading shows before the site list has loaded: wait for both sites, then check there is nothing else.
  await sites.locator(".name a").nth(1).waitFor();
  assert.equal(await sites.locator(".name a").allTextContents(), ["Riverside annex", "Riverside main office"], "both sites of its organisation, nothing else");
  await shot(page, "client-sites");
  await sites.getByRole("link", { name: "Riverside main office" }).click();
  await page.getByRole("heading", { level: 1, name: "Riverside main office" }).waitFor();
  const tabs = await page.getByRole("navigation", { name: "Parts of this site" }).getByRole("link").allTextContents();
  assert.equal(tabs, ["Overview", "Devices and checks", "Incidents", "Evidence", "Escalations", "Reports"]);
  await shot(page, "client-site");
  await page.goto(`/sites/${ids.siteA}/settings`);
  await page.getByText(/cannot see this part/).waitFor();
  await page.goto(`/sites/${ids.siteB}`);
  await page.getByRole("heading", { level: 1, name: "Site not found" }).waitFor();
  await page.close();
  noErrors("client");
});

test("credentials: the write-only form stores a secret that never comes back to the page", async () => {
  const secret = "Winter-2026-correct-horse!";
  const page = await contexts["admin"]!.context.newPage();
  const seen: string[] = [];
  page.on("response", async (r) => {
    if (r.url().includes("/api/")) seen.push(await r.text().catch(() => ""));
  });
  await page.goto(`/sites/${ids.siteA}/credentials`);
  await page.getByRole("heading", { name: "Credentials", level: 2 }).waitFor();
  await page.getByLabel(/^Hosts/).fill("rfc-*");
  await page.getByLabel("Kind").selectOption({ label: "WinRM (NTLM)" });
  await page.getByLabel("User name").fill("RIVERSIDE\\osiris-svc");
  await page.getByLabel(/^Password/).fill(secret);
  await page.getByRole("button", { name: "Store credential" }).click();
  await page.getByRole("status").filter({ hasText: "Stored, encrypted" }).waitFor();
  const row = page.getByRole("table").locator("tbody tr");
  await row.getByText("rfc-*", { exact: true }).waitFor();
  assert.is(await page.getByLabel(/^Password/).inputValue(), "", "the form forgot the secret");
  await page.reload();
  await page.getByRole("table").locator("tbody tr code").getByText("RIVERSIDE\\osiris-svc", { exact: true }).waitFor();
  // All text of the page, through every shadow root (a string: the test runner's transpiler renames functions).
  const text = (await page.evaluate(`(() => {
    const walk = (n) => (n.shadowRoot ? walk(n.shadowRoot) : "") + [...n.childNodes].map(walk).join("") + (n.nodeType === 3 ? n.textContent : "") + (n.value ?? "");
    return walk(document);
  })()`)) as string;
  assert.not.ok(text.includes(secret), "the secret is not on the page");
  assert.not.ok(seen.some((body) => body.includes(secret)), "no API answer carried the secret");
  await shot(page, "site-credentials");
  await page.close();
  noErrors("admin");
});

test("every page passes axe-core (no serious or critical issue) for the MSP admin, with details open", async () => {
  const page = await contexts["admin"]!.context.newPage();
  const pages: [string, RegExp | string][] = [
    ["/", "Clinics"],
    [`/sites/${ids.siteA}`, "Riverside main office"],
    [`/sites/${ids.siteA}/devices`, "Riverside main office"],
    [`/sites/${ids.siteA}/incidents`, "Riverside main office"],
    [`/sites/${ids.siteA}/evidence`, "Riverside main office"],
    [`/sites/${ids.siteA}/settings`, "Riverside main office"],
    [`/sites/${ids.siteA}/enrollment`, "Riverside main office"],
    [`/sites/${ids.siteA}/orders`, "Riverside main office"],
    [`/sites/${ids.siteA}/credentials`, "Riverside main office"],
    [`/sites/${ids.siteA}/escalations`, "Riverside main office"],
    [`/sites/${ids.siteA}/reports`, "Riverside main office"],
    ["/audit", "Audit log"],
    ["/learning", "Learning"],
    ["/admin", "Admin"],
  ];
  for (const [path, h1] of pages) {
    await page.goto(path);
    await page.getByRole("heading", { level: 1, name: h1 }).waitFor();
    await page.waitForLoadState("networkidle");
    await axe(page, path);
    const name = path === "/" ? "fleet-admin" : path.replace(`/sites/${ids.siteA}`, "site").replace(/^\//, "").replaceAll("/", "-");
    if (["site-escalations", "site-reports", "learning", "admin"].includes(name)) await shot(page, name);
  }
  await page.close();
  noErrors("admin");
});

test("on a phone the fleet and the site pages fit the screen width", async () => {
  const context = await newContext("phone", PHONE, true);
  const page = await login(context, users.admin);
  for (const [path, name] of [["/", "phone-fleet"], [`/sites/${ids.siteA}`, "phone-site"], [`/sites/${ids.siteA}/devices`, "phone-devices"], [`/sites/${ids.siteA}/settings`, "phone-settings"]] as const) {
    await page.goto(path);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    // The layout viewport's width: in a mobile context innerWidth grows with overflowing content.
    const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: document.documentElement.clientWidth }));
    assert.ok(w.scroll <= w.inner, `${path}: no sideways scrolling (${w.scroll} > ${w.inner})`);
    await shot(page, name);
  }
  await context.close();
  noErrors("phone");
});

// Last: it revokes the appliance the tests above use.
test("an offboarded clinic: once its appliance is revoked the site reads 'No appliance' (not 'Offline') and the fleet 'No active appliance'", async () => {
  const site = (await relay.db.execute({ sql: "SELECT id FROM appliances WHERE site_id = ? AND state = 'active'", args: [ids.siteA] })).rows;
  assert.ok(site.length > 0, "the enrollment test left an active appliance");
  for (const r of site) await revokeAppliance(relay.deps, String(r["id"]), "clinic offboarded");
  const context = await newContext("offboarded");
  const page = await login(context, users.admin);
  const clinic = page.getByRole("list", { name: "Clinics" }).getByRole("listitem").filter({ hasText: "Riverside main office" });
  await clinic.waitFor();
  assert.match((await clinic.textContent()) ?? "", /No active appliance/);
  await page.goto(`/sites/${ids.siteA}`);
  await page.getByRole("heading", { level: 1, name: "Riverside main office" }).waitFor();
  const head = (await page.locator(".head").first().textContent()) ?? "";
  assert.match(head, /No appliance\s*Appliance revoked · last sync/);
  assert.not.match(head, /Offline/);
  await context.close();
  noErrors("offboarded");
});

test.run();
