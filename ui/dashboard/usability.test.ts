/**
 * End to end: what a user test of the dashboard and the client portal found, each checked the way the user
 * met it — the dashboard built with Vite and served by a real relay process on loopback (libSQL file, relay
 * key file), headless Chromium (Debian's `chromium`, playwright-core), and a site whose incidents and healing
 * attempts a protocol-built appliance pushed over HTTP (relay/_testing.ts TestAppliance, the appliance's own
 * gate texts as details).
 *
 * - On a phone (390 px) no page of the client portal scrolls sideways, even with a long "what happens next".
 * - The incident timeline shows every time in one zone (the viewer's, said once) with no raw ISO text, and a
 *   fix that waits for its cooldown says so instead of "Scheduled for the maintenance window".
 * - The sign-in page checks the form itself (short messages next to the fields) and says a bad link is not
 *   valid, never the relay's schema messages.
 * - An address outside a user's navigation (a partner technician or a clinic owner at /admin) says "You do not
 *   have access to this page" and shows no forms.
 * Screenshots: test-output/screenshots/usability/.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { isoTime } from "../../protocol/ids.ts";
import { overHttp, TestAppliance } from "../../relay/_testing.ts";
import { createUser } from "../../relay/auth/users.ts";
import { createClaimCode } from "../../relay/enroll/claim-codes.ts";
import { attempt, incident, pushCycles, pushEntries } from "../../relay/sites/_fixtures.ts";
import { createMsp, createOrganisation, createPartner, createSite } from "../../relay/tenants/tenants.ts";
import { allText, E2EBrowser, launchChromium, PASSWORD, PHONE, startUiRelay, type UiRelay } from "./_e2e.ts";

const SHOTS = fileURLToPath(new URL("../../test-output/screenshots/usability/", import.meta.url));
const HOUR = 3_600_000;
const env = { clock: { now: () => Date.now() }, random: (n: number) => new Uint8Array(randomBytes(n)) };
/** The browser's zone: neither the site's (America/Chicago) nor UTC, so a time in the wrong zone shows. */
const VIEWER_ZONE = "Europe/Berlin";
const ISO_IN_TEXT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

let server: UiRelay;
let ui: E2EBrowser;
const ids = { site: "" };
const users = { tech: "tech@bayside.test", owner: "owner@alder.test" };
const times = { cooldownUntil: 0, windowStart: 0, acted: 0 };

