/**
 * End to end: the Admin page's users, API keys and L2 planner settings, built with Vite and served by a real
 * relay process on loopback (libSQL file, relay key file), in headless Chromium (Debian's `chromium`, driven
 * by playwright-core).
 *
 * Journeys: the MSP admin creates users (a technician with a password, a clinic owner who signs in by link),
 * sees them listed, and disables one, who then cannot sign in; creates an API key, sees its text once (and
 * copies it), uses it against the relay API, revokes it and the relay refuses it; stops the L2 planner and
 * changes its budgets, which are still there after a reload. An MSP technician is told the page is not theirs; a
 * partner administrator sees only its partner's users and keys, may grant only partner and clinic roles,
 * cannot disable anyone and has no L2 settings. Every view: axe-core finds no serious issue, no CSP
 * violation or console error. Screenshots: test-output/screenshots/admin/.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { createUser } from "../../relay/auth/users.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../../relay/tenants/tenants.ts";
import { allText, E2EBrowser, launchChromium, PASSWORD, PHONE, startUiRelay, type UiRelay } from "./_e2e.ts";

const SHOTS = fileURLToPath(new URL("../../test-output/screenshots/admin/", import.meta.url));
const env = { clock: { now: () => Date.now() }, random: (n: number) => new Uint8Array(randomBytes(n)) };

let server: UiRelay;
let ui: E2EBrowser;
const ids = { msp: "", partner: "", riverside: "", alder: "" };
const users = { admin: "admin@northwind.test", tech: "tech@northwind.test", partnerAdmin: "admin@bayside.test", partnerTech: "tech@bayside.test" };

test.before(async () => {
  try {
    server = await startUiRelay();
    const db = server.relay.db;
    ids.msp = (await createMsp(db, { name: "Northwind MSP" }, env)).id;
    ids.partner = (await createPartner(db, { msp_id: ids.msp, name: "Bayside IT Partners" }, env)).id;
    const harbour = (await createPartner(db, { msp_id: ids.msp, name: "Harbour Tech" }, env)).id;
    ids.riverside = (await createOrganisation(db, { msp_id: ids.msp, name: "Riverside Family Clinic" }, env)).id;
    ids.alder = (await createOrganisation(db, { msp_id: ids.msp, partner_id: ids.partner, name: "Alder Family Clinic" }, env)).id;
    await createSite(db, { org_id: ids.riverside, name: "Riverside main office", timezone: "America/Chicago" }, env);
    const mk = (email: string, role: string, extra: Record<string, string> = {}) => createUser(db, ids.msp, { email, name: email.split("@")[0], role, password: PASSWORD, ...extra }, env);
    await mk(users.admin, "msp_admin");
    await mk(users.tech, "msp_tech");
    await mk(users.partnerAdmin, "partner_admin", { partner_id: ids.partner });
    await mk(users.partnerTech, "partner_tech", { partner_id: ids.partner });
    await mk("tech@harbour.test", "partner_tech", { partner_id: harbour });
    ui = new E2EBrowser(await launchChromium(), server.relay.url, SHOTS);
    await ui.prepareShots();
  } catch (e) {
    console.error("setup failed:", e); // uvu does not report a failing before hook
    throw e;
  }
});

test.after(async () => {
  await ui?.browser.close();
  await server?.close();
});

/** A new page of the MSP admin's browser context (signed in on first use), on /admin. */
async function adminPage(): Promise<Page> {
  if (!ui.contexts["admin"]) {
    const context = await ui.newContext("admin");
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.relay.url });
    await (await ui.login(context, users.admin)).close();
  }
  const page = await ui.contexts["admin"]!.context.newPage();
  await page.goto("/admin");
  await page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();
  return page;
}

/** The relay's answer to a request made with an API key (as a script would). */
async function withKey(key: string, path: string): Promise<{ status: number; code: string | null }> {
  const res = await fetch(new URL(path, server.relay.url), { headers: { Authorization: `Bearer ${key}`, Accept: "application/json" } });
  const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
  return { status: res.status, code: body?.error?.code ?? null };
}

/** Whether a password login succeeds. */
async function canLogIn(email: string, password: string): Promise<boolean> {
  const res = await fetch(new URL("/api/auth/login", server.relay.url), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }) });
  await res.body?.cancel();
  return res.ok;
}

