/**
 * `<osiris-site-page>`: one clinic site. The header says its score, connection and whether it runs the lab
 * simulation; a row of links (one per part, each its own address) leads to the overview, devices and
 * checks, incidents, evidence chain, settings, enrollment, orders and approvals, credentials, escalations
 * and reports. Clinic users see the read-only parts. Another tenant's site answers "not found", the same as
 * a site that does not exist.
 */
import { css, html, nothing, type TemplateResult } from "lit";
import type { SiteDetail } from "../../relay-client/mod.ts";
import { CONNECTION_CLASS, CONNECTION_TEXT, fullTime, relative, scoreClass, scoreText } from "../format.ts";
import { Load } from "../load.ts";
import type { SiteTab } from "../router.ts";
import { shared, tabStyles } from "../styles.ts";
import { Page } from "./page.ts";
import "../site/overview-section.ts";
import "../site/devices-section.ts";
import "../site/incidents-section.ts";
import "../site/evidence-section.ts";
import "../site/settings-section.ts";
import "../site/enrollment-section.ts";
import "../site/orders-section.ts";
import "../site/credentials-section.ts";
import "../site/escalations-section.ts";
import "../site/reports-section.ts";

/** The site is refreshed this often while open (an appliance syncs every minute). */
export const SITE_REFRESH_MS = 60_000;

const TABS: { id: SiteTab; text: string; operators: boolean }[] = [
  { id: "overview", text: "Overview", operators: false },
  { id: "devices", text: "Devices and checks", operators: false },
  { id: "incidents", text: "Incidents", operators: false },
  { id: "evidence", text: "Evidence", operators: false },
  { id: "settings", text: "Settings", operators: true },
  { id: "enrollment", text: "Enrollment", operators: true },
  { id: "orders", text: "Orders and approvals", operators: true },
  { id: "credentials", text: "Credentials", operators: true },
  { id: "escalations", text: "Escalations", operators: false },
  { id: "reports", text: "Reports", operators: false },
];

export class OsirisSitePage extends Page {
  static override properties = { ...Page.properties, siteId: { attribute: false }, tab: { attribute: false } };
  static override styles = [
    shared,
    tabStyles,
    css`
      :host {
        display: block;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem 1.5rem;
        align-items: center;
        justify-content: space-between;
      }
      .score {
        font-size: 1.6rem;
        font-weight: 700;
        border-radius: 8px;
        padding: 0.3rem 0.8rem;
      }
      .score small {
        display: block;
        font-size: 0.8rem;
      }
      @media (max-width: 40rem) {
        nav.tabs a {
          padding: 0.35rem 0.5rem;
        }
      }
      .crumbs {
        font-size: 0.9rem;
        margin-bottom: 0.4rem;
      }
    `,
  ];
  declare siteId: string;
  declare tab: SiteTab;

  readonly #site = new Load<SiteDetail>(this, (signal) => this.client.site(this.siteId, { days: 30 }, signal), { refreshMs: SITE_REFRESH_MS });

  constructor() {
    super();
    this.addEventListener("osiris-site-changed", () => void this.#site.run(true));
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("siteId") && changed.get("siteId") !== undefined) {
      this.#site.value = undefined;
      void this.#site.run();
    }
  }

  override updated(): void {
    const d = this.#site.value;
    this.setTitle(d ? `${TABS.find((t) => t.id === this.tab)?.text ?? ""} · ${d.site.name}` : "Site");
  }

