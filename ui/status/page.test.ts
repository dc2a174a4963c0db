/**
 * End to end: the real status page, built with Vite, served by `startStatusServer` for a real lab appliance
 * (the Riverside simulated clinic driven into a state with a failing, a deferred and a pending-approval item),
 * opened in headless Chromium (Debian's `chromium`, driven by playwright-core). Checks what a person sees,
 * the CSP (no violations), accessibility (axe-core: no serious or critical issue), the transfer size, the
 * phone layout, keyboard use, and that the page updates itself. Screenshots go to test-output/screenshots/.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { openLabAppliance, quietLog, type LabFixture } from "../../appliance/serve/_test-lab.ts";
import { startStatusServer, type RunningStatusServer, type SyncSnapshot } from "../../appliance/serve/index.ts";
import { buildStatusPage } from "./_build.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
/** The budget for everything the page transfers to show the status. */
const MAX_TRANSFER_BYTES = 60 * 1024;
const SCREENSHOTS = fileURLToPath(new URL("../../test-output/screenshots/", import.meta.url));
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let lab: LabFixture;
let server: RunningStatusServer;
let browser: Browser;
let assetsDir: string;
let sync: SyncSnapshot;

test.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  assetsDir = await buildStatusPage(await mkdtemp(join(tmpdir(), "osiris-status-build-")));
  lab = await openLabAppliance({ relay: true });
  sync = { last_success_at: lab.clock.now() - 30_000, clock_offset_ms: 240 };
  const config = { ...lab.config, status_page: { ...lab.config.status_page, port: 0, bind: ["127.0.0.1"] } };
  server = await startStatusServer(lab.appliance, config, quietLog, { clock: lab.clock, assetsDir, sync: () => sync, mdns: false });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  await mkdir(SCREENSHOTS, { recursive: true });
  console.log(`screenshots: ${SCREENSHOTS}`);
});

test.after(async () => {
  await browser?.close();
  await server?.close();
  await lab?.close();
  if (assetsDir) await rm(assetsDir, { recursive: true, force: true });
});

interface Watched {
  page: Page;
  context: BrowserContext;
  cspViolations: () => Promise<string[]>;
  consoleErrors: string[];
  requests: string[];
}

/** A page with CSP violations, console errors and requests recorded. */
async function openPage(viewport: { width: number; height: number }, mobile = false): Promise<Watched> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile, locale: "en-US" });
  const page = await context.newPage();
  await page.addInitScript(() => {
    const seen: string[] = [];
    Object.defineProperty(window, "__cspViolations", { value: seen });
    document.addEventListener("securitypolicyviolation", (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(server.urls[0]!);
  await page.getByText("items need attention").first().waitFor({ timeout: 15_000 });
  return { page, context, requests, consoleErrors, cspViolations: () => page.evaluate(() => [...((window as unknown as { __cspViolations: string[] }).__cspViolations ?? [])]) };
}

test("the page shows the overall state, each area, the scheduled fix, the simulated banner and the key fingerprint", async () => {
  const { page, context, cspViolations, consoleErrors, requests } = await openPage(DESKTOP);
  try {
    await page.getByText("3 items need attention — your IT provider has been notified").waitFor();
    assert.is(await page.getByRole("heading", { level: 1 }).textContent(), "Riverside Family Clinic");
    // The simulated banner is at the top, before the overall state.
    const banner = page.getByRole("note");
    assert.match((await banner.textContent()) ?? "", /SIMULATED — these devices are a test lab/);
    const [bannerBox, headlineBox] = [await banner.boundingBox(), await page.getByText("3 items need attention").first().boundingBox()];
    assert.ok(bannerBox && headlineBox && bannerBox.y < headlineBox.y, "simulated banner above the headline");

    const areas = page.getByRole("region", { name: "By area" }).getByRole("listitem");
    assert.is(await areas.count(), 9);
    const areaText = (await areas.allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
    for (const title of ["Backups", "Virus protection", "Updates", "Encryption", "Firewall and network", "Activity records", "Clock accuracy", "Accounts and sign-in"]) {
      assert.ok(areaText.some((t) => t.includes(title)), `area ${title}`);
    }
    assert.ok(areaText.some((t) => /Encryption.*1 item needs attention/.test(t)));
    assert.ok(areaText.some((t) => /Backups.*All good/.test(t)));

    const attention = page.getByRole("region", { name: /What needs attention/ });
    assert.match((await attention.textContent()) ?? "", /Problem on RFC-FS01/);
    const named = await attention.getByRole("heading", { level: 3 }).allTextContents();
    assert.ok(named.length === 3 && named.every((h) => h.startsWith("Not met: ")), `each problem is named as not met, not as the state wanted: ${JSON.stringify(named)}`);
    await attention.getByText("Fix scheduled for Sat 02:00").waitFor();
    await attention.getByText("Waiting for approval").waitFor();
    await attention.getByText("Your IT provider has been notified").waitFor();
    await page.getByRole("region", { name: /Devices/ }).getByText("fix scheduled for Sat 02:00").waitFor();

    await page.getByText(lab.appliance.identity.fingerprint).waitFor();
    const head = await lab.appliance.evidence.head();
    await page.getByText(`record ${head.seq}, ${head.hash.slice(0, 12)}`).waitFor();
    await page.getByText("Sat 02:00–06:00").waitFor();
    await page.getByText("Last sent to your IT provider today 12:29").waitFor();

    assert.equal(await cspViolations(), []);
    assert.equal(consoleErrors, []);
    const origin = new URL(server.urls[0]!).origin;
    assert.ok(requests.every((u) => u.startsWith(origin)), `only the appliance is contacted: ${requests.join(", ")}`);
    await page.screenshot({ path: join(SCREENSHOTS, "status-desktop.png"), fullPage: true });
  } finally {
    await context.close();
  }
});

test("axe-core finds no serious or critical accessibility issue (WCAG 2.1 A/AA), with every explanation open", async () => {
  const { page, context } = await openPage(DESKTOP);
  try {
    for (const s of await page.locator("summary").all()) await s.click();
    const axeSource = await readFile(fileURLToPath(import.meta.resolve("axe-core/axe.min.js")), "utf8");
    // Evaluated through the DevTools protocol, which the page's CSP does not govern (a <script> tag would be refused).
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: unknown[] }[]; passes: unknown[] }> } }).axe;
      const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
      return { violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length })), passes: r.passes.length };
    });
    if (result.violations.length) console.log("axe findings:", JSON.stringify(result.violations));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.equal(serious, []);
    assert.ok(result.passes > 10, "axe actually ran its rules");
  } finally {
    await context.close();
  }
});