test("users: the MSP admin adds a technician and a clinic owner, sees them listed, and disables the technician, who can no longer sign in", async () => {
  const page = await adminPage();
  const section = page.getByRole("region", { name: "Users" });
  const rows = section.getByRole("table", { name: "Users" }).locator("tbody tr");
  await rows.first().waitFor();
  assert.is(await rows.count(), 5, "every user of the MSP");
  assert.equal(await section.getByLabel("Role").locator("option").allTextContents(), ["MSP administrator", "MSP technician", "Partner administrator", "Partner technician", "Partner billing", "Clinic owner", "Clinic viewer"]);
  const me = rows.filter({ hasText: users.admin });
  assert.match((await me.textContent()) ?? "", /\(you\)[\s\S]*MSP administrator\s*The MSP[\s\S]*Active/);
  assert.is(await me.getByRole("button", { name: /Disable/ }).count(), 0, "nobody disables themselves");

  const password = "helpdesk-Northwind-2026!";
  await section.getByLabel("E-mail address").fill("helpdesk@northwind.test");
  await section.getByLabel("Full name").fill("Help Desk");
  await section.getByLabel("Role").selectOption({ label: "MSP technician" });
  await section.getByLabel(/^Password/).fill(password);
  await section.getByRole("button", { name: "Add user" }).click();
  await section.getByRole("status").filter({ hasText: "User helpdesk@northwind.test created as MSP technician." }).waitFor();
  assert.is(await section.getByLabel(/^Password/).inputValue(), "", "the form forgot the password");
  assert.ok(await canLogIn("helpdesk@northwind.test", password), "the new technician signs in with the password given");

  // A clinic owner needs a clinic, and no password (magic link).
  await section.getByLabel("Role").selectOption({ label: "Clinic owner" });
  const clinics = await section.getByLabel("Of the clinic").locator("option").allTextContents();
  assert.equal([clinics[0], clinics.slice(1).sort()], ["Choose a clinic", ["Alder Family Clinic", "Riverside Family Clinic"]], "every clinic offered, none picked for you");
  assert.match((await section.getByText(/^Password/).textContent()) ?? "", /optional: without one they sign in with an e-mailed link/);
  await section.getByLabel("E-mail address").fill("owner@riverside.test");
  await section.getByLabel("Full name").fill("Dr Rivera");
  await section.getByLabel("Of the clinic").selectOption({ label: "Riverside Family Clinic" });
  await section.getByRole("button", { name: "Add user" }).click();
  await section.getByRole("status").filter({ hasText: "User owner@riverside.test created as Clinic owner: they sign in with a link e-mailed to them." }).waitFor();
  assert.is(await rows.count(), 7);
  assert.match((await rows.filter({ hasText: "owner@riverside.test" }).textContent()) ?? "", /Dr Rivera\s*owner@riverside\.test\s*Clinic owner\s*Clinic: Riverside Family Clinic\s*Off[\s\S]*Active/);

  // The relay's refusal is shown next to the form, and nothing changes.
  await section.getByLabel("E-mail address").fill("helpdesk@northwind.test");
  await section.getByLabel("Full name").fill("Someone else");
  await section.getByLabel("Role").selectOption({ label: "MSP technician" });
  await section.getByLabel(/^Password/).fill(password);
  await section.getByRole("button", { name: "Add user" }).click();
  await section.getByRole("alert").filter({ hasText: "A user with e-mail helpdesk@northwind.test already exists" }).waitFor();
  assert.is(await rows.count(), 7);
  await ui.shot(page, "users");

  const helpdesk = rows.filter({ hasText: "helpdesk@northwind.test" });
  await helpdesk.getByRole("button", { name: "Disable helpdesk@northwind.test" }).click();
  await helpdesk.getByRole("button", { name: "Keep helpdesk@northwind.test" }).click();
  assert.match((await helpdesk.textContent()) ?? "", /Active/, "Keep changes nothing");
  await helpdesk.getByRole("button", { name: "Disable helpdesk@northwind.test" }).click();
  await helpdesk.getByRole("button", { name: "Yes, disable helpdesk@northwind.test" }).click();
  await section.getByRole("status").filter({ hasText: "helpdesk@northwind.test is disabled" }).waitFor();
  assert.match((await helpdesk.textContent()) ?? "", /Disabled/);
  assert.is(await helpdesk.getByRole("button").count(), 0, "a disabled user has no Disable button");
  assert.not.ok(await canLogIn("helpdesk@northwind.test", password), "the disabled technician cannot sign in");
  await page.reload();
  await section.getByRole("table", { name: "Users" }).waitFor();
  assert.match((await rows.filter({ hasText: "helpdesk@northwind.test" }).textContent()) ?? "", /Disabled/, "still disabled after a reload");
  const audit = (await server.relay.db.execute("SELECT action FROM audit_log WHERE action IN ('user.create', 'user.disable') ORDER BY seq")).rows.map((r) => String(r["action"]));
  assert.equal(audit, ["user.create", "user.create", "user.disable"]);
  await page.close();
  ui.noErrors("admin");
});

