/**
 * `<osiris-portal-home>`: where a clinic's staff land after signing in. In plain words and in the partner's
 * branding: the clinic's sites with their score ("No data" until results arrive, never a made-up 100 %) and
 * 30-day trend, what needs attention and what happens next, escalations a person is handling, and the
 * monthly reports to download — each with "Verify our evidence", checked in the browser. Nothing here
 * changes anything: clinic users see no MSP controls. Refreshes itself every minute.
 */
import { html, nothing, type TemplateResult } from "lit";
import type { FleetSite, SiteDetail } from "../../relay-client/mod.ts";
import "../components/trend-chart.ts";
import { plural, relative, scoreClass, scoreText } from "../format.ts";
import { Load } from "../load.ts";
import { Page } from "../pages/page.ts";
import { shared } from "../styles.ts";
import { attentionItems, type AttentionItem } from "./attention.ts";
import { attentionList, escalationList, overall, packetList } from "./parts.ts";
import { loadPortal, type PortalData } from "./portal-data.ts";
import { portalStyles } from "./portal-styles.ts";

/** The portal is refreshed this often while open (appliances report every minute). */
export const PORTAL_REFRESH_MS = 60_000;

/** "Appliance online · last report 3 minutes ago" and friends. */
export function connectionWords(s: FleetSite, now: number): string {
  switch (s.connection) {
    case "online":
      return `Appliance online · last report ${relative(s.last_sync ?? s.last_contact, now)}`;
    case "offline":
      return `Appliance offline · last report ${relative(s.last_sync ?? s.last_contact, now)}`;
    case "never":
      return "Appliance not connected yet";
    default:
      return "No appliance installed yet";
  }
}

export class OsirisPortalHome extends Page {
  static override styles = [shared, portalStyles];

  /** The site list, shown as soon as it arrives while the rest loads. */
  #sites: FleetSite[] | null = null;
  readonly #data = new Load(this, (signal) => loadPortal(this.client, signal, (sites) => ((this.#sites = sites), this.requestUpdate())), { refreshMs: PORTAL_REFRESH_MS });

  /** How the partner is named to the clinic. */
  get provider(): string {
    return this.session.branding.name ?? "your IT provider";
  }

  override updated(): void {
    this.setTitle("Our sites");
  }

  /** One site; `d` (its detail) is undefined while it loads. */
  #site(s: FleetSite, d: SiteDetail | undefined, now: number): TemplateResult {
    const open = d ? attentionItems(d, now, this.provider).length : null;
    const state =
      s.score === null
        ? html`<span class="badge none">No results yet</span>`
        : open === null
          ? nothing
          : open > 0
            ? html`<span class="badge warn">${plural(open, "item needs", "items need")} attention</span>`
            : html`<span class="badge ok">All checks passing</span>`;
    return html`<li class="card">
      <div class="name"><a href=${`/sites/${s.id}`}>${s.name}</a></div>
      <div class="score ${scoreClass(s.score)}">${scoreText(s.score)}<small>compliance score</small></div>
      <div class="trend">
        <osiris-trend-chart compact .points=${s.trend.map((p) => ({ day: p.day, value: p.overall }))} label=${`30-day trend of ${s.name}`}></osiris-trend-chart>
        <small aria-hidden="true">last 30 days</small>
      </div>
      <div class="facts row">
        ${state} ${s.simulated ? html`<span class="badge sim">Simulated</span>` : nothing}
        <span class="muted">${connectionWords(s, now)}</span>
      </div>
    </li>`;
  }

  /** The sites and, once loaded, everything else. */
  #body(sites: FleetSite[], v: PortalData | undefined): TemplateResult {
    const now = Date.now();
    const orgs = [...new Set(sites.map((s) => s.org_name))];
    const simulated = sites.some((s) => s.simulated);
    const items = v ? v.details.flatMap((d) => attentionItems(d, now, this.provider)) : null;
    return html`
      <p class="lead muted">${orgs.join(", ") || "Your organisation"} · your computers' security checks, looked after by ${this.provider}.</p>
      ${simulated ? html`<p class="banner sim" role="note"><strong>SIMULATED</strong> — at least one site's appliance checks a test lab, not real computers.</p>` : nothing}
      ${items ? overall(items, sites.map((s) => s.score), this.provider) : nothing}
      ${sites.length === 0 ? html`<p class="card">No sites yet: ${this.provider} adds them when the appliance is installed.</p>` : html`<ul class="plain sites" aria-label="Clinics and their scores">${sites.map((s) => this.#site(s, v?.details.find((d) => d.site.id === s.id), now))}</ul>`}
      ${v && items ? this.#details(v, items, now) : this.#data.render("what needs attention and the monthly reports", () => html``)}
    `;
  }

  #details(v: PortalData, items: AttentionItem[], now: number): TemplateResult {
    const tz = (siteId: string) => v.details.find((d) => d.site.id === siteId)?.site.timezone ?? "UTC";
    return html`
      <section aria-labelledby="attention-h">
        <h2 id="attention-h">What needs attention${items.length ? ` (${items.length})` : ""}</h2>
        ${attentionList(items, now, tz, v.sites.length > 1)}
      </section>
      <section aria-labelledby="escalations-h">
        <h2 id="escalations-h">Problems a person is handling</h2>
        ${v.unavailable.includes("escalations") ? html`<p class="unavailable">Escalations are not available on this server yet.</p>` : escalationList(v.escalations, v.details, this.provider, now, v.sites.length > 1)}
      </section>
      <section aria-labelledby="reports-h">
        <h2 id="reports-h">Monthly reports</h2>
        ${packetList(v.sites.length > 1 ? v.packets : v.packets.map(({ site_name: _s, ...p }) => p), v.unavailable.includes("packets"))}
      </section>
    `;
  }

  override render(): TemplateResult {
    const d = this.#data;
    return html`
      <h1 tabindex="-1">Our sites</h1>
      ${d.state === "error" && d.value ? html`<p class="error" role="alert">Could not refresh: ${d.error?.message}. Showing what was loaded before.</p>` : nothing}
      ${d.value ? this.#body(d.value.sites, d.value) : this.#sites ? this.#body(this.#sites, undefined) : d.render("your sites", () => html``)}
    `;
  }
}

customElements.define("osiris-portal-home", OsirisPortalHome);
declare global {
  interface HTMLElementTagNameMap {
    "osiris-portal-home": OsirisPortalHome;
  }
}