test.before(async () => {
  try {
    server = await startUiRelay();
    const db = server.relay.db;
    const msp = (await createMsp(db, { name: "Northwind MSP" }, env)).id;
    const partner = (await createPartner(db, { msp_id: msp, name: "Bayside IT Partners" }, env)).id;
    const org = (await createOrganisation(db, { msp_id: msp, partner_id: partner, name: "Alder Family Clinic" }, env)).id;
    ids.site = (await createSite(db, { org_id: org, name: "Alder main office", timezone: "America/Chicago" }, env)).id;
    await createUser(db, msp, { email: users.tech, name: "Tech", role: "partner_tech", partner_id: partner, password: PASSWORD }, env);
    await createUser(db, msp, { email: users.owner, name: "Owner", role: "client_owner", org_id: org, password: PASSWORD }, env);

    const a = new TestAppliance(overHttp(server.relay.url), env.clock);
    const res = await a.enroll((await createClaimCode(db, { site_id: ids.site, created_by: "e2e" }, env)).code);
    assert.is(res.status, 201, `enrollment: ${await res.clone().text()}`);
    const now = Date.now();
    await pushCycles(a, [
      { host: "alder-img01", at: now - HOUR, results: [{ check: "windows.screen_lock", status: "fail" }, { check: "windows.spooler_on_dc", status: "fail" }, { check: "windows.smb1_disabled", status: "fail" }] },
    ]);
    // The gates' own texts (appliance/heal/gates.ts), with their ISO times.
    times.acted = now - 20 * 60_000;
    times.cooldownUntil = times.acted + HOUR;
    times.windowStart = now + 10 * HOUR;
    const lock = incident({ check: "windows.screen_lock", host_id: "alder-img01", at: now - 2 * HOUR });
    const spooler = incident({ check: "windows.spooler_on_dc", host_id: "alder-img01", at: now - 2 * HOUR });
    const smb = incident({ check: "windows.smb1_disabled", host_id: "alder-img01", at: now - 2 * HOUR });
    await pushEntries(a, [
      { type: "incident", body: lock },
      { type: "incident", body: spooler },
      { type: "incident", body: smb },
      {
        type: "healing_attempt",
        body: attempt({
          check: "windows.screen_lock",
          host_id: "alder-img01",
          at: now - 5 * 60_000,
          incident_id: lock.incident_id,
          runbook: "RB-WIN-SEC-016",
          outcome: "deferred",
          deferred_until: isoTime(times.cooldownUntil),
          detail: `RB-WIN-SEC-016 ran on this host at ${new Date(times.acted).toISOString()}; cooling down until ${new Date(times.cooldownUntil).toISOString()}`,
        }),
      },
      {
        type: "healing_attempt",
        body: attempt({
          check: "windows.spooler_on_dc",
          host_id: "alder-img01",
          at: now - 6 * 60_000,
          incident_id: spooler.incident_id,
          runbook: "windows.disable_spooler_on_dc",
          outcome: "deferred",
          deferred_until: isoTime(times.windowStart),
          detail: `windows.disable_spooler_on_dc is disruptive: deferred to the next maintenance window at ${new Date(times.windowStart).toISOString()}`,
        }),
      },
      // What the portal words as "The automatic fix did not work; … can see it" (a long badge on a phone).
      { type: "healing_attempt", body: attempt({ check: "windows.smb1_disabled", host_id: "alder-img01", at: now - 7 * 60_000, incident_id: smb.incident_id, runbook: "RB-WIN-SEC-007", outcome: "failed", detail: "step disable (powershell.script) failed: simulated failure; rolled back" }) },
    ]);
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

/** A browser context recording errors under `name`, optionally phone-sized. */
const context = (name: string, phone = false): Promise<BrowserContext> => ui.newContext(name, phone ? PHONE : undefined, phone);

/** Emulates the viewer's time zone (Europe/Berlin) on a page: E2EBrowser contexts take the machine's zone. */
async function inViewerZone(page: Page): Promise<Page> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setTimezoneOverride", { timezoneId: VIEWER_ZONE });
  return page;
}

const fmt = (ms: number, timeZone: string) => new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(new Date(ms));

test("on a phone no page of the client portal scrolls sideways, the long 'fix did not work' badge included", async () => {
  const c = await context("phone-owner", true);
  const page = await ui.login(c, users.owner);
  await page.getByText(/The automatic fix did not work/).first().waitFor();
  await page.waitForLoadState("networkidle");
  await ui.fitsWidth(page, "portal home");
  await ui.shot(page, "phone-portal-home");
  for (const tab of ["", "/reports", "/incidents", "/devices", "/evidence", "/escalations"]) {
    await page.goto(`/sites/${ids.site}${tab}`);
    await page.getByRole("heading", { level: 1, name: "Alder main office" }).waitFor();
    await page.waitForLoadState("networkidle");
    if (tab === "") await page.getByText(/The automatic fix did not work/).first().waitFor();
    await ui.fitsWidth(page, `portal site${tab || " overview"}`);
    if (tab === "") await ui.shot(page, "phone-portal-site");
  }
  await c.close();
  ui.noErrors("phone-owner");
});

test("the incident timeline shows every time in the viewer's zone, says which, has no ISO text, and calls a cooldown a wait", async () => {
  const page = await inViewerZone(await ui.login(await context("tech"), users.tech));
  await page.goto(`/sites/${ids.site}/incidents`);
  const timeline = page.getByRole("list", { name: "Incident timeline" });
  await timeline.waitFor();
  const text = (await allText(page)).replace(/\s+/g, " ");
  assert.match(text, `Times are in your time zone (${VIEWER_ZONE}).`);
  assert.not.match(text, ISO_IN_TEXT, "no raw ISO time in the section's prose");

  const lock = timeline.getByRole("listitem").filter({ hasText: "RB-WIN-SEC-016" }).first();
  const lockText = ((await lock.textContent()) ?? "").replace(/\s+/g, " ");
  assert.match(lockText, `Waiting: cooling down until ${fmt(times.cooldownUntil, VIEWER_ZONE)}`);
  assert.match(lockText, `ran on this host at ${fmt(times.acted, VIEWER_ZONE)}; cooling down until ${fmt(times.cooldownUntil, VIEWER_ZONE)}`, "the detail's times in the same zone");
  assert.not.match(lockText, /maintenance window/, "a cooldown is not the maintenance window");

  const spooler = timeline.getByRole("listitem").filter({ hasText: "windows.disable_spooler_on_dc" }).first();
  const spoolerText = ((await spooler.textContent()) ?? "").replace(/\s+/g, " ");
  assert.match(spoolerText, `Scheduled for the maintenance window starting ${fmt(times.windowStart, VIEWER_ZONE)}`);
  assert.not.match(spoolerText, fmt(times.windowStart, "America/Chicago"), "not the site's zone, unlabelled");
  await ui.shot(page, "incidents");
  await page.close();
  ui.noErrors("tech");
});

test("the sign-in page checks the form itself and says a bad link is not valid, in sentences", async () => {
  const c = await context("signin");
  const page = await c.newPage();
  await page.goto("/login");
  let requests = 0;
  page.on("request", (r) => void (r.url().includes("/api/auth/") && requests++));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Enter your e-mail address.", { exact: true }).waitFor();
  await page.getByText("Enter your password.", { exact: true }).waitFor();
  assert.is(await page.getByLabel("E-mail", { exact: true }).getAttribute("aria-invalid"), "true");
  assert.ok(await page.getByLabel("E-mail", { exact: true }).evaluate((e) => e === (e.getRootNode() as ShadowRoot).activeElement), "focus on the first field to fix");
  await page.getByLabel("E-mail", { exact: true }).fill("front desk");
  await page.getByLabel("Password").fill("x");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Enter your e-mail address in the form name@example.com.").waitFor();
  assert.is(await page.getByText("Enter your password.").count(), 0);
  assert.is(requests, 0, "nothing sent while the form has problems");
  await ui.shot(page, "signin-checks");
  let text = await allText(page);
  assert.not.match(text, /must be at least|expected an e-mail|email:|password:/);

  await page.getByLabel("E-mail", { exact: true }).fill(users.tech);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "The e-mail or password is wrong." }).waitFor();

  await page.goto("/login#magic=bogus");
  await page.getByRole("alert").filter({ hasText: "This sign-in link is not valid: ask for a new one." }).waitFor();
  // A well-formed token the relay never issued: the relay's own sentence.
  const refused = page.waitForResponse((r) => r.url().endsWith("/api/auth/magic-link/consume"));
  await page.goto(`/login#magic=${"A".repeat(43)}`);
  assert.is((await refused).status(), 401);
  await page.getByRole("alert").filter({ hasText: "This sign-in link is not valid: ask for a new one." }).waitFor();
  text = await allText(page);
  assert.not.match(text, /token:|expected the token|not shown/);
  await page.getByText("Clinic staff: sign in with a link by e-mail").click();
  await page.getByRole("button", { name: "E-mail me a sign-in link" }).click();
  await page.getByText("Enter your e-mail address.", { exact: true }).waitFor();
  await ui.shot(page, "signin-link");
  await c.close();
  ui.noErrors("signin");
});

test("a partner technician and a clinic owner who open /admin are told they have no access, and see no forms", async () => {
  for (const [name, email] of [["tech-admin", users.tech], ["owner-admin", users.owner]] as const) {
    const page = await ui.login(await context(name), email);
    await page.goto("/admin");
    await page.getByRole("heading", { level: 1, name: "You do not have access to this page" }).waitFor();
    for (const button of ["Create organisation", "Create site", "Create partner"]) assert.is(await page.getByRole("button", { name: button }).count(), 0, `${name}: no ${button}`);
    assert.is(await page.locator("osiris-dashboard").locator("form").count(), 0, `${name}: no form at all`);
    if (name === "tech-admin") {
      await page.goto("/learning");
      await page.getByRole("heading", { level: 1, name: "You do not have access to this page" }).waitFor();
      await ui.shot(page, "no-access");
    }
    await page.getByRole("main").getByRole("link", { name: /^Go to / }).click();
    await page.getByRole("heading", { level: 1, name: /Clinics|Our sites/ }).waitFor();
    await page.close();
    ui.noErrors(name);
  }
});

test.run();