test("API keys: the MSP admin creates a key (90 days unless another lifetime is picked), sees its text once and copies it, the relay accepts it; the list says when each key expires; once revoked the relay refuses it", async () => {
  const page = await adminPage();
  const seen: string[] = [];
  page.on("response", async (r) => {
    if (r.url().includes("/api/") && r.request().method() === "GET") seen.push(await r.text().catch(() => ""));
  });
  const section = page.getByRole("region", { name: "API keys" });
  await section.getByText("No API keys for the MSP yet.").waitFor();
  assert.equal(await section.getByLabel("Acts as").locator("option").allTextContents(), ["MSP technician", "MSP administrator"]);
  assert.equal(await section.getByLabel("Expires after").locator("option").allTextContents(), ["30 days", "90 days", "180 days", "365 days"]);
  assert.is(await section.getByLabel("Expires after").inputValue(), "90", "the relay's default lifetime is preselected");
  await section.getByLabel(/^Key name/).fill("Ticketing sync");
  await section.getByRole("button", { name: "Create key" }).click();
  const shown = section.getByRole("region", { name: "New API key “Ticketing sync” for the MSP" });
  await shown.waitFor();
  assert.match((await shown.textContent()) ?? "", /Copy this key now: it is shown only this once\.[\s\S]*It stops working on \d+ \w+ \d{4}/);
  const key = await shown.getByLabel("API key").inputValue();
  assert.match(key, /^osk_[A-Za-z0-9_-]{43}$/);
  await shown.getByRole("button", { name: "Copy key" }).click();
  await shown.getByText("Copied to the clipboard.").waitFor();
  assert.is(await page.evaluate(() => navigator.clipboard.readText()), key, "the clipboard holds the key");
  await ui.shot(page, "api-key-shown", false);

  const used = await withKey(key, "/api/sites");
  assert.is(used.status, 200, "the relay accepts the new key");
  await shown.getByRole("button", { name: /I have stored it/ }).click();
  assert.is(await shown.count(), 0, "the key is hidden");
  await page.reload();
  const rows = section.getByRole("table", { name: "API keys of the MSP" }).locator("tbody tr");
  await rows.first().waitFor();
  assert.match((await rows.first().textContent()) ?? "", /Ticketing sync\s*MSP technician[\s\S]*just now\s*\d+ \w+ \d{4}, \d\d:\d\d \(in (89|90) days\)\s*Active/);
  assert.not.ok((await allText(page)).includes(key), "the key is not on the page any more");
  assert.not.ok(
    seen.some((body) => body.includes(key)),
    "no listing carried the key",
  );
  await ui.axe(page, "/admin");

  await rows.first().getByRole("button", { name: "Revoke Ticketing sync" }).click();
  await rows.first().getByRole("button", { name: "Yes, revoke Ticketing sync" }).click();
  await section.getByRole("status").filter({ hasText: "Key “Ticketing sync” revoked" }).waitFor();
  assert.match((await rows.first().textContent()) ?? "", /Revoked/);
  assert.is(await rows.first().getByRole("button").count(), 0);
  assert.equal(await withKey(key, "/api/sites"), { status: 401, code: "api_key_revoked" }, "the relay refuses the revoked key");

  // A partner's keys: chosen in "Keys of", partner roles only.
  await section.getByLabel("Keys of").selectOption({ label: "Partner: Bayside IT Partners" });
  await section.getByText("No API keys for Bayside IT Partners yet.").waitFor();
  assert.equal(await section.getByLabel("Acts as").locator("option").allTextContents(), ["Partner technician", "Partner administrator", "Partner billing"]);
  await section.getByLabel(/^Key name/).fill("Bayside PSA");
  await section.getByLabel("Acts as").selectOption({ label: "Partner billing" });
  await section.getByLabel("Expires after").selectOption({ label: "30 days" });
  await section.getByRole("button", { name: "Create key" }).click();
  const partnerKey = await section.getByRole("region", { name: "New API key “Bayside PSA” for Bayside IT Partners" }).getByLabel("API key").inputValue();
  assert.is((await withKey(partnerKey, "/api/sites")).status, 403, "a billing key may not read the fleet");
  assert.match((await section.getByRole("table", { name: "API keys of Bayside IT Partners" }).locator("tbody tr").first().textContent()) ?? "", /Bayside PSA\s*Partner billing[\s\S]*never\s*[\s\S]*\(in (29|30) days\)\s*Active/);
  await ui.shot(page, "api-keys");
  await page.close();
  ui.noErrors("admin");
});

