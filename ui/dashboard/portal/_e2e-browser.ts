/**
 * Test helpers (not shipped behaviour) for end-to-end tests of the relay's UIs in real headless Chromium
 * (Debian's `chromium`, driven by playwright-core): a browser context that records console errors and CSP
 * violations, axe-core over a page (zero serious or critical findings), the phone layout's sideways-scroll
 * check, and screenshots. The same checks ui/dashboard/dashboard.test.ts makes inline; new suites import
 * them from here.
 */
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;
/** Statuses a page may meet on purpose (a refused login, another tenant's 404): Chromium logs them as errors. */
const EXPECTED_STATUS = /the server responded with a status of (400|401|404|409|422|423)/;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface WatchedContext {
  context: BrowserContext;
  /** Console errors, uncaught exceptions and CSP violations of every page (and worker) of the context. */
  errors: string[];
}

/** A browser context on `baseURL` that records every console error and CSP violation; `timezoneId`: the viewer's zone (else the machine's). */
export async function watchedContext(browser: Browser, baseURL: string, opts: { phone?: boolean; storageState?: Awaited<ReturnType<BrowserContext["storageState"]>>; timezoneId?: string } = {}): Promise<WatchedContext> {
  const phone = opts.phone === true;
  const context = await browser.newContext({
    viewport: phone ? PHONE : DESKTOP,
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    locale: "en-GB",
    baseURL,
    ...(opts.storageState ? { storageState: opts.storageState } : {}),
    ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
  });
  const errors: string[] = [];
  await context.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)));
  context.on("page", (p) => {
    p.on("console", (m) => {
      if (m.type() === "error" && !EXPECTED_STATUS.test(m.text())) errors.push(`${p.url()}: ${m.text()}`);
    });
    p.on("pageerror", (e) => errors.push(`${p.url()}: ${e.message}`));
    p.on("worker", (w) => w.on("console", (m) => m.type() === "error" && errors.push(`worker ${w.url()}: ${m.text()}`)));
  });
  return { context, errors };
}

let axeSource = "";
/** axe-core (WCAG 2.1 A/AA + best practice) over the page, details opened; fails on serious or critical findings. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  axeSource ||= await readFile(fileURLToPath(import.meta.resolve("axe-core/axe.min.js")), "utf8");
  for (const s of await page.locator("summary").all()) if (await s.isVisible()) await s.click();
  // Injected through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const a = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown }[] }[]; passes: unknown[] }> } }).axe;
    const r = await a.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return { violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, first: JSON.stringify(v.nodes[0]?.target) })), passes: r.passes.length };
  });
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (result.violations.length) console.log(`axe ${what}:`, JSON.stringify(result.violations));
  assert.equal(serious, [], `axe on ${what}`);
  assert.ok(result.passes > 10, "axe ran");
}

/**
 * The page never scrolls sideways (phone layouts). Measured against the layout viewport (`clientWidth`): in a
 * mobile context Chromium zooms out to show overflowing content, so `innerWidth` grows with the page.
 */
export async function assertFitsWidth(page: Page, what: string): Promise<void> {
  const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: document.documentElement.clientWidth }));
  assert.ok(w.scroll <= w.inner, `${what}: no sideways scrolling (${w.scroll} > ${w.inner})`);
}

/** Saves `dir/name.png` (full page by default). */
export async function screenshot(page: Page, dir: string, name: string, fullPage = true): Promise<void> {
  await mkdir(dir, { recursive: true });
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage });
}
