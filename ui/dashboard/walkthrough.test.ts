/**
 * End to end: what a walk-through of the dashboard as an MSP administrator and a partner technician found,
 * each checked the way they met it — the dashboard built with Vite and served by a real relay process on
 * loopback, headless Chromium (Debian's `chromium`, playwright-core), appliances built from protocol
 * functions (relay/_testing.ts TestAppliance) talking HTTP to it.
 *
 * - An appliance that was enrolled but never connected shows on the clinics list and the site's header
 *   ("never connected", with when it was enrolled) and counts as needing attention, also beside an appliance
 *   of the same site that syncs.
 * - Destructive actions (revoking a claim code, disabling a user) first say what will happen and wait for
 *   "Yes"; "Keep" changes nothing.
 * - MSP staff revoke an appliance from its card under the site's Evidence tab, with a required reason and
 *   the confirmation saying its requests are refused and it must be enrolled again with a new claim code;
 *   it then shows as revoked and its next request is refused. A partner technician is not offered it.
 * - Escalation tickets are titled with the check's catalogue title worded as a problem ("Not met: …") and the
 *   host's reported name; the ids stay on the ticket (a detail line, tooltips).
 * - A second site of the same name in one organisation is refused with a message saying so; a site and a
 *   partner are renamed from the admin page.
 * Screenshots: test-output/screenshots/walkthrough/.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { isoTime } from "../../protocol/ids.ts";
import { overHttp, TestAppliance } from "../../relay/_testing.ts";
import { createUser } from "../../relay/auth/users.ts";
import { createClaimCode } from "../../relay/enroll/claim-codes.ts";
import { openEscalation } from "../../relay/escalations/index.ts";
import { pushCycles } from "../../relay/sites/_fixtures.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../../relay/tenants/tenants.ts";
import { allText, E2EBrowser, launchChromium, PASSWORD, startUiRelay, type UiRelay } from "./_e2e.ts";

const SHOTS = fileURLToPath(new URL("../../test-output/screenshots/walkthrough/", import.meta.url));
const HOUR = 3_600_000;
const env = { clock: { now: () => Date.now() }, random: (n: number) => new Uint8Array(randomBytes(n)) };

let server: UiRelay;
let ui: E2EBrowser;
const ids = { alder: "", birch: "", alderOrg: "", silent: "", lonely: "", partner: "" };
let silent: TestAppliance;
const users = { admin: "admin@northwind.test", tech: "tech@bayside.test", helpdesk: "helpdesk@northwind.test" };

async function enroll(siteId: string): Promise<TestAppliance> {
  const a = new TestAppliance(overHttp(server.relay.url), env.clock);
  const res = await a.enroll((await createClaimCode(server.relay.db, { site_id: siteId, created_by: "e2e" }, env)).code);
  assert.is(res.status, 201, `enrollment: ${await res.clone().text()}`);
  return a;
}

test.before(async () => {
  try {
    server = await startUiRelay();
    const db = server.relay.db;
    const msp = (await createMsp(db, { name: "Northwind MSP" }, env)).id;
    const partner = (await createPartner(db, { msp_id: msp, name: "Bayside IT Partners" }, env)).id;
    ids.partner = partner;
    ids.alderOrg = (await createOrganisation(db, { msp_id: msp, partner_id: partner, name: "Alder Family Clinic" }, env)).id;
    const birchOrg = (await createOrganisation(db, { msp_id: msp, partner_id: partner, name: "Birch Dental" }, env)).id;
    ids.alder = (await createSite(db, { org_id: ids.alderOrg, name: "Alder main office", timezone: "America/Chicago" }, env)).id;
    ids.birch = (await createSite(db, { org_id: birchOrg, name: "Birch clinic", timezone: "America/Chicago" }, env)).id;
    await createUser(db, msp, { email: users.admin, name: "Admin", role: "msp_admin", password: PASSWORD }, env);
    await createUser(db, msp, { email: users.helpdesk, name: "Helpdesk", role: "msp_tech", password: PASSWORD }, env);
    await createUser(db, msp, { email: users.tech, name: "Tech", role: "partner_tech", partner_id: partner, password: PASSWORD }, env);

    // Alder: one appliance that syncs (every check passes), one enrolled yesterday that never came online.
    const syncing = await enroll(ids.alder);
    await pushCycles(syncing, [{ host: "alder-ws01", at: Date.now() - 5 * 60_000, results: [{ check: "windows.screen_lock", status: "pass" }, { check: "windows.defender_realtime", status: "pass" }] }]);
    silent = await enroll(ids.alder);
    ids.silent = silent.id;
    // Birch: its only appliance never connected.
    ids.lonely = (await enroll(ids.birch)).id;
    await db.execute({ sql: "UPDATE appliances SET enrolled_at = ? WHERE id IN (?, ?)", args: [isoTime(Date.now() - 26 * HOUR), ids.silent, ids.lonely] });
    // The name the appliance reported for the host (an inventory entry, as the site's devices list shows it).
    await db.execute({
      sql: "INSERT INTO site_hosts (site_id, host_id, appliance_id, hostname, platform, os_version, reachable, seen_at) VALUES (?, 'alder-ws01', ?, 'FRONT-DESK-01', 'windows', NULL, 1, ?)",
      args: [ids.alder, syncing.id, isoTime(Date.now())],
    });
    await db.transaction((tx) =>
      openEscalation(tx, { site_id: ids.alder, source: "appliance", source_key: "e2e:defender", appliance_id: null, incident_id: null, host_id: "alder-ws01", check: "windows.defender_realtime", severity: "medium", reason: "Real-time protection stays off after two fixes.", attempts: 2, reported_at: isoTime(Date.now()) }, env),
    );
    // A claim code still waiting for its appliance.
    await createClaimCode(db, { site_id: ids.alder, created_by: "e2e" }, env);

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

let admin: Page | null = null;
async function adminPage(path: string): Promise<Page> {
  admin ??= await ui.login(await ui.newContext("admin"), users.admin);
  await admin.goto(path);
  return admin;
}

const row = (page: Page, site: string) => page.getByRole("list", { name: "Clinics" }).getByRole("listitem").filter({ has: page.getByRole("link", { name: site, exact: true }) });

test("an appliance enrolled but never connected shows on the clinics list and the site page, with when it was enrolled, and needs attention", async () => {
  const page = await adminPage("/");
  const birch = row(page, "Birch clinic");
  await birch.waitFor();
  assert.match((await birch.textContent()) ?? "", /Never connected[\s\S]*Never connected · enrolled 1 day ago · 1 appliance/, (await birch.textContent()) ?? "");
  const alder = row(page, "Alder main office");
  const alderText = (await alder.textContent()) ?? "";
  assert.match(alderText, /Online[\s\S]*1 appliance never connected/, alderText);
  assert.match(alderText, /Last sync [^·]+· 2 appliances · 1 appliance never connected, enrolled 1 day ago/, alderText);
  assert.not.match(alderText, /Nothing needs attention/, "a box that never came online is something to look at");
  await page.getByRole("status").filter({ hasText: "2 need attention" }).waitFor();
  await ui.shot(page, "fleet-never-connected");
  await ui.axe(page, "/ (never connected)");

  await page.goto("/?status=attention");
  await row(page, "Birch clinic").waitFor();
  assert.is(await page.getByRole("list", { name: "Clinics" }).getByRole("listitem").count(), 2, "both sites are under 'Need attention'");

  await page.goto(`/sites/${ids.alder}`);
  await page.getByRole("heading", { level: 1, name: "Alder main office" }).waitFor();
  const header = await allText(page);
  assert.match(header, /Online[\s\S]*1 appliance never connected\s*enrolled 1 day ago/, "the site's header says so beside the one that syncs");
  await page.goto(`/sites/${ids.alder}/evidence`);
  await page.getByRole("heading", { name: `Appliance ${ids.silent}` }).waitFor();
  assert.match(await allText(page), /Never: no contact since it was enrolled 1 day ago/);
  await page.goto(`/sites/${ids.birch}`);
  await page.getByRole("heading", { level: 1, name: "Birch clinic" }).waitFor();
  assert.match(await allText(page), /Never connected\s*No contact yet · enrolled 1 day ago/);
  await ui.shot(page, "site-never-connected");
  ui.noErrors("admin");
});

test("revoking a claim code and disabling a user first say what will happen; Keep changes nothing; Yes does it", async () => {
  const page = await adminPage(`/sites/${ids.alder}/enrollment`);
  const active = page.getByRole("row").filter({ hasText: "Active" });
  await active.waitFor();
  const revoked = async () => (await server.relay.db.execute({ sql: "SELECT count(*) AS n FROM claim_codes WHERE site_id = ? AND revoked_at IS NOT NULL", args: [ids.alder] })).rows[0]!["n"];
  await active.getByRole("button", { name: /^Revoke the code created/ }).click();
  const question = active.getByRole("group", { name: /^Revoke the code created .*\? No appliance can enroll with it any more/ });
  await question.waitFor();
  assert.is(Number(await revoked()), 0, "nothing is sent before Yes");
  assert.ok(await active.getByRole("button", { name: /^Keep/ }).evaluate((b) => b === (b.getRootNode() as ShadowRoot).activeElement), "focus is on Keep, the safe answer");
  await ui.shot(page, "confirm-claim-code");
  await ui.axe(page, "enrollment (confirming)");
  await page.keyboard.press("Escape");
  await question.waitFor({ state: "detached" });
  assert.is(Number(await revoked()), 0, "Escape changes nothing");
  await active.getByRole("button", { name: /^Revoke the code created/ }).click();
  await active.getByRole("button", { name: /^Keep/ }).click();
  assert.is(Number(await revoked()), 0, "Keep changes nothing");
  await active.getByRole("button", { name: /^Revoke the code created/ }).click();
  await active.getByRole("button", { name: /^Yes, revoke the code created/ }).click();
  await page.getByRole("row").filter({ hasText: "Revoked" }).waitFor();
  assert.is(Number(await revoked()), 1);

  await page.goto("/admin");
  const helpdesk = page.getByRole("row").filter({ hasText: users.helpdesk });
  await helpdesk.getByRole("button", { name: `Disable ${users.helpdesk}` }).click();
  await helpdesk.getByRole("group", { name: `Disable ${users.helpdesk}? Their sessions end at once and they can no longer sign in.` }).waitFor();
  await ui.shot(page, "confirm-disable-user", false);
  await helpdesk.getByRole("button", { name: `Yes, disable ${users.helpdesk}` }).click();
  await helpdesk.getByText("Disabled", { exact: true }).waitFor();
  ui.noErrors("admin");
});

test("MSP staff revoke an appliance with a reason after a confirmation; it shows as revoked and its requests are refused; partners are not offered it", async () => {
  const page = await adminPage(`/sites/${ids.alder}/evidence`);
  const card = page.getByRole("region", { name: `Appliance ${ids.silent}` });
  await card.waitFor();
  const state = async () => (await server.relay.db.execute({ sql: "SELECT state, revoked_reason FROM appliances WHERE id = ?", args: [ids.silent] })).rows[0]!;
  const revokeButton = card.getByRole("button", { name: `Revoke appliance ${ids.silent}` });
  const question = card.getByRole("group", { name: `Revoke appliance ${ids.silent}? The relay refuses its requests from then on (it can no longer send evidence or receive orders). To use it again it must be enrolled again with a new claim code.` });

  await card.getByText("Revoke this appliance…").click();
  await revokeButton.click();
  assert.is(await question.count(), 0, "no question without a reason");
  const reason = card.getByLabel(/^Reason for revoking/);
  assert.ok(await reason.evaluate((i) => (i as HTMLInputElement).validity.valueMissing && i === (i.getRootNode() as ShadowRoot).activeElement), "the empty reason is focused and reported missing");

  await reason.fill("Stolen from the front desk");
  await revokeButton.click();
  await question.waitFor();
  assert.is(String((await state())["state"]), "active", "nothing is sent before Yes");
  assert.ok(await card.getByRole("button", { name: /^Keep/ }).evaluate((b) => b === (b.getRootNode() as ShadowRoot).activeElement), "focus is on Keep");
  await ui.shot(page, "confirm-revoke-appliance");
  await ui.axe(page, "evidence (confirming a revocation)");
  await card.getByRole("button", { name: `Yes, revoke appliance ${ids.silent}` }).click();

  await page.getByText(`Appliance ${ids.silent} is revoked. The relay refuses its requests from now on; to use it again, enroll it with a new claim code.`).waitFor();
  await card.getByText("Revoked", { exact: true }).first().waitFor();
  await card.getByRole("term").filter({ hasText: "Revoked" }).waitFor();
  assert.is(await revokeButton.count(), 0, "a revoked appliance offers no revoke");
  assert.equal(await page.locator("input[name=reason]").evaluateAll((l) => l.map((i) => (i as HTMLInputElement).value)), [""], "the reason stays with the revoked appliance, not the card now in its place");
  const row = await state();
  assert.is(String(row["state"]), "revoked");
  assert.is(String(row["revoked_reason"]), "Stolen from the front desk");
  const audit = await server.relay.db.execute({ sql: "SELECT count(*) AS n FROM audit_log WHERE action = 'appliance.revoke' AND target = ?", args: [ids.silent] });
  assert.is(Number(audit.rows[0]!["n"]), 1, "audited");
  const refused = await silent.push(silent.entries(await silent.makeBundles(1)));
  assert.is(refused.status, 401, "the revoked appliance's next request is refused");
  assert.is(((await refused.json()) as { error: { code: string } }).error.code, "appliance_revoked");
  await ui.shot(page, "appliance-revoked");
  ui.noErrors("admin");

  const tech = await ui.login(await ui.newContext("tech-evidence"), users.tech);
  await tech.goto(`/sites/${ids.alder}/evidence`);
  await tech.getByRole("region", { name: /^Appliance / }).first().waitFor();
  assert.is(await tech.getByRole("button", { name: /^Revoke appliance/ }).count(), 0, "partner staff may not revoke (the route allows MSP staff only)");
  assert.is(await tech.getByLabel(/^Reason for revoking/).count(), 0);
  ui.noErrors("tech-evidence");
});

test("an escalation is titled with the check's title worded as a problem and the host's name; the ids stay on the ticket", async () => {
  for (const [who, email] of [["admin", users.admin], ["tech", users.tech]] as const) {
    const page = who === "admin" ? await adminPage("/escalations") : await ui.login(await ui.newContext("tech"), email);
    if (who === "tech") await page.goto("/escalations");
    const ticket = page.getByRole("list", { name: "Escalations" }).getByRole("listitem").first();
    const heading = ticket.getByRole("heading", { level: 3 });
    await heading.waitFor();
    assert.match((await heading.textContent()) ?? "", /^Not met: Virus protection is switched on — FRONT-DESK-01 · Alder main office$/, `${who}: ${await heading.textContent()}`);
    assert.is(await heading.getByText("Not met: Virus protection is switched on").getAttribute("title"), "Check windows.defender_realtime");
    assert.is(await heading.getByText("FRONT-DESK-01").getAttribute("title"), "Host alder-ws01");
    assert.match((await ticket.textContent()) ?? "", /check windows\.defender_realtime · host alder-ws01/);
    if (who === "admin") {
      await ui.shot(page, "escalation-names");
      await ui.axe(page, "/escalations (names)");
    }
  }
  ui.noErrors("admin");
  ui.noErrors("tech");
});

test("a second site of the same name in one organisation is refused with a message saying so; a site and a partner are renamed from the admin page", async () => {
  const page = await adminPage("/admin");
  const create = page.getByRole("region", { name: "New site" });
  await create.getByLabel("Organisation").selectOption(ids.alderOrg);
  await create.getByLabel("Site name").fill("alder MAIN office");
  await create.getByRole("button", { name: "Create site" }).click();
  await page.getByRole("alert").filter({ hasText: 'There is already a site named "alder MAIN office" in this organisation: choose another name' }).waitFor();
  const sites = await server.relay.db.execute({ sql: "SELECT count(*) AS n FROM sites WHERE org_id = ?", args: [ids.alderOrg] });
  assert.is(Number(sites.rows[0]!["n"]), 1, "nothing was created");

  const rename = page.getByRole("region", { name: "Rename" });
  await rename.getByLabel("Partner, organisation or site").selectOption(`site:${ids.birch}`);
  await rename.getByLabel(/^New name/).fill("Birch main office");
  await rename.getByRole("button", { name: "Rename" }).click();
  await page.getByRole("status").filter({ hasText: "Site “Birch clinic” is now “Birch main office”." }).waitFor();
  await ui.shot(page, "rename-site");
  await ui.axe(page, "/admin (rename)");

  // A partner (the reseller) is renamed the same way; the organisations it sells to show the new name.
  await rename.getByLabel("Partner, organisation or site").selectOption(`partner:${ids.partner}`);
  await rename.getByLabel(/^New name/).fill("Bayside Health IT");
  await rename.getByRole("button", { name: "Rename" }).click();
  await page.getByRole("status").filter({ hasText: "Partner “Bayside IT Partners” is now “Bayside Health IT”." }).waitFor();
  await page.getByRole("region", { name: "Client organisations" }).getByText("via Bayside Health IT").first().waitFor();
  await ui.shot(page, "rename-partner");
  await page.goto("/");
  await row(page, "Birch main office").waitFor();
  ui.noErrors("admin");
});

test.run();