  #header(d: SiteDetail): TemplateResult {
    const now = Date.now();
    // Revoked appliances (a replaced box, an offboarded clinic) say nothing about the site's connection now.
    const active = d.appliances.filter((a) => a.state === "active");
    const last = d.appliances.map((a) => a.last_sync ?? a.last_contact).filter((x): x is string => x !== null).sort().at(-1) ?? null;
    const connection = active.length === 0 ? "no_appliance" : active.some((a) => a.connection === "online") ? "online" : active.some((a) => a.last_contact) ? "offline" : "never";
    // An enrolled box that never came online is easy to miss beside one that syncs: say so, with when it was enrolled.
    const never = active.filter((a) => a.last_contact === null);
    const enrolled = never[0] ? html`enrolled <span title=${fullTime(never[0].enrolled_at)}>${relative(never[0].enrolled_at, now)}</span>` : nothing;
    return html`
      <p class="crumbs"><a href="/">${this.userRole.startsWith("client_") ? "Our sites" : "Clinics"}</a> › ${d.site.org_name}</p>
      <div class="head">
        <div>
          <h1 tabindex="-1">${d.site.name}</h1>
          <p class="muted">${d.site.org_name}${d.site.partner_name ? ` · via ${d.site.partner_name}` : ""} · time zone ${d.site.timezone}</p>
          <p class="row">
            <span class="badge ${CONNECTION_CLASS[connection]}">${CONNECTION_TEXT[connection]}</span>
            ${connection === "never"
              ? html`<span class="muted">No contact yet · ${enrolled}</span>`
              : html`<span class="muted">${active.length === 0 && d.appliances.length > 0 ? "Appliance revoked · last sync" : "Last sync"} ${relative(last, now)}</span>`}
            ${never.length && connection !== "never" ? html`<span class="badge warn">${never.length === 1 ? "1 appliance" : `${never.length} appliances`} never connected</span> <span class="muted">${enrolled}</span>` : nothing}
            ${d.simulated ? html`<span class="badge sim">Simulated</span>` : nothing}
          </p>
        </div>
        <div class="score ${scoreClass(d.score.overall)}">${scoreText(d.score.overall)}<small>compliance score</small></div>
      </div>
      ${d.simulated ? html`<p class="banner sim" role="note"><strong>SIMULATED</strong> — this site's appliance checks a test lab, not a real clinic's computers.</p>` : nothing}
      ${d.digest_behind ? html`<p class="banner warn" role="status">The relay is still reading a large backlog from this site; numbers may lag for a few minutes.</p>` : nothing}
    `;
  }

  #tabs(): TemplateResult {
    const tabs = TABS.filter((t) => !t.operators || this.isOperator);
    return html`<nav class="tabs" aria-label="Parts of this site">
      <ul>
        ${tabs.map((t) => html`<li><a href=${`/sites/${this.siteId}${t.id === "overview" ? "" : `/${t.id}`}`} aria-current=${t.id === this.tab ? "page" : "false"}>${t.text}</a></li>`)}
      </ul>
    </nav>`;
  }

  #section(d: SiteDetail): TemplateResult {
    const p = { client: this.client, session: this.session, siteId: this.siteId, detail: d };
    const allowed = TABS.find((t) => t.id === this.tab);
    if (allowed?.operators && !this.isOperator) return html`<p class="unavailable">Your role (${this.userRole}) cannot see this part.</p>`;
    switch (this.tab) {
      case "overview":
        return html`<osiris-site-overview .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-overview>`;
      case "devices":
        return html`<osiris-site-devices .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-devices>`;
      case "incidents":
        return html`<osiris-site-incidents .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-incidents>`;
      case "evidence":
        return html`<osiris-site-evidence .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-evidence>`;
      case "settings":
        return html`<osiris-site-settings .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-settings>`;
      case "enrollment":
        return html`<osiris-site-enrollment .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-enrollment>`;
      case "orders":
        return html`<osiris-site-orders .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-orders>`;
      case "credentials":
        return html`<osiris-site-credentials .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-credentials>`;
      case "escalations":
        return html`<osiris-site-escalations .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-escalations>`;
      case "reports":
        return html`<osiris-site-reports .client=${p.client} .session=${p.session} .siteId=${p.siteId} .detail=${d}></osiris-site-reports>`;
    }
  }

  override render(): TemplateResult {
    const s = this.#site;
    if (s.state === "error" && s.value === undefined) {
      const notFound = s.error && "status" in s.error && s.error.status === 404;
      return html`<h1 tabindex="-1">${notFound ? "Site not found" : "Cannot load this site"}</h1>
        <p class="error" role="alert">${notFound ? "There is no site here that you may see. It may belong to another organisation, or the link is wrong." : s.error?.message}</p>
        <p><a href="/">Back to the list</a></p>`;
    }
    if (!s.value) return html`<h1 tabindex="-1">Site</h1><p role="status" class="muted">Loading the site…</p>`;
    return html`${this.#header(s.value)}${this.#tabs()}${this.#section(s.value)}`;
  }
}

customElements.define("osiris-site-page", OsirisSitePage);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-site-page": OsirisSitePage;
  }
}