test("L2 planner: the MSP admin sees no model is configured, stops the planner and changes its budgets; both persist after a reload", async () => {
  const page = await adminPage();
  const section = page.getByRole("region", { name: "L2 planner" });
  await section.getByText("Not configured").waitFor();
  assert.match((await section.textContent()) ?? "", /every L2 request escalates to a person[\s\S]*Last changed\s*never: the defaults apply[\s\S]*Planner on/);
  assert.is(await section.getByLabel("Per site, per hour").inputValue(), "10");
  assert.is(await section.getByLabel(/^Minimum confidence/).inputValue(), "80");

  await section.getByLabel("Per site, per hour").fill("3");
  await section.getByLabel("Whole MSP, per day").fill("500");
  await section.getByLabel(/^Minimum confidence/).fill("90");
  await section.getByRole("button", { name: "Save L2 settings" }).click();
  await section.getByRole("status").filter({ hasText: "L2 budgets and confidence floor saved." }).waitFor();
  await section.getByRole("button", { name: "Stop the L2 planner (kill switch)" }).click();
  await section.getByRole("status").filter({ hasText: "Kill switch on" }).waitFor();
  await section.getByText("Planner stopped").waitFor();

  // Bad input is refused by the browser, and nothing is sent.
  await section.getByLabel("Per site, per day").fill("-1");
  await section.getByRole("button", { name: "Save L2 settings" }).click();
  assert.is(await section.getByLabel("Per site, per day").evaluate((el: HTMLInputElement) => el.validity.rangeUnderflow), true);

  await page.reload();
  await section.getByText("Planner stopped").waitFor();
  assert.is(await section.getByLabel("Per site, per hour").inputValue(), "3");
  assert.is(await section.getByLabel("Per site, per day").inputValue(), "50");
  assert.is(await section.getByLabel("Whole MSP, per day").inputValue(), "500");
  assert.is(await section.getByLabel(/^Minimum confidence/).inputValue(), "90");
  assert.match((await section.textContent()) ?? "", /budget 500/);
  assert.not.match((await section.textContent()) ?? "", /never: the defaults apply/);
  await ui.axe(page, "/admin (L2 stopped)");
  await ui.shot(page, "l2-settings");
  await section.getByRole("button", { name: "Turn the L2 planner back on" }).click();
  await section.getByText("Planner on", { exact: true }).waitFor();
  const audit = (await server.relay.db.execute("SELECT action FROM audit_log WHERE action LIKE 'l2.%' ORDER BY seq")).rows.map((r) => String(r["action"]));
  assert.equal(audit, ["l2.settings.update", "l2.kill_switch", "l2.enable"]);
  await ui.shot(page, "admin", true);
  await page.close();
  ui.noErrors("admin");
});

