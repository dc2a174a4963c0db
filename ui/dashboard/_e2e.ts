/**
 * Test helper (not shipped): what the dashboard's end-to-end suites share — a relay process on loopback
 * serving a freshly built dashboard, and headless Chromium (Debian's `chromium`, driven by playwright-core)
 * with per-role browser contexts that collect console errors and CSP violations, sign in through the login
 * page, take screenshots, run axe-core and check that a page fits a phone's width.
 *
 *   const ui = new E2EBrowser(await launchChromium(), relay.url, SHOTS);
 *   const page = await ui.login(await ui.newContext("admin"), "admin@northwind.test");
 *   await ui.axe(page, "/learning");
 */
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Clock } from "../../relay/deps.ts";
import { memoryLog } from "../../relay/log.ts";
import { runRelay, type RunningRelay } from "../../relay/serve/run.ts";
import { startSmtpSink, type SmtpSink } from "../../relay/mail/_smtp-sink.ts";
import { buildDashboard } from "./_build.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };
/** Every e2e user's password. */
export const PASSWORD = "correct horse battery staple";

/** Debian's Chromium, headless. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface UiRelay {
  dir: string;
  relay: RunningRelay;
  /** The SMTP server the relay sends its mail to (sign-in links, notifications). */
  smtp: SmtpSink;
  close(): Promise<void>;
}

/**
 * A real relay process on loopback (libSQL file, relay key file, credential vault key file, SMTP to a real
 * server on loopback) in a temporary directory, serving the dashboard built into it. Background jobs run at
 * their normal pace unless told.
 */
export async function startUiRelay(opts: { clock?: Clock; learningIntervalMs?: number; escalationIntervalMs?: number; loopbackHttpNotifications?: boolean } = {}): Promise<UiRelay> {
  const dir = await mkdtemp(join(tmpdir(), "osiris-dashboard-e2e-"));
  const assetsDir = await buildDashboard(join(dir, "dist"));
  const smtp = await startSmtpSink("portal@relay.example.test");
  const relay = await runRelay({
    mailer: smtp.mailer,
    db: join(dir, "relay.db"),
    keyFile: join(dir, "relay.key"),
    vaultKeyFile: join(dir, "vault.key"),
    host: "127.0.0.1",
    port: 0,
    log: memoryLog().log,
    uiDir: assetsDir,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.learningIntervalMs ? { learningIntervalMs: opts.learningIntervalMs } : {}),
    ...(opts.escalationIntervalMs ? { escalationIntervalMs: opts.escalationIntervalMs } : {}),
    ...(opts.loopbackHttpNotifications ? { loopbackHttpNotifications: true } : {}),
  });
  return {
    dir,
    relay,
    smtp,
    close: async () => {
      await relay.close();
      await smtp.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Console errors that are expected answers the pages handle (refusals, conflicts, lockouts). */
const HANDLED_STATUS = /the server responded with a status of (400|401|404|409|422|423)/;

/** One Chromium, its per-role contexts and where screenshots go. */
export class E2EBrowser {
  readonly contexts: Record<string, { context: BrowserContext; errors: string[] }> = {};
  #axeSource = "";

  constructor(
    readonly browser: Browser,
    readonly baseURL: string,
    readonly shotsDir: string,
  ) {}

  /** Creates the screenshot folder and says where it is. */
  async prepareShots(): Promise<void> {
    await mkdir(this.shotsDir, { recursive: true });
    console.log(`screenshots: ${this.shotsDir}`);
  }

  /** A browser context that records console errors, page errors and CSP violations under `name`. */
  async newContext(name: string, viewport = DESKTOP, mobile = false): Promise<BrowserContext> {
    const context = await this.browser.newContext({ viewport, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile, locale: "en-GB", baseURL: this.baseURL, acceptDownloads: true });
    const errors: string[] = [];
    await context.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)));
    context.on("page", (p) => {
      p.on("console", (m) => {
        if (m.type() === "error" && !HANDLED_STATUS.test(m.text())) errors.push(`${p.url()}: ${m.text()}`);
      });
      p.on("pageerror", (e) => errors.push(`${p.url()}: ${e.message}`));
    });
    this.contexts[name] = { context, errors };
    return context;
  }

  /** Signs in through the login page (password, then TOTP when asked) and waits for the home page's heading. */
  async login(context: BrowserContext, email: string, opts: { totp?: string; password?: string; heading?: RegExp | string } = {}): Promise<Page> {
    const page = await context.newPage();
    await page.goto("/login");
    await page.getByLabel("E-mail", { exact: true }).fill(email);
    await page.getByLabel("Password").fill(opts.password ?? PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    if (opts.totp) {
      await page.getByLabel(/Authenticator code/).fill(opts.totp);
      await page.getByRole("button", { name: "Verify" }).click();
    }
    await page.getByRole("heading", { level: 1, name: opts.heading ?? /Clinics|Our sites/ }).waitFor();
    return page;
  }

  async shot(page: Page, name: string, fullPage = true): Promise<void> {
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(this.shotsDir, `${name}.png`), fullPage });
  }

  /** axe-core over the page (injected through the DevTools protocol, which the page's CSP does not govern), every `<details>` opened first. */
  async axe(page: Page, what: string): Promise<void> {
    this.#axeSource ||= await readFile(fileURLToPath(import.meta.resolve("axe-core/axe.min.js")), "utf8");
    // A click toggles: one already open (the user opened it before) stays open.
    for (const s of await page.locator("summary").all()) if ((await s.isVisible()) && !(await s.evaluate((el) => (el.parentElement as HTMLDetailsElement | null)?.open ?? false))) await s.click();
    await page.evaluate(this.#axeSource);
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

  /** Asserts the context saw no console error, page error or CSP violation. */
  noErrors(name: string): void {
    assert.equal(this.contexts[name]!.errors, [], `no console errors or CSP violations (${name})`);
  }

  /**
   * Asserts the page does not scroll sideways (the phone layout fits). Measured against the layout viewport
   * (`clientWidth`): in a mobile context Chromium zooms out to show overflowing content, so `innerWidth`
   * grows with the page and would hide the overflow.
   */
  async fitsWidth(page: Page, what: string): Promise<void> {
    const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: document.documentElement.clientWidth }));
    assert.ok(w.scroll <= w.inner, `${what}: no sideways scrolling (${w.scroll} > ${w.inner})`);
  }
}

/** All text of a page through every shadow root, including form values (a string: the test runner's transpiler renames functions). */
export async function allText(page: Page): Promise<string> {
  return (await page.evaluate(`(() => {
    const walk = (n) => (n.shadowRoot ? walk(n.shadowRoot) : "") + [...n.childNodes].map(walk).join("") + (n.nodeType === 3 ? n.textContent : "") + (n.value ?? "");
    return walk(document);
  })()`)) as string;
}