test("keyboard: Tab reaches every explanation, in reading order, and Enter opens it", async () => {
  const { page, context } = await openPage(DESKTOP);
  try {
    const summaries = await page.locator("summary").allTextContents();
    assert.is(summaries.length, 3);
    const focusedText = () =>
      page.evaluate(() => {
        let el: Element | null = document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el?.tagName.toLowerCase() === "summary" ? (el.textContent ?? "") : null;
      });
    const reached: string[] = [];
    for (let i = 0; i < summaries.length; i++) {
      await page.keyboard.press("Tab");
      const text = await focusedText();
      assert.ok(text !== null, `Tab ${i + 1} lands on an explanation`);
      reached.push(text!);
    }
    assert.equal(reached, summaries);
    await page.keyboard.press("Enter");
    assert.is(await page.locator("details[open]").count(), 1);
    assert.ok(await page.locator("details[open] p").last().isVisible());
  } finally {
    await context.close();
  }
});

test("on a phone the page fits the screen width, and everything it transfers stays under 60 KB", async () => {
  const { page, context } = await openPage(PHONE, true);
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    const bytes = new Map<string, number>();
    const urls = new Map<string, string>();
    cdp.on("Network.requestWillBeSent", (e: { requestId: string; request: { url: string } }) => urls.set(e.requestId, new URL(e.request.url).pathname));
    // Finished requests report their bytes on the wire in loadingFinished. The event stream never finishes and
    // Chromium reports its chunks' wire size as 0, so its (uncompressed) data length is counted instead.
    const streams = new Set<string>();
    cdp.on("Network.responseReceived", (e: { requestId: string; response: { encodedDataLength: number; mimeType: string } }) => {
      if (e.response.mimeType === "text/event-stream") streams.add(e.requestId);
      bytes.set(e.requestId, (bytes.get(e.requestId) ?? 0) + e.response.encodedDataLength);
    });
    cdp.on("Network.dataReceived", (e: { requestId: string; dataLength: number; encodedDataLength: number }) => {
      if (streams.has(e.requestId)) bytes.set(e.requestId, (bytes.get(e.requestId) ?? 0) + Math.max(e.dataLength, e.encodedDataLength));
    });
    cdp.on("Network.loadingFinished", (e: { requestId: string; encodedDataLength: number }) => bytes.set(e.requestId, e.encodedDataLength));
    await page.reload();
    await page.getByText("3 items need attention").first().waitFor();
    await page.waitForTimeout(500);
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    const byPath = Object.fromEntries([...bytes].map(([id, n]) => [urls.get(id) ?? id, n]));
    console.log(`transfer on load: ${total} bytes (budget ${MAX_TRANSFER_BYTES}): ${JSON.stringify(byPath)}`);
    assert.ok((byPath["/api/events"] ?? 0) > 5_000, "the status itself (first event) was counted");
    assert.ok(Object.keys(byPath).some((p) => p.endsWith(".js")) && Object.keys(byPath).some((p) => p.endsWith(".css")), "script and style were counted");
    assert.ok(total > 5_000 && total < MAX_TRANSFER_BYTES, `transfer ${total} bytes`);

    // Against the layout viewport: a mobile Chromium zooms out to show overflow, so innerWidth grows with the page.
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: document.documentElement.clientWidth }));
    assert.ok(widths.scroll <= widths.inner, `no sideways scrolling: ${widths.scroll} > ${widths.inner}`);
    await page.screenshot({ path: join(SCREENSHOTS, "status-phone.png"), fullPage: true });
    await page.screenshot({ path: join(SCREENSHOTS, "status-phone-top.png") });
  } finally {
    await context.close();
  }
});

test("the page updates itself: the relay going quiet shows the offline banner without a reload", async () => {
  const { page, context } = await openPage(DESKTOP);
  try {
    assert.is(await page.getByText(/cannot reach your IT provider|has not reached your IT provider/).count(), 0);
    lab.clock.set(lab.clock.now() + 10 * 60_000); // ten minutes without a sync: more than three intervals
    await page.getByText("This appliance has not reached your IT provider since today 12:29").waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(SCREENSHOTS, "status-offline.png") });
  } finally {
    await context.close();
  }
});

test.run();