test("an MSP technician sees no user, API key or L2 forms; a partner administrator manages (adds, disables) only its partner's users and keys", async () => {
  const tech = await ui.login(await ui.newContext("tech"), users.tech);
  assert.is(await tech.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).count(), 0);
  await tech.goto("/admin");
  // Not in a technician's navigation, so no forms the relay would refuse (creating organisations and sites is for administrators).
  await tech.getByRole("heading", { level: 1, name: "You do not have access to this page" }).waitFor();
  for (const name of ["Client organisations", "New site", "Users", "API keys", "L2 planner"]) assert.is(await tech.getByRole("region", { name }).count(), 0, `no ${name} for a technician`);
  await tech.close();
  ui.noErrors("tech");

  const page = await ui.login(await ui.newContext("partner"), users.partnerAdmin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  const people = page.getByRole("region", { name: "Users" });
  const rows = people.getByRole("table", { name: "Users" }).locator("tbody tr");
  await rows.first().waitFor();
  const listed = (await rows.allTextContents()).join("\n");
  assert.match(listed, /admin@bayside\.test[\s\S]*tech@bayside\.test/);
  for (const other of ["northwind.test", "harbour.test", "riverside.test"]) assert.not.ok(listed.includes(other), `no ${other} user listed`);
  assert.is(await rows.filter({ hasText: "admin@bayside.test" }).getByRole("button", { name: /^Disable/ }).count(), 0, "nobody disables themselves");
  assert.equal(await people.getByLabel("Role").locator("option").allTextContents(), ["Partner administrator", "Partner technician", "Partner billing", "Clinic owner", "Clinic viewer"]);
  assert.is(await people.getByLabel("Of the partner").count(), 0, "a partner's users are its own");
  await people.getByLabel("Role").selectOption({ label: "Clinic viewer" });
  assert.equal(await people.getByLabel("Of the clinic").locator("option").allTextContents(), ["Choose a clinic", "Alder Family Clinic"]);
  await people.getByLabel("E-mail address").fill("frontdesk@alder.test");
  await people.getByLabel("Full name").fill("Front Desk");
  await people.getByLabel("Of the clinic").selectOption({ label: "Alder Family Clinic" });
  await people.getByRole("button", { name: "Add user" }).click();
  await people.getByRole("status").filter({ hasText: "User frontdesk@alder.test created as Clinic viewer" }).waitFor();
  assert.match((await rows.filter({ hasText: "frontdesk@alder.test" }).textContent()) ?? "", /Clinic: Alder Family Clinic/);
  // The partner's admin also disables the users it administers (the front desk left).
  const frontdesk = rows.filter({ hasText: "frontdesk@alder.test" });
  await frontdesk.getByRole("button", { name: "Disable frontdesk@alder.test" }).click();
  await frontdesk.getByRole("button", { name: "Yes, disable frontdesk@alder.test" }).click();
  await people.getByRole("status").filter({ hasText: "frontdesk@alder.test is disabled" }).waitFor();
  assert.match((await frontdesk.textContent()) ?? "", /Disabled/);

  const keys = page.getByRole("region", { name: "API keys" });
  assert.is(await keys.getByLabel("Keys of").count(), 0, "a partner sees only its own keys");
  const keyRows = keys.getByRole("table", { name: "API keys of Bayside IT Partners" }).locator("tbody tr");
  await keyRows.first().waitFor();
  assert.match((await keyRows.allTextContents()).join("\n"), /Bayside PSA/);
  assert.not.match((await keyRows.allTextContents()).join("\n"), /Ticketing sync/, "the MSP's keys are not shown");
  assert.equal(await keys.getByLabel("Acts as").locator("option").allTextContents(), ["Partner technician", "Partner administrator", "Partner billing"]);
  assert.is(await page.getByRole("region", { name: "L2 planner" }).count(), 0, "no L2 settings for a partner");
  await ui.axe(page, "/admin (partner admin)");
  await ui.shot(page, "admin-partner");
  await page.close();
  ui.noErrors("partner");
});

test("on a phone the Admin page fits the screen width", async () => {
  const context = await ui.newContext("phone", PHONE, true);
  const page = await ui.login(context, users.admin);
  await page.goto("/admin");
  await page.getByRole("region", { name: "L2 planner" }).getByText("Minimum confidence").waitFor();
  await page.waitForLoadState("networkidle");
  await ui.fitsWidth(page, "/admin");
  await ui.shot(page, "phone-admin");
  await context.close();
  ui.noErrors("phone");
});

test.run();
