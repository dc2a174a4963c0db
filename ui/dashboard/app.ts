/**
 * `<osiris-dashboard>`: the MSP and partner dashboard's shell. It owns the relay client and the session,
 * applies the partner's branding (name, logo, colours), routes between pages with the History API, sends a
 * signed-out user to the login page (and back afterwards), and gives every page the same header and
 * navigation. Pages load their own data through the client.
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { RelayApiError, RelayClient, type Session } from "../relay-client/mod.ts";
import { applyBranding } from "./branding.ts";
import { ROLE_TEXT } from "./format.ts";
import { internalLink, isPublic, parseRoute, type Route } from "./router.ts";
import { shared } from "./styles.ts";
import type { Page } from "./pages/page.ts";
import "./pages/login-page.ts";
import "./pages/fleet-page.ts";
import "./pages/site-page.ts";
import "./pages/audit-page.ts";
import "./pages/learning-page.ts";
import "./pages/admin-page.ts";
import "./pages/escalations-page.ts";
import "./pages/billing-page.ts";
import "./pages/verify-page.ts";
import { mainNav, mayOpen } from "./pages/main-nav.ts";
import { billingOnly } from "./pages/operations-nav.ts";
import { portalView } from "./portal/portal-route.ts";
import "./portal/portal-home.ts";
import "./portal/portal-site.ts";

export class OsirisDashboard extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        min-height: 100vh;
      }
      .skip {
        position: absolute;
        left: -999px;
        top: 0.25rem;
        background: #fff;
        color: #0b3954;
        border-color: #0b3954;
        z-index: 10;
      }
      .skip:focus {
        left: 0.5rem;
      }
      header {
        background: var(--brand, #0b3954);
        color: var(--brand-ink, #fff);
      }
      .bar {
        max-width: 80rem;
        margin: 0 auto;
        padding: 0.5rem 1rem;
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1.5rem;
        align-items: center;
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 0.6rem;
        font-weight: 700;
        font-size: 1.1rem;
        color: inherit;
        text-decoration: none;
      }
      .brand img {
        height: 2rem;
        max-width: 8rem;
        object-fit: contain;
        background: #fff;
        border-radius: 4px;
        padding: 2px;
      }
      nav ul {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 1rem;
        list-style: none;
        margin: 0;
        padding: 0;
      }
      nav a {
        color: inherit;
        text-decoration: none;
        padding: 0.3rem 0.1rem;
        border-bottom: 3px solid transparent;
        font-weight: 600;
      }
      nav a[aria-current="page"] {
        border-bottom-color: currentColor;
      }
      nav a:focus-visible,
      .user button:focus-visible,
      .skip:focus-visible,
      .brand:focus-visible {
        outline-color: currentColor;
      }
      .user {
        margin-left: auto;
        display: flex;
        gap: 0.75rem;
        align-items: center;
        font-size: 0.9rem;
      }
      .user button {
        white-space: nowrap;
        background: transparent;
        color: inherit;
        border-color: currentColor;
        padding: 0.25rem 0.7rem;
      }
      main {
        max-width: 80rem;
        margin: 0 auto;
        padding: 1rem 1rem 3rem;
      }
      @media (max-width: 40rem) {
        .user {
          margin-left: 0;
          width: 100%;
          justify-content: space-between;
        }
      }
    `,
  ];

  readonly client = new RelayClient();
  #route: Route = parseRoute(location.pathname, location.search);
  /** undefined while loading, null when signed out. */
  #session: Session | null | undefined = undefined;
  #navigated = false;
  #sessionError: string | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("popstate", this.#onPop);
    this.addEventListener("click", this.#onClick);
    this.addEventListener("osiris-navigate", this.#onNavigate as EventListener);
    this.addEventListener("osiris-login-required", this.#onLoginRequired);
    this.addEventListener("osiris-session", this.#onSession as EventListener);
    if (!isPublic(this.#route)) void this.#loadSession();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("popstate", this.#onPop);
  }

  async #loadSession(): Promise<void> {
    try {
      this.#setSession(await this.client.session());
    } catch (e) {
      if (e instanceof RelayApiError && e.loginRequired) return this.#toLogin();
      this.#sessionError = e instanceof Error ? e.message : String(e);
      this.requestUpdate();
    }
  }

  #setSession(s: Session | null): void {
    this.#session = s;
    applyBranding(this, s?.branding ?? {});
    this.requestUpdate();
  }

  #toLogin(): void {
    const here = location.pathname + location.search;
    this.#session = null;
    this.#go(here === "/" || here.startsWith("/login") ? "/login" : `/login?next=${encodeURIComponent(here)}`, true);
  }

  #go(path: string, replace = false): void {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
    this.#route = parseRoute(location.pathname, location.search);
    this.#navigated = true;
    if (!isPublic(this.#route) && this.#session === null) void this.#loadSession();
    this.requestUpdate();
  }

  readonly #onPop = (): void => {
    this.#route = parseRoute(location.pathname, location.search);
    this.#navigated = true;
    this.requestUpdate();
  };

  readonly #onClick = (e: MouseEvent): void => {
    const path = internalLink(e);
    if (path === null) return;
    e.preventDefault();
    this.#go(path);
  };

  readonly #onNavigate = (e: CustomEvent<{ path: string; replace: boolean }>): void => this.#go(e.detail.path, e.detail.replace);
  readonly #onLoginRequired = (): void => this.#toLogin();
  readonly #onSession = (e: CustomEvent<{ session: Session; next: string | null }>): void => {
    this.#setSession(e.detail.session);
    this.#go(e.detail.next ?? "/", true);
  };

  async #logout(): Promise<void> {
    try {
      await this.client.logout();
    } finally {
      this.#setSession(null);
      this.#go("/login", true);
    }
  }

  override async updated(): Promise<void> {
    if (!this.#navigated) return;
    this.#navigated = false;
    const page = this.renderRoot.querySelector("main > *") as Page | null;
    if (page && typeof page.focusHeading === "function") await page.focusHeading();
  }

  #nav(): TemplateResult {
    return html`<nav aria-label="Main">
      <ul>
        ${mainNav(this.#session!.user.role, this.#route.page).map(([href, text, current]) => html`<li><a href=${href} aria-current=${current ? "page" : "false"}>${text}</a></li>`)}
      </ul>
    </nav>`;
  }

  #header(): TemplateResult {
    const s = this.#session!;
    const name = s.branding.name ?? "OsirisCare";
    return html`<header>
      <button type="button" class="skip" @click=${() => this.renderRoot.querySelector<HTMLElement>("main")?.focus()}>Skip to content</button>
      <div class="bar">
        <a class="brand" href="/">
          ${s.branding.logo_data_url ? html`<img src=${s.branding.logo_data_url} alt="" />` : nothing}
          <span>${name}</span>
        </a>
        ${this.#nav()}
        <div class="user">
          <span><span class="sr-only">Signed in as </span>${s.user.email} (${ROLE_TEXT[s.user.role] ?? s.user.role})</span>
          <button type="button" @click=${() => this.#logout()}>Log out</button>
        </div>
      </div>
    </header>`;
  }

  /** An address outside the user's navigation (typed or bookmarked): no forms the relay would refuse. */
  #noAccess(role: string): TemplateResult {
    const [home, homeText] = mainNav(role, "not_found")[0] ?? ["/", "the start page"];
    return html`<section>
      <h1 tabindex="-1">You do not have access to this page</h1>
      <p>Your account (${ROLE_TEXT[role] ?? role}) cannot open <code>${location.pathname}</code>. <a href=${home}>Go to ${homeText}</a></p>
    </section>`;
  }

  #page(): TemplateResult {
    const r = this.#route;
    const s = this.#session!;
    if (!mayOpen(s.user.role, r.page)) return this.#noAccess(s.user.role);
    // Clinic users (client roles) get the client portal at home and on a site's overview and reports.
    const portal = portalView(r, s.user.role);
    if (portal?.view === "home") return html`<osiris-portal-home .client=${this.client} .session=${s}></osiris-portal-home>`;
    if (portal?.view === "site") return html`<osiris-portal-site .client=${this.client} .session=${s} .siteId=${portal.siteId} .tab=${portal.tab}></osiris-portal-site>`;
    switch (r.page) {
      case "fleet":
        if (billingOnly(s.user.role)) return html`<osiris-billing-page .client=${this.client} .session=${s}></osiris-billing-page>`;
        return html`<osiris-fleet-page .client=${this.client} .session=${s} .query=${r.query}></osiris-fleet-page>`;
      case "site":
        return html`<osiris-site-page .client=${this.client} .session=${s} .siteId=${r.siteId} .tab=${r.tab}></osiris-site-page>`;
      case "audit":
        return html`<osiris-audit-page .client=${this.client} .session=${s} .query=${r.query}></osiris-audit-page>`;
      case "learning":
        return html`<osiris-learning-page .client=${this.client} .session=${s}></osiris-learning-page>`;
      case "admin":
        return html`<osiris-admin-page .client=${this.client} .session=${s}></osiris-admin-page>`;
      case "escalations":
        return html`<osiris-escalations-page .client=${this.client} .session=${s} .query=${r.query}></osiris-escalations-page>`;
      case "billing":
        return html`<osiris-billing-page .client=${this.client} .session=${s}></osiris-billing-page>`;
      case "login":
        return html``;
      case "verify":
        return html`<osiris-verify-page .sha256=${r.sha256} .relayKey=${r.relayKey}></osiris-verify-page>`;
      case "not_found":
        return html`<section><h1 tabindex="-1">Page not found</h1><p>There is no page at <code>${r.path}</code>. <a href="/">Back to the clinics</a></p></section>`;
    }
  }

  override render(): TemplateResult {
    // Open to anyone, signed in or not: it reads nothing from the relay.
    if (this.#route.page === "verify") return html`<main id="main" tabindex="-1"><osiris-verify-page .sha256=${this.#route.sha256} .relayKey=${this.#route.relayKey}></osiris-verify-page></main>`;
    if (this.#route.page === "login") {
      return html`<main id="main"><osiris-login-page .client=${this.client} .next=${this.#route.next}></osiris-login-page></main>`;
    }
    if (this.#sessionError) return html`<main id="main"><h1>Cannot reach the relay</h1><p class="error" role="alert">${this.#sessionError}</p></main>`;
    if (!this.#session) return html`<main id="main"><p role="status">Loading…</p></main>`;
    return html`${this.#header()}
      <main id="main" tabindex="-1">${this.#page()}</main>`;
  }
}

customElements.define("osiris-dashboard", OsirisDashboard);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-dashboard": OsirisDashboard;
  }
}
